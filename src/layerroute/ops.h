#pragma once
// Training kernels, llm.c style: one forward and one backward per op over raw row-major
// pointers. Backward functions accumulate (+=) into gradients unless stated otherwise, so
// residual branches can add into one buffer. Parallel loops run on our pool (core/threads.h,
// the one inference uses) and every reduction runs in a fixed order whichever thread takes
// a piece, so results are bit-identical run to run for a given thread count. Matmuls go
// through cblas_sgemm; RMSNorm, SwiGLU and RoPE forward are inference's kernels.
#include <cstddef>
#include <cstdint>

namespace lr::ops {

// ---- RMSNorm: y = x / sqrt(mean(x^2) + eps) * w, per row of H ----
void rmsnorm_fwd(const float* x, const float* w, float eps, long N, int H, float* y,
                 float* inv_rms);
// dx += dL/dx; dw += dL/dw when dw != nullptr.
void rmsnorm_bwd(const float* x, const float* w, const float* inv_rms, const float* dy, long N,
                 int H, float* dx, float* dw);

// ---- Dropout from a counter-based mask: y[i] = keep(key, i) ? x[i] / (1 - p) : 0 ----
// The same (key, p) reproduces the mask, so backward regenerates it instead of storing it.
// Element i uses the mask bit of index first + i (backward over a slice of the rows).
void dropout(const float* x, float* y, size_t n, float p, uint64_t key, uint64_t first = 0);

// ---- Linear with frozen or trainable W, optional bias and LoRA ----
struct LoraOp {
  const float* A = nullptr;  // [rank, in]; nullptr: no adapter
  const float* B = nullptr;  // [out, rank]
  int rank = 0;
  float scale = 0.f;    // alpha / rank
  float dropout = 0.f;  // probability on the LoRA input; 0 = off
  uint64_t key = 0;     // dropout mask key
  float* dA = nullptr;  // gradients (+=)
  float* dB = nullptr;
  uint64_t first = 0;  // dropout mask index of x[0] (backward over a slice of the rows)
};
// How a frozen weight is multiplied (forward, and the input gradient dx = dy W): exact f32
// through OpenBLAS, or bf16 x bf16 with f32 sums (x and W rounded to bf16, nearest even) by
// our GEMM (kernels/cpu/gemm.h), which runs its f32 kernel where the CPU lacks
// AVX512-BF16. A weight that gets a gradient (dW) always stays f32.
enum class FrozenMatmul { F32, BF16 };

// y (= or += when accumulate) x W^T + b + scale * (drop(x) A^T) B^T.
// u [N, rank] keeps drop(x) A^T for backward; scratch [N, in] is used when dropout is on.
void linear_fwd(const float* x, long N, int in, int out, const float* W, const float* b,
                const LoraOp* lora, bool accumulate, float* y, float* u, float* scratch,
                FrozenMatmul mm = FrozenMatmul::F32);
// dx (= or += when accumulate_dx), dW/db (+=, skipped when nullptr), LoRA dA/dB (+=).
// scratch [N, in], scratch_r [N, rank].
void linear_bwd(const float* x, const float* dy, long N, int in, int out, const float* W,
                const LoraOp* lora, const float* u, bool accumulate_dx, float* dx, float* dW,
                float* db, float* scratch, float* scratch_r, FrozenMatmul mm = FrozenMatmul::F32);

// ---- Router (DESIGN §3): z = w . pool(h) + b per row, soft = sigmoid(z) ----
// pool [rows, H] = mean of h [rows * T, H] over each row's positions with mask set (every
// position when !masked); z [rows]. The decision soft -> gate is router_soft / gate_open
// (layerroute/router.h), shared with inference.
void router_fwd(const float* h, const uint8_t* mask, bool masked, int rows, int T, int H,
                const float* w, float b, float* pool, double* z);
// From dz [rows] = dL/dz: dw += sum_b dz_b pool_b, db += sum_b dz_b, and dh (+=) at each
// pooled position of row b: dz_b / count_b * w.
void router_bwd(const float* pool, const uint8_t* mask, bool masked, int rows, int T, int H,
                const float* w, const float* dz, float* dh, float* dw, float* db);

// ---- Gate with the straight-through estimator: out = g B(h) + (1 - g) h per row ----
// g [rows] is the hard gate in training (0/1), any value in the gradient checks.
void gate_fwd(const float* bout, const float* h, const float* g, int rows, int T, int H,
              float* out);
// d [rows * T, H] holds dL/dout on entry and dL/dh through the skip path, (1 - g) dL/dout,
// on exit; dbout = g dL/dout (overwritten). With dg != nullptr: dg [rows] = dL/dg =
// sum_t <dL/dout, B - h> (the STE passes it on to soft), using partial [rows * T] scratch.
void gate_bwd(const float* bout, const float* h, const float* g, int rows, int T, int H, float* d,
              float* dbout, double* dg, float* partial);

// ---- Causal GQA attention with key padding mask (mask[b*T+j] == 0: key j excluded) ----
// q/out [rows*T, nh*hd], k/v [rows*T, nkv*hd], lse [rows, nh, T] (log-sum-exp kept for
// backward, which recomputes the probabilities instead of storing T x T per head).
// scratch: attention_scratch_floats(...) floats (shared by forward and backward). Each
// row's real keys are one run (padding before and/or after; anything else is an error
// naming the row); a query sees the real keys up to itself, and one with none outputs 0.
// The forward is the inference kernel (kernels/cpu/attention.h), bit for bit.
size_t attention_scratch_floats(int rows, int T, int nh, int nkv, int hd);
void attention_fwd(const float* q, const float* k, const float* v, const uint8_t* mask, int rows,
                   int T, int nh, int nkv, int hd, float* out, float* lse, float* scratch);
// dq, dk, dv are overwritten.
void attention_bwd(const float* q, const float* k, const float* v, const float* out,
                   const float* lse, const float* dout, const uint8_t* mask, int rows, int T,
                   int nh, int nkv, int hd, float* dq, float* dk, float* dv, float* scratch);

// ---- Small single-threaded GEMM for use inside parallel regions ----
// C[M,N] (= or += when accumulate) sum_k A(r,k) B(k,c), A(r,k) = A[r*a_rs + k*a_ks] (so
// either layout of A), B row-major with row stride ldb, C row-major with row stride ldc.
void small_gemm(int M, int N, int K, const float* A, long a_rs, long a_ks, const float* B, long ldb,
                float* C, long ldc, bool accumulate);

// ---- Vectorised exp (AVX2 polynomial, ~2 ulp; 0 below -87.3), y may alias x ----
void exp_array(const float* x, float* y, size_t n);

// ---- SwiGLU: act = silu(g) * u ----
void swiglu_fwd(const float* g, const float* u, float* act, size_t n);
// dg, du overwritten.
void swiglu_bwd(const float* g, const float* u, const float* dact, float* dg, float* du, size_t n);

// ---- LM head fused with cross-entropy, over chunks of target positions ----
// For i < n: logits = hf[pos[i]] E^T, loss_i = logsumexp - logits[tgt[i]]. Returns the sum of
// loss_i (double). When dhf != nullptr: dlogits = gscale * (softmax - onehot), dhf[pos[i]] +=
// dlogits E, and dE += dlogits^T hf (when dE != nullptr). Never holds more than
// chunk x V logits. Buffers: x_buf, dx_buf [chunk, H], logits [chunk, V], row_loss [chunk].
double lm_head_ce(const float* hf, int H, const float* E, int V, const int32_t* pos,
                  const int32_t* tgt, long n, float gscale, float* dhf, float* dE, int chunk,
                  float* x_buf, float* dx_buf, float* logits, double* row_loss,
                  FrozenMatmul mm = FrozenMatmul::F32);

// y [N, out] (= or += when accumulate) x [N, in] W^T, and dx [N, in] (= or +=) dy [N, out] W,
// for a frozen W [out, in] multiplied as mm says. Not inside a parallel region.
void frozen_matmul(const float* x, long N, int in, int out, const float* W, bool accumulate,
                   float* y, FrozenMatmul mm);
void frozen_matmul_dx(const float* dy, long N, int in, int out, const float* W, bool accumulate,
                      float* dx, FrozenMatmul mm);

}  // namespace lr::ops
