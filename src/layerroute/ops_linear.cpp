// Linear layers (frozen or trainable weight, bias, LoRA) through cblas_sgemm, frozen
// weights in bf16 through our GEMM where asked.
#include <cblas.h>

#include <cstring>

#include "kernels/cpu/gemm.h"
#include "layerroute/ops.h"
#include "layerroute/ops_util.h"

namespace lr::ops {

namespace {
// C[M,N] = alpha * op(A) op(B) + beta * C, row-major.
void gemm(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda,
          const float* B, long ldb, float beta, float* C, long ldc) {
  threads_idle();  // our pool's workers sleep while OpenBLAS's threads run
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M),
              int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}
}  // namespace

void frozen_matmul(const float* x, long N, int in, int out, const float* W, bool accumulate,
                   float* y, FrozenMatmul mm) {
  if (mm == FrozenMatmul::F32) {
    gemm(false, true, N, out, in, 1.f, x, in, W, in, accumulate ? 1.f : 0.f, y, out);
    return;
  }
  if (!accumulate) std::memset(y, 0, sizeof(float) * size_t(N) * size_t(out));
  gemm_nt(x, int(N), gemm_weights_f32_as_bf16(W, out, in), y, out);
}

void frozen_matmul_dx(const float* dy, long N, int in, int out, const float* W, bool accumulate,
                      float* dx, FrozenMatmul mm) {
  if (mm == FrozenMatmul::F32) {
    gemm(false, false, N, in, out, 1.f, dy, out, W, in, accumulate ? 1.f : 0.f, dx, in);
    return;
  }
  // dx = dy W = dy (W^T)^T: W^T's rows are W's columns.
  if (!accumulate) std::memset(dx, 0, sizeof(float) * size_t(N) * size_t(in));
  gemm_nt(dy, int(N), gemm_weights_f32_t(W, in, out, /*as_bf16=*/true), dx, in);
}

void linear_fwd(const float* x, long N, int in, int out, const float* W, const float* b,
                const LoraOp* lora, bool accumulate, float* y, float* u, float* scratch,
                FrozenMatmul mm) {
  if (N == 0) return;
  frozen_matmul(x, N, in, out, W, accumulate, y, mm);
  if (b) {
    parallel_each(N, [&](long n) {
      for (int j = 0; j < out; ++j) y[n * out + j] += b[j];
    });
  }
  if (lora && lora->A) {
    const int r = lora->rank;
    const float* xin = x;
    if (lora->dropout > 0.f) {
      dropout(x, scratch, size_t(N) * size_t(in), lora->dropout, lora->key, lora->first);
      xin = scratch;
    }
    gemm(false, true, N, r, in, 1.f, xin, in, lora->A, in, 0.f, u, r);
    gemm(false, true, N, out, r, lora->scale, u, r, lora->B, r, 1.f, y, out);
  }
}

void linear_bwd(const float* x, const float* dy, long N, int in, int out, const float* W,
                const LoraOp* lora, const float* u, bool accumulate_dx, float* dx, float* dW,
                float* db, float* scratch, float* scratch_r, FrozenMatmul mm) {
  if (N == 0) return;
  if (dW) mm = FrozenMatmul::F32;  // a trained weight stays exact
  if (dx) frozen_matmul_dx(dy, N, in, out, W, accumulate_dx, dx, mm);
  if (dW) gemm(true, false, out, in, N, 1.f, dy, out, x, in, 1.f, dW, in);
  if (db) {
    parallel_ranges(out, [&](long j0, long j1) {
      for (long n = 0; n < N; ++n)
        for (long j = j0; j < j1; ++j) db[j] += dy[n * out + j];
    });
  }
  if (lora && lora->A) {
    const int r = lora->rank;
    const float s = lora->scale;
    // dB += s dy^T u ; du = s dy B ; dA += du^T drop(x) ; dx += drop'(du A).
    if (lora->dB) gemm(true, false, out, r, N, s, dy, out, u, r, 1.f, lora->dB, r);
    gemm(false, false, N, r, out, s, dy, out, lora->B, r, 0.f, scratch_r, r);
    const bool drop = lora->dropout > 0.f;
    const size_t nin = size_t(N) * size_t(in);
    if (lora->dA) {
      const float* xin = x;
      if (drop) {
        dropout(x, scratch, nin, lora->dropout, lora->key, lora->first);
        xin = scratch;
      }
      gemm(true, false, r, in, N, 1.f, scratch_r, r, xin, in, 1.f, lora->dA, in);
    }
    if (dx) {
      if (!drop) {
        gemm(false, false, N, in, r, 1.f, scratch_r, r, lora->A, in, 1.f, dx, in);
      } else {
        gemm(false, false, N, in, r, 1.f, scratch_r, r, lora->A, in, 0.f, scratch, in);
        dropout(scratch, scratch, nin, lora->dropout, lora->key, lora->first);  // forward's mask
        parallel_ranges(long(nin), [&](long i0, long i1) {
          for (long i = i0; i < i1; ++i) dx[i] += scratch[i];
        });
      }
    }
  }
}

}  // namespace lr::ops
