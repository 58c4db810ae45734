// Short training runs: loss goes down, gradient accumulation scales, runs are reproducible.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/threads.h"
#include "layerroute/adamw.h"
#include "layerroute/lr_schedule.h"
#include "layerroute/train_graph.h"
#include "train_test_util.h"

namespace lr {

namespace {

// One fixed sequence repeated in every row: memorisable.
Batch repeated_batch(int rows, int T, int vocab) {
  Batch b;
  b.rows = rows, b.seq = T;
  for (int r = 0; r < rows; ++r) {
    for (int t = 0; t < T; ++t) {
      b.ids.push_back(int32_t((t * 7 + 3) % vocab));
      b.attn_mask.push_back(1);
      b.loss_mask.push_back(t > 0);
    }
    b.labels.push_back(StepLabel::Planning);
  }
  return b;
}

struct RunResult {
  std::vector<double> losses;
  std::vector<float> final_router_b;
};

// grad_accum micro-batches per optimizer step, clip 1.0, AdamW, the given schedule.
RunResult train(const ModelConfig& cfg, Trainable trainable, TrainGate mode, int steps,
                int grad_accum, double lr, uint64_t seed, bool dropout) {
  TrainWeights w = TrainWeights::random(cfg, 1);
  LoraWeights lora = LoraWeights::init(cfg, LoraConfig{}, 2);
  RouterWeights router = RouterWeights::init(cfg);
  TrainOptions opts;
  opts.trainable = trainable;
  opts.gate_mode = mode;
  opts.seed = seed;
  TrainGraph g(w, &lora, &router, opts);
  auto ps = g.params();
  AdamW opt(ps);
  LrScheduleConfig sched{LrSchedule::Reference, lr, 0, 0, 3000};
  RunResult res;
  uint64_t micro = 0;
  for (int s = 0; s < steps; ++s) {
    zero_grad(ps);
    double loss = 0;
    for (int k = 0; k < grad_accum; ++k) {
      const Batch b = k % 2 == 0 ? repeated_batch(2, 12, cfg.vocab)
                                 : testing::tiny_batch({9, 6, 4}, 9, cfg.vocab, 100 + micro);
      RunOptions run;
      run.step = micro++;
      run.dropout = dropout;
      run.loss_scale = 1.f / float(grad_accum);
      loss += g.forward(b, run).loss / grad_accum;
      g.backward();
    }
    clip_grad_norm(ps, 1.0);
    opt.step(ps, float(lr_at(sched, s)));
    res.losses.push_back(loss);
  }
  res.final_router_b = router.b;
  return res;
}

}  // namespace

TEST(TrainLoop, FullModelMemorisesRepeatedSequence) {
  const ModelConfig cfg = testing::tiny_config(true);
  TrainWeights w = TrainWeights::random(cfg, 5);
  TrainOptions opts;
  opts.trainable = Trainable::All;
  opts.gate_mode = TrainGate::AllOpen;
  TrainGraph g(w, nullptr, nullptr, opts);
  auto ps = g.params();
  AdamW opt(ps);
  const Batch b = repeated_batch(2, 16, cfg.vocab);
  double first = 0, last = 0;
  for (int s = 0; s < 50; ++s) {
    zero_grad(ps);
    const StepMetrics m = g.forward(b, RunOptions{});
    g.backward();
    clip_grad_norm(ps, 1.0);
    opt.step(ps, 1e-2f);
    if (s == 0) first = m.ce;
    last = m.ce;
  }
  EXPECT_NEAR(first, std::log(40.0), 0.1);
  EXPECT_LT(last, 0.1 * first) << "first " << first << " last " << last;
}

TEST(TrainLoop, LoraRoutersReduceLossAndRoutersMove) {
  const ModelConfig cfg = testing::tiny_config(true);
  TrainWeights w = TrainWeights::random(cfg, 5);
  for (auto& t : w.tensors())  // a less trivial frozen backbone than N(0, 0.02)
    if (t.name.find("norm") == std::string::npos)
      for (size_t i = 0; i < t.numel; ++i) t.data[i] *= 10.f;
  LoraConfig lc;
  lc.dropout = 0.f;
  LoraWeights lora = LoraWeights::init(cfg, lc, 6);
  RouterWeights router = RouterWeights::init(cfg);
  TrainGraph g(w, &lora, &router, TrainOptions{});
  auto ps = g.params();
  AdamW opt(ps);
  const Batch b = repeated_batch(2, 16, cfg.vocab);
  double first = 0, last = 0;
  for (int s = 0; s < 50; ++s) {
    zero_grad(ps);
    const StepMetrics m = g.forward(b, RunOptions{});
    g.backward();
    clip_grad_norm(ps, 1.0);
    opt.step(ps, 1e-2f);
    if (s == 0) first = m.ce;
    last = m.ce;
  }
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
  EXPECT_NE(router.b[0], 1.f);
}

TEST(TrainLoop, GradAccumulationAveragesMicroBatches) {
  const ModelConfig cfg = testing::tiny_config(false);
  TrainWeights w = TrainWeights::random(cfg, 3);
  LoraWeights lora = LoraWeights::init(cfg, LoraConfig{}, 4);
  for (auto& a : lora.adapters)
    for (size_t i = 0; i < a.B.size(); ++i) a.B[i] = 0.01f * float(i % 5);
  RouterWeights router = RouterWeights::init(cfg);
  TrainGraph g(w, &lora, &router, TrainOptions{});
  auto ps = g.params();
  const Batch b1 = testing::tiny_batch({6, 4}, 6, cfg.vocab, 1),
              b2 = testing::tiny_batch({5, 5, 3}, 5, cfg.vocab, 2);
  RunOptions run;
  run.dropout = false;
  auto grads = [&] {
    std::vector<float> out;
    for (auto& p : ps) out.insert(out.end(), p.grad, p.grad + p.numel);
    return out;
  };
  zero_grad(ps);
  g.forward(b1, run), g.backward();
  const auto g1 = grads();
  zero_grad(ps);
  g.forward(b2, run), g.backward();
  const auto g2 = grads();
  zero_grad(ps);
  run.loss_scale = 0.5f;
  g.forward(b1, run), g.backward();
  g.forward(b2, run), g.backward();
  const auto gacc = grads();
  double mx = 0;
  for (size_t i = 0; i < g1.size(); ++i) {
    EXPECT_NEAR(gacc[i], 0.5f * (g1[i] + g2[i]), 1e-6 + 1e-5 * std::fabs(g1[i] + g2[i]));
    mx = std::max(mx, double(std::fabs(gacc[i])));
  }
  EXPECT_GT(mx, 0.0);
}

TEST(TrainLoop, SameSeedSameThreadsGivesIdenticalLossCurve) {
  const ModelConfig cfg = testing::tiny_config(false);
  const RunResult a = train(cfg, Trainable::LoraRouters, TrainGate::Hard, 6, 2, 1e-2, 9, true);
  const RunResult b = train(cfg, Trainable::LoraRouters, TrainGate::Hard, 6, 2, 1e-2, 9, true);
  ASSERT_EQ(a.losses.size(), 6u);
  for (size_t i = 0; i < a.losses.size(); ++i)
    EXPECT_EQ(std::memcmp(&a.losses[i], &b.losses[i], sizeof(double)), 0) << "step " << i;
  EXPECT_EQ(a.final_router_b, b.final_router_b);
  // The dropout seed matters (so the masks really are drawn).
  const RunResult c = train(cfg, Trainable::LoraRouters, TrainGate::Hard, 6, 2, 1e-2, 10, true);
  EXPECT_NE(a.losses.back(), c.losses.back());
  const RunResult f1 = train(cfg, Trainable::All, TrainGate::Hard, 3, 2, 1e-2, 9, true);
  const RunResult f2 = train(cfg, Trainable::All, TrainGate::Hard, 3, 2, 1e-2, 9, true);
  EXPECT_EQ(f1.losses, f2.losses);
}

}  // namespace lr
