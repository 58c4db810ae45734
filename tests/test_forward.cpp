// The engine's forward against a naive double-precision transformer (routed_ref.h, written
// from the maths in DESIGN.md §2: straight loops, no engine code), on tiny random models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/linear.h"
#include "model/forward.h"
#include "routed_ref.h"

namespace lr {
namespace {

ModelConfig tiny_config(bool qwen) {
  ModelConfig c;
  c.model_type = qwen ? "qwen2" : "llama";
  c.hidden = 48;
  c.n_layers = qwen ? 3 : 2;
  c.n_heads = qwen ? 6 : 4;
  c.n_kv_heads = qwen ? 2 : 4;  // GQA for qwen2, plain MHA for llama
  c.head_dim = qwen ? 8 : 12;
  c.intermediate = 72;
  c.vocab = 97;
  c.max_position = 256;
  c.rope_theta = qwen ? 1e6f : 1e4f;
  c.rms_eps = qwen ? 1e-6f : 1e-5f;
  c.tie_embeddings = qwen;
  c.qkv_bias = qwen;
  return c;
}

using VecD = std::vector<double>;

// Logits [T, vocab] of one causal pass over ids: the shared naive reference (routed_ref.h)
// with every block open at every position.
VecD ref_forward(const ModelConfig& c, const ModelWeights& w, const std::vector<int>& ids) {
  const std::vector<std::string> all_open(ids.size(), std::string(size_t(c.n_layers), '1'));
  return routed_test::ref_gated(c, w, ids, all_open).logits;
}

std::vector<int> some_ids(int T, int vocab) {
  std::vector<int> ids(T);
  for (int t = 0; t < T; ++t) ids[t] = (t * 37 + 11) % vocab;
  return ids;
}

// max over positions of max|ours - ref| / max|ref| at that position.
double worst_rel(const float* ours, const VecD& ref, int T, int V) {
  double worst = 0;
  for (int t = 0; t < T; ++t) {
    double num = 0, den = 0;
    for (int i = 0; i < V; ++i) {
      num = std::max(num, std::abs(ours[size_t(t) * V + i] - ref[size_t(t) * V + i]));
      den = std::max(den, std::abs(ref[size_t(t) * V + i]));
    }
    worst = std::max(worst, num / den);
  }
  return worst;
}

// A large init spread by default so attention is far from uniform and every block matters.
Model random_model(bool qwen, WeightsDType dt = WeightsDType::F32, float stddev = 0.3f) {
  Model m;
  m.config = tiny_config(qwen);
  m.weights = ModelWeights::random(m.config, qwen ? 42 : 43, stddev, dt);
  return m;
}

class ForwardBoth : public ::testing::TestWithParam<bool> {};

TEST_P(ForwardBoth, MatchesNaiveReference) {
  const Model m = random_model(GetParam());
  // T long enough that prefill uses the sgemm path, short rows the GEMV path.
  for (int T : {1, 3, kGemmMinRows + 13}) {
    const auto ids = some_ids(T, m.config.vocab);
    const VecD ref = ref_forward(m.config, m.weights, ids);
    InferenceSession s(m, 64);
    auto logits = s.prefill(ids, /*all_positions=*/true);
    ASSERT_EQ(logits.size(), size_t(T) * m.config.vocab);
    EXPECT_LE(worst_rel(logits.data(), ref, T, m.config.vocab), 1e-4) << "T=" << T;
    // Last-position-only logits are the same numbers.
    InferenceSession s2(m, 64);
    auto last = s2.prefill(ids);
    // (up to GEMV vs sgemm rounding in the LM head).
    const VecD ref_last(logits.end() - m.config.vocab, logits.end());
    EXPECT_LE(worst_rel(last.data(), ref_last, 1, m.config.vocab), 1e-5);
  }
}

// Prefill k tokens then decode one at a time, and chunked prefill, against one pass.
TEST_P(ForwardBoth, KvCacheDecodingEqualsWholePass) {
  const Model m = random_model(GetParam());
  const int T = 30, V = m.config.vocab;
  const auto ids = some_ids(T, V);
  const VecD ref = ref_forward(m.config, m.weights, ids);
  InferenceSession whole(m, T);
  auto full = whole.prefill(ids, true);
  std::vector<float> full_v(full.begin(), full.end());
  EXPECT_LE(worst_rel(full_v.data(), ref, T, V), 1e-4);

  for (int k : {1, 5, 12}) {
    InferenceSession s(m, T);
    auto first = s.prefill(std::span<const int>(ids.data(), k), true);
    std::vector<float> got(first.begin(), first.end());
    for (int t = k; t < T; ++t) {
      auto l = s.decode(ids[t]);
      got.insert(got.end(), l.begin(), l.end());
    }
    EXPECT_EQ(s.pos(), T);
    EXPECT_LE(worst_rel(got.data(), ref, T, V), 1e-4) << "prefill " << k;
    // Same arithmetic whichever way positions arrive, up to GEMV vs GEMM rounding.
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, double(std::abs(got[i] - full_v[i])));
    EXPECT_LT(worst, 1e-4);
  }
  // Chunked prefill (chunks of 7 rows) and two-step prefill.
  InferenceSession chunked(m, T, /*max_chunk=*/7);
  auto cl = chunked.prefill(ids, true);
  EXPECT_LE(worst_rel(cl.data(), ref, T, V), 1e-4);
  InferenceSession two(m, T);
  std::vector<float> got;
  for (auto part :
       {std::span<const int>(ids.data(), 17), std::span<const int>(ids.data() + 17, T - 17)}) {
    auto l = two.prefill(part, true);
    got.insert(got.end(), l.begin(), l.end());
  }
  EXPECT_LE(worst_rel(got.data(), ref, T, V), 1e-4);
  EXPECT_THROW(two.decode(ids[0]), Error);  // context full
}

INSTANTIATE_TEST_SUITE_P(Forward, ForwardBoth, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "qwen2" : "llama"; });

// bf16 storage: the logits move by the weight rounding only (2^-9 relative per weight).
TEST(Forward, Bf16WeightsCloseToF32) {
  for (bool qwen : {true, false}) {
    // A milder spread than the other tests: at 0.3 the tiny random nets are chaotic
    // enough to amplify the 2^-9 weight rounding to several per cent.
    const Model f = random_model(qwen, WeightsDType::F32, 0.1f);
    const Model b = random_model(qwen, WeightsDType::BF16, 0.1f);
    const auto ids = some_ids(20, f.config.vocab);
    InferenceSession sf(f, 32), sb(b, 32);
    auto lf = sf.prefill(ids, true);
    const VecD ref(lf.begin(), lf.end());
    auto lb = sb.prefill(ids, true);
    const double err = worst_rel(lb.data(), ref, 20, f.config.vocab);
    std::printf("bf16 vs f32 weights (%s): max rel logit error %.2e\n", qwen ? "qwen2" : "llama",
                err);
    EXPECT_LE(err, 2e-2) << qwen;
    // And bf16 decode (the GEMV, x in f32) agrees with bf16 prefill (the GEMM: f32 FMAs on
    // widened tiles, or bf16 dot products where the path has them).
    InferenceSession sd(b, 32);
    std::vector<float> got;
    for (int id : ids) {
      auto l = sd.decode(id);
      got.insert(got.end(), l.begin(), l.end());
    }
    const VecD refb(lb.begin(), lb.end());
    EXPECT_LE(worst_rel(got.data(), refb, 20, f.config.vocab), bf16_prefill_logit_bound());
  }
}

TEST(Forward, RandomWeightsReproducibleAndNamed) {
  const ModelConfig c = tiny_config(true);
  const auto a = ModelWeights::random(c, 7), b = ModelWeights::random(c, 7);
  EXPECT_EQ(a.layers[1].q.w, b.layers[1].q.w);
  EXPECT_NE(a.layers[1].q.w, ModelWeights::random(c, 8).layers[1].q.w);
  const auto t = a.to_tensors();
  // embed + 3 layers x (2 norms + 7 weights + 3 biases) + final norm; tied: no lm_head.
  EXPECT_EQ(t.size(), 1 + 3 * 12 + 1u);
  EXPECT_EQ(t[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(t[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(t[3].name, "model.layers.0.self_attn.q_proj.bias");
  EXPECT_EQ(t.back().name, "model.norm.weight");
}

// fill_kv writes exactly the K/V rows run_block writes (routing's backfill relies on it).
TEST(Forward, FillKvMatchesRunBlock) {
  const Model m = random_model(true);
  const ModelConfig& c = m.config;
  const int T = 9;
  const auto ids = some_ids(T, c.vocab);
  std::vector<int> pos(T);
  for (int t = 0; t < T; ++t) pos[t] = t;
  InferenceSession a(m, 16), b(m, 16);
  std::vector<float> h(size_t(T) * c.hidden);
  a.embed(ids.data(), T, h.data());
  a.run_block(0, h.data(), pos.data(), T);
  a.fill_kv(1, h.data(), pos.data(), T);  // block 1 "skipped" but its K/V backfilled
  b.embed(ids.data(), T, h.data());
  b.run_block(0, h.data(), pos.data(), T);
  b.run_block(1, h.data(), pos.data(), T);
  const int kvd = c.kv_dim();
  std::vector<float> ka(kvd), va(kvd), kb(kvd), vb(kvd);
  for (int l : {0, 1})
    for (int p = 0; p < T; ++p) {
      kv_load(a.cache().k(l), a.cache().v(l), a.cache().capacity(), c.n_kv_heads, c.head_dim, p,
              ka.data(), va.data());
      kv_load(b.cache().k(l), b.cache().v(l), b.cache().capacity(), c.n_kv_heads, c.head_dim, p,
              kb.data(), vb.data());
      EXPECT_EQ(ka, kb) << "layer " << l << " position " << p;
      EXPECT_EQ(va, vb) << "layer " << l << " position " << p;
    }
}

TEST(Forward, RejectsBadTokens) {
  const Model m = random_model(true);
  InferenceSession s(m, 8);
  EXPECT_THROW(s.decode(m.config.vocab), Error);
  EXPECT_THROW(s.decode(-1), Error);
}

}  // namespace
}  // namespace lr
