#include "model/forward.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/swiglu.h"

namespace lr {

InferenceSession::InferenceSession(const Model& model, int max_T, int max_chunk)
    : model_(model), max_chunk_(std::min(max_chunk, max_T)) {
  const ModelConfig& c = model.config;
  LR_CHECK(max_T > 0 && max_chunk_ > 0, "session: max_T ", max_T, " and max_chunk ", max_chunk,
           " must be positive");
  LR_CHECK(c.head_dim <= kMaxHeadDim, "session: head_dim ", c.head_dim, " > ", kMaxHeadDim);
  cache_ = KVCache(c.n_layers, c.kv_dim(), max_T);
  rope_ = make_rope_table(max_T, c.head_dim, c.rope_theta);
  const size_t T = size_t(max_chunk_);
  hidden_.resize(T * c.hidden);
  norm_.resize(T * c.hidden);
  q_.resize(T * c.q_dim());
  k_.resize(T * c.kv_dim());
  v_.resize(T * c.kv_dim());
  att_.resize(T * c.q_dim());
  gate_.resize(T * c.intermediate);
  up_.resize(T * c.intermediate);
  logits_.resize(size_t(c.vocab));
  positions_.resize(T);
}

void InferenceSession::embed(const int* ids, int T, float* hidden) const {
  const ModelConfig& c = model_.config;
  for (int t = 0; t < T; ++t) {
    LR_CHECK(ids[t] >= 0 && ids[t] < c.vocab, "token id ", ids[t], " outside the vocabulary [0, ",
             c.vocab, ")");
    model_.weights.embed.row_f32(ids[t], hidden + size_t(t) * c.hidden);
  }
}

void InferenceSession::project(int layer, Proj p, const float* x, int T, float* y,
                               bool accumulate) {
  const BlockWeights& b = model_.weights.layers[layer];
  const Linear* L = nullptr;
  switch (p) {
    case Proj::Q:
      L = &b.q;
      break;
    case Proj::K:
      L = &b.k;
      break;
    case Proj::V:
      L = &b.v;
      break;
    case Proj::O:
      L = &b.o;
      break;
    case Proj::Gate:
      L = &b.gate;
      break;
    case Proj::Up:
      L = &b.up;
      break;
    case Proj::Down:
      L = &b.down;
      break;
  }
  apply_linear(*L, x, T, y, accumulate);
}

void InferenceSession::attention_inputs(int l, const float* h, const int* pos, int T, bool want_q) {
  const ModelConfig& c = model_.config;
  LR_CHECK(T <= max_chunk_, "block ", l, ": ", T, " rows > max_chunk ", max_chunk_);
  const int kvd = c.kv_dim();
  rmsnorm(h, model_.weights.layers[l].ln_in.data(), norm_.data(), T, c.hidden, c.rms_eps);
  if (want_q) {
    project(l, Proj::Q, norm_.data(), T, q_.data());
    rope_apply(q_.data(), T, c.q_dim(), c.n_heads, c.head_dim, pos, rope_);
  }
  project(l, Proj::K, norm_.data(), T, k_.data());
  project(l, Proj::V, norm_.data(), T, v_.data());
  rope_apply(k_.data(), T, kvd, c.n_kv_heads, c.head_dim, pos, rope_);
  float* kc = cache_.k(l);
  float* vc = cache_.v(l);
  for (int t = 0; t < T; ++t) {
    LR_CHECK(pos[t] >= 0 && pos[t] < cache_.max_T(), "block ", l, ": position ", pos[t],
             " outside the cache [0, ", cache_.max_T(), ")");
    std::memcpy(kc + size_t(pos[t]) * kvd, k_.data() + size_t(t) * kvd, sizeof(float) * kvd);
    std::memcpy(vc + size_t(pos[t]) * kvd, v_.data() + size_t(t) * kvd, sizeof(float) * kvd);
  }
}

void InferenceSession::fill_kv(int l, const float* hidden, const int* pos, int T) {
  attention_inputs(l, hidden, pos, T, /*want_q=*/false);
}

void InferenceSession::run_block(int l, float* h, const int* pos, int T) {
  const ModelConfig& c = model_.config;
  const BlockWeights& b = model_.weights.layers[l];
  const int H = c.hidden;
  float* kc = cache_.k(l);
  float* vc = cache_.v(l);

  // Attention half: h += o_proj(attn(rope(q), rope(k), v)).
  attention_inputs(l, h, pos, T, /*want_q=*/true);
  attention_causal(q_.data(), T, pos, kc, vc, c.n_heads, c.n_kv_heads, c.head_dim, att_.data());
  project(l, Proj::O, att_.data(), T, h, /*accumulate=*/true);

  // MLP half: h += down(silu(gate(m)) * up(m)).
  rmsnorm(h, b.ln_post.data(), norm_.data(), T, H, c.rms_eps);
  project(l, Proj::Gate, norm_.data(), T, gate_.data());
  project(l, Proj::Up, norm_.data(), T, up_.data());
  silu_mul(gate_.data(), up_.data(), gate_.data(), size_t(T) * c.intermediate);
  project(l, Proj::Down, gate_.data(), T, h, /*accumulate=*/true);
}

void InferenceSession::final_logits(const float* hidden, int T, float* logits) {
  const ModelConfig& c = model_.config;
  LR_CHECK(T <= max_chunk_, "final_logits: ", T, " rows > max_chunk ", max_chunk_);
  rmsnorm(hidden, model_.weights.norm.data(), norm_.data(), T, c.hidden, c.rms_eps);
  apply_linear(model_.weights.head(), norm_.data(), T, logits);
}

std::span<const float> InferenceSession::prefill(std::span<const int> ids, bool all_positions) {
  const ModelConfig& c = model_.config;
  const int n = int(ids.size());
  LR_CHECK(n > 0, "prefill: no tokens");
  LR_CHECK(cache_.len + n <= cache_.max_T(), "context full: ", cache_.len, " + ", n,
           " tokens > max ", cache_.max_T());
  if (all_positions && all_logits_.size() < size_t(n) * c.vocab)
    all_logits_.resize(size_t(n) * c.vocab);
  for (int off = 0; off < n; off += max_chunk_) {
    const int T = std::min(max_chunk_, n - off);
    for (int t = 0; t < T; ++t) positions_[t] = cache_.len + t;
    embed(ids.data() + off, T, hidden_.data());
    for (int l = 0; l < c.n_layers; ++l) run_block(l, hidden_.data(), positions_.data(), T);
    cache_.len += T;
    if (all_positions) {
      final_logits(hidden_.data(), T, all_logits_.data() + size_t(off) * c.vocab);
    } else if (off + T == n) {
      // Only the last position's logits are needed: the LM head is the biggest matrix.
      final_logits(hidden_.data() + size_t(T - 1) * c.hidden, 1, logits_.data());
    }
  }
  if (all_positions) return {all_logits_.data(), size_t(n) * c.vocab};
  return {logits_.data(), size_t(c.vocab)};
}

std::span<const float> InferenceSession::decode(int id) {
  return prefill({&id, 1});
}

}  // namespace lr
