#include "kernels/cpu/linear.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemv.h"

namespace lr {

namespace {

// y = bias broadcast over rows (or y += bias when accumulating), so sgemm can run with
// beta = 1 and fold the bias in.
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

void sgemm_nt(const float* x, int M, int K, const float* W, int N, float* y, int ldy) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, x, K, W, K, 1.f, y, ldy);
}

}  // namespace

void linear_f32(const float* x, int M, int K, const float* W, int N, const float* bias, float* y,
                bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_f32(W, N, K, bias, x, M, y, accumulate);
    return;
  }
  prepare_out(y, M, N, bias, accumulate);
  sgemm_nt(x, M, K, W, N, y, N);
}

void linear_bf16(const float* x, int M, int K, const uint16_t* W, int N, const float* bias,
                 float* y, bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_bf16(W, N, K, bias, x, M, y, accumulate);
    return;
  }
  prepare_out(y, M, N, bias, accumulate);
  // Tiles of >= 256 rows / ~4 MB of f32 weights: wide enough for sgemm to run at full
  // speed (narrower tiles lost ~25 % at K = 4864), small enough to stay in L2/L3.
  const int tile = std::min(N, std::max(256, int((1 << 20) / std::max(K, 1))));
  thread_local std::vector<float> wtile;
  if (wtile.size() < size_t(tile) * K) wtile.resize(size_t(tile) * K);
  for (int n0 = 0; n0 < N; n0 += tile) {
    const int nt = std::min(tile, N - n0);
    const uint16_t* src = W + size_t(n0) * K;
    float* dst = wtile.data();
    const long total = long(nt) * K;
#pragma omp parallel for schedule(static) if (total >= (1L << 16))
    for (long i = 0; i < total; ++i) {
      const uint32_t u = uint32_t(src[i]) << 16;
      std::memcpy(dst + i, &u, 4);
    }
    sgemm_nt(x, M, K, dst, nt, y + n0, N);
  }
}

}  // namespace lr
