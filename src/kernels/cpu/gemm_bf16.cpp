// The AVX512-BF16 register block: 12 rows of x by 32 outputs, 24 zmm accumulators; each
// step takes one pair of k: two loads of W pairs, twelve broadcast x pairs, 24 vdpbf16ps
// (each 16 lanes x 2 products, summed in f32). x is rounded to bf16 (nearest even) while
// packed, as llama.cpp and PyTorch's CPU autocast round activations for bf16 weights.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

constexpr int MR = 12, NR = kGemmPairNR;
constexpr int kMaxGroups = kGemmMaxKc / 2;

// src[0, kc) as bf16 pairs: out[g] = (bf16(src[2g + 1]) << 16) | bf16(src[2g]), zero past kc.
LR_TARGET_AVX512BF16 void f32_row_pairs(const float* src, int kc, uint32_t* out) {
  for (int k = 0; k < kc; k += 32) {
    const int left = kc - k;
    const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __mmask16 m1 = left >= 32   ? __mmask16(0xffff)
                         : left <= 16 ? __mmask16(0)
                                      : __mmask16((1u << (left - 16)) - 1);
    const __m512 lo = _mm512_maskz_loadu_ps(m0, src + k);
    const __m512 hi = _mm512_maskz_loadu_ps(m1, src + k + 16);
    const __m512i p = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
    const int groups = std::min(16, (left + 1) / 2);
    _mm512_mask_storeu_epi32(out + k / 2, __mmask16(groups >= 16 ? 0xffff : (1u << groups) - 1), p);
  }
}

void pack_x(const float* x, int M, int K, int m0, int k0, int kc, void* out) {
  uint32_t* dst = static_cast<uint32_t*>(out);
  const int R = std::min(MR, M - m0), groups = (kc + 1) / 2;
  alignas(64) uint32_t row[kMaxGroups];
  for (int r = 0; r < MR; ++r) {
    if (r < R)
      f32_row_pairs(x + size_t(m0 + r) * K + k0, kc, row);
    else
      std::memset(row, 0, sizeof(uint32_t) * groups);
    for (int g = 0; g < groups; ++g) dst[size_t(g) * MR + r] = row[g];
  }
}

void pack_w(const GemmWeights& W, int n0, int k0, int kc, void* out) {
  W.pack_pairs(W, n0, std::min(NR, W.N - n0), k0, kc, static_cast<uint32_t*>(out));
}

#define LR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

LR_TARGET_AVX512BF16 void micro(int groups, const void* Av, const void* Bv, float* C, int ldc,
                                int mr, int nr) {
  const int32_t* A = static_cast<const int32_t*>(Av);
  const __m512i* B = static_cast<const __m512i*>(Bv);
#define LR_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
  LR_ROWS(LR_DECL)
#undef LR_DECL
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc + 31), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int g = 0; g < groups; ++g, A += MR, B += 2) {
    const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_load_si512(B));
    const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_load_si512(B + 1));
#define LR_DOT(r)                                                           \
  {                                                                         \
    const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(A[r])); \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, a, b0);                             \
    c##r##1 = _mm512_dpbf16_ps(c##r##1, a, b1);                             \
  }
    LR_ROWS(LR_DOT)
#undef LR_DOT
  }
  alignas(64) float t[MR][NR];
#define LR_STORE(r)               \
  _mm512_store_ps(t[r], c##r##0); \
  _mm512_store_ps(t[r] + 16, c##r##1);
  LR_ROWS(LR_STORE)
#undef LR_STORE
  gemm_add_tile_12x32(t, C, ldc, mr, nr);
}

// Zero the rows [n, 32) of a pair panel of `groups` groups.
void zero_rows(uint32_t* dst, int n, int groups) {
  if (n >= NR) return;
  for (int g = 0; g < groups; ++g)
    std::memset(dst + size_t(g) * NR + n, 0, sizeof(uint32_t) * (NR - n));
}

}  // namespace

void gemm_pairs_bf16(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst) {
  const uint16_t* w = static_cast<const uint16_t*>(W.w);
  const int groups = (kc + 1) / 2, full = kc / 2;
  for (int j = 0; j < n; ++j) {
    const uint16_t* s = w + size_t(n0 + j) * W.K + k0;
    for (int g = 0; g < full; ++g) {
      uint32_t v;
      std::memcpy(&v, s + 2 * g, 4);
      dst[size_t(g) * NR + j] = v;
    }
    if (full < groups) dst[size_t(full) * NR + j] = s[kc - 1];
  }
  zero_rows(dst, n, groups);
}

void gemm_pairs_bf16_panels(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst) {
  // k0 and kc are multiples of 16 (the format's column block): a row's 16 columns of a
  // chunk are 8 pairs in 32 contiguous bytes. Eight rows' chunks make an 8 x 8 block of
  // pairs, transposed in registers into the panel's [pair][row] order.
  const uint16_t* P = static_cast<const uint16_t*>(W.w);
  int j0 = 0;
  for (; j0 + 8 <= n; j0 += 8)
    for (int c = 0; c < kc; c += 16) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] = _mm256_loadu_ps(
            reinterpret_cast<const float*>(P + bf16_panel_index(n0 + j0 + i, k0 + c, W.K)));
      simd::transpose8(r);
      for (int g = 0; g < 8; ++g)
        _mm256_storeu_ps(reinterpret_cast<float*>(dst + size_t(c / 2 + g) * NR + j0), r[g]);
    }
  for (int j = j0; j < n; ++j)
    for (int c = 0; c < kc; c += 16) {
      const uint16_t* s = P + bf16_panel_index(n0 + j, k0 + c, W.K);
      for (int g = 0; g < 8; ++g) {
        uint32_t v;
        std::memcpy(&v, s + 2 * g, 4);
        dst[size_t(c / 2 + g) * NR + j] = v;
      }
    }
  zero_rows(dst, n, kc / 2);
}

namespace {

// Rows [0, n) of f32 rows (ld apart) x [0, kc) -> pairs: each row to pairs in a row-major
// tile, then 8 x 8 blocks transposed in registers.
void pairs_from_rows(const float* rows, size_t ld, int n, int kc, uint32_t* dst) {
  const int groups = (kc + 1) / 2, g8 = groups / 8 * 8;
  alignas(64) uint32_t tile[NR * kMaxGroups];
  for (int j = 0; j < n; ++j)
    f32_row_pairs(rows + size_t(j) * ld, kc, tile + size_t(j) * kMaxGroups);
  int j0 = 0;
  for (; j0 + 8 <= n; j0 += 8)
    for (int g0 = 0; g0 < g8; g0 += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i)
        r[i] =
            _mm256_load_ps(reinterpret_cast<const float*>(tile + size_t(j0 + i) * kMaxGroups + g0));
      simd::transpose8(r);
      for (int g = 0; g < 8; ++g)
        _mm256_storeu_ps(reinterpret_cast<float*>(dst + size_t(g0 + g) * NR + j0), r[g]);
    }
  for (int j = 0; j < n; ++j)
    for (int g = j < j0 ? g8 : 0; g < groups; ++g)
      dst[size_t(g) * NR + j] = tile[size_t(j) * kMaxGroups + g];
  zero_rows(dst, n, groups);
}

}  // namespace

void gemm_pairs_f32(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst) {
  pairs_from_rows(static_cast<const float*>(W.w) + size_t(n0) * W.K + k0, size_t(W.K), n, kc, dst);
}

void gemm_pairs_widened(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst) {
  alignas(64) static thread_local float tile[NR * kGemmMaxKc];
  W.widen(W, n0, n, k0, kc, tile, kc);
  pairs_from_rows(tile, size_t(kc), n, kc, dst);
}

// Pairs (bf16(a[j]), bf16(b[j])) for j < n (<= 32) into d[0, n); b may be null (zero).
LR_TARGET_AVX512BF16 void interleave_rows(const float* a, const float* b, int n, uint32_t* d) {
  for (int j = 0; j < n; j += 16) {
    const int left = n - j;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __m256i lo =
        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, a + j)));
    const __m256i hi =
        b ? reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, b + j)))
          : _mm256_setzero_si256();
    // The maskz forms: GCC 12's unmasked ones read an "undefined" vector -Werror rejects.
    const __mmask16 all = 0xffff;
    const __m512i pair =
        _mm512_or_si512(_mm512_maskz_cvtepu16_epi32(all, lo),
                        _mm512_maskz_slli_epi32(all, _mm512_maskz_cvtepu16_epi32(all, hi), 16));
    _mm512_mask_storeu_epi32(d + j, m, pair);
  }
}

void gemm_pairs_f32_t(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst) {
  // W[n][k] = T[k][n], T [K, N] row-major: a pair joins two rows of T, already in the
  // panel's order.
  const float* T = static_cast<const float*>(W.w);
  const int groups = (kc + 1) / 2;
  for (int g = 0; g < groups; ++g) {
    const float* a = T + size_t(k0 + 2 * g) * W.N + n0;
    uint32_t* d = dst + size_t(g) * NR;
    interleave_rows(a, 2 * g + 1 < kc ? a + W.N : nullptr, n, d);
    for (int j = n; j < NR; ++j) d[j] = 0;
  }
}

const GemmKernel& gemm_kernel_bf16() {
  // 896 deep: at K = 896 (Qwen2.5-0.5B's q, k, v, gate and up) one slice, so C is written
  // once; the 56 KB W panel streams from L2. Against 256, 512 and 768, alternating in one
  // run (BM_gemm), it was the fastest at both of the model's shapes.
  static const GemmKernel k{"avx512bf16 bf16 12x32", MR, NR, 2, 896, &pack_x, &pack_w, &micro};
  return k;
}

}  // namespace lr
