#include "kernels/cpu/rope.h"

#include <cmath>

#include "core/error.h"

namespace lr {

RopeTable make_rope_table(int max_pos, int head_dim, double theta) {
  LR_CHECK(head_dim % 2 == 0, "rope: head_dim ", head_dim, " must be even");
  RopeTable t;
  t.max_pos = max_pos;
  t.half = head_dim / 2;
  t.cos.resize(size_t(max_pos) * t.half);
  t.sin.resize(size_t(max_pos) * t.half);
  for (int i = 0; i < t.half; ++i) {
    const double f = std::pow(theta, -2.0 * i / head_dim);
    for (int p = 0; p < max_pos; ++p) {
      t.cos[size_t(p) * t.half + i] = float(std::cos(p * f));
      t.sin[size_t(p) * t.half + i] = float(std::sin(p * f));
    }
  }
  return t;
}

void rope_apply(float* x, int T, int row_stride, int n_heads, int head_dim, const int* positions,
                const RopeTable& table) {
  const int half = head_dim / 2;
  LR_CHECK(half == table.half, "rope: table built for head_dim ", 2 * table.half, ", got ",
           head_dim);
  for (int t = 0; t < T; ++t) {
    const int p = positions[t];
    LR_CHECK(p >= 0 && p < table.max_pos, "rope: position ", p, " outside [0, ", table.max_pos,
             ")");
    const float* c = table.cos.data() + size_t(p) * half;
    const float* s = table.sin.data() + size_t(p) * half;
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + size_t(t) * row_stride + size_t(h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

}  // namespace lr
