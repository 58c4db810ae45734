#pragma once
// Random inputs and the naive double-precision linear the kernel tests compare against.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace lr {

// A test run once per kernel path (core/cpu_features.h) with that path forced; paths the
// CPU lacks are reported as skipped, by name.
class CpuPathTest : public ::testing::TestWithParam<CpuPath> {
 protected:
  void SetUp() override {
    saved_ = cpu_path();
    if (int(GetParam()) > int(cpu_path_supported()))
      GTEST_SKIP() << "this CPU lacks the " << cpu_path_name(GetParam()) << " kernel path";
    set_cpu_path(GetParam());
  }
  void TearDown() override { set_cpu_path(saved_); }

 private:
  CpuPath saved_ = CpuPath::Avx2;
};

inline std::string cpu_path_param_name(const ::testing::TestParamInfo<CpuPath>& info) {
  return std::string(cpu_path_name(info.param));
}

#define LR_INSTANTIATE_CPU_PATHS(Suite)                                                            \
  INSTANTIATE_TEST_SUITE_P(Path, Suite,                                                            \
                           ::testing::Values(CpuPath::Avx2, CpuPath::Avx512, CpuPath::Avx512Bf16), \
                           cpu_path_param_name)

// The bound on logits (max |a - b| over a position / its largest |logit|) of a prefill over
// bf16 weights against the same weights multiplied in f32: 1e-4 where the GEMM runs f32
// FMAs; on the avx512bf16 path it rounds the activations to bf16 too, which moved the
// golden models' logits by 7.4e-3 (qwen2-tiny) and 7.6e-3 (llama-tiny).
inline double bf16_prefill_logit_bound() {
  return cpu_path() >= CpuPath::Avx512Bf16 ? 1.5e-2 : 1e-4;
}

// x as the bf16 kernel multiplies it: each value rounded to bf16 (nearest even).
inline std::vector<float> round_bf16(const std::vector<float>& x) {
  std::vector<float> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = bf16_to_f32(f32_to_bf16(x[i]));
  return r;
}

inline std::vector<float> randv(size_t n, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// max |a - b| / max |b|
inline double rel_err(const std::vector<float>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    num = std::max(num, std::abs(double(a[i]) - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / den;
}

// y [M, N] = x [M, K] W^T + bias (W [N, K]), in double.
inline std::vector<double> ref_linear(const std::vector<float>& x, int M, int K,
                                      const std::vector<float>& W, int N, const float* bias) {
  std::vector<double> y(size_t(M) * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; ++k) s += double(x[size_t(m) * K + k]) * W[size_t(n) * K + k];
      y[size_t(m) * N + n] = s;
    }
  return y;
}

}  // namespace lr
