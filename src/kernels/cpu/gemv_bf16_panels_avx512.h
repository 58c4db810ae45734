#pragma once
// The bf16 panel GEMV for 2..7 activation rows (a decode batch) on AVX-512: each 16-column
// chunk of a panel's 4 weight rows is loaded and widened once for all the x rows, and
// two x rows share one 16-lane FMA (lanes 0-7 one row, 8-15 the other), instead of a
// 4-row load, widen and 8-lane FMA pass per x row. Every lane adds the same products in
// the same order as the one-row AVX2 kernel (dot_panel in gemv_bf16_panels.cpp), so each
// row's result is bit-identical to a one-row call: a batched decode gives what a lone
// one gives. Call only where cpu_path() >= CpuPath::Avx512.
#include <cstddef>
#include <cstdint>

namespace lr {

// Floats of the pair layout of M rows of width K (K % 16 == 0): ceil(M / 2) * 2K.
inline size_t bf16_pair_floats(int M, int K) {
  return size_t((M + 1) / 2) * 2 * size_t(K);
}
// x [M, K] -> pairs: for pair q (rows 2q and 2q + 1, or row 2q twice when M is odd) and
// 16-column chunk c, 32 floats at q * 2K + 32c: [evens of row 2q (8), evens of 2q + 1 (8),
// odds of 2q (8), odds of 2q + 1 (8)], where the one-row kernel reads [evens, odds].
void split_pairs_even_odd(const float* x, int M, int K, float* xp);
// Rows [n0, n1) (multiples of 4) of panel matrix P (N x K) for M x rows (1 <= M <= 8) in
// pair layout xp: y[m * ldy + n] (+)= (x_m . W_n) + bias[n] (bias may be null).
void gemv_bf16_panel_rows_avx512(const uint16_t* P, int K, int n0, int n1, const float* xp, int M,
                                 float* y, int ldy, const float* bias, bool accumulate);

}  // namespace lr
