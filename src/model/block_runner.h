#pragma once
// The transformer's compute, with no sequence state: embedding, one block over rows of one
// or several sequences (each segment's K/V live in that sequence's cache), the K/V-only
// "backfill" of a block, and the final norm + LM head. It owns scratch sized for max_chunk
// rows and the RoPE table for max_T positions, nothing else; sequences (their caches and
// lengths) belong to the caller, so one runner serves every row of a batch.
#include <span>
#include <vector>

#include "kernels/cpu/rope.h"
#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/low_rank_delta.h"
#include "model/model.h"

namespace lr {

// Rows of one sequence inside a block call: T stacked rows at the given positions, whose
// K/V live in `cache`.
struct KVSegment {
  KVCache* cache = nullptr;
  const int* positions = nullptr;
  int T = 0;
};

class BlockRunner {
 public:
  // max_T: highest position + 1 the runner will see. max_chunk: most rows one block call
  // takes (the scratch size).
  BlockRunner(const Model& model, int max_T, int max_chunk = 256);

  const Model& model() const { return model_; }
  int max_chunk() const { return max_chunk_; }
  int max_T() const { return max_T_; }

  // hidden [T, H] = embedding rows of ids; an id outside the vocabulary throws.
  void embed(const int* ids, int T, float* hidden) const;
  // One block in place on hidden [sum of T, H] (<= max_chunk rows, segment order):
  // projections run once over all rows, so each weight is read once for the whole batch;
  // each segment's K/V rows are written at its positions and its queries attend causally
  // over that segment's cache. Each segment's rows take the kernel they would take in a
  // call of their own (the GEMV below kGemmMinRows rows, model/linear.h): consecutive
  // segments of one kind share a call, so a batch of decode rows is one GEMV call, and each
  // row's result is what its sequence alone would get. (A segment split across calls, as a
  // prompt longer than max_chunk is, takes each piece's kernel.)
  void run_block(int layer, float* hidden, std::span<const KVSegment> segs);
  // Only this block's K/V rows at the segments' positions, from the hidden state entering
  // the block there (what run_block writes, without the rest of the block).
  void fill_kv(int layer, const float* hidden, std::span<const KVSegment> segs);
  // logits [T, vocab] = RMSNorm(hidden; final norm) head^T, for T <= max_chunk rows.
  // RowKernel::Gemv: rows of different sequences, each as its own one-row call computes it.
  void final_logits(const float* hidden, int T, float* logits, RowKernel k = RowKernel::ByRows);

  // LoRA: y += scale (x A^T) B^T on the projections that have an active delta. nullptr
  // (the default) or a table without active deltas costs nothing. Not owned.
  void set_low_rank_deltas(const LowRankDeltas* deltas);

 private:
  // The one place a block's projection is applied: a LoRA delta hooks in here.
  // Over the rows of the call's runs (runs_).
  void project(int layer, Proj p, const float* x, float* y, bool accumulate = false);
  // Several projections of the same x (q/k/v, gate/up) in one GEMM, then their deltas.
  void project_many(int layer, const Proj* ps, int count, const float* x, float* const* ys);
  void add_delta(int layer, Proj p, const float* x, int T, float* y, RowKernel k);
  // RMSNorm into norm_, K/V (+RoPE) into each segment's cache rows; Q into q_ if asked.
  void attention_inputs(int layer, const float* hidden, std::span<const KVSegment> segs,
                        bool want_q, int* T_total);

  const Model& model_;
  int max_T_, max_chunk_;
  RopeTable rope_;
  // Scratch sized for max_chunk rows, allocated once.
  std::vector<float> norm_, q_, k_, v_, att_, gate_, up_;
  std::vector<int> seg_positions_;
  // The call's rows as runs of consecutive segments that take the same kernel.
  struct RowRun {
    int off = 0, n = 0;
    RowKernel k = RowKernel::ByRows;
  };
  std::vector<RowRun> runs_;
  const LowRankDeltas* deltas_ = nullptr;
  std::vector<float> lora_u_;  // [max_chunk, max rank]: x A^T
};

}  // namespace lr
