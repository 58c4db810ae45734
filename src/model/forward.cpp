#include "model/forward.h"

#include <algorithm>

#include "core/error.h"

namespace lr {

InferenceSession::InferenceSession(const Model& model, int max_T, int max_chunk)
    : runner_(model, max_T, max_chunk) {
  const ModelConfig& c = model.config;
  cache_ = KVCache(c.n_layers, c.kv_dim(), max_T);
  const size_t T = size_t(runner_.max_chunk());
  hidden_.resize(T * c.hidden);
  logits_.resize(size_t(c.vocab));
  positions_.resize(T);
}

void InferenceSession::run_block(int l, float* h, const int* pos, int T) {
  const KVSegment seg{&cache_, pos, T};
  runner_.run_block(l, h, {&seg, 1});
}

void InferenceSession::fill_kv(int l, const float* hidden, const int* pos, int T) {
  const KVSegment seg{&cache_, pos, T};
  runner_.fill_kv(l, hidden, {&seg, 1});
}

std::span<const float> InferenceSession::prefill(std::span<const int> ids, bool all_positions) {
  const ModelConfig& c = model().config;
  const int n = int(ids.size()), C = runner_.max_chunk();
  LR_CHECK(n > 0, "prefill: no tokens");
  LR_CHECK(cache_.len + n <= cache_.max_T(), "context full: ", cache_.len, " + ", n,
           " tokens > max ", cache_.max_T());
  if (all_positions && all_logits_.size() < size_t(n) * c.vocab)
    all_logits_.resize(size_t(n) * c.vocab);
  for (int off = 0; off < n; off += C) {
    const int T = std::min(C, n - off);
    for (int t = 0; t < T; ++t) positions_[size_t(t)] = cache_.len + t;
    runner_.embed(ids.data() + off, T, hidden_.data());
    for (int l = 0; l < c.n_layers; ++l) run_block(l, hidden_.data(), positions_.data(), T);
    cache_.len += T;
    if (all_positions) {
      runner_.final_logits(hidden_.data(), T, all_logits_.data() + size_t(off) * c.vocab);
    } else if (off + T == n) {
      // Only the last position's logits are needed: the LM head is the biggest matrix.
      runner_.final_logits(hidden_.data() + size_t(T - 1) * c.hidden, 1, logits_.data());
    }
  }
  if (all_positions) return {all_logits_.data(), size_t(n) * c.vocab};
  return {logits_.data(), size_t(c.vocab)};
}

std::span<const float> InferenceSession::decode(int id) {
  return prefill({&id, 1});
}

}  // namespace lr
