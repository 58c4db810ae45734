#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/argmax.h"
#include "model/generation_config.h"
#include "model/sampler.h"
#include "temp_path.h"

namespace lr {
namespace {

std::vector<float> random_logits(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 3.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// log-probabilities of a hand-made distribution, so softmax gives it back exactly enough.
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(float(std::log(x)));
  return l;
}

TEST(Sampler, GreedyIsArgmax) {
  Sampler s({});
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto l = random_logits(1000, seed);
    EXPECT_EQ(s.sample(l.data(), 1000), argmax(l.data(), 1000));
  }
}

TEST(Sampler, TopK1IsGreedyAndTinyTemperatureToo) {
  for (SamplerConfig c : {SamplerConfig{1.5f, 1, 1.f, 3}, SamplerConfig{1e-7f, 0, 0.9f, 3},
                          SamplerConfig{0.f, 50, 0.5f, 3}, SamplerConfig{-1.f, 0, 1.f, 3}}) {
    Sampler s(c);
    for (uint64_t seed = 0; seed < 5; ++seed) {
      auto l = random_logits(500, seed + 10);
      EXPECT_EQ(s.sample(l.data(), 500), argmax(l.data(), 500));
    }
  }
  // Very low but valid temperature: no overflow, the argmax still wins (it is a point mass).
  Sampler s({1e-4f, 0, 1.f, 1});
  auto l = random_logits(500, 99);
  EXPECT_EQ(s.sample(l.data(), 500), argmax(l.data(), 500));
}

TEST(Sampler, FixedSeedReproducible) {
  const SamplerConfig c{0.8f, 40, 0.95f, 1234};
  Sampler a(c), b(c), other({0.8f, 40, 0.95f, 999});
  std::vector<int> ra, rb, ro;
  for (int i = 0; i < 50; ++i) {
    auto l = random_logits(2000, i);
    ra.push_back(a.sample(l.data(), 2000));
    rb.push_back(b.sample(l.data(), 2000));
    ro.push_back(other.sample(l.data(), 2000));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, ro);
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
  // ids by probability: 3 (0.4), 0 (0.3), 4 (0.15), 1 (0.1), 2 (0.05)
  const auto l = logits_of({0.3, 0.1, 0.05, 0.4, 0.15});
  auto kept = [&](float p) {
    Sampler s({1.f, 0, p, 0});
    std::vector<int> ids;
    for (auto& [id, prob] : s.candidates(l.data(), 5)) ids.push_back(id);
    return ids;
  };
  EXPECT_EQ(kept(0.3f), (std::vector<int>{3}));        // 0.4 >= 0.3
  EXPECT_EQ(kept(0.5f), (std::vector<int>{3, 0}));     // 0.7 >= 0.5
  EXPECT_EQ(kept(0.8f), (std::vector<int>{3, 0, 4}));  // 0.85 >= 0.8
  EXPECT_EQ(kept(0.9f), (std::vector<int>{3, 0, 4, 1}));
  EXPECT_EQ(kept(1.0f), (std::vector<int>{3, 0, 4, 1, 2}));
  // Renormalised over the kept set.
  Sampler s({1.f, 0, 0.5f, 0});
  auto c = s.candidates(l.data(), 5);
  EXPECT_NEAR(c[0].second, 0.4 / 0.7, 1e-5);
  EXPECT_NEAR(c[1].second, 0.3 / 0.7, 1e-5);
  // top-k then top-p (HF order): top-2 renormalised is {4/7, 3/7}; p 0.5 keeps only id 3.
  Sampler kp({1.f, 2, 0.5f, 0});
  auto c2 = kp.candidates(l.data(), 5);
  ASSERT_EQ(c2.size(), 1u);
  EXPECT_EQ(c2[0].first, 3);
  // Sampling never leaves the kept set, and frequencies follow it.
  Sampler smp({1.f, 0, 0.5f, 7});
  int n3 = 0;
  for (int i = 0; i < 4000; ++i) {
    const int id = smp.sample(l.data(), 5);
    ASSERT_TRUE(id == 3 || id == 0);
    n3 += id == 3;
  }
  EXPECT_NEAR(n3 / 4000.0, 0.4 / 0.7, 0.03);
}

TEST(Sampler, TopPOnLargeVocabularyGrowsPrefix) {
  // Flat distribution: top-p 0.9 needs far more than the first 64 candidates.
  std::vector<float> l(10000, 0.f);
  Sampler s({1.f, 0, 0.9f, 0});
  EXPECT_EQ(s.candidates(l.data(), 10000).size(), 9000u);
}

TEST(Sampler, TemperatureSharpens) {
  const auto l = logits_of({0.5, 0.3, 0.2});
  Sampler hot({2.f, 0, 1.f, 0}), cold({0.5f, 0, 1.f, 0});
  EXPECT_LT(hot.candidates(l.data(), 3)[0].second, 0.5f);
  EXPECT_NEAR(cold.candidates(l.data(), 3)[0].second, 0.25 / (0.25 + 0.09 + 0.04), 1e-5);
  EXPECT_THROW(Sampler({1.f, 0, 0.f, 0}), Error);
}

TEST(Sampler, StopIdsAndGenerationConfig) {
  EXPECT_EQ(make_stop_ids({{151643}, {151645, 151643}, {-1}, {151645}}),
            (std::vector<int>{151643, 151645}));
  const auto dir = test::temp_path("lr_test_genconfig");
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "generation_config.json")
        << R"({"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
              "repetition_penalty": 1.1, "temperature": 0.7, "top_k": 20, "top_p": 0.8})";
  }
  auto g = GenerationConfig::load(dir.string());
  EXPECT_EQ(g.eos_ids, (std::vector<int>{151645, 151643}));
  EXPECT_EQ(g.bos_id, 151643);
  EXPECT_TRUE(g.do_sample);
  EXPECT_FLOAT_EQ(*g.temperature, 0.7f);
  EXPECT_EQ(*g.top_k, 20);
  { std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": 2})"; }
  EXPECT_EQ(GenerationConfig::load(dir.string()).eos_ids, (std::vector<int>{2}));
  { std::ofstream(dir / "generation_config.json") << "{oops"; }
  EXPECT_THROW(GenerationConfig::load(dir.string()), Error);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(GenerationConfig::load(dir.string()).eos_ids.empty());  // missing: defaults
}

}  // namespace
}  // namespace lr
