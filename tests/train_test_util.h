#pragma once
// Tiny models and batches shared by the training tests.
#include <cstdint>
#include <vector>

#include "layerroute/rng.h"
#include "model/config.h"
#include "layerroute/batch.h"

namespace lr::testing {

inline ModelConfig tiny_config(bool tied, bool bias = true) {
  ModelConfig c;
  c.model_type = bias ? "qwen2" : "llama";
  c.hidden = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.intermediate = 24;
  c.vocab = 40;
  c.max_position = 64;
  c.rope_theta = 10000.f;
  c.rms_eps = 1e-6f;
  c.tie_embeddings = tied;
  c.qkv_bias = bias;
  return c;
}

// rows x seq with row r holding lengths[r] real tokens (right padding, pad id 0); every real
// token after the first is a target except where skip_every divides the position.
inline Batch tiny_batch(const std::vector<int>& lengths, int seq, int vocab, uint64_t seed,
                        int skip_every = 0) {
  Batch b;
  b.rows = int(lengths.size());
  b.seq = seq;
  Rng rng(seed);
  for (int r = 0; r < b.rows; ++r) {
    for (int t = 0; t < seq; ++t) {
      const bool real = t < lengths[size_t(r)];
      b.ids.push_back(real ? int32_t(rng.uniform() * vocab) % vocab : 0);
      b.attn_mask.push_back(real ? 1 : 0);
      const bool skip = skip_every > 0 && t % skip_every == 0;
      b.loss_mask.push_back(real && t > 0 && !skip ? 1 : 0);
    }
    b.labels.push_back(r % 2 == 0 ? StepLabel::ToolCall : StepLabel::Planning);
  }
  return b;
}

}  // namespace lr::testing
