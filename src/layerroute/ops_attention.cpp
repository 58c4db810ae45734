// Causal grouped-query attention over a padded batch. The forward is the inference
// kernel itself (kernels/cpu/attention.h): each row's real keys and values go into a KV
// cache laid out as inference keeps them, and the row's queries attend them with the same
// tiles and online softmax, so training and inference compute attention with the same sums
// in the same order. The kernel also hands back each query's log-sum-exp, from which the
// backward recomputes the probabilities instead of storing T x T per head.
// The backward works in query blocks of kBq rows: the scores of a block against its
// visible keys are one small GEMM (Q K^T with K transposed once per call), softmax is
// vectorised, and the products with V / dO / K / Q are GEMMs too. Every task writes its own
// outputs (per-q-head partial dK/dV, summed over the group in a fixed order), so results
// do not depend on scheduling.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "layerroute/ops.h"
#include "layerroute/ops_simd.h"
#include "layerroute/ops_util.h"

namespace lr::ops {

namespace {

constexpr int kBq = 64;  // query rows per block: the S tile (64 x T) stays in L2
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Scratch {
  float *kt, *vt, *bias, *tiles, *dkp, *dvp;
};

Scratch carve(float* s, int rows, int T, int nh, int nkv, int hd) {
  Scratch c;
  const long kv = long(rows) * nkv * hd * T, part = long(rows) * nh * T * hd;
  c.kt = s, c.vt = c.kt + kv, c.bias = c.vt + kv, c.tiles = c.bias + long(rows) * T;
  c.dkp = c.tiles + long(num_threads()) * 2 * kBq * T, c.dvp = c.dkp + part;
  return c;
}

// dst [rows, nkv, hd, T] = src [rows, T, nkv * hd] transposed per (row, kv head).
void transpose_kv(const float* src, int rows, int T, int nkv, int hd, float* dst) {
  const long Kd = long(nkv) * hd;
  parallel_each(long(rows) * nkv, [&](long task) {
    const long b = task / nkv, kh = task % nkv;
    float* d = dst + task * hd * T;
    for (int t = 0; t < T; ++t) {
      const float* s = src + (b * T + t) * Kd + kh * hd;
      for (int x = 0; x < hd; ++x) d[long(x) * T + t] = s[x];
    }
  });
}

// Additive key mask: 0 for real keys, -inf for padding.
void key_bias(const uint8_t* mask, long n, float* bias) {
  for (long i = 0; i < n; ++i) bias[i] = mask[i] ? 0.f : kNegInf;
}

// x[j] = s[j] * scale + bias[j] for j < n; returns the max.
float scale_bias_max(float* s, const float* bias, int n, float scale) {
  int j = 0;
  float mx = kNegInf;
#ifdef __AVX2__
  __m256 vm = _mm256_set1_ps(kNegInf);
  const __m256 vs = _mm256_set1_ps(scale);
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_fmadd_ps(_mm256_loadu_ps(s + j), vs, _mm256_loadu_ps(bias + j));
    _mm256_storeu_ps(s + j, x);
    vm = _mm256_max_ps(vm, x);
  }
  mx = simd::hmax(vm);
#endif
  for (; j < n; ++j) {
    s[j] = s[j] * scale + bias[j];
    mx = s[j] > mx ? s[j] : mx;
  }
  return mx;
}

// ds[j] = p[j] * (dp[j] - D) * scale, in place over dp.
void softmax_grad(const float* p, float* dp, int n, float D, float scale) {
  int j = 0;
#ifdef __AVX2__
  const __m256 vd = _mm256_set1_ps(D), vs = _mm256_set1_ps(scale);
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_sub_ps(_mm256_loadu_ps(dp + j), vd);
    _mm256_storeu_ps(dp + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + j), x), vs));
  }
#endif
  for (; j < n; ++j) dp[j] = p[j] * (dp[j] - D) * scale;
}

inline float dot(const float* a, const float* b, int n) {
  float s = 0.f;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// The real keys of row b: one run [begin, end) of mask 1 (padding on either side). A
// query i attends keys begin..min(i, end - 1); before begin it sees none.
struct KeyWindow {
  int begin = 0, end = 0;
};

KeyWindow key_window(const uint8_t* mask, int b, int T) {
  const uint8_t* m = mask + long(b) * T;
  KeyWindow w;
  while (w.begin < T && !m[w.begin]) ++w.begin;
  w.end = w.begin;
  while (w.end < T && m[w.end]) ++w.end;
  for (int t = w.end; t < T; ++t)
    LR_CHECK(!m[t], "attention: row ", b, "'s key mask is not one run of real tokens (position ", t,
             ")");
  return w;
}

}  // namespace

size_t attention_scratch_floats(int rows, int T, int nh, int nkv, int hd) {
  const size_t r = size_t(rows), t = size_t(T);
  const size_t backward = 2 * r * size_t(nkv) * size_t(hd) * t + r * t +
                          size_t(num_threads()) * 2 * kBq * t + 2 * r * size_t(nh) * t * size_t(hd);
  const size_t forward = 2 * size_t(nkv) * size_t(kv_capacity(T)) * size_t(hd);  // one row's cache
  return std::max(backward, forward);
}

void attention_fwd(const float* q, const float* k, const float* v, const uint8_t* mask, int rows,
                   int T, int nh, int nkv, int hd, float* out, float* lse, float* scratch) {
  const long Qd = long(nh) * hd, Kd = long(nkv) * hd;
  const int cap = kv_capacity(T);
  float* Kc = scratch;
  float* Vc = scratch + long(nkv) * cap * hd;
  std::vector<int> pos(static_cast<size_t>(T));
  for (int b = 0; b < rows; ++b) {
    const KeyWindow w = key_window(mask, b, T);
    float* ob = out + long(b) * T * Qd;
    float* lb = lse + long(b) * nh * T;
    // Queries before the first real key see none: output 0, log-sum-exp -inf.
    const int none = w.begin == w.end ? T : w.begin;
    std::fill(ob, ob + long(none) * Qd, 0.f);
    for (int h = 0; h < nh; ++h) std::fill(lb + long(h) * T, lb + long(h) * T + none, kNegInf);
    if (none == T) continue;
    // The window's keys at cache positions 0.. (attention does not depend on where a
    // window starts: RoPE is already in q and k).
    const float* kb = k + (long(b) * T + w.begin) * Kd;
    const float* vb = v + (long(b) * T + w.begin) * Kd;
    parallel_each(w.end - w.begin, [&](long p) {
      kv_store(Kc, Vc, cap, nkv, hd, int(p), kb + p * Kd, vb + p * Kd);
    });
    for (int i = w.begin; i < T; ++i) pos[size_t(i)] = std::min(i, w.end - 1) - w.begin;
    attention_causal(q + (long(b) * T + w.begin) * Qd, T - w.begin, pos.data() + w.begin, Kc, Vc,
                     cap, nh, nkv, hd, ob + long(w.begin) * Qd, lb + w.begin, T);
  }
}

void attention_bwd(const float* q, const float* k, const float* v, const float* out,
                   const float* lse, const float* dout, const uint8_t* mask, int rows, int T,
                   int nh, int nkv, int hd, float* dq, float* dk, float* dv, float* scratch) {
  const int group = nh / nkv, nqb = (T + kBq - 1) / kBq;
  const long Qd = long(nh) * hd, Kd = long(nkv) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
  const Scratch sc = carve(scratch, rows, T, nh, nkv, hd);
  transpose_kv(k, rows, T, nkv, hd, sc.kt);
  transpose_kv(v, rows, T, nkv, hd, sc.vt);
  key_bias(mask, long(rows) * T, sc.bias);
  const long tasks = long(rows) * nh;
  parallel_tasks(tasks, [&](long task, int slot) {
    const int h = int(task % nh), b = int(task / nh), kh = h / group;
    float* P = sc.tiles + long(slot) * 2 * kBq * T;
    float* dS = P + long(kBq) * T;
    float* dkp = sc.dkp + task * T * hd;
    float* dvp = sc.dvp + task * T * hd;
    std::memset(dkp, 0, sizeof(float) * size_t(T) * size_t(hd));
    std::memset(dvp, 0, sizeof(float) * size_t(T) * size_t(hd));
    const float* kt = sc.kt + (long(b) * nkv + kh) * hd * T;
    const float* vt = sc.vt + (long(b) * nkv + kh) * hd * T;
    const float* kb = k + long(b) * T * Kd + long(kh) * hd;
    const float* bias = sc.bias + long(b) * T;
    for (int qb = 0; qb < nqb; ++qb) {
      const int i0 = qb * kBq, i1 = std::min(T, i0 + kBq), m = i1 - i0, kn = i1;
      const long qo = (long(b) * T + i0) * Qd + long(h) * hd;
      small_gemm(m, kn, hd, q + qo, Qd, 1, kt, T, P, T, false);
      small_gemm(m, kn, hd, dout + qo, Qd, 1, vt, T, dS, T, false);
      for (int r = 0; r < m; ++r) {
        const int i = i0 + r;
        float* p = P + long(r) * T;
        float* ds = dS + long(r) * T;
        const float l = lse[(long(b) * nh + h) * T + i];
        if (l == kNegInf) {
          std::fill(p, p + kn, 0.f);
          std::fill(ds, ds + kn, 0.f);
          continue;
        }
        scale_bias_max(p, bias, i + 1, scale);
        simd::exp_sub_sum(p, i + 1, l);
        std::fill(p + i + 1, p + kn, 0.f);
        const float D = dot(dout + qo + long(r) * Qd, out + qo + long(r) * Qd, hd);
        softmax_grad(p, ds, i + 1, D, scale);
        std::fill(ds + i + 1, ds + kn, 0.f);
      }
      small_gemm(m, hd, kn, dS, T, 1, kb, Kd, dq + qo, Qd, false);
      small_gemm(kn, hd, m, dS, 1, T, q + qo, Qd, dkp, hd, true);
      small_gemm(kn, hd, m, P, 1, T, dout + qo, Qd, dvp, hd, true);
    }
  });
  // dK, dV of a kv head: the sum over its q heads, in head order.
  parallel_each(long(rows) * T, [&](long n) {
    const long b = n / T, t = n % T;
    for (int kh = 0; kh < nkv; ++kh) {
      float* dkr = dk + n * Kd + long(kh) * hd;
      float* dvr = dv + n * Kd + long(kh) * hd;
      for (int x = 0; x < hd; ++x) dkr[x] = dvr[x] = 0.f;
      for (int g = 0; g < group; ++g) {
        const long part = ((b * nh + kh * group + g) * T + t) * hd;
        for (int x = 0; x < hd; ++x) {
          dkr[x] += sc.dkp[part + x];
          dvr[x] += sc.dvp[part + x];
        }
      }
    }
  });
}

}  // namespace lr::ops
