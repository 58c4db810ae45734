#pragma once
// `eval --sweep-skip 0,10,20,...`: the speed-quality dial's Pareto curve. For each target
// skip the logit offset is calibrated (skip_calibration.h) and eval runs with it (perplexity,
// task metrics, matched-compute baselines at the skip the routers then reach); the points
// go to sweep.csv / sweep.json and the chart sweep.svg (x: measured skip %, y: task
// accuracy and perplexity; router vs static masks vs random masks on the same axes).
#include <string>
#include <vector>

#include "eval/eval_run.h"
#include "io/json.h"

namespace lr::eval {

// One configuration's place on the chart; NaN where not measured.
struct SweepValue {
  double skip_pct = 0, ppl = 0, task_accuracy = 0;
  double ppl_std = 0, task_accuracy_std = 0;  // random masks: over the draws
};

struct SweepPoint {
  double target_pct = 0, logit_offset = 0;
  SweepValue router, soft_gate, block_influence, random;
};

struct SkipSweep {
  int n_layers = 0;
  std::vector<SweepPoint> points;
};

// "0,10,20" -> targets in [0, 100]; throws naming the bad element.
std::vector<double> parse_sweep_targets(const std::string& s);

// Task accuracy of one configuration: the share of task items answered right (a tool-call
// turn whose calls match the reference exactly, or a no-call turn without a call; a GSM8K
// answer right after "####"). NaN when no item was scored.
double task_accuracy(const TaskConfigResult& t);

// One eval per target (in out_dir/sweep/skip_<P>/, wall clock off), points in target order.
SkipSweep run_skip_sweep(const EvalRunConfig& cfg, const std::vector<double>& targets);

Json skip_sweep_json(const SkipSweep& s);
std::string skip_sweep_csv(const SkipSweep& s);
std::string svg_skip_sweep(const SkipSweep& s);
// sweep.json, sweep.csv and sweep.svg in dir, atomically.
void write_skip_sweep(const SkipSweep& s, const std::string& dir);

}  // namespace lr::eval
