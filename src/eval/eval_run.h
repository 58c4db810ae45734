#pragma once
// One evaluation run from files: model directory + adapter directory + datasets -> results
// and reports in OUT. Shared by `layerroute eval` and `layerroute sweep`.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "text/dataset.h"

namespace lr::eval {

struct EvalRunConfig {
  std::string model_dir, adapters_dir, out_dir;  // adapters_dir "": base model only
  std::string gates = "router";                  // router | open | mask:BITS
  bool no_lora = false;                          // leave the adapters' LoRA out
  std::vector<std::string> data;                 // "format:FILE"
  size_t max_samples = 200;                      // per dataset (0 = all)
  size_t max_seq_len = 512;
  int batch_size = 4;
  int threads = 0;
  bool wallclock = true;
  int wallclock_prompts_per_type = 3;
  LossOn loss_on = LossOn::All;
  std::function<void(const std::string&)> progress;
};

// Loads everything (errors name the file at fault before any compute), evaluates, writes the
// reports into out_dir and returns the results.
EvalResults run_eval(const EvalRunConfig& cfg);

}  // namespace lr::eval
