#pragma once
// Matrix-vector products for decoding (one or a few rows of activations), where a GEMM
// library is 2.5-4x off the memory bound. Weights are row-major [N, K] (out x in), as
// in a PyTorch Linear; every weight is read once per call, with OpenMP over output rows.
#include <cstdint>

namespace lr {

// y[m, n] (+)= sum_k W[n, k] * x[m, k] + bias[n], for m < M (M small: 1..8).
// bias may be null. accumulate: add to y instead of overwriting it.
void gemv_f32(const float* W, int N, int K, const float* bias, const float* x, int M, float* y,
              bool accumulate = false);

// Same with W stored as bf16 (the upper 16 bits of an f32), converted in registers.
void gemv_bf16(const uint16_t* W, int N, int K, const float* bias, const float* x, int M, float* y,
               bool accumulate = false);

}  // namespace lr
