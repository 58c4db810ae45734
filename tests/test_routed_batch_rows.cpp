// The routed batch as a server drives it: rows join, leave, reset and decode in any subset
// while the others keep going, and every sequence gets, token for token, what it gets run
// alone in a RoutedSession.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "layerroute/routed_batch.h"
#include "layerroute/routed_session.h"
#include "routed_ref.h"

namespace lr {
namespace {

using namespace routed_test;

int argmax(std::span<const float> x) {
  return int(std::max_element(x.begin(), x.end()) - x.begin());
}

// A sequence run alone beside the batch: every batch call on its row is repeated here,
// and the two must agree.
struct Solo {
  RoutedSession s;
  std::vector<int> tokens;  // greedy continuation so far
};

class RowsFixture {
 public:
  RowsFixture(const Model& m, const RouterWeights* r, int slots)
      : m_(m), r_(r), b_(m, r, {}, slots, 48, /*max_chunk=*/8) {}

  RoutedBatch& batch() { return b_; }

  // A new sequence in row `row` (already added), first step = prompt under spec.
  void start(int row, const std::vector<int>& prompt, const GateSpec& spec) {
    solo_.erase(row);
    solo_.emplace(row, Solo{RoutedSession(m_, r_, RouteOptions{spec, {}}, 48, 8), {}});
    b_.set_gates(row, spec);
    step({{row, prompt}});
  }
  // One prefill step for each listed row (others sit out).
  void step(const std::map<int, std::vector<int>>& ids) {
    std::vector<std::span<const int>> in(size_t(b_.batch()));
    for (const auto& [row, v] : ids) in[size_t(row)] = v;
    b_.prefill(in);
    for (const auto& [row, v] : ids) check(row, solo_.at(row).s.prefill(v), "prefill");
  }
  // One greedy decode for each listed row.
  void decode(std::vector<int> rows) {
    std::vector<int> ids;
    for (int r : rows) ids.push_back(next_[r]);
    b_.decode(rows, ids);
    for (size_t i = 0; i < rows.size(); ++i)
      check(rows[i], solo_.at(rows[i]).s.decode(ids[i]), "decode");
  }
  void set_gates(int row, const GateSpec& g) {
    b_.set_gates(row, g);
    solo_.at(row).s.set_gates(g);
  }
  const std::vector<int>& tokens(int row) { return solo_.at(row).tokens; }

 private:
  void check(int row, std::span<const float> want, const char* what) {
    const auto got = b_.logits(row);
    ASSERT_EQ(got.size(), want.size()) << what << " row " << row;
    const int tok = argmax(got);
    ASSERT_EQ(tok, argmax(want)) << what << " row " << row << ": greedy token differs";
    std::vector<float> g(got.begin(), got.end());
    EXPECT_LE(worst_rel(g, VecD(want.begin(), want.end()), m_.config.vocab), 1e-4)
        << what << " row " << row;
    Solo& s = solo_.at(row);
    EXPECT_EQ(b_.gates(row), s.s.gates()) << what << " row " << row;
    EXPECT_EQ(b_.pos(row), s.s.pos()) << what << " row " << row;
    s.tokens.push_back(tok);
    next_[row] = tok;
  }

  const Model& m_;
  const RouterWeights* r_;
  RoutedBatch b_;
  std::map<int, Solo> solo_;
  std::map<int, int> next_;
};

TEST(RoutedBatchRows, JoinLeaveResetAndSubsetsMatchSoloRuns) {
  const Model m = tiny_model(4);
  const int V = m.config.vocab;
  RouterWeights r = RouterWeights::zeros(m.config);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = float(std::cos(1.3 * double(i)));
  const GateSpec router = GateSpec::parse("router");

  RowsFixture f(m, &r, 2);
  RoutedBatch& b = f.batch();
  f.start(0, some_ids(11, V, 1), router);  // longer than a chunk: prefilled in pieces
  f.start(1, some_ids(5, V, 2), GateSpec::mask("1011"));
  for (int k = 0; k < 3; ++k) f.decode({0, 1});

  // Row 1 leaves; a new sequence takes its slot while row 0 keeps decoding.
  b.remove_row(1);
  EXPECT_FALSE(b.active(1));
  EXPECT_THROW(b.decode(std::vector<int>{1}, std::vector<int>{3}), Error);
  f.decode({0});
  ASSERT_EQ(b.add_row(), 1);  // the freed slot is reused
  EXPECT_EQ(b.pos(1), 0);
  f.start(1, some_ids(6, V, 3), GateSpec::mask("0110"));
  f.decode({0, 1});
  // A third row joins (a new slot) while both others are mid-decode.
  ASSERT_EQ(b.add_row(), 2);
  f.start(2, some_ids(4, V, 4), router);
  f.decode({2, 0});  // any subset, any order
  f.decode({1});
  f.decode({0, 1, 2});

  // Row 0's cache is kept and extended by a later request: a new step on it under new
  // gates (block 2 reopens, so its skipped positions are backfilled), with row 2 taking a
  // step in the same call; then both decode.
  f.set_gates(0, GateSpec::mask("1101"));
  f.set_gates(2, GateSpec::mask("1111"));
  f.step({{0, some_ids(3, V, 5)}, {2, some_ids(2, V, 6)}});
  f.decode({0, 2});
  f.decode({1, 2, 0});

  // Reset one row: it starts over from an empty cache; the others are untouched.
  const int pos1 = b.pos(1), pos2 = b.pos(2);
  b.reset(0);
  EXPECT_EQ(b.pos(0), 0);
  EXPECT_EQ(b.pos(1), pos1);
  EXPECT_EQ(b.pos(2), pos2);
  f.start(0, some_ids(7, V, 7), router);
  for (int k = 0; k < 3; ++k) f.decode({0, 1, 2});
  EXPECT_EQ(f.tokens(1).size(), 1u + 1 + 1 + 1 + 1 + 3);
}

TEST(RoutedBatchRows, Errors) {
  const Model m = tiny_model(4);
  RoutedBatch b(m, nullptr, {}, 2, 16);
  const std::vector<int> p = some_ids(3, m.config.vocab);
  std::vector<std::span<const int>> in = {p, {}};
  b.prefill(in);
  EXPECT_THROW(b.decode(std::vector<int>{1}, std::vector<int>{3}), Error);  // row 1 had no step
  EXPECT_THROW(b.decode(std::vector<int>{0, 0}, std::vector<int>{3, 3}), Error);  // twice
  EXPECT_THROW(b.decode(std::vector<int>{0}, std::vector<int>{3, 4}), Error);     // sizes
  EXPECT_THROW(b.decode(std::vector<int>{5}, std::vector<int>{3}), Error);        // no such row
  EXPECT_THROW(b.reset(7), Error);
  b.remove_row(0);
  EXPECT_THROW(b.gates(0), Error);
  EXPECT_THROW(b.prefill(in), Error);  // row 0 is not active
  EXPECT_EQ(b.add_row(), 0);
  EXPECT_EQ(b.pos(0), 0);
}

}  // namespace
}  // namespace lr
