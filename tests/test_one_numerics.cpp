// The training graph and routed inference are one numerics: on the golden models, with
// LoRA on every attention projection and blocks closed (by a fixed mask, or by routers),
// the training forward's logits equal the routed inference's. RMSNorm, SwiGLU, the RoPE
// table and rotation, attention, and the router's score and gate are the same code in
// both; the matmuls are not (OpenBLAS in training, our GEMM in inference), so the logits
// agree to float rounding, not bit for bit. Attention alone is bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "io/safetensors.h"
#include "kernel_test_util.h"
#include "kernels/cpu/attention.h"
#include "layerroute/ops.h"
#include "layerroute/routed_session.h"
#include "layerroute/train_graph.h"
#include "routed_ref.h"

namespace lr {
namespace {

const std::string kGolden = std::string(LR_SHARED_DIR) + "/fixtures/golden/";

LoraWeights random_lora(const ModelConfig& c) {
  LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 8.f;
  lc.targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O};
  LoraWeights w = LoraWeights::init(c, lc, 3);
  float x = 0.2f;
  for (auto& a : w.adapters)
    for (float& b : a.B) b = 0.5f * ((x = std::fmod(x * 7.3f + 0.37f, 1.f)) - 0.5f);
  return w;
}

LowRankDeltas deltas_of(const LoraWeights& lw) {
  LowRankDeltas d(lw.n_layers);
  for (int l = 0; l < lw.n_layers; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const LoraAdapter& a = lw.at(l, LoraTarget(t));
      if (!a.empty())
        d.at(l, Proj(t)) =
            LowRankDelta{a.rank, a.in, a.out, lw.cfg.scale(), a.A.data(), a.B.data()};
    }
  return d;
}

// Worst over positions of max|a - b| / max|b|.
double worst_rel(const std::vector<double>& a, std::span<const float> b, int V) {
  double worst = 0;
  for (size_t t = 0; t < a.size() / size_t(V); ++t) {
    double num = 0, den = 0;
    for (int v = 0; v < V; ++v) {
      num = std::max(num, std::abs(a[t * V + v] - b[t * V + v]));
      den = std::max(den, std::abs(double(b[t * V + v])));
    }
    worst = std::max(worst, num / den);
  }
  return worst;
}

struct Case {
  const char* model;
  const char* gates;  // "mask" (block 1 closed) or "router"
};

TEST(OneNumerics, TrainingForwardEqualsRoutedInference) {
  for (const Case& k : {Case{"qwen2-tiny", "mask"}, Case{"qwen2-tiny", "router"},
                        Case{"llama-tiny", "mask"}, Case{"llama-tiny", "router"}}) {
    SCOPED_TRACE(std::string(k.model) + " " + k.gates);
    const std::string dir = kGolden + k.model;
    const Model m = Model::load(dir);
    const ModelConfig& c = m.config;
    TrainWeights tw = TrainWeights::load(c, Checkpoint::open_dir(dir));
    LoraWeights lw = random_lora(c);
    const LowRankDeltas deltas = deltas_of(lw);
    RouterWeights r = RouterWeights::zeros(c);
    // Small weights and a bias that closes block 1: the score is a real router's, the
    // decisions are clear of the threshold.
    for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = 0.05f * float(std::sin(0.7 * double(i) + 1));
    for (int l = 0; l < c.n_layers; ++l) r.b[size_t(l)] = l == 1 ? -2.f : 2.f;

    const int T = 24;
    const std::vector<int> ids = routed_test::some_ids(T, c.vocab, 9);
    std::string bits(size_t(c.n_layers), '1');
    bits[1] = '0';
    const GateSpec spec =
        GateSpec::parse(std::string(k.gates) == "mask" ? "mask:" + bits : "router");

    TrainOptions opts;
    if (spec.mode == GateMode::Mask) {
      opts.gate_mode = TrainGate::Fixed;
      for (char b : spec.bits) opts.fixed_mask.push_back(b == '1');
    }
    TrainGraph g(tw, &lw, &r, opts);
    Batch batch;
    batch.rows = 1, batch.seq = T;
    batch.ids.assign(ids.begin(), ids.end());
    batch.attn_mask.assign(size_t(T), 1);
    batch.loss_mask.assign(size_t(T), 1);
    batch.loss_mask[0] = 0;
    batch.labels = {StepLabel::ToolCall};
    g.forward(batch, RunOptions{.step = 0, .dropout = false, .need_grad = false});
    std::vector<double> train_logits(size_t(T) * c.vocab);
    const float* hf = g.final_normed();
    for (int t = 0; t < T; ++t)
      for (int v = 0; v < c.vocab; ++v) {
        double s = 0;
        for (int j = 0; j < c.hidden; ++j)
          s += double(hf[size_t(t) * c.hidden + j]) * tw.head()[size_t(v) * c.hidden + j];
        train_logits[size_t(t) * c.vocab + v] = s;
      }

    RoutedSession s(m, &r, RouteOptions{spec, {}}, T);
    s.set_lora(&deltas);
    const auto inf_logits = s.prefill(ids, /*all_positions=*/true);

    // The same blocks ran in both, and something was skipped.
    std::vector<unsigned char> train_gates;
    for (int l = 0; l < c.n_layers; ++l) train_gates.push_back(g.gates()[size_t(l)] > 0.5f);
    EXPECT_EQ(train_gates, s.gates());
    EXPECT_LT(s.blocks_run(), c.n_layers);
    for (int l = 0; l < c.n_layers && spec.mode == GateMode::Router; ++l)
      EXPECT_NEAR(g.soft_gates()[size_t(l)], s.soft()[size_t(l)], 1e-6) << "block " << l;
    // Float rounding of matmuls summed in different orders: 4.8e-7 to 7.2e-7 on these
    // models; a missing LoRA term or a different gate is orders of magnitude more.
    EXPECT_LE(worst_rel(train_logits, inf_logits, c.vocab), 5e-6);
  }
}

// Training's attention op over a padded batch gives, for every real query, the bits the
// inference kernel gives when that token is decoded alone over a cache of the row's real
// keys; queries before a row's first real key give 0. Rows: right padding, left padding,
// none; 150 positions span three key tiles. On every kernel path.
using OneNumericsPath = CpuPathTest;
LR_INSTANTIATE_CPU_PATHS(OneNumericsPath);

TEST_P(OneNumericsPath, TrainingAttentionIsTheInferenceKernel) {
  const int rows = 3, T = 150, nh = 14, nkv = 2, hd = 64, Qd = nh * hd, Kd = nkv * hd;
  const auto q = randv(size_t(rows) * T * Qd, 21, 2.f);
  const auto k = randv(size_t(rows) * T * Kd, 22, 2.f);
  const auto v = randv(size_t(rows) * T * Kd, 23);
  std::vector<uint8_t> mask(size_t(rows) * T, 1);
  const int begin[rows] = {0, 20, 0}, end[rows] = {140, T, T};
  for (int b = 0; b < rows; ++b)
    for (int t = 0; t < T; ++t) mask[size_t(b) * T + t] = t >= begin[b] && t < end[b];
  std::vector<float> out(size_t(rows) * T * Qd, 7.f), lse(size_t(rows) * nh * T);
  std::vector<float> scratch(ops::attention_scratch_floats(rows, T, nh, nkv, hd));
  ops::attention_fwd(q.data(), k.data(), v.data(), mask.data(), rows, T, nh, nkv, hd, out.data(),
                     lse.data(), scratch.data());

  const int cap = kv_capacity(T);
  std::vector<float> Kc(size_t(nkv) * cap * hd), Vc(Kc.size()), one(static_cast<size_t>(Qd)),
      one_lse(nh);
  for (int b = 0; b < rows; ++b) {
    SCOPED_TRACE("row " + std::to_string(b));
    for (int p = 0; p < end[b] - begin[b]; ++p) {
      const size_t t = size_t(b) * T + size_t(begin[b] + p);
      kv_store(Kc.data(), Vc.data(), cap, nkv, hd, p, k.data() + t * Kd, v.data() + t * Kd);
    }
    for (int i = 0; i < T; ++i) {
      const float* got = out.data() + (size_t(b) * T + i) * Qd;
      if (i < begin[b]) {
        EXPECT_TRUE(std::all_of(got, got + Qd, [](float x) { return x == 0.f; })) << i;
        continue;
      }
      if (i >= end[b]) continue;  // padding queries: their outputs reach no loss
      const int p = i - begin[b];
      attention_causal(q.data() + (size_t(b) * T + i) * Qd, 1, &p, Kc.data(), Vc.data(), cap, nh,
                       nkv, hd, one.data(), one_lse.data(), 1);
      ASSERT_EQ(std::memcmp(got, one.data(), sizeof(float) * Qd), 0) << "query " << i;
      for (int h = 0; h < nh; ++h)
        ASSERT_EQ(lse[(size_t(b) * nh + h) * T + i], one_lse[size_t(h)]) << i << " head " << h;
    }
  }
  // A key mask with a hole is not padding: refused, naming the row.
  mask[size_t(2) * T + 50] = 0;
  EXPECT_THROW(ops::attention_fwd(q.data(), k.data(), v.data(), mask.data(), rows, T, nh, nkv, hd,
                                  out.data(), lse.data(), scratch.data()),
               Error);
}

}  // namespace
}  // namespace lr
