#include "eval/metrics.h"

#include <cfloat>
#include <cmath>
#include <limits>

namespace lr::eval {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double perplexity(double ce_sum, long n_targets) {
  return n_targets > 0 ? std::exp(ce_sum / double(n_targets)) : kNaN;
}
double perplexity(double mean_ce) {
  return std::exp(mean_ce);
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n != y.size() || n < 2) return kNaN;
  const double mx = mean_of(x), my = mean_of(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double point_biserial(const std::vector<double>& x, const std::vector<bool>& label) {
  std::vector<double> y(label.size());
  for (size_t i = 0; i < label.size(); ++i) y[i] = label[i] ? 1.0 : 0.0;
  return pearson(x, y);
}

double skip_pct(double mean_blocks_run, int n_layers) {
  return n_layers > 0 ? 100.0 * (1.0 - mean_blocks_run / n_layers) : kNaN;
}

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

double logit_of_soft(float s) {
  const double lo = double(FLT_TRUE_MIN), hi = 1.0 - std::ldexp(1.0, -24);
  const double p = std::fmin(std::fmax(double(s), lo), hi);
  return std::log(p) - std::log1p(-p);
}

bool bias_only_open(float bias, float threshold) {
  // As TrainGraph::route: z in double, soft rounded to float, then compared.
  const float s = float(1.0 / (1.0 + std::exp(-double(bias))));
  return s > threshold;
}

double flip_rate(const std::vector<float>& hard, const std::vector<float>& bias, float threshold) {
  const size_t L = bias.size();
  if (L == 0 || hard.empty() || hard.size() % L != 0) return kNaN;
  size_t flips = 0;
  for (size_t i = 0; i < hard.size(); ++i)
    flips += ((hard[i] > 0.5f) != bias_only_open(bias[i % L], threshold)) ? 1 : 0;
  return double(flips) / double(hard.size());
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

}  // namespace lr::eval
