#include "cli/model_options.h"

#include <charconv>

#include "core/error.h"

namespace lr::cli {

void add_model_options(CLI::App* sub, ModelOptions* o) {
  sub->add_option("--model", o->model, "Hugging Face model directory")->required();
  sub->add_option("--threads", o->threads, "Compute threads (0: all cores)")->capture_default_str();
  sub->add_option("--weights-dtype", o->weights_dtype,
                  "In-memory weight storage for inference: f32, bf16 or q8 (int8, one scale per 32)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "q8"}));
}

WeightsDType parse_weights_dtype(const std::string& s) {
  if (s == "f32") return WeightsDType::F32;
  if (s == "bf16") return WeightsDType::BF16;
  if (s == "q8") return WeightsDType::Q8;
  fail("--weights-dtype: unknown value '", s, "' (f32, bf16, q8)");
}

std::vector<int> parse_ids(const std::string& s) {
  std::vector<int> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string part = s.substr(i, j - i);
    int v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    LR_CHECK(ec == std::errc() && p == part.data() + part.size() && v >= 0, "--ids: '", part,
             "' is not a token id");
    ids.push_back(v);
    i = j + 1;
  }
  LR_CHECK(!ids.empty(), "--ids: empty");
  return ids;
}

}  // namespace lr::cli
