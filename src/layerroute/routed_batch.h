#pragma once
// Routed inference with a KV cache for a batch of sequences (DESIGN §3 "Inference with a KV
// cache"). A step is one prefill of new tokens; each row's gates are decided block by
// block during it and stay fixed while that step decodes. A closed block does no work for
// that row; an open block runs once over the stacked open rows (gather, compute, scatter).
// K/V of positions that skipped a block are filled lazily ("backfill") the first time a
// later step of the row runs it, from the hidden state stored at the start of the run of
// skipped blocks at those positions.
#include <cstdint>
#include <span>
#include <vector>

#include "layerroute/adapters.h"
#include "layerroute/gates.h"
#include "layerroute/router.h"
#include "model/forward.h"

namespace lr {

struct RouteOptions {
  GateSpec gates;  // Router without router weights runs every block
  RouteSettings settings;
};

// What actually ran, per block: read by tests and reports.
struct RouteCounters {
  std::vector<int64_t> block_rows;     // [L] token rows the full block ran on
  std::vector<int64_t> backfill_rows;  // [L] token rows whose K/V were filled lazily
  int64_t total_block_rows() const;
};

class RoutedBatch {
 public:
  // router may be null (no routers: Router mode opens every block); it must outlive this.
  RoutedBatch(const Model& model, const RouterWeights* router, RouteOptions opt, int batch,
              int max_T, int max_chunk = 256);

  int batch() const { return int(rows_.size()); }
  const Model& model() const { return model_; }
  // LoRA deltas for every row (nullptr: none). Not owned.
  void set_lora(const LowRankDeltas* deltas) { engine_.set_low_rank_deltas(deltas); }
  // Gate mode of a row (or all rows) from its next step on.
  void set_gates(int row, const GateSpec& g);
  void set_gates(const GateSpec& g);

  // One step for every row with non-empty ids[row] (others sit it out). Logits of the last
  // new position, or of every new position with all_positions.
  void prefill(std::span<const std::span<const int>> ids, bool all_positions = false);
  // One token per row, appended to its current step under that step's gates.
  void decode(std::span<const int> ids);

  // Logits of the row from the last prefill/decode it took part in: [V] or [n, V].
  std::span<const float> logits(int row) const;
  const std::vector<unsigned char>& gates(int row) const { return rows_[size_t(row)].gates; }
  // sigmoid(w.pool + b) per block of the current step (1/0 when not decided by a router).
  const std::vector<float>& soft(int row) const { return rows_[size_t(row)].soft; }
  int blocks_run(int row) const;
  int pos(int row) const { return rows_[size_t(row)].len; }
  const RouteCounters& counters() const { return counters_; }
  void reset_counters();
  void reset();  // every row back to an empty sequence

 private:
  // Positions [p0, p1) share one gate vector. For each run of consecutive closed blocks,
  // run_states[k] holds the hidden state entering its first block, [p1 - p0, H].
  struct Step {
    int p0 = 0, p1 = 0;
    std::vector<int> run_of_block;  // [L]: run index of a closed block, -1 when open
    std::vector<std::vector<float>> run_states;
  };
  struct Row {
    KVCache cache;
    int len = 0;
    GateSpec spec;
    std::vector<unsigned char> gates;
    std::vector<float> soft;
    std::vector<int> filled;   // [L]: K/V of positions [0, filled[l]) exist at block l
    std::vector<double> sums;  // [L, H]: sum over positions of the state entering block l
    std::vector<Step> steps;
    // The current call: rows [off, off + n) of the stacked hidden state.
    int off = 0, n = 0;
    size_t logits_off = 0, logits_n = 0;
  };
  // One stretch of stacked rows that belongs to one sequence.
  struct Piece {
    int row, buf_off, T;
    const int* positions;
  };

  void forward(std::span<const std::span<const int>> ids, bool decide, bool all_positions);
  void decide_gate(Row& r, int l, const float* h);
  void backfill(int l, const std::vector<int>& open);
  // Runs fn(hidden, segments) over pieces packed into calls of at most max_chunk rows.
  template <typename Fn>
  void in_chunks(float* buf, const std::vector<Piece>& pieces, Fn fn);

  const Model& model_;
  const RouterWeights* router_;
  RouteOptions opt_;
  InferenceSession engine_;  // kernels + scratch; its own cache is unused
  std::vector<Row> rows_;
  RouteCounters counters_;
  // Scratch reused across calls (grows only).
  std::vector<float> h_, gather_, bf_, logits_, last_;
  std::vector<int> pos_, bf_pos_, part_, open_;
  std::vector<std::span<const int>> one_;
  std::vector<Piece> pieces_;
  std::vector<KVSegment> segs_;
};

}  // namespace lr
