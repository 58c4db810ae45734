// The AVX2 + FMA register block: 6 rows of x by 16 outputs, twelve ymm accumulators.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

constexpr int MR = kGemmMR, NR = kGemmNR;
constexpr int kMaxKc = kGemmMaxKc;

}  // namespace

void gemm_transpose_rows8(const float* src, int lds, int R, int kc, float* dst, int ldd) {
  int k = 0;
#if LR_HAVE_AVX2
  if (R == 8) {
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + size_t(i) * lds + k);
      simd::transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + size_t(k + i) * ldd, r[i]);
    }
  }
#endif
  for (; k < kc; ++k)
    for (int i = 0; i < 8; ++i) dst[size_t(k) * ldd + i] = i < R ? src[size_t(i) * lds + k] : 0.f;
}

namespace {

// W rows [n0, n0 + 16) x [k0, k0 + kc) -> dst[k * 16 + j] (rows >= N zero): widen into a
// row-major tile in L1, then transpose each 8-row half into its 8 lanes of the panel.
void pack_w_panel(const GemmWeights& W, int n0, int k0, int kc, void* out) {
  float* dst = static_cast<float*>(out);
  alignas(64) float tile[NR * kMaxKc];
  const int n = std::min(NR, W.N - n0);
  W.widen(W, n0, n, k0, kc, tile, kc);
  for (int h = 0; h < NR; h += 8)
    gemm_transpose_rows8(tile + size_t(h) * kc, kc, std::clamp(n - h, 0, 8), kc, dst + h, NR);
}

// x rows [m0, m0 + 6) x [k0, k0 + kc) -> dst[k * 6 + r] (rows >= M zero).
void pack_x_panel(const float* x, int M, int K, int m0, int k0, int kc, void* out) {
  float* dst = static_cast<float*>(out);
  const int R = std::min(MR, M - m0);
  const float* src = x + size_t(m0) * K + k0;
  int k = 0;
#if LR_HAVE_AVX2
  if (R == MR) {
    // 8 columns of the 6 rows at a time: an 8 x 8 transpose whose last two rows are
    // don't-cares, stored 8 wide at a stride of 6, ascending, so each store's 2 extra
    // lanes are overwritten by the next; the panel's very last store is 6 wide (another
    // thread may be packing the next panel).
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < MR; ++i) r[i] = _mm256_loadu_ps(src + size_t(i) * K + k);
      r[6] = r[7] = _mm256_setzero_ps();
      simd::transpose8(r);
      for (int i = 0; i < 7; ++i) _mm256_storeu_ps(dst + size_t(k + i) * MR, r[i]);
      float* last = dst + size_t(k + 7) * MR;
      if (k + 8 < kc) {
        _mm256_storeu_ps(last, r[7]);
      } else {
        _mm_storeu_ps(last, _mm256_castps256_ps128(r[7]));
        _mm_storel_pi(reinterpret_cast<__m64*>(last + 4), _mm256_extractf128_ps(r[7], 1));
      }
    }
  }
#endif
  for (; k < kc; ++k)
    for (int i = 0; i < MR; ++i) dst[size_t(k) * MR + i] = i < R ? src[size_t(i) * K + k] : 0.f;
}

// C[6 x 16] += A panel . B micro-panel over kc. Partial blocks (mr < 6 or nr < 16) go
// through a local tile, so the kernel itself always runs the full register block.
void micro_kernel(int kc, const void* Av, const void* Bv, float* C, int ldc, int mr, int nr) {
  const float* A = static_cast<const float*>(Av);
  const float* B = static_cast<const float*>(Bv);
#if LR_HAVE_AVX2
  // Twelve named accumulators: with an array GCC kept a copy on the stack, stored each step.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  // C's tile is in L3 at best (a row every ldc floats): ask for it now, use it at the end.
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k, A += MR, B += NR) {
    const __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8);
    __m256 a = _mm256_broadcast_ss(A);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(A + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(A + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  const __m256 c[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* cr = C + size_t(r) * ldc;
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), c[r][0]));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), c[r][1]));
    }
    return;
  }
  alignas(32) float t[MR][NR];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(t[r], c[r][0]);
    _mm256_store_ps(t[r] + 8, c[r][1]);
  }
#else
  float t[MR][NR] = {};
  for (int k = 0; k < kc; ++k, A += MR, B += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) t[r][j] += A[r] * B[j];
#endif
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) C[size_t(r) * ldc + j] += t[r][j];
}

}  // namespace

const GemmKernel& gemm_kernel_avx2() {
  static const GemmKernel k{"avx2 f32 6x16", MR,           NR, 1, 256, &pack_x_panel,
                            &pack_w_panel,   &micro_kernel};
  return k;
}

}  // namespace lr
