#include "kernels/cpu/gemv.h"

#include <vector>

#include "core/dtype.h"
#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

#ifndef LR_GEMV_PREFETCH
#define LR_GEMV_PREFETCH 1024
#endif
constexpr int kPrefetchBytes = LR_GEMV_PREFETCH;

inline float load1(const float* p) {
  return *p;
}
inline float load1(const uint16_t* p) {
  return bf16_to_f32(*p);
}

#if LR_HAVE_AVX2
inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 load8(const uint16_t* p) {
  return simd::load_bf16x8(p);
}
#endif

// Four dot products of consecutive weight rows w[0..3] (stride K) with x; the weights are
// streamed once, x stays in L1. Two accumulators per row hide the FMA latency.
template <typename T>
inline void dot4(const T* w, int K, const float* x, float out[4]) {
  const T* w0 = w;
  const T* w1 = w + K;
  const T* w2 = w + 2 * size_t(K);
  const T* w3 = w + 3 * size_t(K);
  int k = 0;
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#if LR_HAVE_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
         a3 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(),
         b3 = _mm256_setzero_ps();
  // Software prefetch a fixed byte distance ahead in each of the 4 row streams: four
  // interleaved streams outrun the hardware prefetcher (BM_gemv_* at one thread measures
  // it; tune the distance with -DLR_GEMV_PREFETCH=bytes).
  constexpr int kAhead = kPrefetchBytes / int(sizeof(T));
  for (; k + 16 <= K; k += 16) {
    _mm_prefetch(prefetch_addr(w0, k, kAhead, K), _MM_HINT_T0);
    _mm_prefetch(prefetch_addr(w1, k, kAhead, K), _MM_HINT_T0);
    _mm_prefetch(prefetch_addr(w2, k, kAhead, K), _MM_HINT_T0);
    _mm_prefetch(prefetch_addr(w3, k, kAhead, K), _MM_HINT_T0);
    const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
    a0 = _mm256_fmadd_ps(load8(w0 + k), x0, a0);
    b0 = _mm256_fmadd_ps(load8(w0 + k + 8), x1, b0);
    a1 = _mm256_fmadd_ps(load8(w1 + k), x0, a1);
    b1 = _mm256_fmadd_ps(load8(w1 + k + 8), x1, b1);
    a2 = _mm256_fmadd_ps(load8(w2 + k), x0, a2);
    b2 = _mm256_fmadd_ps(load8(w2 + k + 8), x1, b2);
    a3 = _mm256_fmadd_ps(load8(w3 + k), x0, a3);
    b3 = _mm256_fmadd_ps(load8(w3 + k + 8), x1, b3);
  }
  for (; k + 8 <= K; k += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + k);
    a0 = _mm256_fmadd_ps(load8(w0 + k), x0, a0);
    a1 = _mm256_fmadd_ps(load8(w1 + k), x0, a1);
    a2 = _mm256_fmadd_ps(load8(w2 + k), x0, a2);
    a3 = _mm256_fmadd_ps(load8(w3 + k), x0, a3);
  }
  float r[4];
  _mm_storeu_ps(r, simd::hsum4(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2),
                               _mm256_add_ps(a3, b3)));
  s0 = r[0], s1 = r[1], s2 = r[2], s3 = r[3];
#endif
  for (; k < K; ++k) {
    s0 += load1(w0 + k) * x[k];
    s1 += load1(w1 + k) * x[k];
    s2 += load1(w2 + k) * x[k];
    s3 += load1(w3 + k) * x[k];
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

#if LR_HAVE_AVX2
// bf16 rows without widening shuffles: a 32-bit lane of 16 loaded bf16 holds elements 2j
// (low half) and 2j+1 (high half), so a shift and a mask give both as floats. x comes
// pre-split per 16-chunk into [x even (8), x odd (8)] (xs), made once per call.
inline void dot4_bf16(const uint16_t* w, int K, const float* x, const float* xs, float out[4]) {
  const uint16_t* r[4] = {w, w + K, w + 2 * size_t(K), w + 3 * size_t(K)};
  constexpr int kAhead = kPrefetchBytes / 2;
  const __m256i hi_mask = _mm256_set1_epi32(int(0xffff0000u));
  __m256 a[4], b[4];
  for (int j = 0; j < 4; ++j) a[j] = b[j] = _mm256_setzero_ps();
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    const __m256 xe = _mm256_loadu_ps(xs + k), xo = _mm256_loadu_ps(xs + k + 8);
    for (int j = 0; j < 4; ++j) {
      _mm_prefetch(prefetch_addr(r[j], k, kAhead, K), _MM_HINT_T0);
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r[j] + k));
      a[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), xe, a[j]);
      b[j] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, hi_mask)), xo, b[j]);
    }
  }
  float s[4];
  _mm_storeu_ps(s, simd::hsum4(_mm256_add_ps(a[0], b[0]), _mm256_add_ps(a[1], b[1]),
                               _mm256_add_ps(a[2], b[2]), _mm256_add_ps(a[3], b[3])));
  for (; k < K; ++k)
    for (int j = 0; j < 4; ++j) s[j] += bf16_to_f32(r[j][k]) * x[k];
  for (int j = 0; j < 4; ++j) out[j] = s[j];
}

#endif

template <typename T>
inline float dot1(const T* w, int K, const float* x) {
  int k = 0;
  float s = 0.f;
#if LR_HAVE_AVX2
  __m256 a = _mm256_setzero_ps();
  for (; k + 8 <= K; k += 8) a = _mm256_fmadd_ps(load8(w + k), _mm256_loadu_ps(x + k), a);
  s = simd::hsum(a);
#endif
  for (; k < K; ++k) s += load1(w + k) * x[k];
  return s;
}

template <typename T>
void gemv(const T* W, int N, int K, const float* bias, const float* x, int M, float* y,
          bool accumulate, const float* xs = nullptr) {
  // Blocks of 4 rows; for M > 1 the 4 rows are re-read from L1/L2 for each x row, so the
  // weights still come from memory once.
  auto rows = [&](int n0, int n1) {
    for (; n0 < n1; n0 += 4) {
      const T* w = W + size_t(n0) * K;
      for (int m = 0; m < M; ++m) {
        const float* xm = x + size_t(m) * K;
        float* ym = y + size_t(m) * N;
        float s[4];
        int cnt = N - n0 < 4 ? N - n0 : 4;
        if (cnt == 4) {
#if LR_HAVE_AVX2
          if constexpr (sizeof(T) == 2)
            dot4_bf16(w, K, xm, xs + size_t(m) * K, s);
          else
#endif
            dot4(w, K, xm, s);
        } else {
          for (int j = 0; j < cnt; ++j) s[j] = dot1(w + size_t(j) * K, K, xm);
        }
        store_rows(ym, n0, cnt, s, bias, accumulate);
      }
    }
  };
  for_row_chunks(N, long(N) * K * M, size_t(K) * sizeof(T), rows);
}
}  // namespace

void gemv_f32(const float* W, int N, int K, const float* bias, const float* x, int M, float* y,
              bool accumulate) {
  gemv(W, N, K, bias, x, M, y, accumulate);
}

void gemv_bf16(const uint16_t* W, int N, int K, const float* bias, const float* x, int M, float* y,
               bool accumulate) {
#if LR_HAVE_AVX2
  // Grows once to the largest M*K seen; decoding then allocates nothing.
  thread_local std::vector<float> xs;
  if (xs.size() < size_t(M) * K) xs.resize(size_t(M) * K);
  for (int m = 0; m < M; ++m) split_even_odd(x + size_t(m) * K, K, xs.data() + size_t(m) * K);
  gemv(W, N, K, bias, x, M, y, accumulate, xs.data());
#else
  gemv(W, N, K, bias, x, M, y, accumulate);
#endif
}

}  // namespace lr
