#include "eval/sweep_run.h"

#include <filesystem>

#include "core/child_process.h"
#include "core/error.h"
#include "eval/eval_run.h"
#include "io/atomic_file.h"

namespace lr::eval {

namespace fs = std::filesystem;

std::vector<SweepRun> run_sweep(const SweepConfig& cfg) {
  LR_CHECK(!cfg.seeds.empty(), "sweep: give at least one seed");
  LR_CHECK(cfg.adapters_from == "best" || cfg.adapters_from == "final",
           "--adapters-from: 'best' or 'final'");
  LR_CHECK(!cfg.eval_data.empty(), "sweep: give --eval-data FORMAT:FILE");
  for (const std::string& a : cfg.train_extra)
    LR_CHECK(
        a != "--seed" && a.rfind("--seed=", 0) != 0 && a != "--out" && a.rfind("--out=", 0) != 0,
        "sweep: ", a, " is set per seed by the sweep; do not pass it");
  auto say = [&](const std::string& s) {
    if (cfg.progress) cfg.progress(s);
  };
  fs::create_directories(cfg.out_dir);
  std::vector<SweepRun> runs;
  for (uint64_t seed : cfg.seeds) {
    const std::string tag = "sweep: seed " + std::to_string(seed) + ": ";
    const std::string dir = cfg.out_dir + "/seed_" + std::to_string(seed);
    const std::string train_dir = dir + "/train", adapters = train_dir + "/" + cfg.adapters_from;
    if (fs::exists(train_dir + "/run_summary.json") && fs::exists(adapters)) {
      say(tag + "training already done in " + train_dir);
    } else {
      std::vector<std::string> args{cfg.exe, "train",   "--model", cfg.model_dir,
                                    "--out", train_dir, "--seed",  std::to_string(seed)};
      for (const std::string& d : cfg.data) args.insert(args.end(), {"--data", d});
      if (cfg.threads > 0) args.insert(args.end(), {"--threads", std::to_string(cfg.threads)});
      args.insert(args.end(), cfg.train_extra.begin(), cfg.train_extra.end());
      say(tag + "training into " + train_dir);
      const ChildResult rc = run_child(args);  // its output is the user's, as it comes
      LR_CHECK(rc.ok(), "sweep: training for seed ", seed, " failed (", rc.status(), "); see ",
               train_dir);
    }
    EvalRunConfig ec;
    ec.model_dir = cfg.model_dir;
    ec.adapters_dir = adapters;
    ec.out_dir = dir + "/eval";
    ec.data = cfg.eval_data;
    ec.max_samples = cfg.max_samples;
    ec.max_seq_len = cfg.max_seq_len;
    ec.batch_size = cfg.batch_size;
    ec.threads = cfg.threads;
    ec.wallclock = cfg.wallclock;
    // sweep_metrics aggregates no task metric or baseline yet: they would only cost time.
    ec.task_metrics = EvalRunConfig::Tasks::Off;
    ec.baselines = false;
    ec.progress = [&](const std::string& s) { say(tag + "eval: " + s); };
    runs.push_back({seed, sweep_metrics(run_eval(ec))});
    write_file_atomic(cfg.out_dir + "/sweep.csv", sweep_csv(runs));
    write_file_atomic(cfg.out_dir + "/sweep.md", sweep_markdown(runs));
    write_file_atomic(cfg.out_dir + "/sweep.json", sweep_json(runs).dump(2) + "\n");
  }
  return runs;
}

}  // namespace lr::eval
