#pragma once
// Inference for one sequence on CPU: a BlockRunner (the compute) and the sequence's KV
// cache. Decoding allocates nothing. Routed inference (layerroute/routed_batch.h) drives
// the same runner block by block.
#include <span>
#include <vector>

#include "model/block_runner.h"

namespace lr {

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
  const Model& model() const { return runner_.model(); }
  KVCache& cache() { return cache_; }
  BlockRunner& runner() { return runner_; }

  // The runner's steps on this sequence's cache (tests of the building blocks).
  void embed(const int* ids, int T, float* hidden) const { runner_.embed(ids, T, hidden); }
  void run_block(int layer, float* hidden, const int* positions, int T);
  void fill_kv(int layer, const float* hidden, const int* positions, int T);
  void set_low_rank_deltas(const LowRankDeltas* d) { runner_.set_low_rank_deltas(d); }

 private:
  BlockRunner runner_;
  KVCache cache_;
  std::vector<float> hidden_, logits_, all_logits_;  // all_logits_ grows only when asked
  std::vector<int> positions_;
};

}  // namespace lr
