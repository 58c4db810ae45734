#pragma once
// The frozen backbone's parameters, kept apart from any compute state so one set of
// weights can serve many sessions (and, later, training with LoRA on top).
#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/linear.h"

namespace lr {

struct BlockWeights {
  std::vector<float> ln_in;    // input_layernorm [H]
  Linear q, k, v, o;           // self_attn.{q,k,v,o}_proj (biases on q/k/v when qkv_bias)
  std::vector<float> ln_post;  // post_attention_layernorm [H]
  Linear gate, up, down;       // mlp.{gate,up,down}_proj
};

struct ModelWeights {
  Linear embed;  // model.embed_tokens.weight [vocab, H]; also the LM head when tied
  std::vector<BlockWeights> layers;
  std::vector<float> norm;  // model.norm.weight [H]
  Linear lm_head;           // lm_head.weight [vocab, H]; empty when tied

  const Linear& head() const { return lm_head.empty() ? embed : lm_head; }

  // Reads HF tensor names from a checkpoint, checking every shape against the config.
  // Extra tensors are ignored (e.g. lm_head.weight next to tied embeddings, rotary caches).
  static ModelWeights load(const Checkpoint& ckpt, const ModelConfig& cfg,
                           WeightsDType dtype = WeightsDType::F32);

  // Random weights for tests and `init-random`: N(0, stddev) matrices and biases, RMSNorm
  // weights 1 + N(0, stddev). Same (config, seed, stddev) -> same bits.
  static ModelWeights random(const ModelConfig& cfg, uint64_t seed, float stddev = 0.02f,
                             WeightsDType dtype = WeightsDType::F32);

  // Re-stores every matrix (norms and biases stay f32).
  void convert(WeightsDType to);
  // Every matrix in its decode panels where its dtype and shape allow (Linear::
  // pack_decode_panels): the inference layout, which to_tensors refuses.
  void pack_decode_panels();

  // f(L) for every matrix: the embedding, each block's seven projections, an untied head.
  template <class F>
  void for_each_matrix(F&& f) {
    f(embed);
    for (auto& b : layers)
      for (Linear* L : {&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down}) f(*L);
    if (!lm_head.empty()) f(lm_head);
  }

  // HF-named tensors pointing into this object (valid while it lives), for
  // write_safetensors. Matrices in their storage dtype; norms and biases as F32.
  std::vector<TensorToWrite> to_tensors() const;
};

}  // namespace lr
