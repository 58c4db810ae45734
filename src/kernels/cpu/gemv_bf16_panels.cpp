// bf16 GEMV over 4-row panels (see gemv.h): each thread reads one sequential stream, which
// the prefetchers follow better than four interleaved row streams of short (K = 896) rows.
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_avx512.h"
#include "kernels/cpu/gemv_bf16_panels_avx512.h"
#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

// out[j] = row j of the panel . x; xs: x with each 16-chunk split [evens, odds] (AVX2 path).
inline void dot_panel(const uint16_t* p, int K, const float* x, const float* xs, float out[4]) {
#if LR_HAVE_AVX2
  const __m256i hi_mask = _mm256_set1_epi32(int(0xffff0000u));
  __m256 a[4], b[4];
  for (int j = 0; j < 4; ++j) a[j] = b[j] = _mm256_setzero_ps();
  const char* base = reinterpret_cast<const char*>(p);
  for (int k = 0; k < K; k += 16) {
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes, _MM_HINT_NTA);
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes + 64, _MM_HINT_NTA);
    const __m256 xe = _mm256_loadu_ps(xs + k), xo = _mm256_loadu_ps(xs + k + 8);
    const uint16_t* q = p + 4 * size_t(k);
    for (int j = 0; j < 4; ++j) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 16 * j));
      a[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), xe, a[j]);
      b[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, hi_mask)), xo, b[j]);
    }
  }
  _mm_storeu_ps(out, simd::hsum4(_mm256_add_ps(a[0], b[0]), _mm256_add_ps(a[1], b[1]),
                                 _mm256_add_ps(a[2], b[2]), _mm256_add_ps(a[3], b[3])));
  (void)x;
#else
  (void)xs;
  for (int j = 0; j < 4; ++j) {
    float s = 0.f;
    for (int k = 0; k < K; ++k) s += bf16_to_f32(p[bf16_panel_index(j, k, K)]) * x[k];
    out[j] = s;
  }
#endif
}

}  // namespace

void pack_bf16_panels(const uint16_t* src, int N, int K, uint16_t* dst) {
  LR_CHECK(bf16_panels_fit(N, K), "bf16 panels: ", N, " x ", K, " is not 4 x 16 aligned");
  parallel_for(N, [&](long n0, long n1) {
    for (long n = n0; n < n1; ++n)
      for (int k = 0; k < K; ++k) dst[bf16_panel_index(int(n), k, K)] = src[size_t(n) * K + k];
  });
}

void unpack_bf16_rows(const uint16_t* P, int n0, int n, int K, float* dst) {
  unpack_bf16_panel_cols(P, n0, n, K, 0, K, dst, K);
}

void unpack_bf16_panel_cols(const uint16_t* P, int n0, int n, int K, int k0, int kc, float* dst,
                            int ldd) {
  for (int r = 0; r < n; ++r) {
    const int row = n0 + r;
    float* d = dst + size_t(r) * ldd;
    for (int c = k0; c < k0 + kc; c += 16) {
      const uint16_t* s = P + bf16_panel_index(row, c, K);
#if LR_HAVE_AVX2
      for (int h = 0; h < 16; h += 8) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + h));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + (c - k0) + h),
                            _mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
      }
#else
      for (int e = 0; e < 16; ++e) d[c - k0 + e] = bf16_to_f32(s[e]);
#endif
    }
  }
}

void gemv_bf16_panels(const uint16_t* P, int N, int K, const float* bias, const float* x, int M,
                      float* y, bool accumulate) {
  const GemvOut out{P, N, bias, y, accumulate};
  gemv_bf16_panels_many(&out, 1, K, x, M);
}

void gemv_bf16_panels_many(const GemvOut* outs, int count, int K, const float* x, int M) {
  for (int i = 0; i < count; ++i)
    LR_CHECK(bf16_panels_fit(outs[i].N, K), "bf16 panels: ", outs[i].N, " x ", K,
             " is not 4 x 16 aligned");
  if (M >= 2 && cpu_path() >= CpuPath::Avx512) {
    // A decode batch: each panel chunk loaded and widened once for all rows, two rows per
    // 16-lane FMA; bit-identical to the one-row kernel per row (gemv_bf16_panels_avx512.h).
    thread_local std::vector<float> xp;
    if (xp.size() < bf16_pair_floats(M, K)) xp.resize(bf16_pair_floats(M, K));
    split_pairs_even_odd(x, M, K, xp.data());
    const float* xpp = xp.data();
    auto rows = [&](const GemvOut& o, int n0, int n1) {
      gemv_bf16_panel_rows_avx512(static_cast<const uint16_t*>(o.w), K, n0, n1, xpp, M, o.y, o.N,
                                  o.bias, o.accumulate);
    };
    for_rows_of_outputs(outs, count, long(K) * M, size_t(K) * sizeof(uint16_t), rows);
    return;
  }
  // Grows once to the largest M*K seen; decoding then allocates nothing.
  thread_local std::vector<float> xs;
  if (xs.size() < size_t(M) * K) xs.resize(size_t(M) * K);
  for (int m = 0; m < M; ++m) split_even_odd(x + size_t(m) * K, K, xs.data() + size_t(m) * K);
  // A pointer, not the thread_local itself: inside the lambda a worker would name its own.
  const float* xsp = xs.data();
  const bool wide = cpu_path() >= CpuPath::Avx512;
  auto rows = [&](const GemvOut& o, int n0, int n1) {
    const uint16_t* P = static_cast<const uint16_t*>(o.w);
    for (; n0 < n1; n0 += 4) {
      const uint16_t* p = P + size_t(n0) * K;  // panel n0 / 4 starts at row n0's offset
      for (int m = 0; m < M; ++m) {
        float s[4];
        if (wide)
          gemv_panel_dot_bf16_avx512(p, K, xsp + size_t(m) * K, s);
        else
          dot_panel(p, K, x + size_t(m) * K, xsp + size_t(m) * K, s);
        store_rows(o.y + size_t(m) * o.N, n0, 4, s, o.bias, o.accumulate);
      }
    }
  };
  for_rows_of_outputs(outs, count, long(K) * M, size_t(K) * sizeof(uint16_t), rows);
}

}  // namespace lr
