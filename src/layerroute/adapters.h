#pragma once
// An adapter directory for inference (DESIGN §6): PEFT LoRA (adapter_config.json +
// adapter_model.safetensors), optional routers (router.safetensors) and LayerRoute settings
// (layerroute_config.json). A plain PEFT LoRA directory loads as LoRA-only.
#include <optional>
#include <string>

#include "io/json.h"
#include "layerroute/lora.h"
#include "layerroute/router.h"
#include "model/config.h"
#include "model/low_rank_delta.h"

namespace lr {

// What the router pools at a step (DESIGN §3 "Inference with a KV cache").
enum class RoutePool {
  Sequence,   // masked mean over every position so far ("masked-mean", the default)
  NewTokens,  // mean over the step's new tokens only ("new-tokens")
};
const char* route_pool_name(RoutePool p);
RoutePool parse_route_pool(const std::string& s, const std::string& where);  // throws

struct RouteSettings {
  float threshold = 0.5f;  // open = sigmoid(w.pool + b + logit_offset) > threshold
  RoutePool pool = RoutePool::Sequence;
  double logit_offset = 0.0;  // the speed-quality dial: < 0 closes more blocks, > 0 fewer
};

// The dial's command-line choices over an adapter directory's settings: a threshold that
// replaces the stored one, and the logit offset (given, or calibrated by skip_calibration).
struct RouteDial {
  std::optional<float> threshold;
  double logit_offset = 0.0;
  RouteSettings applied(RouteSettings s) const {
    if (threshold) s.threshold = *threshold;
    s.logit_offset = logit_offset;
    return s;
  }
};

struct Adapters {
  std::string dir;
  bool has_lora = false;
  LoraWeights lora;
  bool rslora = false;  // PEFT use_rslora: scale alpha / sqrt(r)
  bool has_router = false;
  RouterWeights router;
  RouteSettings settings;

  // Throws lr::Error naming the file (and tensor) at fault: missing directory or files,
  // unknown target module, unsupported PEFT options, shapes that do not fit cfg.
  static Adapters load(const std::string& dir, const ModelConfig& cfg);

  float lora_scale() const;
  // The LoRA as model-level deltas pointing into this object (valid while it lives and is
  // not modified); scale multiplies PEFT's alpha / r (0 switches LoRA off).
  LowRankDeltas deltas(float scale_mult = 1.f) const;
};

// The PEFT adapter_config.json for `cfg` (what peft.LoraConfig.save_pretrained writes).
Json peft_adapter_config(const LoraConfig& cfg, const std::string& base_model);
// DIR/adapter_config.json + adapter_model.safetensors (PEFT names), atomically.
void write_lora_files(const std::string& dir, const LoraWeights& lora,
                      const std::string& base_model);
// DIR/router.safetensors, atomically.
void write_router_file(const std::string& dir, const RouterWeights& router);

// Writes DIR/adapter_config.json + adapter_model.safetensors (when lora), router.safetensors
// (when router) and layerroute_config.json, atomically, with the names loaded above.
void save_adapters(const std::string& dir, const LoraWeights* lora, const RouterWeights* router,
                   const RouteSettings& settings = {});

}  // namespace lr
