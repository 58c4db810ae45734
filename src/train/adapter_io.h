#pragma once
// The adapter directory (DESIGN.md §6), written by training and read by inference:
//   adapter_config.json        PEFT LoraConfig (absent without LoRA)
//   adapter_model.safetensors  base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight
//                              [r, in], ...lora_B.weight [out, r] (absent without LoRA)
//   router.safetensors         model.layers.{i}.router.weight [1, H], .bias [1] (absent
//                              with --no-routers: every block runs)
//   layerroute_config.json     routing settings (threshold, pooling, band, lambda, loss,
//                              trainable, versions) and the training config
// Full mode adds config.json + model.safetensors (HF names) + the tokenizer files, so the
// directory is a loadable model. Every file is written atomically.
#include <optional>
#include <string>

#include "io/json.h"
#include "layerroute/lora.h"
#include "layerroute/router.h"
#include "layerroute/train_weights.h"

namespace lr {

struct RoutingSettings {
  float threshold = 0.5f;
  RouterPooling pooling = RouterPooling::MaskedMean;
};

struct AdapterToSave {
  const ModelConfig* model = nullptr;
  std::string base_model;            // base_model_name_or_path
  LoraWeights* lora = nullptr;       // nullptr: no LoRA files
  RouterWeights* routers = nullptr;  // nullptr: no router file
  TrainWeights* full = nullptr;      // full mode: model weights, HF names
  std::string tokenizer_from;        // full mode: model dir whose tokenizer files to copy
  RoutingSettings routing;
  Json train_config;  // TrainConfig::to_json(), stored for the record
};

// Writes the files into an existing directory `dir`.
void save_adapter_files(const std::string& dir, const AdapterToSave& a);

struct LoadedAdapter {
  std::optional<LoraWeights> lora;
  std::optional<RouterWeights> routers;
  RoutingSettings routing;
  Json settings;  // layerroute_config.json (null when absent)
};

// Reads what save_adapter_files wrote, checking every name and shape against `model`;
// throws lr::Error naming the file and tensor at fault.
LoadedAdapter load_adapter_dir(const std::string& dir, const ModelConfig& model);

}  // namespace lr
