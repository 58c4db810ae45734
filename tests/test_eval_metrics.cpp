// Metrics of the evaluation on hand-computable cases.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/metrics.h"
#include "eval/sweep.h"
#include "flops_test_configs.h"

namespace lr::eval {
namespace {

using flopstest::qwen05b;
using flopstest::small;

TEST(MetricsFlops, PaperBlockFormulaQwen05BAt512) {
  // The formula as DESIGN §4 writes it equals the reference's printed report ...
  EXPECT_EQ(paper_block_flops(qwen05b(), 512), int64_t{15737028608});
  EXPECT_EQ(24 * paper_block_flops(qwen05b(), 512), int64_t{377688686592});
  // ... and 2T^2 less per block is the reference's published code.
  EXPECT_EQ(paper_block_flops_published_code(qwen05b(), 512), int64_t{15736504320});
  EXPECT_EQ(24 * paper_block_flops_published_code(qwen05b(), 512), int64_t{377676103680});
}

TEST(MetricsFlops, PaperBlockFormulaByHand) {
  // T 2: 2*2*4*4 + 4*2*4*2 + 2*4*4 + 2*2*4*4 + 6*2*4*3 = 64 + 64 + 32 + 64 + 144.
  EXPECT_EQ(paper_block_flops(small(), 2), 368);
}

TEST(MetricsFlops, FullForwardByHand) {
  const ModelConfig c = small();
  // Projections + MLP 64 + 64 + 64 + 144, scores and attention.V 2 * 2*4*4.
  EXPECT_EQ(block_matmul_flops(c, 2), 400);
  LoraConfig lc;
  lc.rank = 1;  // q 4->4, k 4->2, v 4->2, o 4->4: 2*2*1*(8 + 6 + 6 + 8)
  EXPECT_EQ(lora_block_flops(c, lc, 2), 112);
  EXPECT_EQ(router_flops(c, 2), 2 * 4 + 2 * 4);
  const ForwardFlops f = full_forward_flops(c, 2, 1, &lc, true);
  EXPECT_EQ(f.blocks, 400);
  EXPECT_EQ(f.lora, 112);
  EXPECT_EQ(f.routers, 32);
  EXPECT_EQ(f.head, 2 * 2 * 4 * 10);
  EXPECT_EQ(f.total(), 704);
  EXPECT_EQ(full_forward_flops(c, 2, 2, nullptr, false).total(), 800 + 160);
}

TEST(MetricsPerplexity, ExpOfMeanCe) {
  EXPECT_NEAR(perplexity(2 * std::log(3.0), 2), 3.0, 1e-12);
  EXPECT_NEAR(perplexity(std::log(7.0)), 7.0, 1e-12);
  EXPECT_TRUE(std::isnan(perplexity(1.0, 0)));
}

TEST(MetricsCorrelation, KnownVectors) {
  EXPECT_NEAR(pearson({1, 2, 3}, {2, 4, 6}), 1.0, 1e-12);
  EXPECT_NEAR(pearson({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  // dx = dy up to order: sxy 4, sxx = syy = 5.
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(point_biserial({1, 2, 3, 4}, {false, false, true, true}), 2 / std::sqrt(5.0), 1e-12);
}

TEST(MetricsCorrelation, DegenerateIsNaN) {
  EXPECT_TRUE(std::isnan(pearson({1, 1, 1}, {1, 2, 3})));  // zero variance: undefined
  EXPECT_TRUE(std::isnan(pearson({1, 2}, {1, 2, 3})));     // length mismatch
  EXPECT_TRUE(std::isnan(pearson({1}, {1})));              // n < 2
  EXPECT_TRUE(std::isnan(point_biserial({1, 2, 3}, {true, true, true})));
}

TEST(MetricsSkip, PercentAndDifferential) {
  EXPECT_DOUBLE_EQ(skip_pct(18, 24), 25.0);
  EXPECT_DOUBLE_EQ(skip_pct(24, 24), 0.0);
  EXPECT_DOUBLE_EQ(skip_differential(15.25, 2.34), 15.25 - 2.34);
}

TEST(MetricsFlip, AgainstBiasOnlyRouter) {
  // Bias-only: block 0 open (sigmoid 2 > .5), block 1 closed.
  const std::vector<float> bias{2.f, -2.f};
  const std::vector<float> hard{1, 0, /**/ 0, 0, /**/ 1, 1};
  EXPECT_NEAR(flip_rate(hard, bias, 0.5f), 2.0 / 6.0, 1e-12);
  EXPECT_DOUBLE_EQ(flip_rate({1, 0}, bias, 0.5f), 0.0);
  EXPECT_FALSE(bias_only_open(0.f, 0.5f));  // sigmoid(0) = .5 is not > .5
  EXPECT_TRUE(std::isnan(flip_rate({}, bias, 0.5f)));
}

TEST(MetricsLogit, InvertsSoftAndSaturates) {
  EXPECT_NEAR(logit_of_soft(0.5f), 0.0, 1e-12);
  EXPECT_NEAR(logit_of_soft(float(sigmoid(-3.0))), -3.0, 1e-6);
  EXPECT_NEAR(logit_of_soft(1.f), std::log(std::ldexp(1.0, 24) - 1), 1e-9);
}

TEST(MetricsStats, MeanAndSampleStd) {
  EXPECT_DOUBLE_EQ(mean_of({1, 2, 3, 4}), 2.5);
  EXPECT_NEAR(sample_std({1, 2, 3, 4}), std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_TRUE(std::isnan(sample_std({1})));
  EXPECT_TRUE(std::isnan(mean_of({})));
}

TEST(MetricsSweep, AggregatesAcrossSeeds) {
  std::vector<SweepRun> runs{
      {2024, {{"a", 1}, {"b", 5}}}, {42, {{"a", 2}, {"b", NAN}}}, {7, {{"a", 3}, {"b", 7}}}};
  const auto s = aggregate(runs);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "a");
  EXPECT_DOUBLE_EQ(s[0].mean, 2);
  EXPECT_DOUBLE_EQ(s[0].std, 1);
  EXPECT_DOUBLE_EQ(s[0].min, 1);
  EXPECT_DOUBLE_EQ(s[0].max, 3);
  EXPECT_EQ(s[1].n, 2);  // the NaN seed is left out
  EXPECT_DOUBLE_EQ(s[1].mean, 6);
  EXPECT_NEAR(s[1].std, std::sqrt(2.0), 1e-12);
  const std::string csv = sweep_csv(runs);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "metric,mean,std,min,max,n,seed_2024,seed_42,seed_7");
  EXPECT_NE(csv.find("\na,2,1,1,3,3,1,2,3\n"), std::string::npos) << csv;
  EXPECT_NE(sweep_markdown(runs).find("| a | 2.0000 | 1.0000 | 1.0000 | 3.0000 |"),
            std::string::npos);
  EXPECT_EQ(parse_seeds("2024,42"), (std::vector<uint64_t>{2024, 42}));
  EXPECT_THROW(parse_seeds("1,x"), std::exception);
  EXPECT_THROW(parse_seeds(""), std::exception);
}

}  // namespace
}  // namespace lr::eval
