// The limits `bench` judges by (eval/machine_limits.h): the probes read what they claim, and
// the bytes a decoded token reads are counted from the shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/machine_limits.h"
#include "kernels/cpu/gemv.h"
#include "model/forward.h"

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
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 64;
  c.n_layers = 3;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.intermediate = 96;
  c.vocab = 100;
  c.tie_embeddings = true;
  c.qkv_bias = true;
  const double H = 64, qd = 64, kvd = 32, I = 96, V = 100;
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
