#pragma once
// Model shapes written out by hand for the FLOP-count tests (eval's and bench's), so the
// expected numbers do not lean on the presets they check.
#include "model/config.h"

namespace lr::flopstest {

inline ModelConfig qwen05b() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 896, c.n_layers = 24, c.n_heads = 14, c.n_kv_heads = 2, c.head_dim = 64;
  c.intermediate = 4864, c.vocab = 151936;
  return c;
}

// H 4, 2 q heads and 1 kv head of width 2, I 3, V 10, 2 blocks.
inline ModelConfig small() {
  ModelConfig c;
  c.hidden = 4, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 2;
  c.intermediate = 3, c.vocab = 10;
  return c;
}

}  // namespace lr::flopstest
