// TrainGraph: construction, arena, forward pass and metrics. Backward is in
// train_graph_backward.cpp.
#include "layerroute/train_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "layerroute/ops.h"
#include "layerroute/ops_util.h"
#include "layerroute/rng.h"

namespace lr {

TrainGraph::TrainGraph(TrainWeights& weights, LoraWeights* lora, RouterWeights* routers,
                       const TrainOptions& opts)
    : w_(weights), lora_(lora), router_(routers), opts_(opts) {
  const ModelConfig& c = w_.cfg;
  LR_CHECK(int(w_.blocks.size()) == c.n_layers, "train graph: weights have ", w_.blocks.size(),
           " blocks, config says ", c.n_layers);
  LR_CHECK(!routes() || router_,
           "train graph: routing needs router weights (or TrainGate::AllOpen/Fixed)");
  LR_CHECK(opts_.gate_mode != TrainGate::Fixed || int(opts_.fixed_mask.size()) == c.n_layers,
           "train graph: the fixed gate mask has ", opts_.fixed_mask.size(), " entries, the model ",
           c.n_layers, " blocks");
  LR_CHECK(opts_.ce_chunk > 0, "train graph: ce_chunk must be positive");
  if (router_)
    LR_CHECK(router_->n_layers == c.n_layers && router_->hidden == c.hidden,
             "train graph: router weights do not match the model config");
  if (lora_) {
    LR_CHECK(lora_->n_layers == c.n_layers, "train graph: LoRA has ", lora_->n_layers,
             " layers, model ", c.n_layers);
    glora_ = LoraWeights::zeros(c, lora_->cfg);
  }
  if (router_ && routes()) grouter_ = RouterWeights::zeros(c);
  if (opts_.trainable == Trainable::All) gw_ = TrainWeights::zeros(c);
}

void TrainGraph::reserve(int rows, int seq) {
  if (rows <= cap_rows_ && seq <= cap_T_) return;
  cap_rows_ = std::max(rows, cap_rows_);
  cap_T_ = std::max(seq, cap_T_);
  const ModelConfig& c = w_.cfg;
  const size_t N = size_t(cap_rows_) * size_t(cap_T_), H = size_t(c.hidden), Q = size_t(c.q_dim()),
               K = size_t(c.kv_dim()), I = size_t(c.intermediate), V = size_t(c.vocab),
               C = size_t(opts_.ce_chunk);
  const size_t R = lora_ ? size_t(lora_->cfg.rank) : 0;
  const size_t max_in = std::max({H, Q, I});
  const int L = c.n_layers;
  acts_.assign(size_t(L), LayerActs{});
  // Two passes: the first (empty arena) only counts, the second hands out pointers.
  arena_.clear();
  for (int pass = 0; pass < 2; ++pass) {
    size_t off = 0;
    auto take = [&](size_t n) -> float* {
      float* p = arena_.empty() ? nullptr : arena_.data() + off;
      off += (n + 15) & ~size_t(15);  // 64-byte aligned slices
      return p;
    };
    for (int l = 0; l < L; ++l) {
      LayerActs& A = acts_[size_t(l)];
      A.h_in = take(N * H), A.a = take(N * H), A.inv_in = take(N);
      A.q = take(N * Q), A.k = take(N * K), A.v = take(N * K), A.att = take(N * Q);
      A.lse = take(size_t(cap_rows_) * size_t(c.n_heads) * size_t(cap_T_));
      A.h1 = take(N * H), A.m = take(N * H), A.inv_post = take(N);
      A.gate = take(N * I), A.up = take(N * I), A.bout = take(N * H);
      for (int t = 0; t < kNumLoraTargets; ++t)
        A.u[t] = (lora_ && !lora_->at(l, LoraTarget(t)).empty()) ? take(N * R) : nullptr;
      A.pool = take(size_t(cap_rows_) * H);
    }
    h_final_ = take(N * H), hf_ = take(N * H), inv_final_ = take(N), dhf_ = take(N * H);
    act_ = take(N * I), scratch_in_ = take(N * max_in),
    scratch_r_ = take(N * std::max<size_t>(R, 1));
    attn_scratch_ =
        take(ops::attention_scratch_floats(cap_rows_, cap_T_, c.n_heads, c.n_kv_heads, c.head_dim));
    ce_x_ = take(C * H), ce_dx_ = take(C * H), ce_logits_ = take(C * V);
    dres_ = take(N * H), db_ = take(N * H), dm_ = take(N * H), da_ = take(N * H);
    dact_ = take(N * I), dgate_ = take(N * I), dup_ = take(N * I);
    dq_ = take(N * Q), dk_ = take(N * K), dv_ = take(N * K), datt_ = take(N * Q);
    partial_ = take(N);
    if (pass == 0) arena_.assign(off, 0.f);
  }
  row_loss_.assign(C, 0.0);
  rope_ = make_rope_table(cap_T_, c.head_dim, c.rope_theta);
}

ops::LoraOp TrainGraph::lora_op(int layer, LoraTarget t, bool train_dropout,
                                long first_token) const {
  ops::LoraOp op;
  if (!lora_) return op;
  const LoraAdapter& a = lora_->at(layer, t);
  if (a.empty()) return op;
  LoraAdapter& g = const_cast<LoraWeights&>(glora_).at(layer, t);
  op.A = a.A.data(), op.B = a.B.data(), op.rank = a.rank, op.scale = lora_->cfg.scale();
  op.dA = g.A.data(), op.dB = g.B.data();
  if (train_dropout && lora_->cfg.dropout > 0.f) {
    op.dropout = lora_->cfg.dropout;
    op.key = mix_key(mix_key(mix_key(opts_.seed, step_), uint64_t(layer)), uint64_t(t));
    op.first = uint64_t(first_token) * uint64_t(a.in);
  }
  return op;
}

// ---- forward, by stages ----

// Inputs: the batch's ids, masks and targets; the embedding rows into block 0's input.
void TrainGraph::forward_inputs(const Batch& batch) {
  const ModelConfig& c = w_.cfg;
  const size_t n = size_t(batch.rows) * size_t(batch.seq);
  rows_ = batch.rows, T_ = batch.seq, N_ = long(n);
  ids_ = batch.ids, mask_ = batch.attn_mask;
  labels_.assign(size_t(rows_), 0.f);
  for (int b = 0; b < rows_ && size_t(b) < batch.labels.size(); ++b)
    labels_[size_t(b)] = batch.labels[size_t(b)] == StepLabel::ToolCall ? 1.f : 0.f;
  for (size_t i = 0; i < n; ++i)
    LR_CHECK(ids_[i] >= 0 && ids_[i] < c.vocab, "train graph: token id ", ids_[i], " at row ",
             i / size_t(T_), " position ", i % size_t(T_), " outside the vocabulary ", c.vocab);
  // Position t predicts ids[t+1] where loss_mask[t+1] is set.
  tgt_pos_.clear(), tgt_id_.clear();
  for (int b = 0; b < rows_; ++b)
    for (int t = 0; t + 1 < T_; ++t)
      if (batch.loss_mask[size_t(b * T_ + t + 1)]) {
        tgt_pos_.push_back(b * T_ + t);
        tgt_id_.push_back(ids_[size_t(b * T_ + t + 1)]);
      }
  soft_.assign(size_t(c.n_layers) * size_t(rows_), 0.f);
  gate_.assign(size_t(c.n_layers) * size_t(rows_), 0.f);
  const int H = c.hidden;
  float* h0 = acts_[0].h_in;
  ops::parallel_each(N_, [&](long i) {
    std::memcpy(h0 + i * H, w_.embed.data() + long(ids_[size_t(i)]) * H, sizeof(float) * size_t(H));
  });
}

// The gates of block `layer` for every row, from the state entering it.
void TrainGraph::forward_router(int layer) {
  const int H = w_.cfg.hidden;
  float* soft = soft_.data() + size_t(layer) * size_t(rows_);
  float* gate = gate_.data() + size_t(layer) * size_t(rows_);
  if (!routes()) {
    const float g =
        opts_.gate_mode == TrainGate::Fixed && !opts_.fixed_mask[size_t(layer)] ? 0.f : 1.f;
    std::fill(soft, soft + rows_, g);
    std::fill(gate, gate + rows_, g);
    return;
  }
  const LayerActs& A = acts_[size_t(layer)];
  z_.resize(size_t(rows_));
  ops::router_fwd(A.h_in, mask_.data(), opts_.pooling == RouterPooling::MaskedMean, rows_, T_, H,
                  router_->w.data() + long(layer) * H, router_->b[size_t(layer)], A.pool,
                  z_.data());
  for (int b = 0; b < rows_; ++b) {
    soft[b] = router_soft(z_[size_t(b)], opts_.logit_offset);
    gate[b] = gate_open(soft[b], opts_.threshold) ? 1.f : 0.f;  // hard; STE in backward
  }
}

// One block: router, B(h) (always computed: the STE gradient needs it), gate.
void TrainGraph::forward_block(int l, bool drop) {
  const ModelConfig& c = w_.cfg;
  const int L = c.n_layers, H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate;
  LayerActs& A = acts_[size_t(l)];
  const TrainBlockWeights& bw = w_.blocks[size_t(l)];
  float* h_next = l + 1 < L ? acts_[size_t(l + 1)].h_in : h_final_;
  forward_router(l);
  auto lop = [&](LoraTarget t) { return lora_op(l, t, drop); };
  auto u = [&](LoraTarget t) { return A.u[int(t)]; };
  const ops::LoraOp lq = lop(LoraTarget::Q), lk = lop(LoraTarget::K), lv = lop(LoraTarget::V),
                    lo = lop(LoraTarget::O), lg = lop(LoraTarget::Gate), lu = lop(LoraTarget::Up),
                    ld = lop(LoraTarget::Down);
  // Attention half: h1 = h + o_proj(attn(rope(q(a)), rope(k(a)), v(a))), a = norm(h).
  ops::rmsnorm_fwd(A.h_in, bw.in_norm.data(), c.rms_eps, N_, H, A.a, A.inv_in);
  const float* bq = c.qkv_bias ? bw.bq.data() : nullptr;
  const float* bk = c.qkv_bias ? bw.bk.data() : nullptr;
  const float* bv = c.qkv_bias ? bw.bv.data() : nullptr;
  ops::linear_fwd(A.a, N_, H, Q, bw.wq.data(), bq, &lq, false, A.q, u(LoraTarget::Q), scratch_in_, frozen_mm());
  ops::linear_fwd(A.a, N_, H, K, bw.wk.data(), bk, &lk, false, A.k, u(LoraTarget::K), scratch_in_, frozen_mm());
  ops::linear_fwd(A.a, N_, H, K, bw.wv.data(), bv, &lv, false, A.v, u(LoraTarget::V), scratch_in_, frozen_mm());
  rope_rows(A.q, rows_, T_, c.n_heads, c.head_dim, rope_);
  rope_rows(A.k, rows_, T_, c.n_kv_heads, c.head_dim, rope_);
  ops::attention_fwd(A.q, A.k, A.v, mask_.data(), rows_, T_, c.n_heads, c.n_kv_heads, c.head_dim,
                     A.att, A.lse, attn_scratch_);
  std::memcpy(A.h1, A.h_in, sizeof(float) * size_t(N_) * size_t(H));
  ops::linear_fwd(A.att, N_, Q, H, bw.wo.data(), nullptr, &lo, true, A.h1, u(LoraTarget::O),
                  scratch_in_, frozen_mm());
  // MLP half: B = h1 + down(swiglu(gate(m), up(m))), m = norm(h1).
  ops::rmsnorm_fwd(A.h1, bw.post_norm.data(), c.rms_eps, N_, H, A.m, A.inv_post);
  ops::linear_fwd(A.m, N_, H, I, bw.wgate.data(), nullptr, &lg, false, A.gate, u(LoraTarget::Gate),
                  scratch_in_, frozen_mm());
  ops::linear_fwd(A.m, N_, H, I, bw.wup.data(), nullptr, &lu, false, A.up, u(LoraTarget::Up),
                  scratch_in_, frozen_mm());
  ops::swiglu_fwd(A.gate, A.up, act_, size_t(N_) * size_t(I));
  std::memcpy(A.bout, A.h1, sizeof(float) * size_t(N_) * size_t(H));
  ops::linear_fwd(act_, N_, I, H, bw.wdown.data(), nullptr, &ld, true, A.bout, u(LoraTarget::Down),
                  scratch_in_, frozen_mm());
  ops::gate_fwd(A.bout, A.h_in, gate_.data() + size_t(l) * size_t(rows_), rows_, T_, H, h_next);
}

// Head and loss: final norm, then the LM head fused with cross-entropy (and, when a
// backward follows, its gradient into dhf_ and, in full mode, the head's weights).
double TrainGraph::forward_head_loss(const RunOptions& run) {
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden;
  ops::rmsnorm_fwd(h_final_, w_.final_norm.data(), c.rms_eps, N_, H, hf_, inv_final_);
  const long nt = long(tgt_pos_.size());
  float* dhf = nullptr;
  if (run.need_grad) {
    std::memset(dhf_, 0, sizeof(float) * size_t(N_) * size_t(H));
    dhf = dhf_;
  }
  float* dE = (run.need_grad && opts_.trainable == Trainable::All) ? gw_.head() : nullptr;
  const float gscale = nt > 0 ? run.loss_scale / float(nt) : 0.f;
  return ops::lm_head_ce(hf_, H, w_.head(), c.vocab, tgt_pos_.data(), tgt_id_.data(), nt, gscale,
                         dhf, dE, opts_.ce_chunk, ce_x_, ce_dx_, ce_logits_, row_loss_.data(), frozen_mm());
}

// Metrics: loss terms, gate statistics per block.
StepMetrics TrainGraph::forward_metrics(double ce_sum) const {
  const int L = w_.cfg.n_layers;
  StepMetrics m;
  m.rows = rows_, m.tokens = N_, m.n_targets = long(tgt_pos_.size());
  m.ce = m.n_targets > 0 ? ce_sum / double(m.n_targets) : 0.0;
  m.ppl = std::exp(m.ce);
  m.block_soft.assign(size_t(L), 0.0);
  m.block_open.assign(size_t(L), 0.0);
  double bce = 0;
  for (int l = 0; l < L; ++l)
    for (int b = 0; b < rows_; ++b) {
      const size_t i = size_t(l) * size_t(rows_) + size_t(b);
      const double s = soft_[i];
      m.block_soft[size_t(l)] += s / rows_;
      const bool open = routes() ? gate_open(float(s), opts_.threshold) : gate_[i] > 0.5f;
      m.block_open[size_t(l)] += open ? 1.0 / rows_ : 0.0;
      const double y =
          opts_.router_loss == RouterLoss::BceNaive ? labels_[size_t(b)] : 1.0 - labels_[size_t(b)];
      // torch's BCELoss clamps each log at -100.
      bce -= (y * std::max(std::log(s), -100.0) + (1 - y) * std::max(std::log(1 - s), -100.0)) /
             (double(rows_) * L);
    }
  for (int l = 0; l < L; ++l) {
    m.gate_reg += m.block_soft[size_t(l)] / L;
    m.mean_blocks_run += m.block_open[size_t(l)];
  }
  m.skip_pct = 100.0 * (1.0 - m.mean_blocks_run / L);
  if (routes()) m.router_term = opts_.router_loss == RouterLoss::GateReg ? m.gate_reg : bce;
  m.loss = m.ce + double(opts_.lambda) * m.router_term;
  return m;
}

StepMetrics TrainGraph::forward(const Batch& batch, const RunOptions& run) {
  LR_CHECK(batch.rows > 0 && batch.seq > 0, "train graph: empty batch");
  const size_t n = size_t(batch.rows) * size_t(batch.seq);
  LR_CHECK(batch.ids.size() == n && batch.attn_mask.size() == n && batch.loss_mask.size() == n,
           "train graph: batch arrays do not match rows x seq = ", batch.rows, " x ", batch.seq);
  reserve(batch.rows, batch.seq);
  step_ = run.step, dropout_on_ = run.dropout, loss_scale_ = run.loss_scale;
  forward_inputs(batch);
  for (int l = 0; l < w_.cfg.n_layers; ++l) forward_block(l, run.dropout);
  const double ce_sum = forward_head_loss(run);
  have_grad_ = run.need_grad;
  return forward_metrics(ce_sum);
}

std::vector<Param> TrainGraph::params() {
  std::vector<Param> out;
  auto zip = [&](std::vector<TensorSlot> p, std::vector<TensorSlot> g) {
    for (size_t i = 0; i < p.size(); ++i)
      out.push_back(Param{p[i].name, p[i].shape, p[i].data, g[i].data, p[i].numel, true});
  };
  if (lora_) zip(lora_->tensors(), glora_.tensors());
  if (router_ && routes()) zip(router_->tensors(), grouter_.tensors());
  if (opts_.trainable == Trainable::All) zip(w_.tensors(), gw_.tensors());
  return out;
}

void TrainGraph::zero_grad() {
  for (Param& p : params()) std::memset(p.grad, 0, sizeof(float) * p.numel);
}

}  // namespace lr
