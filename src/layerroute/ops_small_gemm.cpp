// Single-threaded register-tiled GEMM for the attention tiles. OpenBLAS cannot be called
// from inside our OpenMP tasks without its pthread pool fighting the team, and the tiles
// (64 x T x 64) are too small to hand to it whole.
#include "layerroute/ops.h"
#include "layerroute/ops_simd.h"

namespace lr::ops {

namespace {

#ifdef __AVX2__
// MR rows x 16 columns. When masked, only the lanes of m0/m1 are loaded and stored.
template <int MR, bool kMasked>
void tile(int K, const float* A, long a_rs, long a_ks, const float* B, long ldb, float* C, long ldc,
          bool acc, __m256i m0, __m256i m1) {
  __m256 c[MR][2];
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm256_setzero_ps();
  for (int k = 0; k < K; ++k) {
    const float* b = B + long(k) * ldb;
    const __m256 b0 = kMasked ? _mm256_maskload_ps(b, m0) : _mm256_loadu_ps(b);
    const __m256 b1 = kMasked ? _mm256_maskload_ps(b + 8, m1) : _mm256_loadu_ps(b + 8);
    const float* a = A + long(k) * a_ks;
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + long(r) * a_rs);
      c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
      c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    float* cr = C + long(r) * ldc;
    if (kMasked) {
      if (acc) {
        c[r][0] = _mm256_add_ps(c[r][0], _mm256_maskload_ps(cr, m0));
        c[r][1] = _mm256_add_ps(c[r][1], _mm256_maskload_ps(cr + 8, m1));
      }
      _mm256_maskstore_ps(cr, m0, c[r][0]);
      _mm256_maskstore_ps(cr + 8, m1, c[r][1]);
    } else {
      if (acc) {
        c[r][0] = _mm256_add_ps(c[r][0], _mm256_loadu_ps(cr));
        c[r][1] = _mm256_add_ps(c[r][1], _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, c[r][0]);
      _mm256_storeu_ps(cr + 8, c[r][1]);
    }
  }
}

template <bool kMasked>
void rows_tile(int mr, int K, const float* A, long a_rs, long a_ks, const float* B, long ldb,
               float* C, long ldc, bool acc, __m256i m0, __m256i m1) {
  switch (mr) {
    case 6:
      return tile<6, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
    case 5:
      return tile<5, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
    case 4:
      return tile<4, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
    case 3:
      return tile<3, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
    case 2:
      return tile<2, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
    default:
      return tile<1, kMasked>(K, A, a_rs, a_ks, B, ldb, C, ldc, acc, m0, m1);
  }
}
#endif

}  // namespace

void small_gemm(int M, int N, int K, const float* A, long a_rs, long a_ks, const float* B, long ldb,
                float* C, long ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
#ifdef __AVX2__
  constexpr int MR = 6;
  for (int c0 = 0; c0 < N; c0 += 16) {
    const int w = N - c0 < 16 ? N - c0 : 16;
    const __m256i m0 = simd::tail_mask(w), m1 = simd::tail_mask(w - 8);
    for (int r0 = 0; r0 < M; r0 += MR) {
      const int mr = M - r0 < MR ? M - r0 : MR;
      const float* a = A + long(r0) * a_rs;
      float* c = C + long(r0) * ldc + c0;
      if (w == 16)
        rows_tile<false>(mr, K, a, a_rs, a_ks, B + c0, ldb, c, ldc, accumulate, m0, m1);
      else
        rows_tile<true>(mr, K, a, a_rs, a_ks, B + c0, ldb, c, ldc, accumulate, m0, m1);
    }
  }
#else
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) {
      float s = 0.f;
      for (int k = 0; k < K; ++k) s += A[long(r) * a_rs + long(k) * a_ks] * B[long(k) * ldb + c];
      C[long(r) * ldc + c] = accumulate ? C[long(r) * ldc + c] + s : s;
    }
#endif
}

}  // namespace lr::ops
