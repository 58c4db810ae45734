#include "demo/demo_pipeline.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "demo/demo_generation.h"
#include "demo/synth_traces.h"
#include "eval/baseline_verdict.h"
#include "eval/eval_run.h"
#include "eval/skip_sweep.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "model/presets.h"
#include "model/random_model_dir.h"
#include "train/trainer.h"

namespace lr {

namespace fs = std::filesystem;

namespace {

void banner(const std::string& s) {
  std::cout << "\n== " << s << "\n" << std::flush;
}

// A finished step leaves a marker holding the settings it ran with (and those of the steps
// it builds on); a missing marker (a killed run) or different settings mean redo.
bool done(const std::string& marker, const Json& what) {
  if (!fs::exists(marker)) return false;
  try {
    return read_json_file(marker) == what;
  } catch (const std::exception&) {
    return false;  // unreadable marker: redo the step
  }
}
void mark(const std::string& marker, const Json& what) {
  write_file_atomic(marker, what.dump(2) + "\n");
}

TrainConfig base_training(const DemoOptions& o, const std::string& model,
                          const std::string& data_dir, const std::string& out) {
  TrainConfig c;
  c.model_dir = model;
  c.out_dir = out;
  c.data = {"hermes:" + synth_tool_path(data_dir, "train"),
            "gsm8k:" + synth_planning_path(data_dir, "train")};
  c.full = true;  // every weight: this builds the model
  c.routers = false;
  c.max_steps = o.base_steps;
  c.batch_size = 8;
  c.grad_accum = 1;
  c.lr = 2e-3;  // from scratch a small model wants a far larger rate than LoRA's 2e-4
  c.warmup_steps = std::max<int64_t>(1, o.base_steps / 20);
  c.max_seq_len = o.max_seq_len;
  c.eval_every = std::max<int64_t>(1, o.base_steps / 3);
  c.eval_batches = 8;
  c.save_every = o.base_steps;
  c.seed = o.seed;
  c.threads = o.threads;
  return c;
}

TrainConfig adapter_training(const DemoOptions& o, const std::string& model,
                             const std::string& data_dir, const std::string& out) {
  TrainConfig c;  // the paper's recipe: LoRA r 8 on q,k,v,o + routers, gate regulariser 1.0
  c.model_dir = model;
  c.out_dir = out;
  c.data = {"hermes:" + synth_tool_path(data_dir, "train"),
            "gsm8k:" + synth_planning_path(data_dir, "train")};
  c.max_steps = o.adapter_steps;
  c.batch_size = 4;
  c.grad_accum = 2;
  c.lr = 1e-3;
  c.warmup_steps = std::max<int64_t>(1, o.adapter_steps / 20);
  c.max_seq_len = o.max_seq_len;
  c.eval_every = std::max<int64_t>(2, o.adapter_steps * 2 / 3);
  c.eval_batches = 8;
  c.save_every = o.adapter_steps;
  c.seed = o.seed;
  c.threads = o.threads;
  return c;
}

}  // namespace

int run_demo(DemoOptions o) {
  if (o.quick) {
    o.train_per_type = 60;
    o.eval_per_type = 12;
    o.base_steps = 6;
    o.adapter_steps = 4;
    o.max_seq_len = 128;
  }
  set_num_threads(o.threads);
  fs::create_directories(o.work_dir);
  const std::string data_dir = o.work_dir + "/data";
  // A killed run's half-written files: temps of atomic writes (the steps' own directories
  // are rebuilt whole when their marker is missing).
  remove_stale_temps(o.work_dir);
  if (fs::exists(data_dir)) remove_stale_temps(data_dir);
  Timer total;

  banner("1/5 synthetic agentic traces");
  const Json data_key = {
      {"train_per_type", o.train_per_type}, {"eval_per_type", o.eval_per_type}, {"seed", o.seed}};
  if (!done(data_dir + "/.done", data_key)) {
    fs::create_directories(data_dir);
    write_synth_traces(data_dir, "train", o.train_per_type, o.train_per_type, o.seed);
    write_synth_traces(data_dir, "eval", o.eval_per_type, o.eval_per_type, o.seed + 1);
    mark(data_dir + "/.done", data_key);
  }
  std::cout << "tool-call steps (Hermes JSON) and planning steps (GSM8K JSONL) in " << data_dir
            << "\n";

  std::string model = o.model_dir;
  Json base_key = {{"model", o.model_dir}};
  if (model.empty()) {
    banner("2/5 a small Qwen2-architecture model, trained from scratch (all weights)");
    const std::string init = o.work_dir + "/base-init";
    const std::string run = o.work_dir + "/base-run";
    model = run + "/final";
    base_key = {{"data", data_key},
                {"steps", o.base_steps},
                {"max_seq_len", o.max_seq_len},
                {"seed", o.seed}};
    if (!done(run + "/.done", base_key)) {
      fs::remove_all(init);
      fs::remove_all(run);
      RandomModelOptions ro;
      ro.config = preset_config("demo-small");
      ro.out_dir = init;
      ro.tokenizer_dir = o.tokenizer_dir;
      ro.tokenizer_keep = 4096;  // the real Qwen BPE, cut to its first 4096 ids
      ro.seed = o.seed;
      const ModelConfig c = write_random_model_dir(ro);
      std::cout << "architecture: qwen2, " << c.n_layers << " blocks, hidden " << c.hidden
                << ", vocab " << c.vocab << " (random init; trained next)\n";
      run_training(base_training(o, init, data_dir, run));
      mark(run + "/.done", base_key);
    } else {
      std::cout << "cached: " << model << "\n";
    }
  }

  banner("3/5 LayerRoute adapters: LoRA r8 on q,k,v,o + one router per block");
  const std::string adapters_run = o.work_dir + "/adapters-run";
  const Json adapters_key = {{"base", base_key},
                             {"data", data_key},
                             {"steps", o.adapter_steps},
                             {"max_seq_len", o.max_seq_len},
                             {"seed", o.seed}};
  if (!done(adapters_run + "/.done", adapters_key)) {
    fs::remove_all(adapters_run);
    run_training(adapter_training(o, model, data_dir, adapters_run));
    mark(adapters_run + "/.done", adapters_key);
  } else {
    std::cout << "cached: " << adapters_run << "/final\n";
  }

  banner("4/5 evaluation on held-out traces (base / LoRA all blocks / LoRA + routing)");
  const std::string eval_dir = o.work_dir + "/eval";
  // Task metrics, baselines and the dial's sweep, kept small: a few prompts, short answers.
  const int task_samples = o.quick ? 2 : 8, task_tokens = o.quick ? 8 : 64;
  const int draws = o.quick ? 2 : 3;
  const std::vector<double> sweep =
      o.quick ? std::vector<double>{0, 50} : std::vector<double>{0, 10, 20, 30, 40};
  const Json eval_key = {{"adapters", adapters_key},
                         {"task_samples", task_samples},
                         {"task_tokens", task_tokens},
                         {"random_draws", draws},
                         {"sweep", sweep}};
  if (!done(eval_dir + "/.done", eval_key)) {
    fs::remove_all(eval_dir);
    eval::EvalRunConfig ec;
    ec.model_dir = model;
    ec.adapters_dir = adapters_run + "/final";
    ec.out_dir = eval_dir;
    ec.data = {"hermes:" + synth_tool_path(data_dir, "eval"),
               "gsm8k:" + synth_planning_path(data_dir, "eval")};
    ec.max_samples = size_t(o.eval_per_type);
    ec.max_seq_len = size_t(o.max_seq_len);
    ec.threads = o.threads;
    ec.max_task_samples = size_t(task_samples);
    ec.task_max_new_tokens = task_tokens;
    ec.random_draws = draws;
    const eval::EvalResults r = eval::run_eval(ec);
    write_file_atomic(eval_dir + "/router_vs_static.txt",
                      eval::router_vs_static_line(r.baselines) + "\n");
    // The dial's Pareto curve, one eval per point, kept cheaper than the main evaluation:
    // fewer samples, half the task prompts, two random draws, no wall clock.
    eval::EvalRunConfig sc = ec;
    sc.max_samples = std::min<size_t>(ec.max_samples, 40);
    sc.max_task_samples = std::max<size_t>(1, ec.max_task_samples / 2);
    sc.random_draws = 2;
    sc.progress = [](const std::string& s) { std::cerr << "demo: " << s << "\n"; };
    eval::write_skip_sweep(eval::run_skip_sweep(sc, sweep), eval_dir);
    mark(eval_dir + "/.done", eval_key);
  }
  std::cout << read_file(eval_dir + "/summary.md") << "\nreports (CSV, JSON, SVG charts) in "
            << eval_dir << "; the speed-quality dial's Pareto chart: " << eval_dir << "/sweep.svg\n"
            << read_file(eval_dir + "/router_vs_static.txt");
  banner("5/5 routed generation with the KV cache (greedy), routed vs all blocks open");
  demo_generation(model, adapters_run + "/final", synth_tool_path(data_dir, "eval"),
                  synth_planning_path(data_dir, "eval"), o.quick ? 16 : 64);

  std::cout << "\ndemo finished in " << total.seconds() << " s; artifacts in " << o.work_dir
            << "\n";
  std::cout << "serve it to agents (OpenAI API, docs/serving.md):\n  layerroute serve --model "
            << model << " --adapters " << adapters_run << "/final\n";
  return 0;
}

}  // namespace lr
