#pragma once
// y = x W^T + b for a batch of M activation rows. Small M goes to the hand-written GEMV
// (a GEMM is several times off the memory bound there), large M to our GEMM (gemm.h),
// which widens bf16/q8 weights while packing them. Must not be called from inside a
// parallel region (the GEMM would run on the caller alone).
#include <cstdint>

#include "kernels/cpu/gemm.h"

namespace lr {

// Rows at or above which the GEMM beats the GEMV (measured with lr_microbench).
constexpr int kGemmMinRows = 8;

// x [M, K], W [N, K] row-major, bias [N] or null, y [M, N]. accumulate: y += ...
void linear_f32(const float* x, int M, int K, const float* W, int N, const float* bias, float* y,
                bool accumulate = false);

// W stored as bf16 (row-major).
void linear_bf16(const float* x, int M, int K, const uint16_t* W, int N, const float* bias,
                 float* y, bool accumulate = false);

// W as bf16 panels (see gemv.h: pack_bf16_panels).
void linear_bf16_panels(const float* x, int M, int K, const uint16_t* P, int N, const float* bias,
                        float* y, bool accumulate = false);

// W as q8 panels (see gemv.h: pack_q8_panels). Large M multiplies the dequantized weights,
// so prefill gives linear_q8's result up to summation order (the GEMV rounds x to int16,
// see gemv.h).
void linear_q8_panels(const float* x, int M, int K, const uint8_t* P, int N, const float* bias,
                      float* y, bool accumulate = false);

// W in q8 (see gemv.h: quantize_q8).
void linear_q8(const float* x, int M, int K, const int8_t* W, const float* scales, int N,
               const float* bias, float* y, bool accumulate = false);

// Several weights over the same x, M >= kGemmMinRows (q/k/v; gate/up): one GEMM call, so
// x is packed once and all their tasks share the threads. y_i = x W_i^T + bias_i.
struct GemmOut {
  GemmWeights w;
  const float* bias = nullptr;
  float* y = nullptr;  // [M, w.N]
};
void linear_gemm_many(const float* x, int M, const GemmOut* outs, int count);

}  // namespace lr
