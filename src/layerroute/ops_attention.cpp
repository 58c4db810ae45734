// Causal grouped-query attention, forward and backward. Probabilities are recomputed in
// backward from the kept log-sum-exp (one extra q.k per pair) so training never stores
// T x T per head.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "layerroute/ops.h"

namespace lr::ops {

namespace {
inline float dot(const float* a, const float* b, int n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

size_t attention_scratch_floats(int T) {
  return size_t(omp_get_max_threads()) * size_t(T);
}

void attention_fwd(const float* q, const float* k, const float* v, const uint8_t* mask, int rows,
                   int T, int nh, int nkv, int hd, float* out, float* lse, float* scratch) {
  const int group = nh / nkv;
  const long Qd = long(nh) * hd, Kd = long(nkv) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
  const long total = long(rows) * nh * T;
  // Interleaved static schedule balances the causal triangle; every output is independent.
#pragma omp parallel for schedule(static, 1)
  for (long idx = 0; idx < total; ++idx) {
    const int i = int(idx % T);
    const int h = int((idx / T) % nh);
    const int b = int(idx / (long(T) * nh));
    const int kh = h / group;
    float* s = scratch + long(omp_get_thread_num()) * T;
    const float* qi = q + (long(b) * T + i) * Qd + long(h) * hd;
    float* oi = out + (long(b) * T + i) * Qd + long(h) * hd;
    float mx = -std::numeric_limits<float>::infinity();
    for (int j = 0; j <= i; ++j) {
      if (!mask[long(b) * T + j]) continue;
      s[j] = dot(qi, k + (long(b) * T + j) * Kd + long(kh) * hd, hd) * scale;
      if (s[j] > mx) mx = s[j];
    }
    std::memset(oi, 0, sizeof(float) * size_t(hd));
    float* l = lse + (long(b) * nh + h) * T + i;
    if (mx == -std::numeric_limits<float>::infinity()) {  // no visible key
      *l = mx;
      continue;
    }
    double sum = 0;
    for (int j = 0; j <= i; ++j) {
      if (!mask[long(b) * T + j]) continue;
      const float p = std::exp(s[j] - mx);
      sum += p;
      const float* vj = v + (long(b) * T + j) * Kd + long(kh) * hd;
      for (int d = 0; d < hd; ++d) oi[d] += p * vj[d];
    }
    const float inv = float(1.0 / sum);
    for (int d = 0; d < hd; ++d) oi[d] *= inv;
    *l = mx + float(std::log(sum));
  }
}

void attention_bwd(const float* q, const float* k, const float* v, const float* out,
                   const float* lse, const float* dout, const uint8_t* mask, int rows, int T,
                   int nh, int nkv, int hd, float* dq, float* dk, float* dv) {
  const int group = nh / nkv;
  const long Qd = long(nh) * hd, Kd = long(nkv) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
  const long tasks = long(rows) * nkv;
  // One task per (row, kv head) owns that slice of dk/dv and its q heads' dq: no races,
  // and every sum runs in a fixed order.
#pragma omp parallel for schedule(static)
  for (long task = 0; task < tasks; ++task) {
    const int b = int(task / nkv), kh = int(task % nkv);
    for (int j = 0; j < T; ++j) {
      std::memset(dk + (long(b) * T + j) * Kd + long(kh) * hd, 0, sizeof(float) * size_t(hd));
      std::memset(dv + (long(b) * T + j) * Kd + long(kh) * hd, 0, sizeof(float) * size_t(hd));
    }
    for (int h = kh * group; h < (kh + 1) * group; ++h) {
      for (int i = 0; i < T; ++i) {
        const long qo = (long(b) * T + i) * Qd + long(h) * hd;
        float* dqi = dq + qo;
        std::memset(dqi, 0, sizeof(float) * size_t(hd));
        const float l = lse[(long(b) * nh + h) * T + i];
        if (l == -std::numeric_limits<float>::infinity()) continue;
        const float* qi = q + qo;
        const float* doi = dout + qo;
        const float D = dot(doi, out + qo, hd);  // sum_j P_ij dP_ij
        for (int j = 0; j <= i; ++j) {
          if (!mask[long(b) * T + j]) continue;
          const long ko = (long(b) * T + j) * Kd + long(kh) * hd;
          const float p = std::exp(dot(qi, k + ko, hd) * scale - l);
          const float ds = p * (dot(doi, v + ko, hd) - D) * scale;
          const float* kj = k + ko;
          float* dkj = dk + ko;
          float* dvj = dv + ko;
          for (int d = 0; d < hd; ++d) {
            dqi[d] += ds * kj[d];
            dkj[d] += ds * qi[d];
            dvj[d] += p * doi[d];
          }
        }
      }
    }
  }
}

}  // namespace lr::ops
