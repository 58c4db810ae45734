#include "kernels/cpu/rope.h"

#include <cmath>

#include "core/error.h"
#include "core/threads.h"

namespace lr {

RopeTable make_rope_table(int max_pos, int head_dim, float theta) {
  LR_CHECK(head_dim % 2 == 0, "rope: head_dim ", head_dim, " must be even");
  RopeTable t;
  t.max_pos = max_pos;
  t.half = head_dim / 2;
  t.cos.resize(size_t(max_pos) * t.half);
  t.sin.resize(size_t(max_pos) * t.half);
  for (int i = 0; i < t.half; ++i) {
    // transformers: inv_freq = 1 / theta ** (arange(0, d, 2).float() / d), in float32.
    const float inv_freq = 1.f / std::pow(theta, float(2 * i) / float(head_dim));
    for (int p = 0; p < max_pos; ++p) {
      const float ang = float(p) * inv_freq;
      t.cos[size_t(p) * t.half + i] = std::cos(ang);
      t.sin[size_t(p) * t.half + i] = std::sin(ang);
    }
  }
  return t;
}

namespace {

// One position's heads; sign = -1 rotates by -angle.
inline void rotate(float* row, int n_heads, int head_dim, const float* c, const float* s,
                   float sign) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = row + size_t(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half], si = sign * s[i];
      v[i] = a * c[i] - b * si;
      v[i + half] = b * c[i] + a * si;
    }
  }
}

}  // namespace

void rope_apply(float* x, int T, int row_stride, int n_heads, int head_dim, const int* positions,
                const RopeTable& table) {
  const int half = head_dim / 2;
  LR_CHECK(half == table.half, "rope: table built for head_dim ", 2 * table.half, ", got ",
           head_dim);
  for (int t = 0; t < T; ++t) {
    const int p = positions[t];
    LR_CHECK(p >= 0 && p < table.max_pos, "rope: position ", p, " outside [0, ", table.max_pos,
             ")");
    rotate(x + size_t(t) * row_stride, n_heads, head_dim, table.cos.data() + size_t(p) * half,
           table.sin.data() + size_t(p) * half, 1.f);
  }
}

void rope_rows(float* x, int rows, int T, int n_heads, int head_dim, const RopeTable& table,
               bool inverse) {
  const int half = head_dim / 2;
  LR_CHECK(half == table.half, "rope: table built for head_dim ", 2 * table.half, ", got ",
           head_dim);
  LR_CHECK(T <= table.max_pos, "rope: ", T, " positions, the table has ", table.max_pos);
  const long N = long(rows) * T, D = long(n_heads) * head_dim;
  parallel_for(
      N,
      [&](long n0, long n1) {
        for (long n = n0; n < n1; ++n) {
          const long t = n % T;
          rotate(x + n * D, n_heads, head_dim, table.cos.data() + t * half,
                 table.sin.data() + t * half, inverse ? -1.f : 1.f);
        }
      },
      N * D >= (1L << 14), /*bulk=*/true);
}

}  // namespace lr
