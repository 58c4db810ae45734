#pragma once
// A minimal reader of the adapter directory of DESIGN.md §6 for `layerroute eval`:
//   adapter_config.json + adapter_model.safetensors  PEFT LoRA (optional)
//   router.safetensors                               model.layers.{i}.router.{weight,bias}
//   layerroute_config.json                           router_threshold, router_pooling
// TODO-dedupe: replace with lr::load_adapter_dir (src/train/adapter_io.h, branch trainloop)
// once it is on main; this reader follows the same names and keys.
#include <optional>
#include <string>

#include "layerroute/lora.h"
#include "layerroute/router.h"

namespace lr::eval {

struct EvalAdapters {
  std::optional<LoraWeights> lora;
  std::optional<RouterWeights> routers;
  float threshold = 0.5f;
  RouterPooling pooling = RouterPooling::MaskedMean;
};

// Checks every tensor's name and shape against `model`; throws lr::Error naming the file and
// tensor at fault. A directory with neither LoRA nor routers is an error.
EvalAdapters read_eval_adapters(const std::string& dir, const ModelConfig& model);

}  // namespace lr::eval
