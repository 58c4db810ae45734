#include "kernels/cpu/linear.h"

#include <cstring>

#include "core/error.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemv.h"

namespace lr {

namespace {

// y = bias broadcast over rows (or y += bias when accumulating); the GEMM then adds x W^T.
void prepare_out(float* y, int M, int N, const float* bias, bool accumulate) {
  for (int m = 0; m < M; ++m) {
    float* ym = y + size_t(m) * N;
    if (!accumulate) {
      if (bias)
        std::memcpy(ym, bias, sizeof(float) * N);
      else
        std::memset(ym, 0, sizeof(float) * N);
    } else if (bias) {
      for (int n = 0; n < N; ++n) ym[n] += bias[n];
    }
  }
}

void gemm(const float* x, int M, const GemmWeights& W, const float* bias, float* y,
          bool accumulate) {
  prepare_out(y, M, W.N, bias, accumulate);
  gemm_nt(x, M, W, y, W.N);
}

}  // namespace

void linear_f32(const float* x, int M, int K, const float* W, int N, const float* bias, float* y,
                bool accumulate) {
  if (M < kGemmMinRows)
    gemv_f32(W, N, K, bias, x, M, y, accumulate);
  else
    gemm(x, M, gemm_weights_f32(W, N, K), bias, y, accumulate);
}

void linear_bf16(const float* x, int M, int K, const uint16_t* W, int N, const float* bias,
                 float* y, bool accumulate) {
  if (M < kGemmMinRows)
    gemv_bf16(W, N, K, bias, x, M, y, accumulate);
  else
    gemm(x, M, gemm_weights_bf16(W, N, K), bias, y, accumulate);
}

void linear_bf16_panels(const float* x, int M, int K, const uint16_t* P, int N, const float* bias,
                        float* y, bool accumulate) {
  if (M < kGemmMinRows)
    gemv_bf16_panels(P, N, K, bias, x, M, y, accumulate);
  else
    gemm(x, M, gemm_weights_bf16_panels(P, N, K), bias, y, accumulate);
}

void linear_q8_panels(const float* x, int M, int K, const uint8_t* P, int N, const float* bias,
                      float* y, bool accumulate) {
  if (M < kGemmMinRows)
    gemv_q8_panels(P, N, K, bias, x, M, y, accumulate);
  else
    gemm(x, M, gemm_weights_q8_panels(P, N, K), bias, y, accumulate);
}

void linear_q8(const float* x, int M, int K, const int8_t* W, const float* scales, int N,
               const float* bias, float* y, bool accumulate) {
  if (M < kGemmMinRows)
    gemv_q8(W, scales, N, K, bias, x, M, y, accumulate);
  else
    gemm(x, M, gemm_weights_q8(W, scales, N, K), bias, y, accumulate);
}

void linear_gemm_many(const float* x, int M, const GemmOut* outs, int count) {
  constexpr int kMax = 8;
  LR_CHECK(count > 0 && count <= kMax, "linear_gemm_many: ", count, " outputs");
  GemmWeights ws[kMax];
  float* ys[kMax];
  int lds[kMax];
  for (int i = 0; i < count; ++i) {
    prepare_out(outs[i].y, M, outs[i].w.N, outs[i].bias, false);
    ws[i] = outs[i].w;
    ys[i] = outs[i].y;
    lds[i] = outs[i].w.N;
  }
  gemm_nt(x, M, ws, ys, lds, count);
}

}  // namespace lr
