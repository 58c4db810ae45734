#include "eval/block_influence.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

namespace lr::eval {

std::vector<double> block_influence(const Model& model, const LowRankDeltas* lora,
                                    const std::vector<std::vector<int>>& prompts) {
  const ModelConfig& c = model.config;
  const int L = c.n_layers, H = c.hidden;
  LR_CHECK(!prompts.empty(), "block influence: no calibration prompts");
  size_t max_T = 0;
  for (const auto& p : prompts) {
    LR_CHECK(!p.empty(), "block influence: an empty calibration prompt");
    for (int id : p)
      LR_CHECK(id >= 0 && id < c.vocab, "block influence: token id ", id,
               " outside the vocabulary [0, ", c.vocab, ")");
    max_T = std::max(max_T, p.size());
  }
  InferenceSession s(model, int(max_T));
  s.set_low_rank_deltas(lora);
  const int chunk = s.max_chunk();
  std::vector<double> sum(size_t(L), 0.0);
  long n_tokens = 0;
  std::vector<float> h, in;
  std::vector<int> pos;
  for (const auto& p : prompts) {
    s.reset();
    // Chunk by chunk through every block, so block l's cache holds the earlier chunks.
    for (size_t t0 = 0; t0 < p.size(); t0 += size_t(chunk)) {
      const int T = int(std::min(p.size() - t0, size_t(chunk)));
      h.assign(size_t(T) * H, 0.f);
      pos.resize(size_t(T));
      std::iota(pos.begin(), pos.end(), int(t0));
      s.embed(p.data() + t0, T, h.data());
      for (int l = 0; l < L; ++l) {
        in = h;
        s.run_block(l, h.data(), pos.data(), T);
        for (int t = 0; t < T; ++t) {
          const float* a = in.data() + size_t(t) * H;
          const float* b = h.data() + size_t(t) * H;
          double ab = 0, aa = 0, bb = 0;
          for (int i = 0; i < H; ++i)
            ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
          const double cs = aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 1.0;
          sum[size_t(l)] += 1.0 - cs;
        }
      }
      s.cache().len = int(t0) + T;
      n_tokens += T;
    }
  }
  for (double& x : sum) x /= double(n_tokens);
  return sum;
}

std::string lowest_k_mask(const std::vector<double>& score, int k) {
  const int L = int(score.size());
  LR_CHECK(k >= 0 && k <= L, "static mask: cannot close ", k, " of ", L, " blocks");
  std::vector<int> order(static_cast<size_t>(L));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return score[size_t(a)] < score[size_t(b)]; });
  std::string mask(size_t(L), '1');
  for (int i = 0; i < k; ++i) mask[size_t(order[size_t(i)])] = '0';
  return mask;
}

std::vector<std::string> random_k_masks(int n_layers, int k, int draws, uint64_t seed) {
  LR_CHECK(k >= 0 && k <= n_layers, "random mask: cannot close ", k, " of ", n_layers, " blocks");
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  std::vector<int> idx(static_cast<size_t>(n_layers));
  for (int d = 0; d < draws; ++d) {
    std::iota(idx.begin(), idx.end(), 0);
    // Partial Fisher-Yates with our own index draw: std::shuffle's output differs between
    // standard libraries, and the masks must be reproducible.
    std::string mask(size_t(n_layers), '1');
    for (int i = 0; i < k; ++i) {
      const int j = i + int(rng() % uint64_t(n_layers - i));
      std::swap(idx[size_t(i)], idx[size_t(j)]);
      mask[size_t(idx[size_t(i)])] = '0';
    }
    out.push_back(mask);
  }
  return out;
}

}  // namespace lr::eval
