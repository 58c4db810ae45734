// `layerroute sweep`: train + evaluate once per seed, then mean ± std per metric
// (eval/sweep_run.h does the work).
#include <iostream>

#include "cli/commands.h"
#include "core/child_process.h"
#include "eval/sweep_run.h"

namespace lr::cli {

void register_sweep(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep",
      "Train and evaluate once per seed, then aggregate mean ± std per metric into\n"
      "OUT/sweep.csv, sweep.md and sweep.json (per seed: OUT/seed_S/train, OUT/seed_S/eval).\n"
      "Unrecognised options are passed to `layerroute train` unchanged.");
  // The options write straight into the library's configuration (its defaults are the
  // ones shown); only the seeds and --no-wallclock need converting.
  static eval::SweepConfig cfg;
  static std::string seeds;
  static bool no_wallclock = false;
  sub->allow_extras();
  sub->add_option("--seeds", seeds, "Comma-separated seeds, e.g. 2024,42,7")->required();
  sub->add_option("--model", cfg.model_dir, "Base model directory")->required();
  sub->add_option("--data", cfg.data, "Training dataset FORMAT:FILE, repeatable")->required();
  sub->add_option("--eval-data", cfg.eval_data, "Evaluation dataset FORMAT:FILE, repeatable")
      ->required();
  sub->add_option("--out", cfg.out_dir, "Sweep directory")->required();
  sub->add_option("--adapters-from", cfg.adapters_from,
                  "Evaluate each run's best or final adapters")
      ->capture_default_str();
  sub->add_option("--max-samples", cfg.max_samples, "Eval samples per dataset (0 = all)")
      ->capture_default_str();
  sub->add_option("--eval-max-seq-len", cfg.max_seq_len, "Eval truncation length")
      ->capture_default_str();
  sub->add_option("--eval-batch-size", cfg.batch_size, "Eval batch size")->capture_default_str();
  sub->add_option("--threads", cfg.threads, "Compute threads for training and eval (0: all)")
      ->capture_default_str();
  sub->add_flag("--no-wallclock", no_wallclock, "Skip the speed measurement in eval");
  registry().push_back({sub, [sub] {
                          cfg.exe = self_executable();
                          cfg.seeds = eval::parse_seeds(seeds);
                          cfg.train_extra = sub->remaining();
                          cfg.wallclock = !no_wallclock;
                          cfg.progress = [](const std::string& s) { std::cerr << s << "\n"; };
                          std::cout << eval::sweep_markdown(eval::run_sweep(cfg));
                          return 0;
                        }});
}

}  // namespace lr::cli
