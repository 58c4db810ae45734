// Training with the frozen backbone's GEMMs in bf16 (TrainOptions::frozen_matmul, on CPUs
// with AVX512-BF16) against the all-f32 graph on the golden models, LoRA on every attention
// projection and routers deciding: the same gates, the loss and every gradient within a
// stated bound, and different at all (the bf16 path really rounds).
#include <gtest/gtest.h>

#include <cmath>

#include "core/cpu_features.h"
#include "io/safetensors.h"
#include "layerroute/train_graph.h"
#include "routed_ref.h"

namespace lr {
namespace {

const std::string kGolden = std::string(LR_SHARED_DIR) + "/fixtures/golden/";

struct StepResult {
  double loss = 0;
  std::vector<float> gates;
  std::vector<std::vector<float>> grads;
  std::vector<std::string> names;
};

StepResult train_step(const std::string& dir, ops::FrozenMatmul mm) {
  const ModelConfig c = ModelConfig::load(dir);
  TrainWeights tw = TrainWeights::load(c, Checkpoint::open_dir(dir));
  LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 8.f;
  lc.dropout = 0.f;
  lc.targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O};
  LoraWeights lw = LoraWeights::init(c, lc, 3);
  float x = 0.2f;
  for (auto& a : lw.adapters)
    for (float& b : a.B) b = 0.5f * ((x = std::fmod(x * 7.3f + 0.37f, 1.f)) - 0.5f);
  RouterWeights r = RouterWeights::zeros(c);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = 0.05f * float(std::sin(0.7 * double(i) + 1));
  for (int l = 0; l < c.n_layers; ++l) r.b[size_t(l)] = l == 1 ? -2.f : 2.f;

  TrainOptions opts;
  opts.frozen_matmul = mm;
  TrainGraph g(tw, &lw, &r, opts);
  const int rows = 2, T = 24;
  Batch batch;
  batch.rows = rows, batch.seq = T;
  for (int b = 0; b < rows; ++b) {
    const auto ids = routed_test::some_ids(T, c.vocab, 9 + uint64_t(b));
    batch.ids.insert(batch.ids.end(), ids.begin(), ids.end());
  }
  batch.attn_mask.assign(size_t(rows * T), 1);
  batch.loss_mask.assign(size_t(rows * T), 1);
  batch.loss_mask[0] = batch.loss_mask[size_t(T)] = 0;
  batch.labels = {StepLabel::ToolCall, StepLabel::Planning};
  g.zero_grad();
  StepResult out;
  out.loss = g.forward(batch, RunOptions{.step = 0, .dropout = false}).loss;
  g.backward();
  out.gates.assign(g.gates().begin(), g.gates().end());
  for (const Param& p : g.params()) {
    out.names.push_back(p.name);
    out.grads.emplace_back(p.grad, p.grad + p.numel);
  }
  return out;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

TEST(TrainBf16, LossAndGradientsNearF32OnGoldenModels) {
  if (cpu_path() < CpuPath::Avx512Bf16)
    GTEST_SKIP() << "this CPU (kernel path " << cpu_path_name(cpu_path())
                 << ") lacks AVX512-BF16: the bf16 path runs f32";
  for (const char* model : {"qwen2-tiny", "llama-tiny"}) {
    SCOPED_TRACE(model);
    const StepResult f = train_step(kGolden + model, ops::FrozenMatmul::F32);
    const StepResult b = train_step(kGolden + model, ops::FrozenMatmul::BF16);
    EXPECT_EQ(f.gates, b.gates);
    const double dloss = std::abs(b.loss - f.loss) / std::abs(f.loss);
    EXPECT_GT(dloss, 0.0) << "the bf16 path gave the f32 loss exactly: it did not round";
    EXPECT_LT(dloss, 1e-4) << f.loss << " vs " << b.loss;
    // LoRA gradients flow through bf16-rounded activations of every block above them. A
    // router's gradient is the straight-through estimate dL/dout . (B(h) - h): a difference
    // of two block outputs, so the rounding of B(h) weighs more (a closed block's router
    // bias moved most, 6.6 % on qwen2-tiny).
    double worst_lora = 0, worst_router = 0;
    for (size_t i = 0; i < f.grads.size(); ++i) {
      const double e = rel_l2(b.grads[i], f.grads[i]);
      const bool router = f.names[i].find("router") != std::string::npos;
      (router ? worst_router : worst_lora) = std::max(router ? worst_router : worst_lora, e);
      EXPECT_LT(e, router ? 0.15 : 3e-2) << f.names[i];
    }
    std::printf(
        "%s: loss f32 %.7f bf16 %.7f (rel %.2e); worst gradient rel L2: LoRA %.2e, "
        "router %.2e\n",
        model, f.loss, b.loss, dloss, worst_lora, worst_router);
  }
}

}  // namespace
}  // namespace lr
