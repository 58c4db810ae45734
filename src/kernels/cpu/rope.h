#pragma once
// Rotary position embedding, rotate-half convention (HF Qwen2/Llama): for i < d/2,
//   out[i]       = x[i] cos(p f_i) - x[i + d/2] sin(p f_i)
//   out[i + d/2] = x[i + d/2] cos(p f_i) + x[i] sin(p f_i),   f_i = theta^(-2i/d).
// One table and one rotation for training and inference.
#include <vector>

namespace lr {

// cos/sin for positions [0, max_pos), each row d/2 wide. Computed in float32 exactly as
// transformers does (inv_freq = 1 / theta^(2i/d) in float, angle = float(p) * inv_freq,
// then cos/sin of that float): the checkpoints were trained and are served by transformers
// with these angles, and training must match it. (At p = 32k the float angle is off the
// exact one by ~1e-3 rad; the model learned with that error, so matching it is right.)
struct RopeTable {
  int max_pos = 0;
  int half = 0;  // head_dim / 2
  std::vector<float> cos, sin;
};

RopeTable make_rope_table(int max_pos, int head_dim, float theta);

// x [T, row_stride]; heads n_heads of head_dim each start at column h*head_dim. In place.
// Throws when a position is outside the table.
void rope_apply(float* x, int T, int row_stride, int n_heads, int head_dim, const int* positions,
                const RopeTable& table);

// x [rows * T, n_heads * head_dim]: position = index within each row of T (training's
// padded batches). inverse rotates by -angle (the transpose: RoPE's backward).
void rope_rows(float* x, int rows, int T, int n_heads, int head_dim, const RopeTable& table,
               bool inverse = false);

}  // namespace lr
