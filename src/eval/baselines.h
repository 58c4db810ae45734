#pragma once
// Matched-compute baselines (DESIGN §3 "Quality under skipping"): static masks that close as
// many blocks as the routers close on average (round(L - mean blocks run) on the eval data),
// each evaluated like the routed configuration (LoRA + the mask):
//   soft_gate        the blocks with the lowest mean soft gate
//   block_influence  the blocks with the lowest block influence (block_influence.h)
//   random           uniformly drawn blocks, several draws (reported as mean ± std)
// Per-input routing earns its keep only where it beats them at the same compute.
#include <optional>
#include <string>
#include <vector>

#include "eval/task_eval.h"
#include "io/json.h"

namespace lr::eval {

struct BaselineRun {
  std::string kind;                      // soft_gate | block_influence | random
  std::string mask;                      // one char per block, '1' runs
  double ppl[3] = {0, 0, 0};             // tool_call, planning, all (LoRA + mask)
  std::optional<TaskConfigResult> task;  // when task metrics were measured
};

struct Baselines {
  bool measured = false;
  std::string note = "not measured";
  int n_layers = 0;
  double router_mean_blocks_run = 0;  // on the eval data, all samples
  int closed = 0;                     // blocks every baseline closes
  double router_ppl[3] = {0, 0, 0};
  std::optional<TaskConfigResult> router_task;  // the routed configuration's task metrics
  std::vector<double> mean_soft;                // [L] the routers' mean soft gate, all samples
  std::vector<double> block_influence;          // [L]
  int calibration_samples = 0;                  // prompts the block influence averaged over
  std::vector<BaselineRun> runs;
};

// Blocks a matched static mask closes: round(L - mean blocks run), within [0, L].
int matched_closed_blocks(double mean_blocks_run, int n_layers);

// Mean and sample standard deviation (NaN for fewer than 2 values; NaN values skipped).
struct MeanStd {
  double mean = 0, stdev = 0;
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& v);

Json baselines_json(const Baselines& b);
std::string baselines_csv(const Baselines& b);
std::string baselines_markdown(const Baselines& b);  // a summary.md section
std::string svg_baselines(const Baselines& b);       // perplexity per type, router vs baselines

}  // namespace lr::eval
