#pragma once
// Training speed of the default recipe (LoRA r8 on q/k/v/o + routers, forward + backward +
// clip + AdamW, grad-accum 1) on one micro-batch shape, with the work it represents: FLOPs
// per token and the share it reaches of the limit of the loop its frozen GEMMs run (the
// bf16 dot peak where they multiply in bf16, else OpenBLAS's sgemm rate, both measured).
#include <cstddef>
#include <string>

#include "io/json.h"
#include "model/config.h"

namespace lr {

struct TrainBenchOptions {
  std::string model_dir;  // weights from DIR/model.safetensors; "" = random weights
  int rows = 1, seq = 512;
  int steps = 3;             // timed steps, after one untimed warm-up step
  int threads = 0;           // 0: every core
  bool all_open = false;     // every router bias +1: no gate closed, no backward skipped
  bool frozen_bf16 = false;  // the frozen GEMMs in bf16 (TrainOptions::frozen_matmul)
  uint64_t seed = 0;
};

struct TrainBenchResult {
  int rows = 0, seq = 0, steps = 0, threads = 0;
  std::string frozen_matmul;  // "bf16" or "f32"
  std::string cpu;            // cpu_path_summary()
  double load_s = 0;
  double best_step_s = 0, mean_step_s = 0;
  double tok_s = 0, tok_s_mean = 0;        // from the best / the mean step
  double fwd_s = 0, bwd_s = 0, opt_s = 0;  // split of the best step
  double blocks_open = 0;                  // mean fraction of (block, row) gates open
  // Per token: what the step computes with every backward run (as autograd does), and what
  // it executes (closed gates skip their block's backward).
  double flops_per_token = 0, flops_per_token_executed = 0;
  double gflops = 0;        // executed FLOPs / best step time
  double sgemm_gflops = 0;  // measured here: M = rows*seq, 896 -> 4864 shape of the model
  double limit_gflops = 0;  // bf16 frozen GEMMs: their loop's peak (probed); f32: sgemm_gflops
  std::string limit_name;   // what limit_gflops is
  double limit_share = 0;   // gflops / limit_gflops
  size_t peak_rss = 0;      // bytes, whole process (load included)
  double loss_first = 0, loss_last = 0;
  Json to_json() const;
};

// Loads (or draws) the weights, runs the steps, measures. cfg must match model_dir's config.
TrainBenchResult bench_training(const ModelConfig& cfg, const TrainBenchOptions& opts);

}  // namespace lr
