#pragma once
// `layerroute sweep` as a library: per seed, train (a child `layerroute train`), evaluate
// (in-process), and rewrite the aggregate files after each seed.
//
// Training runs as a child process rather than through the trainer library: the train
// flags pass through verbatim to the one place that defines them (the CLI's train command)
// instead of a second copy of that flag table, and each seed gets a fresh process (memory
// returned, thread pools fresh, one crashed seed does not take the others down).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/sweep.h"

namespace lr::eval {

struct SweepConfig {
  std::string exe;  // the layerroute binary that trains each seed
  std::vector<uint64_t> seeds;
  std::string model_dir, out_dir;
  std::string adapters_from = "best";    // "best" or "final" of each run
  std::vector<std::string> data;         // training datasets FORMAT:FILE
  std::vector<std::string> train_extra;  // more `train` flags, verbatim (not --seed / --out)
  std::vector<std::string> eval_data;
  size_t max_samples = 200, max_seq_len = 512;
  int batch_size = 4, threads = 0;
  bool wallclock = true;
  std::function<void(const std::string&)> progress;  // one line per step; may be empty
};

// Runs the sweep into out_dir (OUT/seed_S/train, OUT/seed_S/eval; sweep.csv, sweep.md and
// sweep.json rewritten after every seed, so a stopped sweep keeps what it finished). A seed
// whose training already finished (run_summary.json and its adapters exist) is not
// trained again. Throws lr::Error on a bad configuration or a failed training run, naming
// the seed and its directory.
std::vector<SweepRun> run_sweep(const SweepConfig& cfg);

}  // namespace lr::eval
