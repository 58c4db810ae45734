#include "model/block_runner.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/swiglu.h"

namespace lr {

BlockRunner::BlockRunner(const Model& model, int max_T, int max_chunk)
    : model_(model), max_T_(max_T), max_chunk_(std::min(max_chunk, max_T)) {
  const ModelConfig& c = model.config;
  LR_CHECK(max_T > 0 && max_chunk_ > 0, "session: max_T ", max_T, " and max_chunk ", max_chunk,
           " must be positive");
  LR_CHECK(c.head_dim <= kMaxHeadDim, "session: head_dim ", c.head_dim, " > ", kMaxHeadDim);
  rope_ = make_rope_table(max_T, c.head_dim, c.rope_theta);
  const size_t T = size_t(max_chunk_);
  norm_.resize(T * c.hidden);
  q_.resize(T * c.q_dim());
  k_.resize(T * c.kv_dim());
  v_.resize(T * c.kv_dim());
  att_.resize(T * c.q_dim());
  gate_.resize(T * c.intermediate);
  up_.resize(T * c.intermediate);
  seg_positions_.resize(T);
}

void BlockRunner::set_low_rank_deltas(const LowRankDeltas* d) {
  deltas_ = nullptr;
  if (!d || !d->any_active()) return;  // keep the plain path free of any per-call check cost
  const ModelConfig& c = model_.config;
  LR_CHECK(d->n_layers == c.n_layers, "low-rank deltas: ", d->n_layers, " layers, model has ",
           c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& b = model_.weights.layers[l];
    const Linear* Ls[kNumProj] = {&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down};
    for (int p = 0; p < kNumProj; ++p) {
      const LowRankDelta& x = d->at(l, Proj(p));
      if (!x.active()) continue;
      LR_CHECK(x.in == Ls[p]->cols && x.out == Ls[p]->rows, "low-rank delta of layer ", l,
               " projection ", p, ": [", x.out, " x ", x.in, "], the weight is [", Ls[p]->rows,
               " x ", Ls[p]->cols, "]");
    }
  }
  lora_u_.resize(size_t(max_chunk_) * size_t(d->max_rank()));
  deltas_ = d;
}

void BlockRunner::embed(const int* ids, int T, float* hidden) const {
  const ModelConfig& c = model_.config;
  for (int t = 0; t < T; ++t) {
    LR_CHECK(ids[t] >= 0 && ids[t] < c.vocab, "token id ", ids[t], " outside the vocabulary [0, ",
             c.vocab, ")");
    model_.weights.embed.row_f32(ids[t], hidden + size_t(t) * c.hidden);
  }
}

namespace {

const Linear& weight_of(const BlockWeights& b, Proj p) {
  switch (p) {
    case Proj::Q:
      return b.q;
    case Proj::K:
      return b.k;
    case Proj::V:
      return b.v;
    case Proj::O:
      return b.o;
    case Proj::Gate:
      return b.gate;
    case Proj::Up:
      return b.up;
    case Proj::Down:
      break;
  }
  return b.down;
}

}  // namespace

void BlockRunner::project(int layer, Proj p, const float* x, float* y, bool accumulate) {
  const Linear& L = weight_of(model_.weights.layers[layer], p);
  for (const RowRun& r : runs_) {
    const float* xr = x + size_t(r.off) * L.cols;
    float* yr = y + size_t(r.off) * L.rows;
    apply_linear(L, xr, r.n, yr, accumulate, r.k);
    add_delta(layer, p, xr, r.n, yr, r.k);
  }
}

void BlockRunner::project_many(int layer, const Proj* ps, int count, const float* x,
                               float* const* ys) {
  constexpr int kMax = 4;
  LR_CHECK(count <= kMax, "project_many: ", count, " projections");
  const Linear* Ls[kMax] = {};
  for (int i = 0; i < count; ++i) Ls[i] = &weight_of(model_.weights.layers[layer], ps[i]);
  for (const RowRun& r : runs_) {
    const float* xr = x + size_t(r.off) * Ls[0]->cols;
    float* yr[kMax] = {};
    for (int i = 0; i < count; ++i) yr[i] = ys[i] + size_t(r.off) * Ls[i]->rows;
    apply_linears(Ls, count, xr, r.n, yr, r.k);
    for (int i = 0; i < count; ++i) add_delta(layer, ps[i], xr, r.n, yr[i], r.k);
  }
}

void BlockRunner::add_delta(int layer, Proj p, const float* x, int T, float* y, RowKernel k) {
  if (!deltas_) return;
  const LowRankDelta& d = deltas_->at(layer, p);
  if (!d.active()) return;
  // Two thin products instead of a merged W + sBA, so the frozen weights stay shared.
  float* u = lora_u_.data();
  const bool gemv = k == RowKernel::Gemv;  // as apply_linear: the one-row kernel for any T
  if (gemv)
    gemv_f32(d.A, d.rank, d.in, nullptr, x, T, u);
  else
    linear_f32(x, T, d.in, d.A, d.rank, nullptr, u);
  for (size_t i = 0; i < size_t(T) * d.rank; ++i) u[i] *= d.scale;
  if (gemv)
    gemv_f32(d.B, d.out, d.rank, nullptr, u, T, y, /*accumulate=*/true);
  else
    linear_f32(u, T, d.rank, d.B, d.out, nullptr, y, /*accumulate=*/true);
}

void BlockRunner::attention_inputs(int l, const float* h, std::span<const KVSegment> segs,
                                   bool want_q, int* T_total) {
  const ModelConfig& c = model_.config;
  int T = 0;
  runs_.clear();
  for (const KVSegment& s : segs) {
    // A segment's rows take the kernel a call of their own would take.
    const RowKernel k = s.T < kGemmMinRows ? RowKernel::Gemv : RowKernel::ByRows;
    if (!runs_.empty() && runs_.back().k == k)
      runs_.back().n += s.T;
    else
      runs_.push_back(RowRun{T, s.T, k});
    T += s.T;
  }
  *T_total = T;
  LR_CHECK(T <= max_chunk_, "block ", l, ": ", T, " rows > max_chunk ", max_chunk_);
  // One segment (the unbatched path) uses its positions as they are.
  const int* pos = segs.size() == 1 ? segs[0].positions : seg_positions_.data();
  if (segs.size() != 1) {
    int off = 0;
    for (const KVSegment& s : segs)
      for (int t = 0; t < s.T; ++t) seg_positions_[size_t(off++)] = s.positions[t];
  }
  const int kvd = c.kv_dim();
  rmsnorm(h, model_.weights.layers[l].ln_in.data(), norm_.data(), T, c.hidden, c.rms_eps);
  if (want_q) {
    const Proj ps[] = {Proj::Q, Proj::K, Proj::V};
    float* const ys[] = {q_.data(), k_.data(), v_.data()};
    project_many(l, ps, 3, norm_.data(), ys);
    rope_apply(q_.data(), T, c.q_dim(), c.n_heads, c.head_dim, pos, rope_);
  } else {
    const Proj ps[] = {Proj::K, Proj::V};
    float* const ys[] = {k_.data(), v_.data()};
    project_many(l, ps, 2, norm_.data(), ys);
  }
  rope_apply(k_.data(), T, kvd, c.n_kv_heads, c.head_dim, pos, rope_);
  int row = 0;
  for (const KVSegment& s : segs) {
    LR_CHECK(s.cache->kv_dim() == kvd && s.cache->n_layers() == c.n_layers, "block ", l,
             ": KV cache shape does not match the model");
    float* kc = s.cache->k(l);
    float* vc = s.cache->v(l);
    for (int t = 0; t < s.T; ++t, ++row) {
      const int p = s.positions[t];
      LR_CHECK(p >= 0 && p < s.cache->max_T(), "block ", l, ": position ", p,
               " outside the cache [0, ", s.cache->max_T(), ")");
      kv_store(kc, vc, s.cache->capacity(), c.n_kv_heads, c.head_dim, p,
               k_.data() + size_t(row) * kvd, v_.data() + size_t(row) * kvd);
    }
  }
}

void BlockRunner::fill_kv(int l, const float* hidden, std::span<const KVSegment> segs) {
  int T = 0;
  attention_inputs(l, hidden, segs, /*want_q=*/false, &T);
}

void BlockRunner::run_block(int l, float* h, std::span<const KVSegment> segs) {
  const ModelConfig& c = model_.config;
  const BlockWeights& b = model_.weights.layers[l];
  const int H = c.hidden, qd = c.q_dim();

  // Attention half: h += o_proj(attn(rope(q), rope(k), v)), attention per sequence.
  int T = 0;
  attention_inputs(l, h, segs, /*want_q=*/true, &T);
  int row = 0;
  for (const KVSegment& s : segs) {
    attention_causal(q_.data() + size_t(row) * qd, s.T, s.positions, s.cache->k(l), s.cache->v(l),
                     s.cache->capacity(), c.n_heads, c.n_kv_heads, c.head_dim,
                     att_.data() + size_t(row) * qd);
    row += s.T;
  }
  project(l, Proj::O, att_.data(), h, /*accumulate=*/true);

  // MLP half: h += down(silu(gate(m)) * up(m)).
  rmsnorm(h, b.ln_post.data(), norm_.data(), T, H, c.rms_eps);
  const Proj ps[] = {Proj::Gate, Proj::Up};
  float* const ys[] = {gate_.data(), up_.data()};
  project_many(l, ps, 2, norm_.data(), ys);
  silu_mul(gate_.data(), up_.data(), gate_.data(), size_t(T) * c.intermediate);
  project(l, Proj::Down, gate_.data(), h, /*accumulate=*/true);
}

void BlockRunner::final_logits(const float* hidden, int T, float* logits, RowKernel k) {
  const ModelConfig& c = model_.config;
  LR_CHECK(T <= max_chunk_, "final_logits: ", T, " rows > max_chunk ", max_chunk_);
  rmsnorm(hidden, model_.weights.norm.data(), norm_.data(), T, c.hidden, c.rms_eps);
  apply_linear(model_.weights.head(), norm_.data(), T, logits, false, k);
}

}  // namespace lr
