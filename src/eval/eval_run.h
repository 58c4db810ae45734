#pragma once
// One evaluation run from files: model directory + adapter directory + datasets -> results
// and reports in OUT. Shared by `layerroute eval` and `layerroute sweep`.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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
  // Task metrics by generation (task_eval.h): Auto runs them when a sample has a
  // reference answer (a tool-call step, or a planning step with "####").
  enum class Tasks { Auto, On, Off } task_metrics = Tasks::Auto;
  size_t max_task_samples = 16;  // per kind (tool_call, gsm8k); 0 = all
  int task_max_new_tokens = 256;
  // Matched-compute baselines (baselines.h), run when the routers gate.
  bool baselines = true;
  int random_draws = 5;
  uint64_t baseline_seed = 2024;
  size_t calibration_samples = 32;  // eval samples the block influence averages over
  // The speed-quality dial (skip_calibration.h): a threshold replacing the adapters', a
  // logit offset, or a skip target the offset is calibrated for (on `calibration`, a
  // FORMAT:FILE, or else on the first calibration_samples eval samples).
  std::optional<float> gate_threshold;
  std::optional<double> logit_offset, skip_target;
  std::string calibration;
  std::function<void(const std::string&)> progress;
};

// Loads everything (errors name the file at fault before any compute), evaluates, writes the
// reports into out_dir and returns the results.
EvalResults run_eval(const EvalRunConfig& cfg);

}  // namespace lr::eval
