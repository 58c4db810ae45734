// The prefill GEMM (kernels/cpu/gemm.h) on every kernel path against a naive double loop
// over the weights each format stores (and, for the bf16 kernel, x rounded to bf16 as it
// multiplies it), at shapes that hit every edge: rows past a 6- or 12-row panel, outputs
// past a 16- or 32-wide micro-panel, several K slices with a short (odd) last one, several
// matrices per call.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernel_test_util.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"

namespace lr {
namespace {

// One matrix in every format, with the f32 values each format stores (the reference).
struct Formats {
  int N, K;
  std::vector<float> f32, bf16_vals, q8_vals, q8_scales;
  std::vector<uint16_t> bf16, bf16_panels;
  std::vector<int8_t> q8;
  std::vector<uint8_t> q8_panels;

  Formats(int n, int k, uint64_t seed) : N(n), K(k) {
    f32 = randv(size_t(N) * K, seed, 0.1f);
    bf16.resize(f32.size());
    bf16_vals.resize(f32.size());
    for (size_t i = 0; i < f32.size(); ++i) {
      bf16[i] = f32_to_bf16(f32[i]);
      bf16_vals[i] = bf16_to_f32(bf16[i]);
    }
    q8.resize(f32.size());
    q8_scales.resize(size_t(N) * q8_blocks(K));
    quantize_q8(f32.data(), N, K, q8.data(), q8_scales.data());
    q8_vals.resize(f32.size());
    dequantize_q8(q8.data(), q8_scales.data(), 0, N, K, q8_vals.data());
    if (bf16_panels_fit(N, K)) {
      bf16_panels.resize(bf16.size());
      pack_bf16_panels(bf16.data(), N, K, bf16_panels.data());
    }
    if (q8_panels_fit(N, K)) {
      q8_panels.resize(q8_panels_bytes(N, K));
      pack_q8_panels(q8.data(), q8_scales.data(), N, K, q8_panels.data());
    }
  }

  // (format name, GEMM view, the values it must multiply by)
  std::vector<std::tuple<const char*, GemmWeights, const std::vector<float>*>> all() const {
    std::vector<std::tuple<const char*, GemmWeights, const std::vector<float>*>> v;
    v.emplace_back("f32", gemm_weights_f32(f32.data(), N, K), &f32);
    v.emplace_back("f32 as bf16", gemm_weights_f32_as_bf16(f32.data(), N, K), &bf16_vals);
    v.emplace_back("bf16", gemm_weights_bf16(bf16.data(), N, K), &bf16_vals);
    v.emplace_back("q8", gemm_weights_q8(q8.data(), q8_scales.data(), N, K), &q8_vals);
    if (!bf16_panels.empty())
      v.emplace_back("bf16 panels", gemm_weights_bf16_panels(bf16_panels.data(), N, K), &bf16_vals);
    if (!q8_panels.empty())
      v.emplace_back("q8 panels", gemm_weights_q8_panels(q8_panels.data(), N, K), &q8_vals);
    return v;
  }
};

// True where gemm_nt multiplies W in bf16 on the current path.
bool bf16_kernel(const GemmWeights& W) {
  return std::string(gemm_kernel_name(&W, 1)).rfind("avx512bf16", 0) == 0;
}

// T [K, N] = W^T of an [N, K] matrix.
std::vector<float> transpose(const std::vector<float>& W, int N, int K) {
  std::vector<float> T(W.size());
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) T[size_t(k) * N + n] = W[size_t(n) * K + k];
  return T;
}

using GemmPath = CpuPathTest;
LR_INSTANTIATE_CPU_PATHS(GemmPath);

TEST_P(GemmPath, EveryFormatMatchesNaive) {
  // K: one slice, 16/32-aligned slices, and (for the unaligned formats) a short last one;
  // 1937 is several slices of the bf16 kernel's deeper ones too.
  for (int K : {32, 96, 544, 601, 1937})
    for (int N : {4, 16, 20, 52, 132})
      for (int M : {1, 5, 6, 7, 13, 64, 200}) {
        const Formats F(N, K, 100 + N + K);
        const auto x = randv(size_t(M) * K, 7 + M);
        for (const auto& [name, W, vals] : F.all()) {
          // gemm_nt adds onto y: start from a known y.
          std::vector<float> y = randv(size_t(M) * N, 9);
          // "f32 as bf16" multiplies exact f32 where the bf16 kernel does not run; the bf16
          // kernel rounds x and the weights (q8: q * scale) to bf16.
          const auto& wv = std::string(name) == "f32 as bf16" && !bf16_kernel(W) ? F.f32 : *vals;
          const bool b = bf16_kernel(W);
          auto ref = ref_linear(b ? round_bf16(x) : x, M, K, b ? round_bf16(wv) : wv, N, nullptr);
          for (size_t i = 0; i < ref.size(); ++i) ref[i] += y[i];
          gemm_nt(x.data(), M, W, y.data(), N);
          EXPECT_LT(rel_err(y, ref), 2e-6) << name << " M " << M << " N " << N << " K " << K;
        }
      }
}

TEST_P(GemmPath, RowStrideLeavesOtherColumnsAlone) {
  const int M = 19, N = 20, K = 64, ldy = 37;
  const Formats F(N, K, 3);
  const auto x = randv(size_t(M) * K, 4);
  std::vector<float> y(size_t(M) * ldy, 5.f);
  gemm_nt(x.data(), M, gemm_weights_f32(F.f32.data(), N, K), y.data(), ldy);
  const auto ref = ref_linear(x, M, K, F.f32, N, nullptr);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < ldy; ++n) {
      const float v = y[size_t(m) * ldy + n];
      if (n < N)
        EXPECT_NEAR(v, 5.0 + ref[size_t(m) * N + n], 1e-5) << m << " " << n;
      else
        EXPECT_EQ(v, 5.f) << m << " " << n;
    }
}

TEST_P(GemmPath, SeveralMatricesInOneCallMatchOneByOne) {
  // q/k/v-like: different N, same K, mixed formats; each output as its own call gives.
  const int M = 77, K = 320;
  const Formats A(96, K, 11), B(20, K, 12), C(132, K, 13);
  const auto x = randv(size_t(M) * K, 14);
  const GemmWeights ws[] = {gemm_weights_bf16_panels(A.bf16_panels.data(), A.N, K),
                            gemm_weights_q8(B.q8.data(), B.q8_scales.data(), B.N, K),
                            gemm_weights_f32(C.f32.data(), C.N, K)};
  std::vector<float> y0(size_t(M) * A.N), y1(size_t(M) * B.N), y2(size_t(M) * C.N);
  float* ys[] = {y0.data(), y1.data(), y2.data()};
  const int lds[] = {A.N, B.N, C.N};
  gemm_nt(x.data(), M, ws, ys, lds, 3);
  // Mixed formats share one kernel (f32 FMAs on every path): where a matrix alone gets
  // the same kernel, the same sums in the same order.
  for (int i = 0; i < 3; ++i) {
    std::vector<float> one(size_t(M) * ws[i].N);
    gemm_nt(x.data(), M, ws[i], one.data(), ws[i].N);
    if (std::string(gemm_kernel_name(&ws[i], 1)) == gemm_kernel_name(ws, 3)) {
      EXPECT_EQ(one, i == 0 ? y0 : i == 1 ? y1 : y2) << i;
    }
  }
  EXPECT_LT(rel_err(y0, ref_linear(x, M, K, A.bf16_vals, A.N, nullptr)), 2e-6);
  EXPECT_LT(rel_err(y1, ref_linear(x, M, K, B.q8_vals, B.N, nullptr)), 2e-6);
  EXPECT_LT(rel_err(y2, ref_linear(x, M, K, C.f32, C.N, nullptr)), 2e-6);
  const GemmWeights bad[] = {ws[0], gemm_weights_f32(C.f32.data(), C.N, K - 32)};
  EXPECT_THROW(gemm_nt(x.data(), M, bad, ys, lds, 2), Error);
}

TEST_P(GemmPath, LinearGemmManyAddsBiasAndOverwrites) {
  const int M = kGemmMinRows + 3, K = 64;
  const Formats A(16, K, 21), B(8, K, 22);
  const auto x = randv(size_t(M) * K, 23), ba = randv(16, 24);
  std::vector<float> ya(size_t(M) * 16, 99.f), yb(size_t(M) * 8, -99.f);
  const GemmOut outs[] = {{gemm_weights_f32(A.f32.data(), 16, K), ba.data(), ya.data()},
                          {gemm_weights_f32(B.f32.data(), 8, K), nullptr, yb.data()}};
  linear_gemm_many(x.data(), M, outs, 2);
  EXPECT_LT(rel_err(ya, ref_linear(x, M, K, A.f32, 16, ba.data())), 2e-6);
  EXPECT_LT(rel_err(yb, ref_linear(x, M, K, B.f32, 8, nullptr)), 2e-6);
}

TEST_P(GemmPath, SameResultOnOneThreadAndTwo) {
  // Tasks split the work differently with more threads, never a sum: bit-identical.
  const int M = 150, N = 260, K = 896;
  const Formats F(N, K, 31);
  const auto x = randv(size_t(M) * K, 32);
  const auto W = gemm_weights_bf16_panels(F.bf16_panels.data(), N, K);
  std::vector<float> y1(size_t(M) * N), y2(size_t(M) * N);
  const int before = num_threads();
  set_num_threads(1);
  gemm_nt(x.data(), M, W, y1.data(), N);
  set_num_threads(2);
  gemm_nt(x.data(), M, W, y2.data(), N);
  set_num_threads(before);
  EXPECT_EQ(y1, y2);
}

TEST_P(GemmPath, TransposedF32MatchesNaive) {
  // The input gradient's view: W = T^T with T [K, N] row-major, in f32 and rounded to bf16.
  for (int K : {32, 300, 601})
    for (int N : {20, 896})
      for (int M : {7, 64}) {
        const Formats F(N, K, 40 + N + K);
        const auto T = transpose(F.f32, N, K);
        const auto x = randv(size_t(M) * K, 41 + M);
        for (bool as_bf16 : {false, true}) {
          const GemmWeights W = gemm_weights_f32_t(T.data(), N, K, as_bf16);
          std::vector<float> y(size_t(M) * N, 0.f);
          gemm_nt(x.data(), M, W, y.data(), N);
          const bool b = bf16_kernel(W);
          const auto ref =
              ref_linear(b ? round_bf16(x) : x, M, K, b ? F.bf16_vals : F.f32, N, nullptr);
          EXPECT_LT(rel_err(y, ref), 2e-6) << as_bf16 << " M " << M << " N " << N << " K " << K;
        }
      }
}

TEST_P(GemmPath, KernelFollowsThePathAndTheFormat) {
  const Formats F(32, 64, 50);
  const auto f32 = gemm_weights_f32(F.f32.data(), F.N, F.K);
  const auto bf16 = gemm_weights_bf16_panels(F.bf16_panels.data(), F.N, F.K);
  const auto q8 = gemm_weights_q8_panels(F.q8_panels.data(), F.N, F.K);
  const std::string f32_name = GetParam() == CpuPath::Avx2 ? "avx2 f32 6x16" : "avx512 f32 12x32";
  const std::string bf16_name =
      GetParam() == CpuPath::Avx512Bf16 ? std::string("avx512bf16 bf16 12x32") : f32_name;
  EXPECT_EQ(gemm_kernel_name(&f32, 1), f32_name);  // f32 weights stay exact f32 products
  EXPECT_EQ(gemm_kernel_name(&q8, 1), bf16_name);
  EXPECT_EQ(gemm_kernel_name(&bf16, 1), bf16_name);
  const GemmWeights both[] = {bf16, q8};
  EXPECT_EQ(gemm_kernel_name(both, 2), bf16_name);
  const GemmWeights mixed[] = {bf16, f32};  // one call, one kernel: the f32 one
  EXPECT_EQ(gemm_kernel_name(mixed, 2), f32_name);
}

TEST(CpuPathDispatch, ForcingAboveTheCpuIsAnErrorAndNamesRoundTrip) {
  for (int i = 0; i < kCpuPathCount; ++i) {
    CpuPath p;
    ASSERT_TRUE(parse_cpu_path(cpu_path_name(CpuPath(i)), &p));
    EXPECT_EQ(p, CpuPath(i));
  }
  CpuPath p;
  EXPECT_FALSE(parse_cpu_path("avx1024", &p));
  const CpuPath saved = cpu_path();
  if (cpu_path_supported() != CpuPath::Avx512Bf16) {
    EXPECT_THROW(set_cpu_path(CpuPath::Avx512Bf16), Error);
  }
  set_cpu_path(CpuPath::Avx2);
  EXPECT_EQ(cpu_path(), CpuPath::Avx2);
  set_cpu_path(saved);
  // The summary names the path in force and the CPU's flags.
  EXPECT_EQ(cpu_path_summary().rfind(std::string(cpu_path_name(saved)), 0), 0u);
}

}  // namespace
}  // namespace lr
