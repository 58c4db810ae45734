// The AVX-512F register block on f32: 12 rows of x by 32 outputs, 24 zmm accumulators
// (of 32), each k step two loads of W and twelve broadcast FMAs.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/isa.h"

namespace lr {

namespace {

constexpr int MR = 12, NR = 32;

// W rows [n0, n0 + 32) x [k0, k0 + kc) -> dst[k * 32 + j] (rows >= N zero), through the
// format's widen into a row-major tile and four 8-row transposes.
void pack_w(const GemmWeights& W, int n0, int k0, int kc, void* out) {
  float* dst = static_cast<float*>(out);
  alignas(64) static thread_local float tile[NR * kGemmMaxKc];
  const int n = std::min(NR, W.N - n0);
  W.widen(W, n0, n, k0, kc, tile, kc);
  for (int h = 0; h < NR; h += 8)
    gemm_transpose_rows8(tile + size_t(h) * kc, kc, std::clamp(n - h, 0, 8), kc, dst + h, NR);
}

// x rows [m0, m0 + 12) x [k0, k0 + kc) -> dst[k * 12 + r] (rows >= M zero): rows 0-7 and
// 8-11 each through the 8-row register transpose, then interleaved.
void pack_x(const float* x, int M, int K, int m0, int k0, int kc, void* out) {
  float* dst = static_cast<float*>(out);
  const int R = std::min(MR, M - m0);
  const float* src = x + size_t(m0) * K + k0;
  if (R == MR) {
    alignas(64) float lo[8 * kGemmMaxKc], hi[8 * kGemmMaxKc];
    gemm_transpose_rows8(src, K, 8, kc, lo, 8);
    gemm_transpose_rows8(src + size_t(8) * K, K, 4, kc, hi, 8);
    for (int k = 0; k < kc; ++k) {
      std::memcpy(dst + size_t(k) * MR, lo + size_t(k) * 8, 8 * sizeof(float));
      std::memcpy(dst + size_t(k) * MR + 8, hi + size_t(k) * 8, 4 * sizeof(float));
    }
    return;
  }
  for (int k = 0; k < kc; ++k)
    for (int i = 0; i < MR; ++i) dst[size_t(k) * MR + i] = i < R ? src[size_t(i) * K + k] : 0.f;
}

#define LR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

LR_TARGET_AVX512 void micro(int kc, const void* Av, const void* Bv, float* C, int ldc, int mr,
                            int nr) {
  const float* A = static_cast<const float*>(Av);
  const float* B = static_cast<const float*>(Bv);
#define LR_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
  LR_ROWS(LR_DECL)
#undef LR_DECL
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc + 31), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k, A += MR, B += NR) {
    const __m512 b0 = _mm512_load_ps(B), b1 = _mm512_load_ps(B + 16);
#define LR_FMA(r)                              \
  {                                            \
    const __m512 a = _mm512_set1_ps(A[r]);     \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0); \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1); \
  }
    LR_ROWS(LR_FMA)
#undef LR_FMA
  }
  alignas(64) float t[MR][NR];
#define LR_STORE(r)               \
  _mm512_store_ps(t[r], c##r##0); \
  _mm512_store_ps(t[r] + 16, c##r##1);
  LR_ROWS(LR_STORE)
#undef LR_STORE
  gemm_add_tile_12x32(t, C, ldc, mr, nr);
}

}  // namespace

LR_TARGET_AVX512 void gemm_add_tile_12x32(const float (*t)[32], float* C, int ldc, int mr, int nr) {
  if (nr == NR) {
    for (int r = 0; r < mr; ++r) {
      float* cr = C + size_t(r) * ldc;
      _mm512_storeu_ps(cr, _mm512_add_ps(_mm512_loadu_ps(cr), _mm512_load_ps(t[r])));
      _mm512_storeu_ps(cr + 16, _mm512_add_ps(_mm512_loadu_ps(cr + 16), _mm512_load_ps(t[r] + 16)));
    }
    return;
  }
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) C[size_t(r) * ldc + j] += t[r][j];
}

const GemmKernel& gemm_kernel_avx512() {
  static const GemmKernel k{"avx512 f32 12x32", MR, NR, 1, 256, &pack_x, &pack_w, &micro};
  return k;
}

}  // namespace lr
