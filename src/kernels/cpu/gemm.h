#pragma once
// y += x W^T for prefill-sized batches (M >= kGemmMinRows), with W in any of our storage
// formats. BLIS-style: W is widened to f32 while it is packed into the kernel's layout
// (each weight once per kc-deep slice, so bf16/q8 weights cost no extra pass over memory
// and no f32 copy of the matrix), x is packed into 6-row panels, and a 6 x 16 register
// block of FMAs runs with x's panel in L2 and W's 16 x kc micro-panel in L1. Runs on our
// thread pool, so no hand-over to another pool's threads between calls.
#include <cstdint>

namespace lr {

constexpr int kGemmMR = 6;   // rows of x per register block
constexpr int kGemmNR = 16;  // rows of W (output columns) per register block

struct GemmWeights;
// Writes W rows [n0, n0 + n) x columns [k0, k0 + kc) as f32: dst[r * ldd + k - k0].
// k0 is a multiple of the format's k_align; kc too, or the slice ends at K.
using GemmWiden = void (*)(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst,
                           int ldd);

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
};

// The formats of gemv.h.
GemmWeights gemm_weights_f32(const float* W, int N, int K);
GemmWeights gemm_weights_bf16(const uint16_t* W, int N, int K);
GemmWeights gemm_weights_bf16_panels(const uint16_t* P, int N, int K);
GemmWeights gemm_weights_q8(const int8_t* q, const float* scales, int N, int K);
GemmWeights gemm_weights_q8_panels(const uint8_t* P, int N, int K);

// y[m, n] += sum_k x[m, k] * W[n, k] for m < M; x [M, W.K] row-major, y with row stride ldy.
// Every W of Ws must have the same K; they share x's packing (q/k/v, gate/up), each
// accumulating into its own ys[i] (row stride ldys[i]).
void gemm_nt(const float* x, int M, const GemmWeights* Ws, float* const* ys, const int* ldys,
             int count);
inline void gemm_nt(const float* x, int M, const GemmWeights& W, float* y, int ldy) {
  gemm_nt(x, M, &W, &y, &ldy, 1);
}

}  // namespace lr
