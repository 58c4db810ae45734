#pragma once
// The parts of a Hugging Face generation_config.json the engine uses.
#include <optional>
#include <string>
#include <vector>

namespace lr {

struct GenerationConfig {
  std::vector<int> eos_ids;  // eos_token_id: an int or a list
  int bos_id = -1;
  bool do_sample = false;
  std::optional<float> temperature, top_p;
  std::optional<int> top_k;

  // DIR/generation_config.json; a missing file gives the defaults (it is optional in HF),
  // a malformed one throws naming the file.
  static GenerationConfig load(const std::string& dir);
};

}  // namespace lr
