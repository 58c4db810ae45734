#pragma once
// Routed inference with a KV cache for a batch of sequences (DESIGN §3 "Inference with a KV
// cache"): one stateless BlockRunner and a RoutedSeq per row. A step is one prefill of new
// tokens; each row's gates are decided block by block during it and stay fixed while that
// step decodes. A closed block does no work for that row; an open block runs once over the
// stacked open rows (gather, compute, scatter). K/V of positions that skipped a block are
// filled lazily ("backfill") the first time a later step of the row runs it, from the
// hidden state stored at the start of the run of skipped blocks at those positions.
//
// Rows are slots with stable indices, as a server needs: a row can be added, reset or
// removed between any two calls while the others keep their state, every call takes any
// subset of rows, and a row's cache stays until it is reset, so a later step extends it.
//
// Chunked prefill: a step may also run across several calls (begin_prefill, then
// advance_prefill with a budget), so that other rows decode in between. The step runs block
// by block over all its new tokens, exactly as a one-call prefill does: block l's gate needs
// the pool of the state entering l at every new token, which exists only once blocks < l
// have run on all of them. So a call advances a pending step by whole blocks, never by
// tokens, and the result (gates, K/V, logits) is the same as a one-call prefill.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "layerroute/adapters.h"
#include "layerroute/gates.h"
#include "layerroute/routed_seq.h"
#include "layerroute/router.h"
#include "model/block_runner.h"

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
  // `batch` rows, all active and empty. router may be null (no routers: Router mode opens
  // every block); it must outlive this.
  RoutedBatch(const Model& model, const RouterWeights* router, RouteOptions opt, int batch,
              int max_T, int max_chunk = 256);

  int batch() const { return int(rows_.size()); }  // row slots, active or not
  const Model& model() const { return runner_.model(); }
  int max_T() const { return max_T_; }
  // LoRA deltas for every row (nullptr: none). Not owned.
  void set_lora(const LowRankDeltas* deltas) { runner_.set_low_rank_deltas(deltas); }

  // A new empty row with the batch's default gates: a removed slot if there is one, else a
  // new slot. Returns its index.
  int add_row();
  // Frees the row's state (its cache memory too); the slot is inactive until add_row.
  void remove_row(int row);
  bool active(int row) const;
  void reset(int row);  // the row back to an empty sequence; others untouched
  void reset();         // every active row

  // Gate mode of a row (or all active rows) from its next step on.
  void set_gates(int row, const GateSpec& g);
  void set_gates(const GateSpec& g);

  // One step for every row with non-empty ids[row] (ids.size() == batch(); others sit it
  // out). Logits of each row's last new position, or of every new one with all_positions.
  void prefill(std::span<const std::span<const int>> ids, bool all_positions = false);
  // One token for each listed row (distinct active rows that have had a step), appended
  // to its current step under that step's gates; unlisted rows sit it out.
  void decode(std::span<const int> rows, std::span<const int> ids);
  // One token for every row (ids.size() == batch()).
  void decode(std::span<const int> ids);

  // Chunked prefill. begin_prefill starts one step for every row with non-empty ids[row],
  // as prefill does, and computes nothing yet; the rows are "prefilling" until the step
  // completes and take part in no other call meanwhile (reset or remove_row drops them).
  // advance_prefill runs pending steps, oldest first, block by block, until about `budget`
  // token rows of blocks have run (open blocks' rows and their backfill; a closed block
  // costs nothing); at least one block runs per call. Returns the rows whose step completed
  // in this call: their logits (last position) are ready, as after prefill.
  void begin_prefill(std::span<const std::span<const int>> ids);
  std::span<const int> advance_prefill(int64_t budget);
  bool prefilling(int row) const;
  bool prefill_pending() const { return !pending_.empty(); }

  // Logits of the row from the last call it took part in: [V] or [n, V].
  std::span<const float> logits(int row) const;
  const RoutedSeq& seq(int row) const;
  const std::vector<unsigned char>& gates(int row) const { return seq(row).gates; }
  // sigmoid(w.pool + b) per block of the current step (1/0 when not decided by a router).
  const std::vector<float>& soft(int row) const { return seq(row).soft; }
  int blocks_run(int row) const { return seq(row).blocks_run(); }
  int pos(int row) const { return seq(row).len(); }
  const RouteCounters& counters() const { return counters_; }
  void reset_counters();

 private:
  // A row's part in a group: rows [off, off + n) of the group's stacked hidden state.
  struct Part {
    int row = 0, off = 0, n = 0;
  };
  // Rows that run through the blocks together: one call's decode or prefill, or a pending
  // chunked prefill, which keeps its state between calls.
  struct Group {
    std::vector<Part> parts;
    std::vector<float> h;  // [N, H]: the state entering block `next`
    std::vector<int> pos;  // [N]
    int N = 0;
    int next = 0;  // first block not yet run
    bool decide = true;
  };
  // One stretch of stacked rows that belongs to one sequence.
  struct Piece {
    int row, buf_off, T;
    const int* positions;
  };

  RoutedSeq& row_seq(int row);
  void clear_logits();
  void check_part(int row, int n) const;  // before anything changes
  // Appends the row's new tokens to g: embedded, positioned, and a new step when deciding.
  void add_part(Group& g, int row, std::span<const int> ids);
  // Block l over the group; returns the token rows it computed (block + backfill).
  int64_t run_layer(Group& g, int l);
  // Logits (every new position, or each part's last) at offset `base` of logits_; the rows'
  // caches take the new positions.
  void finish(Group& g, bool all_positions, size_t base);
  void run_all(Group& g, bool all_positions);  // every block, then finish
  void drop_pending(int row);
  void decide_gate(RoutedSeq& s, int l, const float* h, int n);
  void backfill(int l, const std::vector<int>& open);
  // Runs fn(hidden, segments) over pieces packed into calls of at most max_chunk rows.
  template <typename Fn>
  void in_chunks(float* buf, const std::vector<Piece>& pieces, Fn fn);

  const RouterWeights* router_;
  RouteOptions opt_;
  int max_T_;
  BlockRunner runner_;
  std::vector<std::optional<RoutedSeq>> rows_;
  std::vector<std::pair<size_t, size_t>> logits_at_;  // [batch]: offset, size into logits_
  RouteCounters counters_;
  std::vector<Group> pending_;  // chunked prefills, oldest first
  std::vector<int> completed_;  // rows whose chunked step completed in the last call
  // Scratch reused across calls (grows only).
  Group once_;  // the group of a one-call prefill or decode
  std::vector<float> gather_, bf_, logits_, last_;
  std::vector<int> bf_pos_, open_, open_rows_, all_rows_;
  std::vector<Piece> pieces_;
  std::vector<KVSegment> segs_;
  std::vector<double> pool_sum_;  // [H]: pooling over the new tokens only
};

}  // namespace lr
