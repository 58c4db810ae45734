#include "model/random_model_dir.h"

#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/weights.h"
#include "text/qwen25_tokenizer_files.h"
#include "text/tokenizer_subset.h"

namespace lr {

namespace fs = std::filesystem;

ModelConfig write_random_model_dir(const RandomModelOptions& o) {
  LR_CHECK(!fs::exists(o.out_dir), o.out_dir, ": already exists");
  LR_CHECK(fs::exists(o.tokenizer_dir + "/tokenizer.json"), o.tokenizer_dir,
           "/tokenizer.json: not found (run scripts/setup.sh, or pass --tokenizer-from)");
  ModelConfig cfg = o.config;
  const std::string tmp = o.out_dir + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    write_qwen25_tokenizer_files(o.tokenizer_dir, tmp, o.chat_template);
    if (o.tokenizer_keep > 0) {
      // The cut-down tokenizer replaces the full one; the vocabulary follows it.
      const auto info =
          write_tokenizer_subset(o.tokenizer_dir + "/tokenizer.json", tmp + "/tokenizer.json",
                                 o.tokenizer_keep, 151665, 151668);
      cfg.vocab = int(info.vocab_size());
      cfg.bos_id = int(o.tokenizer_keep);         // <|endoftext|>, renumbered
      cfg.eos_ids = {int(o.tokenizer_keep) + 2};  // <|im_end|>
      Json tc = read_json_file(tmp + "/tokenizer_config.json");
      tc.erase("added_tokens_decoder");  // its ids are the full tokenizer's
      write_file_atomic(tmp + "/tokenizer_config.json", tc.dump(2));
    }
    const ModelWeights w = ModelWeights::random(cfg, o.seed, o.stddev,
                                                o.bf16 ? WeightsDType::BF16 : WeightsDType::F32);
    ModelConfig stored = cfg;
    stored.torch_dtype = o.bf16 ? DType::BF16 : DType::F32;
    write_file_atomic(tmp + "/config.json", stored.to_json().dump(2) + "\n");
    Json gen;
    gen["bos_token_id"] = cfg.bos_id;
    gen["eos_token_id"] = Json::array({cfg.eos_ids.at(0), cfg.bos_id});
    gen["do_sample"] = false;
    write_file_atomic(tmp + "/generation_config.json", gen.dump(2) + "\n");
    write_safetensors(
        tmp + "/model.safetensors", w.to_tensors(),
        {{"format", "pt"}, {"layerroute", "random weights, seed " + std::to_string(o.seed)}});
    fs::rename(tmp, o.out_dir);
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  return cfg;
}

}  // namespace lr
