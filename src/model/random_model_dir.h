#pragma once
// A random-weight model directory in Hugging Face layout: config.json, model.safetensors,
// generation_config.json and Qwen2.5 tokenizer files. Used by `init-random` (benchmarks)
// and as the starting point of models trained from scratch (the demo).
#include <cstdint>
#include <string>

#include "model/config.h"

namespace lr {

struct RandomModelOptions {
  ModelConfig config;          // vocab, bos and eos are replaced when tokenizer_keep > 0
  std::string out_dir;         // must not exist
  std::string tokenizer_dir;   // holds the Qwen tokenizer.json + tokenizer_config.json
  std::string chat_template;   // jinja text to store; empty: the native-template key
  int64_t tokenizer_keep = 0;  // > 0: cut the tokenizer to its first N ids
  bool bf16 = false;
  uint64_t seed = 0;
  float stddev = 0.02f;
};

// Written into a temp dir renamed into place at the end; throws lr::Error (nothing left
// behind) on failure. Returns the config that was written.
ModelConfig write_random_model_dir(const RandomModelOptions& o);

}  // namespace lr
