// Elementwise and per-row ops: RMSNorm, dropout, SwiGLU.
#include <cmath>

#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/swiglu.h"
#include "layerroute/ops.h"
#include "layerroute/ops_simd.h"
#include "layerroute/ops_util.h"
#include "layerroute/rng.h"

namespace lr::ops {

void rmsnorm_fwd(const float* x, const float* w, float eps, long N, int H, float* y,
                 float* inv_rms) {
  rmsnorm(x, w, y, N, H, eps, inv_rms);  // inference's kernel: one RMSNorm for both engines
}

void rmsnorm_bwd(const float* x, const float* w, const float* inv_rms, const float* dy, long N,
                 int H, float* dx, float* dw) {
  parallel_each(N, [&](long n) {
    const float* xr = x + n * H;
    const float* gr = dy + n * H;
    const float r = inv_rms[n];
    // d/dx of x*r: r*g - r^3 * x * sum(g*x) / H, with g = dy*w.
    double dot = 0;
    for (int j = 0; j < H; ++j) dot += double(gr[j]) * w[j] * xr[j];
    const float c = float(dot * double(r) * r * r / H);
    float* dr = dx + n * H;
    for (int j = 0; j < H; ++j) dr[j] += r * gr[j] * w[j] - c * xr[j];
  });
  if (!dw) return;
  parallel_ranges(H, [&](long j0, long j1) {
    for (long n = 0; n < N; ++n) {
      const float r = inv_rms[n];
      for (long j = j0; j < j1; ++j) dw[j] += dy[n * H + j] * x[n * H + j] * r;
    }
  });
}

#ifdef __AVX2__
namespace {

// a * m mod 2^64 per 64-bit lane, m = (mh << 32) | ml: AVX2 has no 64-bit multiply.
inline __m256i mul64(__m256i a, __m256i ml, __m256i mh) {
  const __m256i lo = _mm256_mul_epu32(a, ml);
  const __m256i cross =
      _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), ml), _mm256_mul_epu32(a, mh));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

inline __m256i splitmix64_4(__m256i x) {
  const __m256i m1l = _mm256_set1_epi64x(kSplitmixMul1 & 0xffffffffull),
                m1h = _mm256_set1_epi64x(kSplitmixMul1 >> 32),
                m2l = _mm256_set1_epi64x(kSplitmixMul2 & 0xffffffffull),
                m2h = _mm256_set1_epi64x(kSplitmixMul2 >> 32);
  x = _mm256_add_epi64(x, _mm256_set1_epi64x(int64_t(kSplitmixGamma)));
  x = mul64(_mm256_xor_si256(x, _mm256_srli_epi64(x, 30)), m1l, m1h);
  x = mul64(_mm256_xor_si256(x, _mm256_srli_epi64(x, 27)), m2l, m2h);
  return _mm256_xor_si256(x, _mm256_srli_epi64(x, 31));
}

// The 24-bit draws of uniform_at(key, i0 .. i0 + 7), as int32 lanes in order.
inline __m256i uniform_bits8(uint64_t key, uint64_t i0) {
  constexpr uint64_t C = kDrawStride;
  const __m256i vk = _mm256_set1_epi64x(int64_t(key));
  const __m256i lo = _mm256_setr_epi64x(int64_t(i0 * C), int64_t((i0 + 1) * C),
                                        int64_t((i0 + 2) * C), int64_t((i0 + 3) * C));
  const __m256i hi = _mm256_add_epi64(lo, _mm256_set1_epi64x(int64_t(4 * C)));
  const __m256i a = _mm256_srli_epi64(splitmix64_4(_mm256_xor_si256(vk, lo)), 40);
  const __m256i b = _mm256_srli_epi64(splitmix64_4(_mm256_xor_si256(vk, hi)), 40);
  // Low dword of each 64-bit lane, a's four then b's four.
  const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  return _mm256_blend_epi32(_mm256_permutevar8x32_epi32(a, idx),
                            _mm256_permutevar8x32_epi32(b, idx), 0xF0);
}

}  // namespace
#endif

void dropout(const float* x, float* y, size_t n, float p, uint64_t key, uint64_t first) {
  const float keep_scale = 1.f / (1.f - p);
#ifdef __AVX2__
  // uniform_at's draw u = bits * 2^-24 is exact, so u >= p is bits >= ceil(p * 2^24): the
  // same mask as the scalar loop, 8 draws at a time (one hash per element per step adds up).
  const int32_t thr = int32_t(std::ceil(double(p) * 16777216.0));
  const size_t n8 = n / 8 * 8;
  ops::parallel_ranges(long(n8 / 8), [&](long b0, long b1) {
    const __m256i vt = _mm256_set1_epi32(thr - 1);
    const __m256 vs = _mm256_set1_ps(keep_scale);
    for (long b = b0; b < b1; ++b) {
      const size_t i = size_t(b) * 8;
      const __m256i keep = _mm256_cmpgt_epi32(uniform_bits8(key, first + i), vt);
      const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
      _mm256_storeu_ps(y + i, _mm256_and_ps(v, _mm256_castsi256_ps(keep)));
    }
  });
  for (size_t i = n8; i < n; ++i) y[i] = uniform_at(key, first + i) >= p ? x[i] * keep_scale : 0.f;
#else
  parallel_each(long(n), [&](long i) {
    y[i] = uniform_at(key, first + uint64_t(i)) >= p ? x[i] * keep_scale : 0.f;
  });
#endif
}

void exp_array(const float* x, float* y, size_t n) {
  size_t i = 0;
#ifdef __AVX2__
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, simd::exp256(_mm256_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = simd::exp1(x[i]);
}

namespace {
// Elementwise over [0, n) split statically across the team, 8 lanes at a time; f8 handles
// a vector, f1 the scalar tail (and non-AVX2 builds).
template <typename F8, typename F1>
void elementwise(size_t n, F8&& f8, F1&& f1) {
  parallel_ranges(long(n), [&](long i0, long i1) {
    long i = i0;
#ifdef __AVX2__
    for (; i + 8 <= i1; i += 8) f8(size_t(i));
#else
    (void)f8;
#endif
    for (; i < i1; ++i) f1(size_t(i));
  });
}
}  // namespace

void swiglu_fwd(const float* g, const float* u, float* act, size_t n) {
  silu_mul(g, u, act, n);  // inference's kernel: one SwiGLU for both engines
}

void swiglu_bwd(const float* g, const float* u, const float* dact, float* dg, float* du, size_t n) {
  elementwise(
      n,
      [&](size_t i) {
#ifdef __AVX2__
        const __m256 x = _mm256_loadu_ps(g + i), one = _mm256_set1_ps(1.f);
        const __m256 sg = _mm256_div_ps(
            one, _mm256_add_ps(one, simd::exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        const __m256 d = _mm256_loadu_ps(dact + i);
        _mm256_storeu_ps(du + i, _mm256_mul_ps(d, _mm256_mul_ps(x, sg)));
        // d silu / dg = sg (1 + g (1 - sg))
        const __m256 ds = _mm256_mul_ps(sg, _mm256_fmadd_ps(x, _mm256_sub_ps(one, sg), one));
        _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(u + i)), ds));
#else
        (void)i;
#endif
      },
      [&](size_t i) {
        const float sg = 1.f / (1.f + simd::exp1(-g[i]));
        du[i] = dact[i] * g[i] * sg;
        dg[i] = dact[i] * u[i] * sg * (1.f + g[i] * (1.f - sg));
      });
}

}  // namespace lr::ops
