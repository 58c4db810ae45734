#pragma once
// LoRA adapters (PEFT semantics): y = x W^T + b + s * (drop(x) A^T) B^T, s = alpha / r,
// A: [r, in] kaiming-uniform(a = sqrt(5)) as torch, B: [out, r] zeros.
#include <cstdint>
#include <string_view>
#include <vector>

#include "layerroute/params.h"
#include "model/config.h"

namespace lr {

enum class LoraTarget : int { Q = 0, K, V, O, Gate, Up, Down };
constexpr int kNumLoraTargets = 7;

const char* lora_target_name(LoraTarget t);                   // "q_proj", ..., "down_proj"
bool parse_lora_target(std::string_view s, LoraTarget* out);  // accepts "q" or "q_proj"
// Input and output width of the projection a target adapts.
void lora_dims(const ModelConfig& cfg, LoraTarget t, int* in, int* out);

struct LoraConfig {
  int rank = 8;
  float alpha = 16.f;
  float dropout = 0.05f;  // on the LoRA input only, training only
  std::vector<LoraTarget> targets{LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O};
  float scale() const { return alpha / float(rank); }
  bool has(LoraTarget t) const;
};

struct LoraAdapter {
  int in = 0, out = 0, rank = 0;
  std::vector<float> A;  // [rank, in]
  std::vector<float> B;  // [out, rank]
  bool empty() const { return rank == 0; }
};

struct LoraWeights {
  LoraConfig cfg;
  int n_layers = 0;
  std::vector<LoraAdapter> adapters;  // [layer * kNumLoraTargets + target]; empty if untargeted

  LoraAdapter& at(int layer, LoraTarget t) {
    return adapters[size_t(layer * kNumLoraTargets + int(t))];
  }
  const LoraAdapter& at(int layer, LoraTarget t) const {
    return adapters[size_t(layer * kNumLoraTargets + int(t))];
  }

  // A kaiming-uniform from a stream keyed by (seed, layer, target), B = 0.
  static LoraWeights init(const ModelConfig& mcfg, const LoraConfig& cfg, uint64_t seed);
  static LoraWeights zeros(const ModelConfig& mcfg, const LoraConfig& cfg);

  size_t num_params() const;
  // PEFT names: base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight (mlp.* for
  // gate/up/down), in layer-then-target order, A before B.
  std::vector<TensorSlot> tensors();
};

// torch.nn.init.kaiming_uniform_(a=sqrt(5)) bound for fan_in: gain = sqrt(2 / (1 + a^2)),
// std = gain / sqrt(fan_in), bound = sqrt(3) * std (= 1 / sqrt(fan_in)).
double kaiming_uniform_bound(int fan_in);

}  // namespace lr
