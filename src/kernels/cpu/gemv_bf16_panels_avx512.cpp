// See gemv_bf16_panels_avx512.h. Each weight chunk is widened once for all the rows, so a
// few rows cost about what one does: the weights' read (BM_gemv_bf16_panels at 1, 4 and 8
// rows measures it; LR_CPU=avx2 runs the one-row kernel per row for comparison).
#include "kernels/cpu/gemv_bf16_panels_avx512.h"

#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

// G pairs of x rows over one 4-row panel: s[g][0..3] are the panel rows' outputs for x row
// 2g of the pairs, s[g][4..7] for row 2g + 1. The 256-bit weight chunk is broadcast to both
// halves of a zmm, so lanes i and 8 + i see the weights lane i of the one-row kernel sees.
template <int G>
LR_TARGET_AVX512 inline void dot_panel_pairs(const uint16_t* p, int K, const float* xp,
                                             size_t pair_stride, float (*s)[8]) {
  // The maskz forms with every lane set: GCC 12's unmasked ones read an "undefined" vector
  // that -Werror=maybe-uninitialized rejects.
  const __mmask16 all = 0xffff;
  const __mmask8 all8 = 0xff;
  const __m512i hi_mask = _mm512_set1_epi32(int(0xffff0000u));
  __m512 a[G][4], b[G][4];
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < 4; ++j) a[g][j] = b[g][j] = _mm512_setzero_ps();
  const char* base = reinterpret_cast<const char*>(p);
  for (int k = 0; k < K; k += 16) {
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes, _MM_HINT_NTA);
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes + 64, _MM_HINT_NTA);
    const uint16_t* q = p + 4 * size_t(k);
    for (int j = 0; j < 4; ++j) {
      const __m512i v = _mm512_maskz_broadcast_i64x4(
          all8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 16 * j)));
      const __m512 lo = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, v, 16));
      const __m512 hi = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
      for (int g = 0; g < G; ++g) {
        const float* x = xp + size_t(g) * pair_stride + 2 * size_t(k);
        a[g][j] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(x), a[g][j]);
        b[g][j] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + 16), b[g][j]);
      }
    }
  }
  for (int g = 0; g < G; ++g) {
    __m512 t[4];
    for (int j = 0; j < 4; ++j) t[j] = _mm512_add_ps(a[g][j], b[g][j]);
    __m256 l[4], h[4];  // the halves: x rows 2g and 2g + 1
    for (int j = 0; j < 4; ++j) {
      l[j] = _mm512_maskz_extractf32x8_ps(all8, t[j], 0);
      h[j] = _mm512_maskz_extractf32x8_ps(all8, t[j], 1);
    }
    _mm_storeu_ps(s[g], simd::hsum4(l[0], l[1], l[2], l[3]));
    _mm_storeu_ps(s[g] + 4, simd::hsum4(h[0], h[1], h[2], h[3]));
  }
}

}  // namespace

void split_pairs_even_odd(const float* x, int M, int K, float* xp) {
  for (int q = 0; 2 * q < M; ++q) {
    const float* r0 = x + size_t(2 * q) * K;
    const float* r1 = x + size_t(std::min(2 * q + 1, M - 1)) * K;
    float* d = xp + size_t(q) * 2 * K;
    for (int k = 0; k + 16 <= K; k += 16, d += 32)
      for (int j = 0; j < 8; ++j) {
        d[j] = r0[k + 2 * j];
        d[8 + j] = r1[k + 2 * j];
        d[16 + j] = r0[k + 2 * j + 1];
        d[24 + j] = r1[k + 2 * j + 1];
      }
  }
}

LR_TARGET_AVX512 void gemv_bf16_panel_rows_avx512(const uint16_t* P, int K, int n0, int n1,
                                                  const float* xp, int M, float* y, int ldy,
                                                  const float* bias, bool accumulate) {
  const int pairs = (M + 1) / 2;
  const size_t ps = 2 * size_t(K);
  for (int n = n0; n < n1; n += 4) {
    const uint16_t* p = P + size_t(n) * K;  // panel n / 4 starts at row n's offset
    // At most 3 pairs per pass over the panel (24 accumulators of the 32 registers); 4 as
    // 2 + 2. A later pass reads the panel from L1/L2, not memory.
    for (int q0 = 0; q0 < pairs;) {
      const int g = pairs - q0 == 4 ? 2 : std::min(3, pairs - q0);
      float s[3][8];
      const float* x = xp + size_t(q0) * ps;
      if (g == 1)
        dot_panel_pairs<1>(p, K, x, ps, s);
      else if (g == 2)
        dot_panel_pairs<2>(p, K, x, ps, s);
      else
        dot_panel_pairs<3>(p, K, x, ps, s);
      for (int m = 2 * q0; m < std::min(M, 2 * (q0 + g)); ++m)
        store_rows(y + size_t(m) * ldy, n, 4, s[m / 2 - q0] + 4 * (m % 2), bias, accumulate);
      q0 += g;
    }
  }
}

}  // namespace lr
