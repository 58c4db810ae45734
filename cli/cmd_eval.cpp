// `layerroute eval`: skip %, FLOPs, perplexities and gate diagnostics of a trained adapter
// directory on labelled agentic data; reports in --out, the Markdown summary on stdout.
#include <iostream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "eval/eval_run.h"
#include "eval/report.h"
#include "eval/skip_sweep.h"

namespace lr::cli {

void register_eval(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "eval",
      "Evaluate LoRA + routers per step type (tool_call / planning): blocks run, skip %,\n"
      "FLOPs, perplexity (base, LoRA all blocks, LoRA + routing), gate diagnostics, and\n"
      "task metrics by greedy generation (tool calls: parse rate, name accuracy, argument\n"
      "exact match and F1, no-call accuracy; GSM8K: answer accuracy, ended) with the\n"
      "definitions of `layerroute score`.\n"
      "Writes eval.json, types.csv, blocks.csv, samples.csv, summary.md, SVG charts and,\n"
      "with task metrics, task_metrics.csv and task/*.jsonl (generations + references);\n"
      "with routers, matched-compute baselines (baselines.csv, baselines.svg).\n"
      "Cost: each task configuration (base, LoRA all blocks, LoRA + routing) and each\n"
      "baseline (2 static masks + --random-draws) generates up to --max-task-samples x\n"
      "--task-max-new-tokens tokens per task kind, and each baseline adds one perplexity\n"
      "pass; trim with those flags, --no-task-metrics or --no-baselines.\n"
      "The dial: --gate-threshold T, --logit-offset X, or --skip-target P (the offset\n"
      "calibrated by bisection on --calibration FORMAT:FILE, else on the first\n"
      "--calibration-samples eval samples; stored in eval.json meta.dial).");
  static eval::EvalRunConfig c;
  static std::string loss_on = "all";
  static bool no_wallclock = false;
  static bool task_on = false, task_off = false;
  sub->add_option("--model", c.model_dir, "Base model directory (Hugging Face layout)")->required();
  sub->add_option("--adapters", c.adapters_dir,
                  "Adapter directory (adapter_model.safetensors, router.safetensors); "
                  "omitted: the base model alone");
  sub->add_option("--gates", c.gates,
                  "Gates of the recorded configuration: router (the adapters' routers), open "
                  "(every block) or mask:BITS (one 0/1 per block, 1 = run)")
      ->capture_default_str();
  sub->add_flag("--no-lora", c.no_lora, "Leave the adapters' LoRA out (routers still apply)");
  sub->add_option("--data", c.data,
                  "Dataset FORMAT:FILE, repeatable (hermes, glaive, gsm8k, "
                  "turing, messages)")
      ->required();
  sub->add_option("--out", c.out_dir, "Report directory")->required();
  sub->add_option("--max-samples", c.max_samples, "Samples per dataset (0 = all)")
      ->capture_default_str();
  sub->add_option("--max-seq-len", c.max_seq_len, "Truncate samples to this many tokens")
      ->capture_default_str();
  sub->add_option("--batch-size", c.batch_size, "Samples per forward batch")->capture_default_str();
  sub->add_option("--threads", c.threads, "Compute threads (0: all cores)")->capture_default_str();
  sub->add_option("--loss-on", loss_on, "Tokens the perplexity covers: all or assistant")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "assistant"}));
  sub->add_flag("--no-wallclock", no_wallclock, "Skip the prefill/decode speed measurement");
  auto* on = sub->add_flag("--task-metrics", task_on,
                           "Generate and score task metrics (the default when a sample has a "
                           "reference: a tool-call step, or a planning step with ####); an error "
                           "when none has");
  sub->add_flag("--no-task-metrics", task_off, "Skip the task metrics")->excludes(on);
  sub->add_option("--max-task-samples", c.max_task_samples,
                  "Samples generated per task kind (tool_call, gsm8k) and configuration "
                  "(0 = all)")
      ->capture_default_str();
  sub->add_option("--task-max-new-tokens", c.task_max_new_tokens,
                  "Most tokens generated per task sample")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  static bool no_baselines = false;
  sub->add_flag("--no-baselines", no_baselines,
                "Skip the matched-compute baselines (run by default when the routers gate): "
                "static masks closing as many blocks as the routers do on average (lowest mean "
                "soft gate; lowest block influence 1 - cos(block in, block out)) and random "
                "masks, each with LoRA, on perplexity and the task metrics");
  sub->add_option("--random-draws", c.random_draws, "Random masks drawn for the baselines")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--baseline-seed", c.baseline_seed, "Seed of the random masks")
      ->capture_default_str();
  sub->add_option("--calibration-samples", c.calibration_samples,
                  "Samples the block influence averages over, and --skip-target calibrates on")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  static RouteOptionsCli dial;
  add_dial_options(sub, &dial, false);
  static std::string sweep;
  sub->add_option("--sweep-skip", sweep,
                  "Target skips P1,P2,... (%): after the main evaluation, one per target with "
                  "the calibrated offset (perplexity, task metrics, matched baselines; in "
                  "OUT/sweep/skip_P/), then sweep.csv, sweep.json and the Pareto chart "
                  "sweep.svg (measured skip vs task accuracy and perplexity, router vs static "
                  "and random masks) in OUT")
      ->excludes("--skip-target")
      ->excludes("--logit-offset");
  registry().push_back(
      {sub, [] {
         check_dial_options(dial);
         LR_CHECK(dial.calibration.empty() || dial.skip_target,
                  "eval: --calibration is only used by --skip-target");
         const std::vector<double> targets =
             sweep.empty() ? std::vector<double>{} : eval::parse_sweep_targets(sweep);
         eval::EvalRunConfig cfg = c;
         cfg.gate_threshold = dial.gate_threshold;
         cfg.logit_offset = dial.logit_offset;
         cfg.skip_target = dial.skip_target;
         cfg.calibration = dial.calibration;
         cfg.loss_on = loss_on == "all" ? LossOn::All : LossOn::Assistant;
         cfg.wallclock = !no_wallclock;
         cfg.baselines = !no_baselines;
         using Tasks = eval::EvalRunConfig::Tasks;
         cfg.task_metrics = task_on ? Tasks::On : task_off ? Tasks::Off : Tasks::Auto;
         cfg.progress = [](const std::string& s) { std::cerr << "eval: " << s << "\n"; };
         const eval::EvalResults r = eval::run_eval(cfg);
         std::cout << eval::summary_markdown(r);
         if (!targets.empty()) {
           const eval::SkipSweep sw = eval::run_skip_sweep(cfg, targets);
           eval::write_skip_sweep(sw, cfg.out_dir);
           for (const eval::SweepPoint& p : sw.points)
             std::cerr << "eval: sweep target " << p.target_pct << " %: measured skip "
                       << p.router.skip_pct << " %, logit offset " << p.logit_offset << "\n";
         }
         std::cerr << "eval: reports in " << cfg.out_dir << "\n";
         return 0;
       }});
}

}  // namespace lr::cli
