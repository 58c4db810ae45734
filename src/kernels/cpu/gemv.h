#pragma once
// Matrix-vector products for decoding (one or a few rows of activations), where a GEMM
// library is 2.5-4x off the memory bound. Weights are row-major [N, K] (out x in), as
// in a PyTorch Linear; every weight is read once per call, with OpenMP over output rows.
#include <cstddef>
#include <cstdint>

namespace lr {

// y[m, n] (+)= sum_k W[n, k] * x[m, k] + bias[n], for m < M (M small: 1..8).
// bias may be null. accumulate: add to y instead of overwriting it.
void gemv_f32(const float* W, int N, int K, const float* bias, const float* x, int M, float* y,
              bool accumulate = false);

// Same with W stored as bf16 (the upper 16 bits of an f32), converted in registers.
void gemv_bf16(const uint16_t* W, int N, int K, const float* bias, const float* x, int M, float* y,
               bool accumulate = false);

// bf16 in 4-row panels, the decode layout: rows 4p..4p+3 are stored together, 16 columns at
// a time ([panel][16-column chunk][row in panel][16]), so one thread's rows are one
// sequential stream. Needs N % 4 == 0 and K % 16 == 0.
inline bool bf16_panels_fit(int N, int K) {
  return N > 0 && K > 0 && N % 4 == 0 && K % 16 == 0;
}
inline size_t bf16_panel_index(int n, int k, int K) {
  return size_t(n / 4) * 4 * size_t(K) + size_t(k / 16) * 64 + size_t(n % 4) * 16 + size_t(k % 16);
}
// Row-major src [N, K] -> panels dst (N * K elements).
void pack_bf16_panels(const uint16_t* src, int N, int K, uint16_t* dst);
// Rows [n0, n0 + n) of panels P as f32 rows (dst [n, K]).
void unpack_bf16_rows(const uint16_t* P, int n0, int n, int K, float* dst);
// Rows [n0, n0 + n) x columns [k0, k0 + kc) of panels P as f32: dst[r * ldd + k - k0];
// k0 and kc multiples of 16.
void unpack_bf16_panel_cols(const uint16_t* P, int n0, int n, int K, int k0, int kc, float* dst,
                            int ldd);
// As gemv_bf16 with W in panels; same products in the same order, so the same result.
void gemv_bf16_panels(const uint16_t* P, int N, int K, const float* bias, const float* x, int M,
                      float* y, bool accumulate = false);
// One output of a GEMV over several matrices: y [M, N] (+)= x W^T + bias.
struct GemvOut {
  const void* w = nullptr;  // the matrix, in the kernel's format
  int N = 0;
  const float* bias = nullptr;
  float* y = nullptr;
  bool accumulate = false;
};
// Several panel matrices of the same K over the same x (q/k/v, gate/up), each output as
// gemv_bf16_panels gives it: x is prepared once and one parallel call covers all rows.
void gemv_bf16_panels_many(const GemvOut* outs, int count, int K, const float* x, int M);

// int8 weight-only ("q8"): each run of kQ8Block consecutive weights of a row (the last one
// of a row may be shorter) shares one scale, w ~= q * scale, q in [-127, 127] (symmetric,
// scale = max|w| / 127 rounded to the nearest bf16, q = w / scale rounded to nearest). A
// bf16 scale (the decode panels store 2 bytes, not 4: 1.0625 bytes per weight instead of
// 1.125, 5.6 % less to read per token) keeps f32's range, and its rounding (<= 2^-9) never
// pushes |w / scale| past 127.5, so |w - q * scale| <= scale / 2 still holds.
constexpr int kQ8Block = 32;
inline int q8_blocks(int K) {
  return (K + kQ8Block - 1) / kQ8Block;
}
// W [N, K] f32 -> q [N, K] and scales [N, q8_blocks(K)].
void quantize_q8(const float* W, int N, int K, int8_t* q, float* scales);
// Rows [n0, n0 + n) back to f32 (dst [n, K]).
void dequantize_q8(const int8_t* q, const float* scales, int n0, int n, int K, float* dst);
// As gemv_f32 with W in q8; x stays f32 (weight-only quantization).
void gemv_q8(const int8_t* q, const float* scales, int N, int K, const float* bias, const float* x,
             int M, float* y, bool accumulate = false);

// q8 in 4-row panels, the decode layout: for panel p (rows 4p..4p+3) and 32-column block b,
// kQ8PanelBlockBytes bytes at (p * K / 32 + b) * 136: the 4 rows' bf16 scales, then the 4
// rows' 32 int8 weights, row after row. One sequential stream per thread, scales inline.
// Needs N % 4 == 0 and K % 32 == 0.
constexpr size_t kQ8PanelScaleBytes = 4 * sizeof(uint16_t);
constexpr size_t kQ8PanelBlockBytes = kQ8PanelScaleBytes + 4 * kQ8Block;
inline bool q8_panels_fit(int N, int K) {
  return N > 0 && K > 0 && N % 4 == 0 && K % kQ8Block == 0;
}
inline size_t q8_panels_bytes(int N, int K) {
  return size_t(N / 4) * size_t(K / kQ8Block) * kQ8PanelBlockBytes;
}
// q [N, K] and scales [N, q8_blocks(K)] (quantize_q8's output) -> panels (q8_panels_bytes).
void pack_q8_panels(const int8_t* q, const float* scales, int N, int K, uint8_t* dst);
// Rows [n0, n0 + n) of panels P as f32 rows (dst [n, K]): the values dequantize_q8 gives.
void dequantize_q8_panels(const uint8_t* P, int n0, int n, int K, float* dst);
// Rows [n0, n0 + n) x columns [k0, k0 + kc) of panels P as f32: dst[r * ldd + k - k0];
// k0 and kc multiples of 32.
void dequantize_q8_panel_cols(const uint8_t* P, int n0, int n, int K, int k0, int kc, float* dst,
                              int ldd);
// The activation side of gemv_q8_panels: x [K] rounded per 32-block to int16,
// x ~= xq * xs[b], xs[b] = max|x in b| / 32767, nearest (ties to even). Its error (<= 2^-16
// of the block's max) is ~256x below the weights' own (<= 2^-8), and it lets the kernel
// multiply int8 by int16 with integer madds: half the instructions of widening to f32,
// so the kernel keeps up with memory.
void quantize_x_i16(const float* x, int K, int16_t* xq, float* xs);
// y[m, n] (+)= sum_b scale[n, b] * xs_m[b] * sum_{k in b} q[n, k] * xq_m[k] + bias[n].
void gemv_q8_panels(const uint8_t* P, int N, int K, const float* bias, const float* x, int M,
                    float* y, bool accumulate = false);
// As gemv_bf16_panels_many for q8 panels (x rounded to int16 once).
void gemv_q8_panels_many(const GemvOut* outs, int count, int K, const float* x, int M);

}  // namespace lr
