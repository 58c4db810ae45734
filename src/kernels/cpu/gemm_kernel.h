#pragma once
// The register-block kernels gemm_nt (gemm.h) drives, one per instruction path. The
// driver owns blocking, threads and the weights' formats; a kernel owns its packed
// layouts and its micro-kernel:
//   x panel:  mr rows x kc, as kc / k_group groups of mr 4-byte words
//             (f32: one value; bf16 pairs: two consecutive k of one row),
//   W panel:  nr output rows x kc, as kc / k_group groups of nr 4-byte words,
// both zero-padded past the matrix (rows) and past kc (to a multiple of k_group).
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/gemm.h"

namespace lr {

struct GemmKernel {
  const char* name = "";
  int mr = 0, nr = 0;
  int k_group = 1;  // k values per 4-byte word of a panel
  // Target depth of a slice of K (gemm.cpp makes equal slices near it): a deeper slice
  // adds the register block to C fewer times, a shallower one keeps the W panel in L1.
  int kc = 256;
  // x rows [m0, m0 + mr) x columns [k0, k0 + kc) of x [M, K] -> dst (x panel layout).
  void (*pack_x)(const float* x, int M, int K, int m0, int k0, int kc, void* dst) = nullptr;
  // W rows [n0, n0 + nr) x [k0, k0 + kc) -> dst (W panel layout).
  void (*pack_w)(const GemmWeights& W, int n0, int k0, int kc, void* dst) = nullptr;
  // C[mr x nr] (rows ldc apart) += A panel . B panel over groups k-groups; only the first
  // rows x cols of C are written (a partial block at the matrix's edge).
  void (*micro)(int groups, const void* A, const void* B, float* C, int ldc, int rows,
                int cols) = nullptr;
};

// dst[k * ldd + i] = src[i * lds + k] for i < 8, k < kc; rows >= R (of the 8) are zero
// (an 8-column transpose in registers, then the tail).
void gemm_transpose_rows8(const float* src, int lds, int R, int kc, float* dst, int ldd);

// C[rows x cols] (rows ldc apart) += the first rows x cols of t, a 12 x 32 register block
// stored by an AVX-512 micro-kernel (64-byte aligned). AVX-512F: call only on those paths.
void gemm_add_tile_12x32(const float (*t)[32], float* C, int ldc, int rows, int cols);

// The deepest slice of K a kernel's panels hold (a kernel's kc, rounded up to a format's
// column block).
constexpr int kGemmMaxKc = 1024;

// The formats' pack_pairs (gemm.h) for the bf16 kernel.
void gemm_pairs_bf16(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);
void gemm_pairs_bf16_panels(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);
void gemm_pairs_f32(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);
void gemm_pairs_f32_t(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);
// Any format through its widen, then rounded to bf16 (q8: bf16(q * scale)).
void gemm_pairs_widened(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);

// AVX2 + FMA on f32 (6 x 16), every weight format through its widen.
const GemmKernel& gemm_kernel_avx2();
// AVX-512F on f32 (12 x 32), every weight format through its widen.
const GemmKernel& gemm_kernel_avx512();
// AVX512-BF16 (12 x 32): x rounded to bf16 (nearest even) while packed, W through its
// pack_pairs, products summed in f32 by vdpbf16ps.
const GemmKernel& gemm_kernel_bf16();

}  // namespace lr
