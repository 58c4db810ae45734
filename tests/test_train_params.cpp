// Parameter counts, initialisation, AdamW and learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "layerroute/adamw.h"
#include "layerroute/lora.h"
#include "layerroute/lr_schedule.h"
#include "layerroute/router.h"
#include "layerroute/train_weights.h"
#include "train_test_util.h"

namespace lr {

namespace {
ModelConfig qwen05b() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 896, c.n_layers = 24, c.n_heads = 14, c.n_kv_heads = 2, c.head_dim = 64;
  c.intermediate = 4864, c.vocab = 151936, c.tie_embeddings = true, c.qkv_bias = true;
  return c;
}
}  // namespace

TEST(LoraParams, Qwen05bCountsMatchThePaper) {
  const ModelConfig c = qwen05b();
  LoraWeights lora = LoraWeights::zeros(c, LoraConfig{});
  RouterWeights router = RouterWeights::zeros(c);
  EXPECT_EQ(lora.num_params(), 1081344u);
  EXPECT_EQ(router.num_params(), 21528u);
  EXPECT_EQ(lora.num_params() + router.num_params(), 1102872u);
  EXPECT_EQ(router.num_params() / 24, 897u);
  auto t = lora.tensors();
  ASSERT_EQ(t.size(), 24u * 4 * 2);
  EXPECT_EQ(t[0].name, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(t[0].shape, (std::vector<int64_t>{8, 896}));
  EXPECT_EQ(t[3].name, "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight");
  EXPECT_EQ(t[3].shape, (std::vector<int64_t>{128, 8}));
}

TEST(LoraParams, MlpTargetsAndParsing) {
  LoraTarget t;
  ASSERT_TRUE(parse_lora_target("gate", &t));
  EXPECT_EQ(t, LoraTarget::Gate);
  ASSERT_TRUE(parse_lora_target("down_proj", &t));
  EXPECT_EQ(t, LoraTarget::Down);
  EXPECT_FALSE(parse_lora_target("lm_head", &t));
  LoraConfig lc;
  lc.targets = {LoraTarget::Down};
  LoraWeights w = LoraWeights::zeros(qwen05b(), lc);
  auto ts = w.tensors();
  EXPECT_EQ(ts[0].name, "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
  EXPECT_EQ(ts[0].shape, (std::vector<int64_t>{8, 4864}));
}

TEST(LoraInit, KaimingUniformBoundsAndZeroB) {
  EXPECT_NEAR(kaiming_uniform_bound(896), 1.0 / std::sqrt(896.0), 1e-12);
  const ModelConfig c = testing::tiny_config(true);
  LoraWeights a = LoraWeights::init(c, LoraConfig{}, 7), b = LoraWeights::init(c, LoraConfig{}, 7);
  const LoraAdapter& q = a.at(1, LoraTarget::Q);
  const double bound = 1.0 / std::sqrt(16.0);
  double mx = 0;
  for (float x : q.A) mx = std::max(mx, double(std::fabs(x)));
  EXPECT_LE(mx, bound);
  EXPECT_GT(mx, 0.6 * bound);  // 128 draws: not all near zero
  for (float x : q.B) EXPECT_EQ(x, 0.f);
  EXPECT_EQ(a.at(1, LoraTarget::Q).A, b.at(1, LoraTarget::Q).A);  // deterministic in seed
  EXPECT_NE(a.at(0, LoraTarget::Q).A, a.at(1, LoraTarget::Q).A);
}

TEST(RouterInit, MiddleBandClosed) {
  EXPECT_EQ(router_middle_band(24), (std::pair<int, int>{8, 16}));
  EXPECT_EQ(router_middle_band(12), (std::pair<int, int>{4, 8}));
  RouterWeights r = RouterWeights::init(qwen05b());
  for (int l = 0; l < 24; ++l) EXPECT_EQ(r.b[size_t(l)], (l >= 8 && l <= 16) ? -1.f : 1.f) << l;
  for (float w : r.w) EXPECT_EQ(w, 0.f);
  auto ts = r.tensors();
  EXPECT_EQ(ts[2].name, "model.layers.1.router.weight");
  EXPECT_EQ(ts[2].shape, (std::vector<int64_t>{1, 896}));
}

TEST(TrainWeights, RandomInitAndNames) {
  const ModelConfig c = testing::tiny_config(false);
  TrainWeights w = TrainWeights::random(c, 3);
  auto ts = w.tensors();
  EXPECT_EQ(ts.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(ts.back().name, "lm_head.weight");
  EXPECT_EQ(ts[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(ts[3].name, "model.layers.0.self_attn.q_proj.bias");
  for (float x : w.blocks[0].in_norm) EXPECT_EQ(x, 1.f);
  for (float x : w.blocks[0].bq) EXPECT_EQ(x, 0.f);
  double s2 = 0;
  for (float x : w.embed) s2 += double(x) * x;
  EXPECT_NEAR(std::sqrt(s2 / double(w.embed.size())), 0.02, 0.003);
  EXPECT_EQ(w.num_params(), [&] {
    size_t n = 0;
    for (auto& t : ts) n += t.numel;
    return n;
  }());
}

TEST(AdamW, OneStepMatchesHandComputation) {
  std::vector<float> p{1.0f, -2.0f, 0.5f}, g{0.1f, -0.3f, 0.0f};
  std::vector<Param> ps{Param{"p", {3}, p.data(), g.data(), 3, true}};
  AdamW opt(ps);
  const float lr = 1e-2f;
  opt.step(ps, lr);
  const double p0[3] = {1.0, -2.0, 0.5}, g0[3] = {0.1, -0.3, 0.0};
  for (int i = 0; i < 3; ++i) {
    // Step 1: m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2.
    double x = p0[i] * (1 - lr * 0.01);
    const double mhat = g0[i], vhat = g0[i] * g0[i];
    x -= lr * mhat / (std::sqrt(vhat) + 1e-8);
    EXPECT_NEAR(p[size_t(i)], x, 1e-6) << i;
  }
  // Second step with a new gradient.
  g = {0.2f, 0.1f, -0.4f};
  const double p1[3] = {p[0], p[1], p[2]};
  opt.step(ps, lr);
  const double g1[3] = {0.2, 0.1, -0.4};
  for (int i = 0; i < 3; ++i) {
    const double m = 0.9 * 0.1 * g0[i] + 0.1 * g1[i];
    const double v = 0.999 * 0.001 * g0[i] * g0[i] + 0.001 * g1[i] * g1[i];
    const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.998001);
    const double x = p1[i] * (1 - lr * 0.01) - lr * mhat / (std::sqrt(vhat) + 1e-8);
    EXPECT_NEAR(p[size_t(i)], x, 1e-6) << i;
  }
  EXPECT_EQ(opt.steps(), 2);
}

TEST(AdamW, ClipGradNormScalesToMaxNorm) {
  std::vector<float> a{3.f, 0.f}, ga{3.f, 0.f}, b{0.f}, gb{4.f};
  std::vector<Param> ps{Param{"a", {2}, a.data(), ga.data(), 2, true},
                        Param{"b", {1}, b.data(), gb.data(), 1, true}};
  EXPECT_NEAR(clip_grad_norm(ps, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(ga[0], 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(gb[0], 4.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(clip_grad_norm(ps, 1.0), 1.0, 1e-5);  // already within: unchanged
  EXPECT_NEAR(gb[0], 4.0 / (5.0 + 1e-6), 1e-6);
  zero_grad(ps);
  EXPECT_EQ(ga[0], 0.f);
}

TEST(TrainSchedule, ReferenceAndWarmupCosine) {
  LrScheduleConfig ref{LrSchedule::Reference, 2e-4, 100, 750, 3000};
  EXPECT_DOUBLE_EQ(lr_at(ref, 0), 2e-4);
  EXPECT_NEAR(lr_at(ref, 750) / 2e-4, (1 + std::cos(M_PI / 4)) / 2, 1e-12);  // ~0.854
  EXPECT_NEAR(lr_at(ref, 3000), 0.0, 1e-18);
  LrScheduleConfig cos{LrSchedule::WarmupCosine, 1e-3, 10, 110, 0};
  EXPECT_NEAR(lr_at(cos, 0), 1e-4, 1e-15);
  EXPECT_NEAR(lr_at(cos, 9), 1e-3, 1e-15);
  EXPECT_NEAR(lr_at(cos, 10), 1e-3, 1e-15);
  EXPECT_NEAR(lr_at(cos, 60), 0.5e-3, 1e-12);
  EXPECT_NEAR(lr_at(cos, 110), 0.0, 1e-15);
  EXPECT_NEAR(lr_at(cos, 500), 0.0, 1e-15);
  EXPECT_EQ(LrScheduleConfig::parse("reference"), LrSchedule::Reference);
  EXPECT_THROW(LrScheduleConfig::parse("linear"), Error);
}

}  // namespace lr
