#pragma once
// A projection's weights (PyTorch Linear layout: [out, in]) in the storage the forward
// reads: f32, or bf16 for inference (half the bytes per decoded token), or q8 (int8 with
// one f32 scale per 32 weights, see kernels/cpu/gemv.h; 1.125 bytes per weight).
#include <cstdint>
#include <vector>

#include "core/huge_arena.h"

namespace lr {

enum class WeightsDType { F32, BF16, Q8 };
// "f32", "bf16", "q8": the --weights-dtype spellings.
const char* weights_dtype_name(WeightsDType d);

struct Linear {
  int rows = 0;  // out features
  int cols = 0;  // in features
  WeightsDType dtype = WeightsDType::F32;
  std::vector<float> w;          // [rows, cols] when F32
  std::vector<uint16_t> w_bf16;  // [rows, cols] when BF16 and not in panels
  std::vector<int8_t> w_q8;      // [rows, cols] when Q8 and not in panels
  std::vector<float> q8_scale;   // [rows, q8_blocks(cols)] when Q8 and not in panels
  // The decode layouts (gemv.h; then the arrays above are empty), on huge pages
  // (core/huge_arena.h): bf16 4-row panels, or q8 panels with their scales inline.
  huge_vector<uint16_t> bf16_panel;
  huge_vector<uint8_t> q8_panel;
  std::vector<float> bias;  // [rows] or empty

  bool empty() const { return rows == 0; }
  bool bf16_panels() const { return !bf16_panel.empty(); }
  bool q8_panels() const { return !q8_panel.empty(); }
  // Row r as f32 (embedding lookup through a Linear-shaped table).
  void row_f32(int r, float* out) const;
  // Re-stores the weights as `to` (f32 -> bf16 rounds to nearest even; q8 quantizes, so
  // q8 -> anything else keeps the quantized values).
  void convert(WeightsDType to);
  // BF16 and Q8: re-stores the weights as 4-row panels (one sequential stream per decoding
  // thread) where the shape allows (bf16: rows % 4 == 0, cols % 16 == 0; q8: cols % 32 == 0
  // too); a no-op otherwise and for F32.
  void pack_decode_panels();
};

// The kernel a projection of M rows takes. ByRows: the GEMV below kGemmMinRows rows, the
// GEMM from there (kernels/cpu/linear.h). Gemv: the GEMV whatever M, so that each row gets
// exactly what a call of its own would give it: the rows of a batched decode step (or of
// short prefills stacked together) are each computed as their sequence alone computes
// them, even where the GEMM's numerics differ (it rounds x to bf16 on avx512bf16).
enum class RowKernel { ByRows, Gemv };

// y [M, rows] (+)= x [M, cols] W^T + b. The single place a projection is applied.
// Not inside a parallel region.
void apply_linear(const Linear& L, const float* x, int M, float* y, bool accumulate = false,
                  RowKernel k = RowKernel::ByRows);

// ys[i] = x Ls[i]^T + b_i for count (<= 8) projections of the same x (equal cols): for
// M >= kGemmMinRows (ByRows) one GEMM packs x once for all (q/k/v, gate/up), else one GEMV
// each.
void apply_linears(const Linear* const* Ls, int count, const float* x, int M, float* const* ys,
                   RowKernel k = RowKernel::ByRows);

}  // namespace lr
