#pragma once
// Pure functions behind the evaluation report (DESIGN.md §4): perplexity,
// correlations, skip statistics and the flip rate against a bias-only router.
#include <cstdint>
#include <vector>

#include "eval/flops.h"  // the FLOP model, for the report's users

namespace lr::eval {

// exp(mean token cross-entropy); ce_sum over n_targets tokens. NaN when n_targets == 0.
double perplexity(double ce_sum, long n_targets);
double perplexity(double mean_ce);

// Pearson's r. NaN when the lengths differ, n < 2, or either side has zero variance (r is
// undefined there; reports print "n/a" rather than a made-up 0).
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Point-biserial r of x against a binary label (1 = true): Pearson with the label as 0/1.
double point_biserial(const std::vector<double>& x, const std::vector<bool>& label);

// 100 * (1 - mean_blocks_run / n_layers).
double skip_pct(double mean_blocks_run, int n_layers);
// Skip differential in points: tool_call skip % minus planning skip %.
inline double skip_differential(double tool_skip_pct, double planning_skip_pct) {
  return tool_skip_pct - planning_skip_pct;
}

// sigmoid in double, and its inverse for a float soft gate (the pre-sigmoid score). A float
// sigmoid rounds to 1 above z ~ 16.6: logit_of_soft clamps s to [FLT_TRUE_MIN, 1 - 2^-24],
// so +16.64 reads "at least 16.64".
double sigmoid(double z);
double logit_of_soft(float s);

// Share of (sample, block) decisions where the router's hard gate differs from what a
// bias-only router (w = 0, same b) decides: open iff sigmoid(b) > threshold, evaluated in
// float as TrainGraph does. hard is sample-major [n * L] with values 0/1. NaN when empty.
double flip_rate(const std::vector<float>& hard, const std::vector<float>& bias, float threshold);
bool bias_only_open(float bias, float threshold);

// Mean and sample standard deviation (n - 1); std is NaN for n < 2, mean NaN for n == 0.
double mean_of(const std::vector<double>& v);
double sample_std(const std::vector<double>& v);

}  // namespace lr::eval
