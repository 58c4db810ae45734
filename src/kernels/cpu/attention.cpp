#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {
// Keys per tile: the tile's scores fit in L1 and amortise the accumulator rescale.
constexpr int kTile = 64;
}  // namespace

void attention_causal(const float* q, int T_new, const int* pos, const float* K, const float* V,
                      int n_q, int n_kv, int d, float* out) {
  LR_CHECK(d > 0 && d <= kMaxHeadDim, "attention: head_dim ", d, " unsupported");
  LR_CHECK(n_kv > 0 && n_q % n_kv == 0, "attention: ", n_q, " q heads not a multiple of ", n_kv,
           " kv heads");
  if (T_new <= 0) return;
  const int group = n_q / n_kv;
  const int q_stride = n_q * d, kv_stride = n_kv * d;
  const float scale = float(1.0 / std::sqrt(double(d)));
  const long items = long(T_new) * n_q;
  // Threads only pay off past a few tens of thousands of multiply-adds (tiny models and
  // short contexts run serially). Dynamic schedule: causal rows differ in length.
  const long work = items * (pos[T_new - 1] + 1) * d;
#pragma omp parallel for schedule(dynamic, 1) if (work >= (1L << 15))
  for (long it = 0; it < items; ++it) {
    const int i = int(it / n_q), h = int(it % n_q);
    const int g = h / group;
    const float* qh = q + size_t(i) * q_stride + size_t(h) * d;
    const float* kb = K + size_t(g) * d;
    const float* vb = V + size_t(g) * d;
    const int n_keys = pos[i] + 1;
    float acc[kMaxHeadDim];
    std::fill(acc, acc + d, 0.f);
    float m = -std::numeric_limits<float>::infinity();
    float l = 0.f;
    float s[kTile];
    for (int t0 = 0; t0 < n_keys; t0 += kTile) {
      const int nt = std::min(kTile, n_keys - t0);
      float mt = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < nt; ++j) {
        s[j] = simd::dot(qh, kb + size_t(t0 + j) * kv_stride, d) * scale;
        mt = std::max(mt, s[j]);
      }
      const float m_new = std::max(m, mt);
      // Rescale what was accumulated under the old max (exp(-inf) = 0 on the first tile).
      const float corr = std::exp(m - m_new);
      l *= corr;
      bool first = true;
      for (int j = 0; j < nt; ++j) {
        const float p = std::exp(s[j] - m_new);
        l += p;
        simd::scale_axpy(first ? corr : 1.f, p, vb + size_t(t0 + j) * kv_stride, acc, d);
        first = false;
      }
      m = m_new;
    }
    float* o = out + size_t(i) * q_stride + size_t(h) * d;
    const float inv = 1.f / l;
    for (int c = 0; c < d; ++c) o[c] = acc[c] * inv;
  }
}

}  // namespace lr
