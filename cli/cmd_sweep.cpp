// `layerroute sweep`: train + evaluate once per seed, then mean ± std per metric
// (eval/sweep_run.h does the work).
#include <iostream>

#include "cli/commands.h"
#include "core/child_process.h"
#include "eval/sweep_run.h"

namespace lr::cli {

namespace {

struct SweepOptions {
  std::string seeds, model, out, adapters = "best";
  std::vector<std::string> data, eval_data;
  size_t max_samples = 200, max_seq_len = 512;
  int batch_size = 4, threads = 0;
  bool no_wallclock = false;
};

int run(const SweepOptions& o, const std::vector<std::string>& train_extra) {
  eval::SweepConfig cfg;
  cfg.exe = self_executable();
  cfg.seeds = eval::parse_seeds(o.seeds);
  cfg.model_dir = o.model;
  cfg.out_dir = o.out;
  cfg.adapters_from = o.adapters;
  cfg.data = o.data;
  cfg.train_extra = train_extra;
  cfg.eval_data = o.eval_data;
  cfg.max_samples = o.max_samples;
  cfg.max_seq_len = o.max_seq_len;
  cfg.batch_size = o.batch_size;
  cfg.threads = o.threads;
  cfg.wallclock = !o.no_wallclock;
  cfg.progress = [](const std::string& s) { std::cerr << s << "\n"; };
  std::cout << eval::sweep_markdown(eval::run_sweep(cfg));
  return 0;
}

}  // namespace

void register_sweep(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep",
      "Train and evaluate once per seed, then aggregate mean ± std per metric into\n"
      "OUT/sweep.csv, sweep.md and sweep.json (per seed: OUT/seed_S/train, OUT/seed_S/eval).\n"
      "Unrecognised options are passed to `layerroute train` unchanged.");
  static SweepOptions o;
  sub->allow_extras();
  sub->add_option("--seeds", o.seeds, "Comma-separated seeds, e.g. 2024,42,7")->required();
  sub->add_option("--model", o.model, "Base model directory")->required();
  sub->add_option("--data", o.data, "Training dataset FORMAT:FILE, repeatable")->required();
  sub->add_option("--eval-data", o.eval_data, "Evaluation dataset FORMAT:FILE, repeatable")
      ->required();
  sub->add_option("--out", o.out, "Sweep directory")->required();
  sub->add_option("--adapters-from", o.adapters, "Evaluate each run's best or final adapters")
      ->capture_default_str();
  sub->add_option("--max-samples", o.max_samples, "Eval samples per dataset (0 = all)")
      ->capture_default_str();
  sub->add_option("--eval-max-seq-len", o.max_seq_len, "Eval truncation length")
      ->capture_default_str();
  sub->add_option("--eval-batch-size", o.batch_size, "Eval batch size")->capture_default_str();
  sub->add_option("--threads", o.threads, "Compute threads for training and eval (0: all)")
      ->capture_default_str();
  sub->add_flag("--no-wallclock", o.no_wallclock, "Skip the speed measurement in eval");
  registry().push_back({sub, [sub] { return run(o, sub->remaining()); }});
}

}  // namespace lr::cli
