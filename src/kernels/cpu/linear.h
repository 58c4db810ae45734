#pragma once
// y = x W^T + b for a batch of M activation rows. Small M goes to the hand-written GEMV
// (OpenBLAS sgemm is several times off the memory bound there), large M to cblas_sgemm.
// Must not be called from inside a parallel region (BLAS threads are separate).
#include <cstdint>

namespace lr {

// Rows at or above which sgemm beats the GEMV (measured with bench_kernels).
constexpr int kGemmMinRows = 8;

// x [M, K], W [N, K] row-major, bias [N] or null, y [M, N]. accumulate: y += ...
void linear_f32(const float* x, int M, int K, const float* W, int N, const float* bias, float* y,
                bool accumulate = false);

// W stored as bf16. For large M, row tiles of W are widened to f32 into a per-thread
// scratch and multiplied with sgemm.
void linear_bf16(const float* x, int M, int K, const uint16_t* W, int N, const float* bias,
                 float* y, bool accumulate = false);

// W as bf16 panels (see gemv.h: pack_bf16_panels); large M widens row tiles for sgemm.
void linear_bf16_panels(const float* x, int M, int K, const uint16_t* P, int N, const float* bias,
                        float* y, bool accumulate = false);

// W as q8 panels (see gemv.h: pack_q8_panels); large M dequantizes row tiles for sgemm,
// so prefill gives exactly linear_q8's result (the GEMV rounds x to int16, see gemv.h).
void linear_q8_panels(const float* x, int M, int K, const uint8_t* P, int N, const float* bias,
                      float* y, bool accumulate = false);

// W in q8 (see gemv.h: quantize_q8); large M dequantizes row tiles for sgemm.
void linear_q8(const float* x, int M, int K, const int8_t* W, const float* scales, int N,
               const float* bias, float* y, bool accumulate = false);

}  // namespace lr
