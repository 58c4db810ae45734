// `layerroute sweep`: train + evaluate once per seed, then mean ± std per metric.
//
// Training runs as a child `layerroute train` process per seed rather than through the
// trainer library: the train flags pass through verbatim to the one place that defines them
// (cmd_train.cpp) instead of a second copy of that flag table here, and each seed gets a
// fresh process (memory returned, thread pools fresh, one crashed seed does not take the
// others down). Evaluation runs in-process through the eval library.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/child_process.h"
#include "core/error.h"
#include "eval/eval_run.h"
#include "eval/sweep.h"
#include "io/atomic_file.h"

namespace lr::cli {

namespace fs = std::filesystem;

namespace {

struct SweepOptions {
  std::string seeds, model, out, adapters = "best";
  std::vector<std::string> data, eval_data;
  size_t max_samples = 200, max_seq_len = 512;
  int batch_size = 4, threads = 0;
  bool no_wallclock = false;
};

int run(const SweepOptions& o, const std::vector<std::string>& train_extra) {
  const std::vector<uint64_t> seeds = eval::parse_seeds(o.seeds);
  LR_CHECK(o.adapters == "best" || o.adapters == "final", "--adapters-from: 'best' or 'final'");
  LR_CHECK(!o.eval_data.empty(), "sweep: give --eval-data FORMAT:FILE");
  for (const std::string& a : train_extra)
    LR_CHECK(
        a != "--seed" && a.rfind("--seed=", 0) != 0 && a != "--out" && a.rfind("--out=", 0) != 0,
        "sweep: ", a, " is set per seed by the sweep; do not pass it");
  fs::create_directories(o.out);
  const std::string exe = self_executable();
  std::vector<eval::SweepRun> runs;
  for (uint64_t seed : seeds) {
    const std::string dir = o.out + "/seed_" + std::to_string(seed);
    const std::string train_dir = dir + "/train", adapters = train_dir + "/" + o.adapters;
    if (fs::exists(train_dir + "/run_summary.json") && fs::exists(adapters)) {
      std::cerr << "sweep: seed " << seed << ": training already done in " << train_dir << "\n";
    } else {
      std::vector<std::string> args{exe,     "train",   "--model", o.model,
                                    "--out", train_dir, "--seed",  std::to_string(seed)};
      for (const std::string& d : o.data) args.insert(args.end(), {"--data", d});
      if (o.threads > 0) args.insert(args.end(), {"--threads", std::to_string(o.threads)});
      args.insert(args.end(), train_extra.begin(), train_extra.end());
      std::cerr << "sweep: seed " << seed << ": training into " << train_dir << "\n";
      const ChildResult rc = run_child(args);  // its output is the user's, as it comes
      LR_CHECK(rc.ok(), "sweep: training for seed ", seed, " failed (", rc.status(), "); see ",
               train_dir);
    }
    eval::EvalRunConfig ec;
    ec.model_dir = o.model;
    ec.adapters_dir = adapters;
    ec.out_dir = dir + "/eval";
    ec.data = o.eval_data;
    ec.max_samples = o.max_samples;
    ec.max_seq_len = o.max_seq_len;
    ec.batch_size = o.batch_size;
    ec.threads = o.threads;
    ec.wallclock = !o.no_wallclock;
    // sweep_metrics aggregates no task metric or baseline yet: they would only cost time.
    ec.task_metrics = eval::EvalRunConfig::Tasks::Off;
    ec.baselines = false;
    ec.progress = [seed](const std::string& s) {
      std::cerr << "sweep: seed " << seed << ": eval: " << s << "\n";
    };
    runs.push_back({seed, eval::sweep_metrics(eval::run_eval(ec))});
    // Rewritten after every seed so a stopped sweep keeps what it finished.
    write_file_atomic(o.out + "/sweep.csv", eval::sweep_csv(runs));
    write_file_atomic(o.out + "/sweep.md", eval::sweep_markdown(runs));
    write_file_atomic(o.out + "/sweep.json", eval::sweep_json(runs).dump(2) + "\n");
  }
  std::cout << eval::sweep_markdown(runs);
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
