#pragma once
// All-f32 parameters of a Qwen2/Llama decoder for training (frozen backbone in LoRA mode,
// every tensor trainable in full mode). The same struct, zero-filled, holds full-mode
// gradients.
#include <cstdint>
#include <vector>

#include "layerroute/params.h"
#include "model/config.h"

namespace lr {

class Checkpoint;

struct TrainBlockWeights {
  std::vector<float> in_norm;     // [H]
  std::vector<float> wq, bq;      // [Q, H], [Q]; biases empty unless cfg.qkv_bias
  std::vector<float> wk, bk;      // [K, H], [K]
  std::vector<float> wv, bv;      // [K, H], [K]
  std::vector<float> wo;          // [H, Q] (no bias)
  std::vector<float> post_norm;   // [H]
  std::vector<float> wgate, wup;  // [I, H]
  std::vector<float> wdown;       // [H, I]
};

struct TrainWeights {
  ModelConfig cfg;
  std::vector<float> embed;  // [V, H]
  std::vector<TrainBlockWeights> blocks;
  std::vector<float> final_norm;  // [H]
  std::vector<float> lm_head;     // [V, H]; empty when tied (the embedding is the head)

  const float* head() const { return cfg.tie_embeddings ? embed.data() : lm_head.data(); }
  float* head() { return cfg.tie_embeddings ? embed.data() : lm_head.data(); }

  // Shapes allocated, every value 0 (gradient buffers).
  static TrainWeights zeros(const ModelConfig& cfg);
  // Matrices and embedding ~ normal(0, 0.02), norms 1, biases 0; deterministic in seed.
  static TrainWeights random(const ModelConfig& cfg, uint64_t seed);
  // HF names (model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj.weight, ...),
  // any stored dtype converted to f32; shapes checked against cfg.
  // Defined in train_weights_load.cpp so that users of zeros/random do not pull in io.
  static TrainWeights load(const ModelConfig& cfg, const Checkpoint& ckpt);

  // Every tensor with its HF name and shape, in a fixed order.
  std::vector<TensorSlot> tensors();
  size_t num_params() const;
};

}  // namespace lr
