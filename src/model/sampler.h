#pragma once
// Picks the next token from logits: greedy, or temperature + top-k + top-p sampling
// with a seeded std::mt19937_64 (same seed, same logits -> same tokens everywhere).
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace lr {

struct SamplerConfig {
  float temperature = 0.f;  // <= 0 (or tiny): greedy
  int top_k = 0;            // 0: off
  float top_p = 1.f;        // 1: off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig cfg);
  int sample(const float* logits, int vocab);
  bool greedy() const;
  const SamplerConfig& config() const { return cfg_; }

  // The candidate set a sample is drawn from after temperature/top-k/top-p, as
  // (id, probability renormalised over the set), most likely first. For tests.
  std::vector<std::pair<int, float>> candidates(const float* logits, int vocab);

 private:
  void filter(const float* logits, int vocab);  // fills cand_ with the kept set

  SamplerConfig cfg_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> cand_;  // (probability, id), reused between calls
};

// Token ids that end generation: the union of the lists given (config.json eos ids,
// generation_config.json eos ids, the tokenizer's <|im_end|> id, ...), sorted, unique,
// negatives dropped.
std::vector<int> make_stop_ids(const std::vector<std::vector<int>>& lists);
bool is_stop(const std::vector<int>& stop_ids, int id);

}  // namespace lr
