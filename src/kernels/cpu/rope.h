#pragma once
// Rotary position embedding, rotate-half convention (HF Qwen2/Llama): for i < d/2,
//   out[i]       = x[i] cos(p f_i) - x[i + d/2] sin(p f_i)
//   out[i + d/2] = x[i + d/2] cos(p f_i) + x[i] sin(p f_i),   f_i = theta^(-2i/d).
#include <vector>

namespace lr {

// cos/sin for positions [0, max_pos), each row d/2 wide; computed in double once.
struct RopeTable {
  int max_pos = 0;
  int half = 0;  // head_dim / 2
  std::vector<float> cos, sin;
};

RopeTable make_rope_table(int max_pos, int head_dim, double theta);

// x [T, row_stride]; heads n_heads of head_dim each start at column h*head_dim. In place.
// Throws when a position is outside the table.
void rope_apply(float* x, int T, int row_stride, int n_heads, int head_dim, const int* positions,
                const RopeTable& table);

}  // namespace lr
