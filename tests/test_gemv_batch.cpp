// The bf16 panel GEMV over a decode batch (2..7 activation rows and beyond): on every
// kernel path each row's result is bit-identical to a one-row call, so a batched decode
// step gives each sequence exactly what it gets decoding alone (the server's greedy
// outputs equal `layerroute generate`'s). On avx512 and up the batch goes through the
// multi-row kernel (gemv_bf16_panels_avx512.h), which reads each weight chunk once for all
// rows instead of once per row.
#include <gtest/gtest.h>

#include <vector>

#include "core/dtype.h"
#include "kernel_test_util.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_bf16_panels_avx512.h"

namespace lr {
namespace {

std::vector<uint16_t> panels(int N, int K, uint32_t seed) {
  const auto w = randv(size_t(N) * K, seed);
  std::vector<uint16_t> wb(w.size()), p(w.size());
  for (size_t i = 0; i < w.size(); ++i) wb[i] = f32_to_bf16(w[i]);
  pack_bf16_panels(wb.data(), N, K, p.data());
  return p;
}

class GemvBatch : public CpuPathTest {};

TEST_P(GemvBatch, EachRowOfABatchEqualsItsOneRowCall) {
  for (int N : {4, 132, 1000})
    for (int K : {16, 48, 896}) {
      const auto P = panels(N, K, 7);
      const auto bias = randv(N, 8);
      for (int M : {2, 3, 4, 5, 6, 7, 9})
        for (bool acc : {false, true})
          for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
            const auto x = randv(size_t(M) * K, 9 + M);
            auto y = randv(size_t(M) * N, 10);  // accumulate adds onto these
            auto one = y;
            gemv_bf16_panels(P.data(), N, K, b, x.data(), M, y.data(), acc);
            for (int m = 0; m < M; ++m)
              gemv_bf16_panels(P.data(), N, K, b, x.data() + size_t(m) * K, 1,
                               one.data() + size_t(m) * N, acc);
            ASSERT_EQ(y, one) << "N " << N << " K " << K << " M " << M << " acc " << acc << " bias "
                              << (b != nullptr);
          }
    }
}

LR_INSTANTIATE_CPU_PATHS(GemvBatch);

TEST(GemvBatchAvx512, PairLayoutAndRowRange) {
  if (cpu_path_supported() < CpuPath::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  const int K = 48, M = 5;
  const auto x = randv(size_t(M) * K, 21);
  std::vector<float> xp(bf16_pair_floats(M, K), -1.f);
  ASSERT_EQ(xp.size(), size_t(3) * 2 * K);  // the odd last row is paired with itself
  split_pairs_even_odd(x.data(), M, K, xp.data());
  // Pair 1 (rows 2, 3), chunk 2 (columns 32..47): evens of 2, evens of 3, odds of 2, odds of 3.
  const float* d = xp.data() + 1 * 2 * K + 32 * 2;
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(d[j], x[2 * K + 32 + 2 * j]);
    EXPECT_EQ(d[8 + j], x[3 * K + 32 + 2 * j]);
    EXPECT_EQ(d[16 + j], x[2 * K + 32 + 2 * j + 1]);
    EXPECT_EQ(d[24 + j], x[3 * K + 32 + 2 * j + 1]);
  }
  EXPECT_EQ(xp[2 * 2 * K + 8], x[4 * K]);  // row 4 twice
  // Rows [8, 20) of a 32-row matrix only, into y with a wider stride: those rows are each
  // x row's one-row results, every other element is untouched.
  const int N = 32, ldy = 40;
  const auto P = panels(N, K, 22);
  const auto bias = randv(N, 23);
  std::vector<float> y(size_t(M) * ldy, 7.f), one(size_t(M) * N);
  const CpuPath saved = cpu_path();
  set_cpu_path(CpuPath::Avx512);
  gemv_bf16_panel_rows_avx512(P.data(), K, 8, 20, xp.data(), M, y.data(), ldy, bias.data(), false);
  set_cpu_path(CpuPath::Avx2);
  for (int m = 0; m < M; ++m)
    gemv_bf16_panels(P.data(), N, K, bias.data(), x.data() + size_t(m) * K, 1,
                     one.data() + size_t(m) * N);
  set_cpu_path(saved);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < ldy; ++n) {
      const float want = n >= 8 && n < 20 ? one[size_t(m) * N + n] : 7.f;
      ASSERT_EQ(y[size_t(m) * ldy + n], want) << "row " << m << " col " << n;
    }
}

}  // namespace
}  // namespace lr
