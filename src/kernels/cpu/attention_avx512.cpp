#include "kernels/cpu/attention_avx512.h"

#include <immintrin.h>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/isa.h"

namespace lr {

namespace {

constexpr int kKT = kKVTile;

// NR rows x 16W keys of scores: 2 * 6 accumulators at most, and per c W key loads and NR
// broadcasts for NR * W FMAs.
template <int NR, int W>
LR_TARGET_AVX512 inline void scores_block(const float* qs, const float* kt, int d, float* s) {
  __m512 a[NR][W];
  for (int i = 0; i < NR; ++i)
    for (int w = 0; w < W; ++w) a[i][w] = _mm512_setzero_ps();
  for (int c = 0; c < d; ++c) {
    __m512 k[W];
    for (int w = 0; w < W; ++w) k[w] = _mm512_loadu_ps(kt + size_t(c) * kKT + 16 * w);
    for (int i = 0; i < NR; ++i) {
      const __m512 q = _mm512_set1_ps(qs[size_t(i) * d + c]);
      for (int w = 0; w < W; ++w) a[i][w] = _mm512_fmadd_ps(q, k[w], a[i][w]);
    }
  }
  for (int i = 0; i < NR; ++i)
    for (int w = 0; w < W; ++w) _mm512_storeu_ps(s + size_t(i) * kKT + 16 * w, a[i][w]);
}

template <int NR>
struct ScoreRows {
  LR_TARGET_AVX512 static void run(const float* qs, const float* kt, int d, int ntp, float* s) {
    int j = 0;
    for (; j + 32 <= ntp; j += 32) scores_block<NR, 2>(qs, kt + j, d, s + j);
    if (j < ntp) scores_block<NR, 1>(qs, kt + j, d, s + j);
  }
};

// NR rows of o += p v over 16W columns: each output adds p[j] v[j] in j order onto its
// loaded value, as the AVX2 tile does.
template <int NR, int W>
LR_TARGET_AVX512 inline void pv_block(const float* p, const float* v, size_t vs, int d, int nt,
                                      float* o) {
  __m512 a[NR][W];
  for (int i = 0; i < NR; ++i)
    for (int w = 0; w < W; ++w) a[i][w] = _mm512_loadu_ps(o + size_t(i) * d + 16 * w);
  for (int j = 0; j < nt; ++j) {
    __m512 vv[W];
    for (int w = 0; w < W; ++w) vv[w] = _mm512_loadu_ps(v + j * vs + 16 * w);
    for (int i = 0; i < NR; ++i) {
      const __m512 pj = _mm512_set1_ps(p[size_t(i) * kKT + j]);
      for (int w = 0; w < W; ++w) a[i][w] = _mm512_fmadd_ps(pj, vv[w], a[i][w]);
    }
  }
  for (int i = 0; i < NR; ++i)
    for (int w = 0; w < W; ++w) _mm512_storeu_ps(o + size_t(i) * d + 16 * w, a[i][w]);
}

template <int NR>
struct PvRows {
  LR_TARGET_AVX512 static void run(const float* p, const float* v, size_t vs, int d, int nt,
                                   float* o) {
    int c = 0;
    for (; c + 32 <= d; c += 32) pv_block<NR, 2>(p, v + c, vs, d, nt, o + c);
    if (c < d) pv_block<NR, 1>(p, v + c, vs, d, nt, o + c);
  }
};

// Rows in blocks of 6 (Qwen2.5-0.5B's 42-row prefill items are 7 of them, a decode
// step's 7 q heads per kv head 6 + 1), the rest in one smaller block. Rows of `in` are
// `si` floats apart, rows of `out` `so`.
template <template <int> class Rows, typename... Args>
LR_TARGET_AVX512 inline void row_blocks(int R, const float* in, size_t si, float* out, size_t so,
                                        Args... args) {
  int r = 0;
  for (; r + 6 <= R; r += 6) Rows<6>::run(in + r * si, args..., out + r * so);
  in += r * si, out += r * so;
  switch (R - r) {
    case 5:
      return Rows<5>::run(in, args..., out);
    case 4:
      return Rows<4>::run(in, args..., out);
    case 3:
      return Rows<3>::run(in, args..., out);
    case 2:
      return Rows<2>::run(in, args..., out);
    case 1:
      return Rows<1>::run(in, args..., out);
    default:
      return;
  }
}

// exp(x) for 16 floats: exp256's Cephes polynomial (simd.h), lane for lane the same
// operations, so a probability equals the AVX2 path's.
LR_TARGET_AVX512 inline __m512 exp512(__m512 x) {
  // The maskz forms with every lane set: GCC 12's unmasked ones read an "undefined" vector
  // that -Werror=maybe-uninitialized rejects.
  const __mmask16 all = 0xffff;
  const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.3762626647949f);
  const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
  x = _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, x, lo), hi);
  const __m512 n =
      _mm512_maskz_roundscale_ps(all, _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  // 2^n through the exponent field (the clamps keep n in [-126, 127]).
  const __m512i e = _mm512_maskz_slli_epi32(
      all, _mm512_add_epi32(_mm512_maskz_cvtps_epi32(all, n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(__mmask16(~under), p, _mm512_castsi512_ps(e));
}

}  // namespace

LR_TARGET_AVX512 void attn_scores_avx512(const float* qs, const float* kt, int R, int d, int ntp,
                                         float* s) {
  row_blocks<ScoreRows>(R, qs, size_t(d), s, size_t(kKT), kt, d, ntp);
}

LR_TARGET_AVX512 void attn_pv_avx512(const float* p, const float* v, size_t vs, int R, int d,
                                     int nt, float* o) {
  row_blocks<PvRows>(R, p, size_t(kKT), o, size_t(d), v, vs, d, nt);
}

LR_TARGET_AVX512 float attn_exp_tile_avx512(float* s, int n, int ntp, float m) {
  const __m512 vm = _mm512_set1_ps(m), ninf = _mm512_set1_ps(-__builtin_inff());
  __m512 sum = _mm512_setzero_ps();
  for (int j = 0; j < ntp; j += 16) {
    const int left = n - j;
    const __mmask16 k = left >= 16  ? __mmask16(0xffff)
                        : left <= 0 ? __mmask16(0)
                                    : __mmask16((1u << left) - 1);
    // Lanes past n read -inf, whose exp is exactly 0.
    const __m512 p = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(ninf, k, s + j), vm));
    _mm512_storeu_ps(s + j, p);
    sum = _mm512_add_ps(sum, p);
  }
  // Through memory: _mm512_reduce_add_ps trips GCC 12's uninitialized-vector warning.
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0.f;
  for (float x : lanes) total += x;
  return total;
}

}  // namespace lr
