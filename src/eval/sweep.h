#pragma once
// Multi-seed aggregation (`layerroute sweep`): per metric, mean, sample std, min, max and
// the value of every seed, in the shape of the public reproduction's 10-seed table.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eval/evaluator.h"
#include "io/json.h"

namespace lr::eval {

using MetricList = std::vector<std::pair<std::string, double>>;

// The headline numbers of one evaluation, in table order.
MetricList sweep_metrics(const EvalResults& r);

struct SweepRun {
  uint64_t seed = 0;
  MetricList metrics;
};

struct MetricSummary {
  std::string name;
  double mean = 0, std = 0, min = 0, max = 0;  // over finite values; std is the sample std
  int n = 0;                                   // seeds with a finite value
  std::vector<double> per_seed;                // in run order, NaN where missing
};

// Rows in the first run's metric order; a metric missing from a run counts as NaN there.
std::vector<MetricSummary> aggregate(const std::vector<SweepRun>& runs);

std::string sweep_csv(const std::vector<SweepRun>& runs);  // metric,mean,std,min,max,n,seed_S...
std::string sweep_markdown(const std::vector<SweepRun>& runs);  // the same as a table
Json sweep_json(const std::vector<SweepRun>& runs);

// "2024,42,7" -> seeds; throws naming the bad element.
std::vector<uint64_t> parse_seeds(const std::string& s);

}  // namespace lr::eval
