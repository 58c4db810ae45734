#pragma once
// Inference forward on CPU: a Model (config + weights, shared, read-only) and an
// InferenceSession (KV cache + scratch for one sequence). Decoding allocates nothing.
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/rope.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/low_rank_delta.h"
#include "model/weights.h"

namespace lr {

struct Model {
  ModelConfig config;
  ModelWeights weights;

  // DIR/config.json + model.safetensors (or the sharded index).
  static Model load(const std::string& dir, WeightsDType dtype = WeightsDType::F32);
};

// Rows of one sequence inside a multi-sequence block call: T stacked rows at the given
// positions, whose K/V live in `cache` (each sequence of a batch has its own cache).
struct KVSegment {
  KVCache* cache = nullptr;
  const int* positions = nullptr;
  int T = 0;
};

class InferenceSession {
 public:
  // max_T: longest sequence (KV cache rows). max_chunk: most positions one block call
  // processes; longer prefills are split into chunks of this size.
  InferenceSession(const Model& model, int max_T, int max_chunk = 256);

  // Appends ids at positions pos()..pos()+n-1 and returns the logits of the last one
  // [vocab], or with all_positions those of every new position [n, vocab].
  std::span<const float> prefill(std::span<const int> ids, bool all_positions = false);
  // prefill of one token.
  std::span<const float> decode(int id);

  int pos() const { return cache_.len; }  // tokens in the cache
  void reset() { cache_.reset(); }
  const Model& model() const { return model_; }
  KVCache& cache() { return cache_; }

  // --- building blocks, for routing (which skips blocks) ---
  // hidden [T, H] = embedding rows of ids.
  void embed(const int* ids, int T, float* hidden) const;
  // One transformer block in place on hidden [T, H] (T <= max_chunk) at the given positions:
  // writes this layer's K/V rows at those positions, attends causally to rows 0..pos.
  void run_block(int layer, float* hidden, const int* positions, int T);
  // logits [T, vocab] = RMSNorm(hidden; final norm) head^T, for T <= max_chunk rows.
  void final_logits(const float* hidden, int T, float* logits);
  // Only this layer's K/V rows at the given positions, from the hidden state entering the
  // block there (the lazy "backfill" of positions whose block was skipped).
  void fill_kv(int layer, const float* hidden, const int* positions, int T);
  int max_chunk() const { return max_chunk_; }

  // The same two entry points over rows of several sequences stacked in hidden (segment
  // order, sum of T <= max_chunk): projections run once over all rows, so each weight is
  // read once for the whole batch; attention runs per segment over that segment's cache.
  void run_block(int layer, float* hidden, std::span<const KVSegment> segs);
  void fill_kv(int layer, const float* hidden, std::span<const KVSegment> segs);

  // LoRA: y += scale (x A^T) B^T on the projections that have an active delta. nullptr
  // (the default) or a table without active deltas costs nothing. Not owned.
  void set_low_rank_deltas(const LowRankDeltas* deltas);

 private:
  // The one place a block's projection is applied: a LoRA delta hooks in here.
  void project(int layer, Proj p, const float* x, int T, float* y, bool accumulate = false);
  // Several projections of the same x (q/k/v, gate/up) in one GEMM, then their deltas.
  void project_many(int layer, const Proj* ps, int count, const float* x, int T, float* const* ys);
  void add_delta(int layer, Proj p, const float* x, int T, float* y);
  // RMSNorm into norm_, K/V (+RoPE) into each segment's cache rows; Q into q_ if asked.
  // Returns the positions of all rows (segment order).
  const int* attention_inputs(int layer, const float* hidden, std::span<const KVSegment> segs,
                              bool want_q, int* T_total);

  const Model& model_;
  int max_chunk_;
  KVCache cache_;
  RopeTable rope_;
  // Scratch sized for max_chunk rows, allocated once.
  std::vector<float> hidden_, norm_, q_, k_, v_, att_, gate_, up_, logits_;
  std::vector<int> positions_, seg_positions_;
  const LowRankDeltas* deltas_ = nullptr;
  std::vector<float> lora_u_;      // [max_chunk, max rank]: x A^T
  std::vector<float> all_logits_;  // only grows when all positions are asked for
};

}  // namespace lr
