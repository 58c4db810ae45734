#include "model/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/argmax.h"

namespace lr {

namespace {
// Below this temperature the distribution is a point mass for any practical purpose, and
// dividing by it would overflow exp.
constexpr float kMinTemperature = 1e-5f;
}  // namespace

Sampler::Sampler(SamplerConfig cfg) : cfg_(cfg), rng_(cfg.seed) {
  LR_CHECK(cfg.top_k >= 0, "sampler: top_k ", cfg.top_k, " < 0");
  LR_CHECK(cfg.top_p > 0.f && cfg.top_p <= 1.f, "sampler: top_p ", cfg.top_p, " outside (0, 1]");
}

bool Sampler::greedy() const {
  return cfg_.temperature < kMinTemperature || cfg_.top_k == 1;
}

void Sampler::filter(const float* logits, int vocab) {
  const float inv_t = 1.f / cfg_.temperature;
  float mx = logits[0];
  for (int i = 1; i < vocab; ++i) mx = std::max(mx, logits[i]);
  cand_.resize(vocab);
  double sum = 0.0;
  for (int i = 0; i < vocab; ++i) {
    const float p = std::exp((logits[i] - mx) * inv_t);
    cand_[i] = {p, i};
    sum += p;
  }
  // Most likely first; ties by id so the order never depends on the sort algorithm.
  auto more = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const size_t V = cand_.size();
  size_t keep = V;
  if (cfg_.top_k > 0 && size_t(cfg_.top_k) < V) {
    keep = cfg_.top_k;
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), more);
    sum = 0.0;
    for (size_t i = 0; i < keep; ++i) sum += cand_[i].first;
  } else if (cfg_.top_p < 1.f) {
    // Sort only the head that top-p needs: grow a sorted prefix until its mass reaches
    // top_p (almost always within the first few dozen tokens of a 150k vocabulary),
    // instead of sorting the whole vocabulary every token.
    for (size_t k = std::min<size_t>(64, V);; k = std::min(V, 4 * k)) {
      std::partial_sort(cand_.begin(), cand_.begin() + k, cand_.end(), more);
      double mass = 0.0;
      for (size_t i = 0; i < k; ++i) mass += cand_[i].first;
      if (mass >= cfg_.top_p * sum || k == V) {
        keep = k;
        break;
      }
    }
  }
  if (cfg_.top_p < 1.f) {
    // The smallest most-likely-first prefix whose mass reaches top_p (of what top-k kept).
    double cum = 0.0;
    size_t n = 0;
    while (n < keep) {
      cum += cand_[n].first;
      ++n;
      if (cum >= cfg_.top_p * sum) break;
    }
    keep = n;
    sum = cum;
  }
  cand_.resize(keep);
  const float inv = float(1.0 / sum);
  for (auto& c : cand_) c.first *= inv;
}

std::vector<std::pair<int, float>> Sampler::candidates(const float* logits, int vocab) {
  if (greedy()) return {{argmax(logits, vocab), 1.f}};
  filter(logits, vocab);
  std::vector<std::pair<int, float>> out;
  for (auto& c : cand_) out.push_back({c.second, c.first});
  // Without top-k/top-p nothing was sorted (sampling does not need it); tests want order.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  return out;
}

int Sampler::sample(const float* logits, int vocab) {
  LR_CHECK(vocab > 0, "sampler: empty logits");
  if (greedy()) return argmax(logits, vocab);
  filter(logits, vocab);
  // 53 random bits -> [0, 1): the same on every platform, unlike uniform_real_distribution.
  const double u = double(rng_() >> 11) * 0x1.0p-53;
  double cum = 0.0;
  for (auto& c : cand_) {
    cum += c.first;
    if (u < cum) return c.second;
  }
  return cand_.back().second;  // rounding left u just above the total
}

std::vector<int> make_stop_ids(const std::vector<std::vector<int>>& lists) {
  std::vector<int> out;
  for (const auto& l : lists)
    for (int id : l)
      if (id >= 0) out.push_back(id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool is_stop(const std::vector<int>& stop_ids, int id) {
  return std::binary_search(stop_ids.begin(), stop_ids.end(), id);
}

}  // namespace lr
