#pragma once
// Central-difference gradients in double precision and a relative comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layerroute/rng.h"

namespace lr::testing {

inline std::vector<double> random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  Rng r(seed);
  std::vector<double> v(n);
  for (double& x : v) x = scale * (2 * r.uniform() - 1);
  return v;
}

inline std::vector<float> to_f(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

// d f / d x[i] for every i by central differences (x restored afterwards).
template <typename F>
std::vector<double> numeric_grad(std::vector<double>& x, F&& f, double eps = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + eps;
    const double fp = f();
    x[i] = x0 - eps;
    const double fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

// max |analytic - numeric| relative to the largest numeric entry (floored so an all-zero
// gradient must come out near zero too). Returns the relative error.
inline double expect_grad_close(const std::vector<float>& analytic,
                                const std::vector<double>& numeric, double tol,
                                const std::string& what, double floor = 1e-3) {
  EXPECT_EQ(analytic.size(), numeric.size()) << what;
  double mx = 0, err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < numeric.size() && i < analytic.size(); ++i) {
    mx = std::max(mx, std::fabs(numeric[i]));
    const double e = std::fabs(double(analytic[i]) - numeric[i]);
    if (e > err) err = e, worst = i;
  }
  const double rel = err / std::max(mx, floor);
  EXPECT_LE(rel, tol) << what << ": worst element " << worst << " analytic "
                      << (worst < analytic.size() ? analytic[worst] : 0.f) << " numeric "
                      << (worst < numeric.size() ? numeric[worst] : 0.0) << " (max |g| " << mx
                      << ")";
  return rel;
}

}  // namespace lr::testing
