// Block influence (ShortGPT) against a naive double-precision computation, and the static and
// random masks of the matched-compute baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "eval/baselines.h"
#include "eval/block_influence.h"
#include "routed_ref.h"

namespace lr::eval {
namespace {

using routed_test::VecD;

// BI from the naive forward: block l's output is the state entering block l + 1, so the
// model is extended by one block to expose the last block's output.
std::vector<double> naive_bi(const Model& m, const std::vector<std::vector<int>>& prompts) {
  const int L = m.config.n_layers, H = m.config.hidden;
  ModelConfig c = m.config;
  c.n_layers = L + 1;
  ModelWeights w = m.weights;
  w.layers.push_back(w.layers.back());
  std::vector<double> sum(size_t(L), 0.0);
  long n = 0;
  for (const auto& ids : prompts) {
    const int T = int(ids.size());
    const auto ref = routed_test::ref_gated(
        c, w, ids, std::vector<std::string>(size_t(T), std::string(size_t(L + 1), '1')));
    for (int l = 0; l < L; ++l)
      for (int t = 0; t < T; ++t) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < H; ++i) {
          const double a = ref.block_in[size_t(l)][size_t(t) * H + i];
          const double b = ref.block_in[size_t(l + 1)][size_t(t) * H + i];
          ab += a * b, aa += a * a, bb += b * b;
        }
        sum[size_t(l)] += 1 - ab / std::sqrt(aa * bb);
      }
    n += T;
  }
  for (double& x : sum) x /= double(n);
  return sum;
}

TEST(BlockInfluence, MatchesNaiveDoubleComputation) {
  const Model m = routed_test::tiny_model(4, 11);
  // Two prompts of different lengths, one longer than a chunk of 256 rows would not be
  // needed here: the chunked path is covered below.
  const std::vector<std::vector<int>> prompts = {routed_test::some_ids(9, m.config.vocab, 1),
                                                 routed_test::some_ids(5, m.config.vocab, 2)};
  const auto bi = block_influence(m, nullptr, prompts);
  const auto want = naive_bi(m, prompts);
  ASSERT_EQ(bi.size(), 4u);
  for (size_t l = 0; l < 4; ++l) {
    EXPECT_NEAR(bi[l], want[l], 1e-5 * std::max(1.0, std::abs(want[l]))) << "block " << l;
    EXPECT_GT(want[l], 1e-4) << "the test needs blocks that turn the state";
  }
}

TEST(BlockInfluence, LongPromptsAreChunkedWithTheSameResult) {
  const Model m = routed_test::tiny_model(2, 12);
  const std::vector<std::vector<int>> prompts = {routed_test::some_ids(300, m.config.vocab, 3)};
  const auto bi = block_influence(m, nullptr, prompts);
  const auto want = naive_bi(m, prompts);
  for (size_t l = 0; l < 2; ++l) EXPECT_NEAR(bi[l], want[l], 1e-4) << "block " << l;
  EXPECT_THROW(block_influence(m, nullptr, {}), Error);
  EXPECT_THROW(block_influence(m, nullptr, {{0, m.config.vocab}}), Error);
}

TEST(StaticMasks, LowestScoresCloseAndRandomDrawsCloseK) {
  EXPECT_EQ(lowest_k_mask({0.5, 0.1, 0.3, 0.1, 0.9}, 2), "10101");
  EXPECT_EQ(lowest_k_mask({0.5, 0.1, 0.3, 0.1, 0.9}, 3), "10001");
  EXPECT_EQ(lowest_k_mask({0.5, 0.1}, 0), "11");
  EXPECT_THROW(lowest_k_mask({0.5, 0.1}, 3), Error);
  const auto draws = random_k_masks(8, 3, 6, 42);
  ASSERT_EQ(draws.size(), 6u);
  std::set<std::string> distinct;
  for (const std::string& mk : draws) {
    EXPECT_EQ(mk.size(), 8u);
    EXPECT_EQ(std::count(mk.begin(), mk.end(), '0'), 3) << mk;
    distinct.insert(mk);
  }
  EXPECT_GT(distinct.size(), 1u);
  EXPECT_EQ(random_k_masks(8, 3, 6, 42), draws);  // seeded
  EXPECT_NE(random_k_masks(8, 3, 6, 43), draws);
}

TEST(StaticMasks, MatchedClosedBlocksAndRandomSummary) {
  EXPECT_EQ(matched_closed_blocks(20.4, 24), 4);
  EXPECT_EQ(matched_closed_blocks(20.6, 24), 3);
  EXPECT_EQ(matched_closed_blocks(24.0, 24), 0);
  EXPECT_EQ(matched_closed_blocks(-1.0, 24), 24);
  EXPECT_EQ(matched_closed_blocks(std::nan(""), 24), 0);
  const MeanStd m = mean_std({1.0, 2.0, std::nan(""), 3.0});
  EXPECT_EQ(m.n, 3);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_DOUBLE_EQ(m.stdev, 1.0);  // sample std of 1, 2, 3
  EXPECT_TRUE(std::isnan(mean_std({5.0}).stdev));
}

}  // namespace
}  // namespace lr::eval
