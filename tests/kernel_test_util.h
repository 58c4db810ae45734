#pragma once
// Random inputs and the naive double-precision linear the kernel tests compare against.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lr {

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
