#include "kernels/cpu/linear.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/threads.h"
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
  threads_idle();  // our workers sleep while OpenBLAS's threads have the cores
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

namespace {

// Large M with narrow weights: row tiles of W are widened to f32 into a scratch (by our
// threads) and multiplied with sgemm (by OpenBLAS's). Tiles of >= 256 rows / ~4 MB of f32:
// wide enough for sgemm to run at full speed (narrower tiles lost ~25 % at K = 4864),
// small enough to stay in L2/L3. widen(n0, n, dst) writes rows [n0, n0 + n) as f32.
template <class Widen>
void linear_widened(const float* x, int M, int K, int N, const float* bias, float* y,
                    bool accumulate, Widen&& widen) {
  prepare_out(y, M, N, bias, accumulate);
  const int tile = std::min(N, std::max(256, int((1 << 20) / std::max(K, 1))));
  thread_local std::vector<float> wtile;
  if (wtile.size() < size_t(tile) * K) wtile.resize(size_t(tile) * K);
  for (int n0 = 0; n0 < N; n0 += tile) {
    const int nt = std::min(tile, N - n0);
    float* dst = wtile.data();
    parallel_for(
        nt, [&](long r0, long r1) { widen(n0 + int(r0), int(r1 - r0), dst + size_t(r0) * K); },
        long(nt) * K >= (1L << 16));
    sgemm_nt(x, M, K, dst, nt, y + n0, N);
  }
}

}  // namespace

void linear_bf16(const float* x, int M, int K, const uint16_t* W, int N, const float* bias,
                 float* y, bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_bf16(W, N, K, bias, x, M, y, accumulate);
    return;
  }
  linear_widened(x, M, K, N, bias, y, accumulate, [&](int n0, int n, float* dst) {
    const uint16_t* src = W + size_t(n0) * K;
    const size_t total = size_t(n) * K;
    for (size_t i = 0; i < total; ++i) {
      const uint32_t u = uint32_t(src[i]) << 16;
      std::memcpy(dst + i, &u, 4);
    }
  });
}

void linear_bf16_panels(const float* x, int M, int K, const uint16_t* P, int N, const float* bias,
                        float* y, bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_bf16_panels(P, N, K, bias, x, M, y, accumulate);
    return;
  }
  linear_widened(x, M, K, N, bias, y, accumulate,
                 [&](int n0, int n, float* dst) { unpack_bf16_rows(P, n0, n, K, dst); });
}

void linear_q8_panels(const float* x, int M, int K, const uint8_t* P, int N, const float* bias,
                      float* y, bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_q8_panels(P, N, K, bias, x, M, y, accumulate);
    return;
  }
  linear_widened(x, M, K, N, bias, y, accumulate,
                 [&](int n0, int n, float* dst) { dequantize_q8_panels(P, n0, n, K, dst); });
}

void linear_q8(const float* x, int M, int K, const int8_t* W, const float* scales, int N,
               const float* bias, float* y, bool accumulate) {
  if (M < kGemmMinRows) {
    gemv_q8(W, scales, N, K, bias, x, M, y, accumulate);
    return;
  }
  linear_widened(x, M, K, N, bias, y, accumulate,
                 [&](int n0, int n, float* dst) { dequantize_q8(W, scales, n0, n, K, dst); });
}

}  // namespace lr
