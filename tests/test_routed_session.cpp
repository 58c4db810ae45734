// Routed inference with a KV cache (DESIGN §3) against a naive whole-sequence reference with
// the same per-position gate vectors; execution counters; router pooling; batches.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "layerroute/routed_batch.h"
#include "layerroute/routed_session.h"
#include "routed_ref.h"

namespace lr {
namespace {

using namespace routed_test;

struct Step {
  std::string mask;
  int prefill, decode;
};

// Runs the steps through a RoutedSession, collecting every position's logits, and returns
// them with the per-position gate strings the session used.
std::vector<float> run_steps(RoutedSession& s, const std::vector<int>& ids,
                             const std::vector<Step>& steps, std::vector<std::string>* gates) {
  std::vector<float> got;
  size_t t = 0;
  for (const Step& st : steps) {
    if (!st.mask.empty()) s.set_gates(GateSpec::mask(st.mask));
    auto l = s.prefill(std::span<const int>(ids.data() + t, size_t(st.prefill)), true);
    got.insert(got.end(), l.begin(), l.end());
    t += size_t(st.prefill);
    for (int i = 0; i < st.prefill; ++i) gates->push_back(s.gate_string());
    for (int i = 0; i < st.decode; ++i, ++t) {
      auto d = s.decode(ids[t]);
      got.insert(got.end(), d.begin(), d.end());
      gates->push_back(s.gate_string());
    }
  }
  return got;
}

// (a) + (c): three steps with different masks, prefill + decode each, equal the reference;
// closed blocks run on no position; reopening a block backfills exactly the skipped ones.
TEST(RoutedSession, MultiStepCachedDecodingEqualsWholeSequenceReference) {
  const Model m = tiny_model(4);
  const int V = m.config.vocab;
  const std::vector<Step> steps = {{"1011", 5, 3}, {"1101", 4, 2}, {"0110", 3, 2}};
  const auto ids = some_ids(19, V);
  for (int chunk : {256, 3}) {  // 3: prefills split into several block calls
    RoutedSession s(m, nullptr, {}, 32, chunk);
    std::vector<std::string> gates;
    const std::vector<float> got = run_steps(s, ids, steps, &gates);
    ASSERT_EQ(gates.size(), ids.size());
    const RefOut ref = ref_gated(m.config, m.weights, ids, gates);
    EXPECT_LE(worst_rel(got, ref.logits, V), 1e-4) << "chunk " << chunk;
    // Positions 0-7 run 1011, 8-13 run 1101, 14-18 run 0110.
    EXPECT_EQ(s.counters().block_rows, (std::vector<int64_t>{14, 11, 13, 14}));
    // Block 1 reopens at step 2 (positions 0-7), block 2 at step 3 (positions 8-13).
    EXPECT_EQ(s.counters().backfill_rows, (std::vector<int64_t>{0, 8, 6, 0}));
  }
  // The reference really depends on the gates (the test would catch a wrong gate vector).
  std::vector<std::string> open(ids.size(), "1111");
  const RefOut all = ref_gated(m.config, m.weights, ids, open);
  RoutedSession s(m, nullptr, {}, 32);
  std::vector<std::string> gates;
  EXPECT_GT(worst_rel(run_steps(s, ids, steps, &gates), all.logits, V), 1e-2);
}

TEST(RoutedSession, ClosedBlockDoesNoWorkUntilReopened) {
  const Model m = tiny_model(4);
  RoutedSession s(m, nullptr, {GateSpec::mask("1001"), {}}, 32);
  const auto ids = some_ids(10, m.config.vocab);
  s.prefill(std::span<const int>(ids.data(), 6));
  s.decode(ids[6]);
  s.decode(ids[7]);
  EXPECT_EQ(s.counters().block_rows, (std::vector<int64_t>{8, 0, 0, 8}));
  EXPECT_EQ(s.blocks_run(), 2);
  EXPECT_EQ(s.gate_string(), "1001");
  s.set_gates(GateSpec::mask("1011"));  // block 2 reopens: its 8 skipped positions backfill
  s.prefill(std::span<const int>(ids.data() + 8, 2));
  EXPECT_EQ(s.counters().block_rows, (std::vector<int64_t>{10, 0, 2, 10}));
  EXPECT_EQ(s.counters().backfill_rows, (std::vector<int64_t>{0, 0, 8, 0}));
  s.decode(ids[9]);  // already filled: no more backfill
  EXPECT_EQ(s.counters().backfill_rows, (std::vector<int64_t>{0, 0, 8, 0}));
}

// (b) every gate open (and router mode without routers) is the plain model.
TEST(RoutedSession, AllOpenEqualsPlainModel) {
  const Model m = tiny_model(3);
  const auto ids = some_ids(12, m.config.vocab);
  for (const char* mode : {"open", "router"}) {
    InferenceSession plain(m, 32);
    RoutedSession routed(m, nullptr, {GateSpec::parse(mode), {}}, 32);
    auto a = plain.prefill(std::span<const int>(ids.data(), 9), true);
    auto b = routed.prefill(std::span<const int>(ids.data(), 9), true);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f) << mode;
    for (int t = 9; t < 12; ++t) {
      auto da = plain.decode(ids[size_t(t)]);
      auto db = routed.decode(ids[size_t(t)]);
      for (size_t i = 0; i < da.size(); ++i) ASSERT_NEAR(da[i], db[i], 1e-5f) << mode << t;
    }
    EXPECT_EQ(routed.blocks_run(), 3);
    EXPECT_EQ(routed.counters().total_block_rows(), 3 * 12);
  }
}

// Routers that read one coordinate of the pooled state entering block 0 (the embedding).
struct PoolModel {
  Model m = tiny_model(3);
  RouterWeights r;
  PoolModel() {
    r = RouterWeights::zeros(m.config);
    for (float& b : r.b) b = 4.f;  // blocks 1, 2: open
    r.w[0] = 1.f;                  // block 0: sigmoid(pool[0]) > 0.5 iff mean(dim 0) > 0
    r.b[0] = 0.f;
    // Token 1 has dim 0 = +1, token 2 has -2.
    m.weights.embed.w[size_t(1) * m.config.hidden] = 1.f;
    m.weights.embed.w[size_t(2) * m.config.hidden] = -2.f;
  }
};

double sigmoid(double z) {
  return 1 / (1 + std::exp(-z));
}

// (e) the pool is the mean over all positions so far, decode tokens included.
TEST(RouterDecision, PoolsEveryPositionSoFarIncludingDecodedTokens) {
  PoolModel pm;
  RoutedSession s(pm.m, &pm.r, {}, 32);
  const std::vector<int> a3 = {1, 1, 1}, b1 = {2}, b2 = {2, 2};
  s.prefill(a3);  // mean 1 -> open
  EXPECT_EQ(s.gate_string(), "111");
  EXPECT_NEAR(s.soft()[0], sigmoid(1.0), 1e-6);
  s.prefill(b1);  // (3 - 2) / 4 = 0.25 -> open
  EXPECT_NEAR(s.soft()[0], sigmoid(0.25), 1e-6);
  EXPECT_EQ(s.gate_string(), "111");
  s.decode(2);    // decoded under the step's gates, and added to the pool: sum -1 over 5
  s.prefill(b1);  // (1 - 4) / 6 = -0.5 -> closed
  EXPECT_NEAR(s.soft()[0], sigmoid(-0.5), 1e-6);
  EXPECT_EQ(s.gate_string(), "011");

  // Decoded tokens flip a decision: without them the last pool would be
  // (3 - 4 + 1) / 6 = 0 (closed); with them it is (3 - 4 + 2 + 1) / 8 = 0.25 (open).
  RoutedSession t(pm.m, &pm.r, {}, 32);
  t.prefill(a3);
  t.prefill(b2);  // (3 - 4) / 5 = -0.2 -> closed
  EXPECT_EQ(t.gate_string(), "011");
  t.decode(1);
  t.decode(1);
  const std::vector<int> a1 = {1};
  t.prefill(a1);
  EXPECT_NEAR(t.soft()[0], sigmoid(0.25), 1e-6);
  EXPECT_EQ(t.gate_string(), "111");

  // Pooling over the step's new tokens only: the last step sees -2 alone.
  RouteOptions nt;
  nt.settings.pool = RoutePool::NewTokens;
  RoutedSession u(pm.m, &pm.r, nt, 32);
  u.prefill(a3);
  u.prefill(b1);
  EXPECT_NEAR(u.soft()[0], sigmoid(-2.0), 1e-6);
  EXPECT_EQ(u.gate_string(), "011");
  // A higher threshold closes a block the default would open.
  RouteOptions hi;
  hi.settings.threshold = 0.8f;  // sigmoid(1) = 0.73
  RoutedSession v(pm.m, &pm.r, hi, 32);
  v.prefill(a3);
  EXPECT_EQ(v.gate_string(), "011");
}

// (e) deeper blocks: soft = sigmoid(w . mean of the states entering block l + b) with the
// states of the reference computed under the gates the session chose.
TEST(RouterDecision, DeepBlocksPoolTheStatesEnteringThem) {
  const Model m = tiny_model(4);
  const int H = m.config.hidden;
  RouterWeights r = RouterWeights::zeros(m.config);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = float(std::sin(0.7 * double(i)));
  RoutedSession s(m, &r, {}, 32);
  const auto ids = some_ids(14, m.config.vocab, 3);
  std::vector<std::string> gates;
  std::vector<std::vector<float>> softs;
  std::vector<int> ends;
  size_t t = 0;
  for (int n : {5, 4, 3}) {
    s.prefill(std::span<const int>(ids.data() + t, size_t(n)));
    t += size_t(n);
    softs.push_back(s.soft());
    ends.push_back(int(t));
    for (int i = 0; i < n; ++i) gates.push_back(s.gate_string());
    if (t < ids.size()) {
      s.decode(ids[t++]);
      gates.push_back(s.gate_string());
    }
  }
  gates.resize(t);
  const RefOut ref =
      ref_gated(m.config, m.weights, std::vector<int>(ids.begin(), ids.begin() + long(t)), gates);
  std::set<std::string> seen(gates.begin(), gates.end());
  EXPECT_GT(seen.size(), 1u) << "the routers should disagree between steps";
  for (size_t k = 0; k < softs.size(); ++k)
    for (int l = 0; l < m.config.n_layers; ++l) {
      double z = 0;
      for (int p = 0; p < ends[k]; ++p)
        for (int i = 0; i < H; ++i)
          z += r.w[size_t(l * H + i)] * ref.block_in[size_t(l)][size_t(p * H + i)];
      EXPECT_NEAR(softs[k][size_t(l)], sigmoid(z / ends[k]), 1e-4)
          << "step " << k << " block " << l;
    }
}

// (d) a batch of rows with their own gates, lengths and steps equals each row run alone.
TEST(RoutedBatch, EqualsRowsRunOneByOne) {
  const Model m = tiny_model(4);
  const int V = m.config.vocab;
  RouterWeights r = RouterWeights::zeros(m.config);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = float(std::cos(1.3 * double(i)));
  const std::vector<GateSpec> specs = {GateSpec::mask("1011"), GateSpec::parse("router"),
                                       GateSpec::mask("0110")};
  const std::vector<GateSpec> specs2 = {GateSpec::mask("1111"), GateSpec::parse("router"),
                                        GateSpec::mask("1101")};
  std::vector<std::vector<int>> p1 = {some_ids(7, V, 1), some_ids(3, V, 2), some_ids(5, V, 3)};
  std::vector<std::vector<int>> p2 = {some_ids(2, V, 4), some_ids(4, V, 5), {}};  // row 2 sits out
  for (int chunk : {64, 4}) {
    RoutedBatch b(m, &r, {}, 3, 32, chunk);
    std::vector<RoutedSession> solo;
    for (int i = 0; i < 3; ++i) solo.emplace_back(m, &r, RouteOptions{specs[size_t(i)], {}}, 32);
    for (int i = 0; i < 3; ++i) b.set_gates(i, specs[size_t(i)]);
    auto compare = [&](const char* what) {
      for (int i = 0; i < 3; ++i) {
        auto bl = b.logits(i);
        if (bl.empty()) continue;
        ASSERT_EQ(b.gates(i), solo[size_t(i)].gates()) << what << " row " << i;
        ASSERT_EQ(b.pos(i), solo[size_t(i)].pos());
      }
    };
    auto check = [&](int i, std::span<const float> want, const char* what) {
      auto got = b.logits(i);
      ASSERT_EQ(got.size(), want.size()) << what;
      std::vector<float> g(got.begin(), got.end());
      EXPECT_LE(worst_rel(g, VecD(want.begin(), want.end()), V), 1e-4) << what << " row " << i;
    };
    std::vector<std::span<const int>> in1(p1.begin(), p1.end()), in2(p2.begin(), p2.end());
    b.prefill(in1, true);
    for (int i = 0; i < 3; ++i) check(i, solo[size_t(i)].prefill(p1[size_t(i)], true), "step 1");
    compare("step 1");
    const std::vector<int> d = {5, 6, 7};
    for (int k = 0; k < 2; ++k) {
      b.decode(d);
      for (int i = 0; i < 3; ++i) check(i, solo[size_t(i)].decode(d[size_t(i)]), "decode 1");
    }
    for (int i = 0; i < 3; ++i) {
      b.set_gates(i, specs2[size_t(i)]);
      solo[size_t(i)].set_gates(specs2[size_t(i)]);
    }
    b.prefill(in2, true);
    EXPECT_TRUE(b.logits(2).empty());
    for (int i = 0; i < 2; ++i) check(i, solo[size_t(i)].prefill(p2[size_t(i)], true), "step 2");
    compare("step 2");
    for (int k = 0; k < 2; ++k) {
      b.decode(d);
      for (int i = 0; i < 3; ++i) check(i, solo[size_t(i)].decode(d[size_t(i)]), "decode 2");
    }
    // Saved work is real: the batch ran each block on the open rows only.
    int64_t solo_rows = 0, solo_fill = 0;
    for (auto& s : solo) {
      solo_rows += s.counters().total_block_rows();
      for (int64_t x : s.counters().backfill_rows) solo_fill += x;
    }
    EXPECT_EQ(b.counters().total_block_rows(), solo_rows);
    int64_t fill = 0;
    for (int64_t x : b.counters().backfill_rows) fill += x;
    EXPECT_EQ(fill, solo_fill);
    EXPECT_GT(fill, 0);
  }
}

TEST(RoutedSession, Errors) {
  const Model m = tiny_model(4);
  EXPECT_THROW(RoutedSession(m, nullptr, {GateSpec::mask("101"), {}}, 8), Error);
  RoutedSession s(m, nullptr, {}, 8);
  EXPECT_THROW(s.decode(1), Error);  // no step yet
  EXPECT_THROW(s.set_gates(GateSpec::mask("10101")), Error);
  const auto ids = some_ids(9, m.config.vocab);
  EXPECT_THROW(s.prefill(ids), Error);  // past max_T
  RouterWeights wrong = RouterWeights::zeros(tiny_config(3));
  EXPECT_THROW(RoutedSession(m, &wrong, {}, 8), Error);
}

}  // namespace
}  // namespace lr
