// End-to-end gradient checks over every trainable parameter of a tiny model: the float
// graph's backward (hard gates, straight-through) against central differences of the
// double-precision reference forward with surrogate gates g = hard0 + soft - soft0, whose
// exact gradient at the current point is the straight-through gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "grad_check_util.h"
#include "layerroute/train_graph.h"
#include "ref_model.h"
#include "train_test_util.h"

namespace lr {

namespace {

struct Case {
  bool tied;
  Trainable trainable;
  RouterPooling pooling;
  RouterLoss router_loss;
};

// Weights scaled up from the 0.02 init so that every nonlinearity matters.
void perturb(TrainWeights& w, uint64_t seed) {
  Rng rng(seed);
  for (TensorSlot& t : w.tensors()) {
    const bool norm = t.name.find("norm") != std::string::npos;
    const bool bias = t.name.ends_with(".bias");
    for (size_t i = 0; i < t.numel; ++i) {
      const double u = 2 * rng.uniform() - 1;
      t.data[i] = norm ? float(1 + 0.3 * u) : bias ? float(0.2 * u) : t.data[i] * 15.f;
    }
  }
}

void run_case(const Case& cs) {
  const ModelConfig cfg = testing::tiny_config(cs.tied);
  TrainWeights w = TrainWeights::random(cfg, 11);
  perturb(w, 12);
  LoraConfig lc;
  lc.rank = 2, lc.alpha = 4.f;
  lc.targets = {LoraTarget::Q,    LoraTarget::K,  LoraTarget::V,   LoraTarget::O,
                LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};
  LoraWeights lora = LoraWeights::init(cfg, lc, 13);
  Rng rng(14);
  for (auto& a : lora.adapters)
    for (float& x : a.B) x = float(0.3 * (2 * rng.uniform() - 1));
  RouterWeights router = RouterWeights::init(cfg);
  for (float& x : router.w) x = float(2 * rng.uniform() - 1);
  router.b = {0.2f, -0.1f};

  TrainOptions opts;
  opts.trainable = cs.trainable;
  opts.pooling = cs.pooling;
  opts.router_loss = cs.router_loss;
  TrainGraph g(w, &lora, &router, opts);
  const Batch batch = testing::tiny_batch({7, 5}, 7, cfg.vocab, 15, 3);
  g.zero_grad();
  RunOptions run;
  run.dropout = false;
  const StepMetrics m = g.forward(batch, run);
  g.backward();

  testing::RefSetup S;
  S.cfg = cfg, S.lora_cfg = lc, S.pooling = cs.pooling, S.router_loss = cs.router_loss;
  S.base = g.gates(), S.ref = g.soft_gates();
  int open = 0;
  for (float x : S.base) open += x > 0.5f;
  EXPECT_GT(open, 0);
  EXPECT_LT(open, int(S.base.size()));  // both branches of the gate are exercised
  testing::Named P;
  auto add = [&](std::vector<TensorSlot> ts) {
    for (auto& t : ts) P[t.name] = std::vector<double>(t.data, t.data + t.numel);
  };
  add(w.tensors()), add(lora.tensors()), add(router.tensors());
  EXPECT_NEAR(m.loss, testing::ref_loss(P, S, batch), 2e-5 * std::max(1.0, std::fabs(m.loss)));

  const std::vector<Param> ps = g.params();
  size_t checked = 0;
  double gmax = 0;
  for (const Param& p : ps)
    for (size_t i = 0; i < p.numel; ++i) gmax = std::max(gmax, double(std::fabs(p.grad[i])));
  ASSERT_GT(gmax, 0.0);
  for (const Param& p : ps) {
    std::vector<double>& x = P[p.name];
    auto num = testing::numeric_grad(
        x, [&] { return testing::ref_loss(P, S, batch); }, 1e-5);
    // Relative to the tensor's largest entry, floored at 1e-3 of the largest gradient overall.
    testing::expect_grad_close(std::vector<float>(p.grad, p.grad + p.numel), num, 2e-3, p.name,
                               1e-3 * gmax);
    checked += p.numel;
  }
  size_t expect = lora.num_params() + router.num_params();
  if (cs.trainable == Trainable::All) expect += w.num_params();
  EXPECT_EQ(checked, expect);
}

}  // namespace

TEST(GradE2E, LoraRoutersTiedMaskedMean) {
  run_case({true, Trainable::LoraRouters, RouterPooling::MaskedMean, RouterLoss::GateReg});
}
TEST(GradE2E, LoraRoutersUntiedMeanAllBceCorrected) {
  run_case({false, Trainable::LoraRouters, RouterPooling::MeanAll, RouterLoss::BceCorrected});
}
TEST(GradE2E, FullTied) {
  run_case({true, Trainable::All, RouterPooling::MaskedMean, RouterLoss::GateReg});
}
TEST(GradE2E, FullUntiedBceNaive) {
  run_case({false, Trainable::All, RouterPooling::MaskedMean, RouterLoss::BceNaive});
}

}  // namespace lr
