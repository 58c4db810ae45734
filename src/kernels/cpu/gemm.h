#pragma once
// y += x W^T for prefill-sized batches (M >= kGemmMinRows), with W in any of our storage
// formats. BLIS-style: W is widened to f32 while it is packed into the kernel's layout
// (each weight once per kc-deep slice, so bf16/q8 weights cost no extra pass over memory
// and no f32 copy of the matrix), x is packed into panels of the kernel's rows, and a
// register block of FMAs (6 x 16 with AVX2, 12 x 32 with AVX-512; bf16 dot products with
// AVX512-BF16) runs with x's panel in L2 and W's micro-panel in L1. Runs on our
// thread pool, so no hand-over to another pool's threads between calls.
#include <cstdint>

namespace lr {

// The AVX2 kernel's register block (gemm_kernel.h has the wider ones).
constexpr int kGemmMR = 6;   // rows of x per register block
constexpr int kGemmNR = 16;  // rows of W (output columns) per register block

struct GemmWeights;
// Writes W rows [n0, n0 + n) x columns [k0, k0 + kc) as f32: dst[r * ldd + k - k0].
// k0 is a multiple of the format's k_align; kc too, or the slice ends at K.
using GemmWiden = void (*)(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst,
                           int ldd);

// Writes W rows [n0, n0 + n) x columns [k0, k0 + kc) as bf16 pairs for the AVX512-BF16
// kernel: dst[g * kGemmPairNR + j] = bf16(W[n0+j][k0+2g]) | bf16(W[n0+j][k0+2g+1]) << 16,
// zero for j >= n and for k >= k0 + kc.
using GemmPackPairs = void (*)(const GemmWeights& W, int n0, int n, int k0, int kc, uint32_t* dst);
constexpr int kGemmPairNR = 32;

// Asks for the memory widen(W, n0, n, k0, kc, ...) will read (software prefetch).
using GemmPrefetch = void (*)(const GemmWeights& W, int n0, int n, int k0, int kc);

// One weight matrix W [N, K] (out x in) as the GEMM reads it.
struct GemmWeights {
  const void* w = nullptr;
  const float* scales = nullptr;  // q8 row-major: [N, q8_blocks(K)]
  int N = 0, K = 0;
  GemmWiden widen = nullptr;
  int k_align = 1;  // slices of K start at multiples of this (the format's column block)
  GemmPrefetch prefetch = nullptr;  // optional
  // Set where the weights are multiplied in bf16 on CPUs with AVX512-BF16 (bf16 and q8
  // storage; f32 where the caller asks for it); null keeps them exact in f32 FMAs.
  GemmPackPairs pack_pairs = nullptr;
};

// The formats of gemv.h. bf16 and q8 storage are multiplied in bf16 where the CPU has
// AVX512-BF16 (x rounded to bf16 per tile, f32 sums; a q8 weight as bf16(q * scale), which
// adds at most 2^-9 of the weight to its quantization error of at most 2^-8 of its block's
// largest), f32 always in f32 FMAs.
GemmWeights gemm_weights_f32(const float* W, int N, int K);
// f32 weights that may be rounded to bf16 (nearest even) for the bf16 kernel: training's
// frozen weights (forward and input gradient), where the caller chose bf16 compute.
GemmWeights gemm_weights_f32_as_bf16(const float* W, int N, int K);
// W = T^T for T [K, N] row-major (the input gradient dx = dy T multiplies by T^T's rows);
// as_bf16 as above.
GemmWeights gemm_weights_f32_t(const float* T, int N, int K, bool as_bf16);
GemmWeights gemm_weights_bf16(const uint16_t* W, int N, int K);
GemmWeights gemm_weights_bf16_panels(const uint16_t* P, int N, int K);
GemmWeights gemm_weights_q8(const int8_t* q, const float* scales, int N, int K);
GemmWeights gemm_weights_q8_panels(const uint8_t* P, int N, int K);

// The kernel gemm_nt runs for these weights on the current path (core/cpu_features.h):
// the bf16 kernel on avx512bf16 when every W has pack_pairs, else f32 FMAs, 16 lanes on
// avx512 and up, 8 on avx2. "avx2 f32 6x16", "avx512 f32 12x32", "avx512bf16 bf16 12x32".
const char* gemm_kernel_name(const GemmWeights* Ws, int count);

// y[m, n] += sum_k x[m, k] * W[n, k] for m < M; x [M, W.K] row-major, y with row stride ldy.
// Every W of Ws must have the same K; they share x's packing (q/k/v, gate/up), each
// accumulating into its own ys[i] (row stride ldys[i]).
void gemm_nt(const float* x, int M, const GemmWeights* Ws, float* const* ys, const int* ldys,
             int count);
inline void gemm_nt(const float* x, int M, const GemmWeights& W, float* y, int ldy) {
  gemm_nt(x, M, &W, &y, &ldy, 1);
}

}  // namespace lr
