#include "kernels/cpu/gemv_avx512.h"

#include <immintrin.h>

#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

// The sums of lanes 0-7 and 8-15 of a and of b (rows 0-3 of a panel), added as the AVX2
// kernel adds its four row vectors. Through memory: GCC 12's 512-bit extracts and casts
// read an "undefined" vector that -Werror rejects.
LR_TARGET_AVX512 inline void half_sums(__m512 a, __m512 b, float out[4]) {
  alignas(64) float t[32];
  _mm512_store_ps(t, a);
  _mm512_store_ps(t + 16, b);
  _mm_storeu_ps(out, simd::hsum4(_mm256_load_ps(t), _mm256_load_ps(t + 8), _mm256_load_ps(t + 16),
                                 _mm256_load_ps(t + 24)));
}

}  // namespace

LR_TARGET_AVX512 void gemv_panel_dot_bf16_avx512(const uint16_t* p, int K, const float* xs,
                                                 float out[4]) {
  // A 16-chunk of the panel is 128 bytes, rows 0-3 of 16 bf16 each: one zmm holds rows
  // (0, 1), the other (2, 3). A 32-bit lane holds elements 2i (low half) and 2i + 1 (high),
  // so a shift and a mask make them floats, met by x's evens and odds repeated per row.
  const __m512i hi_mask = _mm512_set1_epi32(int(0xffff0000u));
  const __mmask16 all = 0xffff;  // maskz forms, as in half_sums
  __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0;
  const char* base = reinterpret_cast<const char*>(p);
  for (int k = 0; k < K; k += 16) {
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes, _MM_HINT_NTA);
    _mm_prefetch(base + 8 * size_t(k) + kBf16PanelAheadBytes + 64, _MM_HINT_NTA);
    const __m512 x = _mm512_loadu_ps(xs + k);  // [evens (8), odds (8)]
    const __m512 xe = _mm512_maskz_shuffle_f32x4(all, x, x, 0x44),
                 xo = _mm512_maskz_shuffle_f32x4(all, x, x, 0xee);
    const __m512i v0 = _mm512_loadu_si512(p + 4 * size_t(k));
    const __m512i v1 = _mm512_loadu_si512(p + 4 * size_t(k) + 32);
    a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, v0, 16)), xe, a0);
    b0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v0, hi_mask)), xo, b0);
    a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, v1, 16)), xe, a1);
    b1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v1, hi_mask)), xo, b1);
  }
  half_sums(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), out);
}

LR_TARGET_AVX512BF16 void gemv_panel_dot_q8_vnni(const uint8_t* p, int nb, const int16_t* xq,
                                                 const float* xs, float out[4]) {
  // The AVX2 kernel's (gemv_q8_panels.cpp) integer sums and float steps, with each row's
  // two madds and their add fused into two vpdpwssd: the int32 lanes are exact either way,
  // so the result is bit-identical to that kernel's.
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* blk = p + size_t(b) * kQ8PanelBlockBytes;
    for (int off = 0; off < int(kQ8PanelBlockBytes); off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk) + kQ8PanelAheadBytes + off, _MM_HINT_NTA);
    const __m128 s4 = _mm_castsi128_ps(_mm_unpacklo_epi16(
        _mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk))));
    const __m256 sc = _mm256_mul_ps(_mm256_set_m128(s4, s4), _mm256_broadcast_ss(xs + b));
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + kQ8Block * b));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + kQ8Block * b + 16));
    const uint8_t* q = blk + kQ8PanelScaleBytes;
    __m256i d[4];
    for (int j = 0; j < 4; ++j) {
      const __m128i* w = reinterpret_cast<const __m128i*>(q + kQ8Block * j);
      d[j] = _mm256_dpwssd_epi32(
          _mm256_dpwssd_epi32(_mm256_setzero_si256(), _mm256_cvtepi8_epi16(_mm_loadu_si128(w)), x0),
          _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1)), x1);
    }
    const __m256i r =
        _mm256_hadd_epi32(_mm256_hadd_epi32(d[0], d[1]), _mm256_hadd_epi32(d[2], d[3]));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(r), sc, acc);
  }
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

}  // namespace lr
