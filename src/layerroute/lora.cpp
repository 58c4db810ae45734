#include "layerroute/lora.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "layerroute/rng.h"

namespace lr {

namespace {
constexpr const char* kNames[kNumLoraTargets] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
}

const char* lora_target_name(LoraTarget t) {
  return kNames[int(t)];
}

bool parse_lora_target(std::string_view s, LoraTarget* out) {
  for (int i = 0; i < kNumLoraTargets; ++i) {
    std::string_view n = kNames[i];
    if (s == n || s == n.substr(0, n.find('_'))) {
      *out = LoraTarget(i);
      return true;
    }
  }
  return false;
}

void lora_dims(const ModelConfig& c, LoraTarget t, int* in, int* out) {
  switch (t) {
    case LoraTarget::Q:
      *in = c.hidden, *out = c.q_dim();
      break;
    case LoraTarget::K:
    case LoraTarget::V:
      *in = c.hidden, *out = c.kv_dim();
      break;
    case LoraTarget::O:
      *in = c.q_dim(), *out = c.hidden;
      break;
    case LoraTarget::Gate:
    case LoraTarget::Up:
      *in = c.hidden, *out = c.intermediate;
      break;
    case LoraTarget::Down:
      *in = c.intermediate, *out = c.hidden;
      break;
  }
}

bool LoraConfig::has(LoraTarget t) const {
  return std::find(targets.begin(), targets.end(), t) != targets.end();
}

double kaiming_uniform_bound(int fan_in) {
  const double a = std::sqrt(5.0);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double stdv = gain / std::sqrt(double(fan_in));
  return std::sqrt(3.0) * stdv;
}

LoraWeights LoraWeights::zeros(const ModelConfig& mcfg, const LoraConfig& cfg) {
  LR_CHECK(cfg.rank > 0, "LoRA rank must be positive, got ", cfg.rank);
  LR_CHECK(cfg.dropout >= 0.f && cfg.dropout < 1.f, "LoRA dropout must be in [0, 1), got ",
           cfg.dropout);
  LoraWeights w;
  w.cfg = cfg;
  w.n_layers = mcfg.n_layers;
  w.adapters.resize(size_t(mcfg.n_layers * kNumLoraTargets));
  for (int l = 0; l < mcfg.n_layers; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      if (!cfg.has(LoraTarget(t))) continue;
      LoraAdapter& a = w.at(l, LoraTarget(t));
      lora_dims(mcfg, LoraTarget(t), &a.in, &a.out);
      a.rank = cfg.rank;
      a.A.assign(size_t(a.rank) * size_t(a.in), 0.f);
      a.B.assign(size_t(a.out) * size_t(a.rank), 0.f);
    }
  return w;
}

LoraWeights LoraWeights::init(const ModelConfig& mcfg, const LoraConfig& cfg, uint64_t seed) {
  LoraWeights w = zeros(mcfg, cfg);
  for (int l = 0; l < w.n_layers; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      LoraAdapter& a = w.at(l, LoraTarget(t));
      if (a.empty()) continue;
      Rng rng(mix_key(mix_key(seed, uint64_t(l)), uint64_t(t)));
      const double bound = kaiming_uniform_bound(a.in);
      for (float& x : a.A) x = float((2.0 * rng.uniform() - 1.0) * bound);
    }
  return w;
}

size_t LoraWeights::num_params() const {
  size_t n = 0;
  for (const auto& a : adapters) n += a.A.size() + a.B.size();
  return n;
}

std::vector<TensorSlot> LoraWeights::tensors() {
  std::vector<TensorSlot> out;
  for (int l = 0; l < n_layers; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      LoraAdapter& a = at(l, LoraTarget(t));
      if (a.empty()) continue;
      const bool attn = t <= int(LoraTarget::O);
      const std::string p = "base_model.model.model.layers." + std::to_string(l) +
                            (attn ? ".self_attn." : ".mlp.") + kNames[t] + ".lora_";
      out.push_back(TensorSlot{p + "A.weight", {a.rank, a.in}, a.A.data(), a.A.size()});
      out.push_back(TensorSlot{p + "B.weight", {a.out, a.rank}, a.B.data(), a.B.size()});
    }
  return out;
}

}  // namespace lr
