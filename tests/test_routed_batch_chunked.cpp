// Chunked prefill on the routed batch: a step run over several advance_prefill calls, with
// other rows decoding in between, gives the same gates, K/V and logits as the same step
// prefilled in one call (a one-row RoutedSession), and so does everything decoded after it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

RouterWeights mixed_routers(const ModelConfig& c) {
  RouterWeights r = RouterWeights::zeros(c);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = float(std::cos(1.3 * double(i)));
  return r;
}

// Row `row` of the batch against a lone session that ran the same step in one call.
void expect_same(const RoutedBatch& b, int row, RoutedSession& solo, std::span<const float> want,
                 const char* what) {
  const auto got = b.logits(row);
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_EQ(argmax(got), argmax(want)) << what;
  EXPECT_LE(worst_rel(std::vector<float>(got.begin(), got.end()), VecD(want.begin(), want.end()),
                      b.model().config.vocab),
            1e-4)
      << what;
  EXPECT_EQ(b.gates(row), solo.gates()) << what;
  EXPECT_EQ(b.pos(row), solo.pos()) << what;
}

TEST(RoutedBatchChunked, SameAsOneCallWhileAnotherRowDecodes) {
  const Model m = tiny_model(4);
  const int V = m.config.vocab, L = m.config.n_layers;
  const RouterWeights r = mixed_routers(m.config);
  const GateSpec router = GateSpec::parse("router");
  const int max_chunk = 8;
  RoutedBatch b(m, &r, {RouteOptions{router, {}}}, 2, 96, max_chunk);
  RoutedSession solo0(m, &r, RouteOptions{router, {}}, 96, max_chunk);
  RoutedSession solo1(m, &r, RouteOptions{router, {}}, 96, max_chunk);

  // Row 0 is a running stream.
  const std::vector<int> p0 = some_ids(5, V, 1);
  std::vector<std::span<const int>> in = {p0, {}};
  b.prefill(in);
  expect_same(b, 0, solo0, solo0.prefill(p0), "row 0 prefill");
  int next0 = argmax(b.logits(0));

  // Row 1's long prompt: one block per call (budget below its 30 rows), row 0 decoding a
  // token after each call.
  const std::vector<int> p1 = some_ids(30, V, 2);
  in = {{}, p1};
  b.begin_prefill(in);
  EXPECT_TRUE(b.prefilling(1));
  EXPECT_FALSE(b.prefilling(0));
  int calls = 0, decoded = 0;
  for (;;) {
    const auto done = b.advance_prefill(max_chunk);
    ++calls;
    ASSERT_LE(calls, L) << "at least one block per call";
    if (!done.empty()) {
      ASSERT_EQ(std::vector<int>(done.begin(), done.end()), std::vector<int>{1});
      break;
    }
    EXPECT_TRUE(b.prefilling(1));
    EXPECT_THROW(b.decode(std::vector<int>{1}, std::vector<int>{3}), Error);
    const int id = next0;
    b.decode(std::vector<int>{0}, std::vector<int>{id});
    expect_same(b, 0, solo0, solo0.decode(id), "row 0 decodes between chunks");
    next0 = argmax(b.logits(0));
    ++decoded;
  }
  EXPECT_FALSE(b.prefilling(1));
  EXPECT_GE(calls, 2) << "the prefill must have been split";
  EXPECT_EQ(decoded, calls - 1);
  expect_same(b, 1, solo1, solo1.prefill(p1), "chunked step equals one call");
  const int open = b.blocks_run(1);
  EXPECT_TRUE(open > 0 && open < L)
      << "the routers should both run and skip blocks here: " << gate_string(b.gates(1));
  int next1 = argmax(b.logits(1));

  // Both decode together afterwards, under the gates each step chose.
  for (int k = 0; k < 3; ++k) {
    const std::vector<int> rows = {0, 1}, ids = {next0, next1};
    b.decode(rows, ids);
    expect_same(b, 0, solo0, solo0.decode(ids[0]), "row 0 decode after");
    expect_same(b, 1, solo1, solo1.decode(ids[1]), "row 1 decode after");
    next0 = argmax(b.logits(0));
    next1 = argmax(b.logits(1));
  }

  // A later chunked step on row 1's cache that opens every block: the blocks its first
  // step skipped backfill their K/V inside the chunked step.
  const GateSpec all = GateSpec::mask(std::string(size_t(L), '1'));
  b.set_gates(1, all);
  solo1.set_gates(all);
  const int64_t backfilled = b.counters().backfill_rows[0] + b.counters().backfill_rows[1] +
                             b.counters().backfill_rows[2] + b.counters().backfill_rows[3];
  const std::vector<int> p2 = some_ids(12, V, 3);
  in = {{}, p2};
  b.begin_prefill(in);
  calls = 0;
  while (b.advance_prefill(max_chunk).empty()) {
    ++calls;
    ASSERT_LE(calls, L);
    b.decode(std::vector<int>{0}, std::vector<int>{next0});
    expect_same(b, 0, solo0, solo0.decode(next0), "row 0 during the second step");
    next0 = argmax(b.logits(0));
  }
  EXPECT_GE(calls, 1);
  EXPECT_GT(b.counters().backfill_rows[0] + b.counters().backfill_rows[1] +
                b.counters().backfill_rows[2] + b.counters().backfill_rows[3],
            backfilled);
  expect_same(b, 1, solo1, solo1.prefill(p2), "second chunked step equals one call");
}

// Several rows in one chunked step and steps queued behind each other: a row dropped
// mid-step (reset) leaves the others exact; steps complete oldest first.
TEST(RoutedBatchChunked, GroupsDropsAndOrder) {
  const Model m = tiny_model(4);
  const int V = m.config.vocab, L = m.config.n_layers;
  const RouterWeights r = mixed_routers(m.config);
  const GateSpec router = GateSpec::parse("router");
  RoutedBatch b(m, &r, {RouteOptions{router, {}}}, 3, 64, 8);
  const std::vector<int> a = some_ids(9, V, 4), c = some_ids(14, V, 5), d = some_ids(6, V, 6);
  std::vector<std::span<const int>> in = {a, c, {}};
  b.begin_prefill(in);  // rows 0 and 1 together
  in = {{}, {}, d};
  b.begin_prefill(in);  // row 2 behind them
  EXPECT_TRUE(b.prefill_pending());
  EXPECT_TRUE(b.advance_prefill(1).empty());  // one block of the first group
  b.reset(0);                                 // row 0 leaves mid-step
  EXPECT_FALSE(b.prefilling(0));
  EXPECT_EQ(b.pos(0), 0);
  std::vector<int> order;
  for (int k = 0; k < 2 * L && b.prefill_pending(); ++k) {
    const auto done = b.advance_prefill(1);
    for (int row : done) {
      order.push_back(row);
      RoutedSession solo(m, &r, RouteOptions{router, {}}, 64, 8);
      expect_same(b, row, solo, solo.prefill(row == 1 ? c : d), "member of a chunked group");
    }
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  // Row 0 starts over with a one-call prefill, exact as well.
  in = {a, {}, {}};
  b.prefill(in);
  RoutedSession solo(m, &r, RouteOptions{router, {}}, 64, 8);
  expect_same(b, 0, solo, solo.prefill(a), "reset row starts over");

  // A budget that covers everything completes both pending steps in one call, each with
  // its own logits.
  const std::vector<int> e = some_ids(7, V, 7), f = some_ids(4, V, 8);
  in = {{}, e, {}};
  b.reset(1);
  b.begin_prefill(in);
  in = {{}, {}, f};
  b.reset(2);
  b.begin_prefill(in);
  const auto done = b.advance_prefill(1 << 20);
  EXPECT_EQ(std::vector<int>(done.begin(), done.end()), (std::vector<int>{1, 2}));
  RoutedSession se(m, &r, RouteOptions{router, {}}, 64, 8),
      sf(m, &r, RouteOptions{router, {}}, 64, 8);
  expect_same(b, 1, se, se.prefill(e), "first of two completed in one call");
  expect_same(b, 2, sf, sf.prefill(f), "second of two completed in one call");

  // Misuse.
  EXPECT_THROW(b.advance_prefill(0), Error);
  in = {{}, e, {}};
  b.begin_prefill(in);
  EXPECT_THROW(b.begin_prefill(in), Error);  // row 1 is already prefilling
  EXPECT_THROW(b.prefill(in), Error);
  b.remove_row(1);  // drops its pending step
  EXPECT_FALSE(b.prefill_pending());
}

}  // namespace
}  // namespace lr
