// The limits `bench` judges by (eval/machine_limits.h): the probes read what they claim, and
// the bytes a decoded token reads are counted from the shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/machine_limits.h"
#include "kernels/cpu/gemv.h"
#include "model/forward.h"
#include "routed_ref.h"

namespace lr {
namespace {

TEST(MachineLimits, BandwidthProbeSumsEveryFloat) {
  BandwidthProbe p((size_t(1) << 20) + 100);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.bytes(), double(size_t(1) << 20));  // whole cache lines of floats
  EXPECT_GT(p.pass(), 0.0);
  EXPECT_EQ(p.last_sum(), p.bytes() / sizeof(float));  // 1.0f each, exact in these sums
}

TEST(MachineLimits, SgemmProbeGivesARate) {
  SgemmProbe p;
  const double r = p.rate(1);
  EXPECT_TRUE(std::isfinite(r));
  EXPECT_GT(r, 0.0);
}

TEST(MachineLimits, DecodeBytesCountEveryBlockMatrixAndTheHead) {
  // Every matrix in q8 panels (32-wide inputs, 4-row blocks), so the q8 count below holds.
  ModelConfig c = routed_test::tiny_config(3);
  c.intermediate = 64;
  c.vocab = 100;
  const double H = c.hidden, qd = c.q_dim(), kvd = c.kv_dim(), I = c.intermediate, V = c.vocab;
  const double weights_per_block = qd * H + 2 * kvd * H + H * qd + 3 * H * I;
  const double bias = 4.0 * (qd + 2 * kvd) * c.n_layers;
  Model m;
  m.config = c;
  m.weights = ModelWeights::random(c, 3, 0.02f, WeightsDType::F32);
  EXPECT_EQ(decode_bytes(m), 4 * (V * H + c.n_layers * weights_per_block) + bias);
  m.weights = ModelWeights::random(c, 3, 0.02f, WeightsDType::BF16);
  m.weights.pack_decode_panels();
  EXPECT_EQ(decode_bytes(m), 2 * (V * H + c.n_layers * weights_per_block) + bias);
  // q8: one byte per weight and a bf16 scale per 32 (in panels).
  m.weights = ModelWeights::random(c, 3, 0.02f, WeightsDType::Q8);
  m.weights.pack_decode_panels();
  EXPECT_EQ(decode_bytes(m), (1 + 2.0 / 32) * (V * H + c.n_layers * weights_per_block) + bias);
}

}  // namespace
}  // namespace lr
