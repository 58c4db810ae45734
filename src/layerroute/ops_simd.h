#pragma once
// AVX2 helpers for the training ops: the shared polynomial exp (expf was a quarter of the
// step's time when called per element) and horizontal sums. Scalar fallbacks keep non-AVX2 builds
// working.
#include <cmath>
#include <cstddef>

#include "kernels/cpu/simd.h"  // exp256: the one vector exp, shared with inference

namespace lr::ops::simd {

#ifdef __AVX2__
using lr::simd::exp256;

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

using lr::simd::hmax;

// Lane mask for the first n (0..8) lanes.
inline __m256i tail_mask(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}
#endif

// Scalar twin of exp256 (same clamping), for tails and non-AVX2 builds.
inline float exp1(float x) {
  if (x < -87.33654f) return 0.f;
  return std::exp(x < 88.3762626647949f ? x : 88.3762626647949f);
}

// x[j] = exp(x[j] - sub) for j < n; returns their sum (8 float lanes, then the tail).
inline float exp_sub_sum(float* x, int n, float sub) {
  int j = 0;
  float sum = 0.f;
#ifdef __AVX2__
  __m256 acc = _mm256_setzero_ps();
  const __m256 vsub = _mm256_set1_ps(sub);
  for (; j + 8 <= n; j += 8) {
    const __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), vsub));
    _mm256_storeu_ps(x + j, p);
    acc = _mm256_add_ps(acc, p);
  }
  sum = hsum8(acc);
#endif
  for (; j < n; ++j) {
    x[j] = exp1(x[j] - sub);
    sum += x[j];
  }
  return sum;
}

}  // namespace lr::ops::simd
