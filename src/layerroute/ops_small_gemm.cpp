// Single-threaded register-tiled GEMM for the attention tiles. OpenBLAS cannot be called
// from inside our OpenMP tasks without its pthread pool fighting the team, and the tiles
// (64 x T x 64) are too small to hand to it whole.
#include "layerroute/ops.h"
#include "layerroute/ops_simd.h"

namespace lr::ops {

namespace {

#ifdef __AVX2__
// MR rows x 16 columns. When masked, only the lanes of m0/m1 are loaded and stored.
// Stores one row of the tile (C += or = acc), all 16 lanes or only those of m0/m1.
template <bool kMasked>
inline void store_row(float* cr, __m256 x0, __m256 x1, bool acc, __m256i m0, __m256i m1) {
  if (kMasked) {
    if (acc) {
      x0 = _mm256_add_ps(x0, _mm256_maskload_ps(cr, m0));
      x1 = _mm256_add_ps(x1, _mm256_maskload_ps(cr + 8, m1));
    }
    _mm256_maskstore_ps(cr, m0, x0);
    _mm256_maskstore_ps(cr + 8, m1, x1);
  } else {
    if (acc) {
      x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));
      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, x0);
    _mm256_storeu_ps(cr + 8, x1);
  }
}

// MR rows x 16 columns. When masked, only the lanes of m0/m1 are loaded and stored. The
// accumulators are named variables: GCC keeps an array of them in memory and stores every
// row to the stack on every k (measured: half the FMA rate).
template <int MR, bool kMasked>
void tile(int K, const float* A, long a_rs, long a_ks, const float* B, long ldb, float* C, long ldc,
          bool acc, __m256i m0, __m256i m1) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int k = 0; k < K; ++k) {
    const float* b = B + long(k) * ldb;
    const __m256 b0 = kMasked ? _mm256_maskload_ps(b, m0) : _mm256_loadu_ps(b);
    const __m256 b1 = kMasked ? _mm256_maskload_ps(b + 8, m1) : _mm256_loadu_ps(b + 8);
    const float* a = A + long(k) * a_ks;
    auto row = [&](int r, __m256& x0, __m256& x1) {
      const __m256 av = _mm256_broadcast_ss(a + long(r) * a_rs);
      x0 = _mm256_fmadd_ps(av, b0, x0);
      x1 = _mm256_fmadd_ps(av, b1, x1);
    };
    row(0, c00, c01);
    if constexpr (MR > 1) row(1, c10, c11);
    if constexpr (MR > 2) row(2, c20, c21);
    if constexpr (MR > 3) row(3, c30, c31);
    if constexpr (MR > 4) row(4, c40, c41);
    if constexpr (MR > 5) row(5, c50, c51);
  }
  store_row<kMasked>(C, c00, c01, acc, m0, m1);
  if constexpr (MR > 1) store_row<kMasked>(C + ldc, c10, c11, acc, m0, m1);
  if constexpr (MR > 2) store_row<kMasked>(C + 2 * ldc, c20, c21, acc, m0, m1);
  if constexpr (MR > 3) store_row<kMasked>(C + 3 * ldc, c30, c31, acc, m0, m1);
  if constexpr (MR > 4) store_row<kMasked>(C + 4 * ldc, c40, c41, acc, m0, m1);
  if constexpr (MR > 5) store_row<kMasked>(C + 5 * ldc, c50, c51, acc, m0, m1);
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
