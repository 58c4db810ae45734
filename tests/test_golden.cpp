// Logits against the golden files of ../shared/fixtures/golden (llama.cpp, f32), and
// stories260K's greedy continuation from BOS through the KV cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/npy.h"
#include "kernel_test_util.h"
#include "kernels/cpu/argmax.h"
#include "kernels/cpu/gemv.h"
#include "model/forward.h"

namespace lr {
namespace {

const std::string kGolden = std::string(LR_SHARED_DIR) + "/fixtures/golden/";

nlohmann::json ids_json(const std::string& base) {
  const std::string path = kGolden + base + "/ids.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  return nlohmann::json::parse(in);
}

// Worst over positions of max|ours - golden| / max|golden| at that position.
double worst_rel(const float* ours, const NpyArray& g) {
  const size_t T = g.shape[0], V = g.shape[1];
  double worst = 0;
  for (size_t t = 0; t < T; ++t) {
    double num = 0, den = 0;
    for (size_t i = 0; i < V; ++i) {
      num = std::max(num, double(std::abs(ours[t * V + i] - g.data[t * V + i])));
      den = std::max(den, double(std::abs(g.data[t * V + i])));
    }
    worst = std::max(worst, num / den);
  }
  return worst;
}

// The greedy token at each of T positions, -1 where the golden logits' top two are within
// 0.1 % of the position's largest |logit| (a tie no reduced precision keeps: position 0 of
// qwen2-tiny, 0.05 %; the next closest margin is 0.9 %).
std::vector<int> argmaxes(const float* logits, int T, int V, const NpyArray& golden) {
  std::vector<int> out;
  for (int t = 0; t < T; ++t) {
    const float* g = golden.data.data() + size_t(t) * V;
    float top = -1e30f, second = -1e30f, mx = 0;
    for (int v = 0; v < V; ++v) {
      mx = std::max(mx, std::abs(g[v]));
      if (g[v] > top) {
        second = top;
        top = g[v];
      } else if (g[v] > second) {
        second = g[v];
      }
    }
    out.push_back(top - second > 1e-3f * mx ? argmax(logits + size_t(t) * V, V) : -1);
  }
  return out;
}

struct Case {
  std::string dir, base;  // model folder; folder holding ids.json + logits.npy
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.dir;
}

class ForwardGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ForwardGolden, AllPositionLogits) {
  const Case& c = GetParam();
  const std::vector<int> ids = ids_json(c.base)["ids"].get<std::vector<int>>();
  const NpyArray g = read_npy_f32(kGolden + c.base + "/logits.npy");
  ASSERT_EQ(g.shape.size(), 2u);
  ASSERT_EQ(size_t(g.shape[0]), ids.size());
  const Model m = Model::load(kGolden + c.dir);
  ASSERT_EQ(g.shape[1], m.config.vocab);
  const int T = int(ids.size());

  InferenceSession whole(m, T);
  EXPECT_LE(worst_rel(whole.prefill(ids, true).data(), g), 1e-4) << "one pass";

  // Prefill half, then decode token by token through the KV cache.
  InferenceSession inc(m, T);
  std::vector<float> got;
  const int k = T / 2;
  auto first = inc.prefill(std::span<const int>(ids.data(), k), true);
  got.assign(first.begin(), first.end());
  for (int t = k; t < T; ++t) {
    auto l = inc.decode(ids[t]);
    got.insert(got.end(), l.begin(), l.end());
  }
  EXPECT_LE(worst_rel(got.data(), g), 1e-4) << "prefill + decode";

  // bf16 checkpoints hold bf16-exact values: bf16 storage must reproduce them too, on the
  // f32 path to float rounding, on the bf16 path (activations rounded in the prefill GEMM)
  // within its stated bound and with the same greedy token at every position.
  if (c.dir.ends_with("-bf16")) {
    const CpuPath saved = cpu_path();
    for (CpuPath p : {CpuPath::Avx2, cpu_path_supported()}) {
      set_cpu_path(p);
      SCOPED_TRACE(std::string(cpu_path_name(p)));
      const double bound = bf16_prefill_logit_bound();
      const Model mb = Model::load(kGolden + c.dir, WeightsDType::BF16);
      InferenceSession sb(mb, T);
      const auto lb = sb.prefill(ids, true);
      EXPECT_LE(worst_rel(lb.data(), g), bound) << "bf16 storage";
      const auto want = argmaxes(g.data.data(), T, m.config.vocab, g);
      EXPECT_EQ(argmaxes(lb.data(), T, m.config.vocab, g), want);
      // Inference loads keep bf16 in decode panels where the shape allows; the GEMV over
      // them (decode) must reproduce the golden logits as well.
      const Linear& q = mb.weights.layers[0].q;
      EXPECT_EQ(q.bf16_panels(), bf16_panels_fit(q.rows, q.cols));
      InferenceSession sd(mb, T);
      auto fb = sd.prefill(std::span<const int>(ids.data(), k), true);
      std::vector<float> gotb(fb.begin(), fb.end());
      for (int t = k; t < T; ++t) {
        auto l = sd.decode(ids[t]);
        gotb.insert(gotb.end(), l.begin(), l.end());
      }
      EXPECT_LE(worst_rel(gotb.data(), g), bound) << "bf16 panels, prefill + decode";
      EXPECT_EQ(argmaxes(gotb.data(), T, m.config.vocab, g), want);
    }
    set_cpu_path(saved);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Forward, ForwardGolden,
    ::testing::Values(Case{"qwen2-tiny", "qwen2-tiny"}, Case{"qwen2-tiny-bf16", "qwen2-tiny"},
                      Case{"qwen2-tiny-sharded", "qwen2-tiny"}, Case{"llama-tiny", "llama-tiny"},
                      Case{"llama-tiny-bf16", "llama-tiny"},
                      Case{"llama-tiny-sharded", "llama-tiny"}, Case{"stories260K", "stories260K"}),
    [](const auto& info) {
      std::string n = info.param.dir;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(ForwardGolden, Stories260KGreedyFromBos) {
  const auto j = ids_json("stories260K");
  const std::vector<int> want = j["greedy_from_bos"].get<std::vector<int>>();
  const Model m = Model::load(kGolden + "stories260K");
  InferenceSession s(m, 1 + int(want.size()));
  std::vector<int> got;
  auto logits = s.decode(1);  // BOS
  for (size_t i = 0; i < want.size(); ++i) {
    got.push_back(argmax(logits.data(), int(logits.size())));
    if (i + 1 < want.size()) logits = s.decode(got.back());
  }
  EXPECT_EQ(got, want);
}

// q8 (int8 weights, one scale per 32): same greedy continuation as f32 from BOS, and
// logits within a stated bound of f32 (measured worst 1.7e-2 relative to the position's
// largest logit; bound 3e-2).
TEST(ForwardGolden, Stories260KQ8) {
  const auto j = ids_json("stories260K");
  const std::vector<int> want = j["greedy_from_bos"].get<std::vector<int>>();
  const Model f = Model::load(kGolden + "stories260K");
  const Model q = Model::load(kGolden + "stories260K", WeightsDType::Q8);
  // Inference loads keep q8 in decode panels where the shape allows (then the GEMV rounds
  // x to int16); this model has both kinds, so both q8 GEMVs are on the path below.
  int panels = 0, rowmajor = 0;
  for (const Linear* L : {&q.weights.layers[0].q, &q.weights.layers[0].k, &q.weights.layers[0].gate,
                          &q.weights.layers[0].down, &q.weights.embed}) {
    EXPECT_EQ(L->q8_panels(), q8_panels_fit(L->rows, L->cols));
    (L->q8_panels() ? panels : rowmajor)++;
  }
  EXPECT_GT(panels, 0);
  EXPECT_GT(rowmajor, 0);
  const int T = 1 + int(want.size());
  InferenceSession sf(f, T), sq(q, T);
  std::vector<int> got;
  double worst = 0;
  auto lf = sf.decode(1);
  auto lq = sq.decode(1);
  for (size_t i = 0; i < want.size(); ++i) {
    double num = 0, den = 0;
    for (size_t v = 0; v < lf.size(); ++v) {
      num = std::max(num, double(std::abs(lq[v] - lf[v])));
      den = std::max(den, double(std::abs(lf[v])));
    }
    worst = std::max(worst, num / den);
    got.push_back(argmax(lq.data(), int(lq.size())));
    if (i + 1 < want.size()) {
      lq = sq.decode(got.back());
      lf = sf.decode(want[i]);  // f32 follows the reference path
    }
  }
  EXPECT_EQ(got, want);
  EXPECT_LE(worst, 3e-2);
  std::cout << "[ q8 ] worst logit error vs f32: " << worst << " of the position's max |logit|\n";
}

}  // namespace
}  // namespace lr
