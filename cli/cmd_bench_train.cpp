// `layerroute bench-train` (hidden): training tokens/s and peak RSS of the default recipe on
// one micro-batch shape. One shape per process, because peak RSS (VmHWM) only grows;
// bench/train_peer.sh calls it per shape next to the PyTorch peer.
#include <iostream>

#include "cli/commands.h"
#include "io/atomic_file.h"
#include "model/presets.h"
#include "train/train_config.h"
#include "train/train_bench.h"

namespace lr::cli {

void register_bench_train(CLI::App& app) {
  auto* sub = app.add_subcommand("bench-train", "Measure training tokens/s and peak RSS");
  sub->group("");  // hidden: a benchmark tool, not part of the user interface
  static TrainBenchOptions o;
  static std::string preset = "qwen2.5-0.5b", json_out, frozen = "auto";
  sub->add_option("--model", o.model_dir, "Model directory (default: random weights)");
  sub->add_option("--preset", preset, "Shape for random weights")->capture_default_str();
  sub->add_option("--rows", o.rows, "Micro-batch rows")->capture_default_str();
  sub->add_option("--seq", o.seq, "Tokens per row")->capture_default_str();
  sub->add_option("--steps", o.steps, "Timed steps (after one warm-up)")->capture_default_str();
  sub->add_option("--threads", o.threads, "Threads (0: all cores)")->capture_default_str();
  sub->add_flag("--all-open", o.all_open, "Open every gate (no backward skipped)");
  sub->add_option("--frozen-matmul", frozen,
                  "The frozen GEMMs: auto (bf16 where the CPU has AVX512-BF16), bf16 or f32")
      ->capture_default_str();
  sub->add_option("--json", json_out, "Also write the figures as JSON");
  registry().push_back({sub, [] {
                          const ModelConfig cfg = o.model_dir.empty()
                                                      ? preset_config(preset)
                                                      : ModelConfig::load(o.model_dir);
                          o.frozen_bf16 = resolve_frozen_bf16(frozen);
                          const TrainBenchResult r = bench_training(cfg, o);
                          Json j = r.to_json();
                          j["model"] = o.model_dir.empty() ? "random:" + preset : o.model_dir;
                          j["all_open"] = o.all_open;
                          j["env"] = threading_env();
                          std::cout << j.dump(2) << "\n";
                          if (!json_out.empty()) write_file_atomic(json_out, j.dump(2) + "\n");
                          return 0;
                        }});
}

}  // namespace lr::cli
