// TrainGraph backward: reverse pass over the blocks with the straight-through gate.
#include <cstring>

#include "core/error.h"
#include "layerroute/ops.h"
#include "layerroute/ops_util.h"
#include "layerroute/train_graph.h"

namespace lr {

void TrainGraph::backward() {
  LR_CHECK(have_grad_, "train graph: backward needs a forward with need_grad just before");
  have_grad_ = false;
  backward_head();
  for (int l = w_.cfg.n_layers - 1; l >= 0; --l) backward_block(l);
  backward_inputs();
}

// Head: forward_head_loss left dL/d(final norm output) in dhf_; into dres_ = dL/dh_L.
void TrainGraph::backward_head() {
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden;
  const bool full = opts_.trainable == Trainable::All;
  std::memset(dres_, 0, sizeof(float) * size_t(N_) * size_t(H));
  ops::rmsnorm_bwd(h_final_, w_.final_norm.data(), inv_final_, dhf_, N_, H, dres_,
                   full ? gw_.final_norm.data() : nullptr);
}

// Inputs: in full mode, dres_ (dL/d embedding rows) into the embedding's gradient.
void TrainGraph::backward_inputs() {
  if (opts_.trainable != Trainable::All) return;
  const int H = w_.cfg.hidden;
  // Serial over tokens: a token id may repeat, and the order of the sums stays fixed.
  float* gE = gw_.embed.data();
  for (long i = 0; i < N_; ++i) {
    float* d = gE + long(ids_[size_t(i)]) * H;
    const float* s = dres_ + i * H;
    for (int j = 0; j < H; ++j) d[j] += s[j];
  }
}

// On entry dres_ holds dL/d(output of block l); on exit dL/d(input of block l).
void TrainGraph::backward_block(int l) {
  const int H = w_.cfg.hidden;
  const LayerActs& A = acts_[size_t(l)];
  const float* gate = gate_.data() + size_t(l) * size_t(rows_);
  dsoft_.resize(size_t(rows_));
  // Gate: dres_ -> (1 - g) dout (the skip path), db_ = g dout, dL/dg per row (STE: the
  // gradient of the hard gate is taken as that of soft).
  ops::gate_bwd(A.bout, A.h_in, gate, rows_, T_, H, dres_, db_, routes() ? dsoft_.data() : nullptr,
                partial_);
  // A closed gate (g == 0 exactly) makes dL/dB zero for its row, so the block's backward
  // contributes nothing there: run it only on maximal runs of rows with an open gate.
  for (int r0 = 0; r0 < rows_;) {
    if (gate[r0] == 0.f) {
      ++r0;
      continue;
    }
    int r1 = r0 + 1;
    while (r1 < rows_ && gate[r1] != 0.f) ++r1;
    backward_block_rows(l, r0, r1 - r0);
    r0 = r1;
  }
  if (routes()) backward_router(l);
}

// Router: dL/dz from the STE term and the router loss, then the op's backward into the
// router's weights and the state entering the block.
void TrainGraph::backward_router(int l) {
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden;
  const LayerActs& A = acts_[size_t(l)];
  const float* soft = soft_.data() + size_t(l) * size_t(rows_);
  const double reg_scale =
      double(loss_scale_) * double(opts_.lambda) / (double(rows_) * double(c.n_layers));
  dz_.resize(size_t(rows_));
  for (int b = 0; b < rows_; ++b) {
    const double s = soft[b];
    double dz = dsoft_[size_t(b)] * s * (1 - s);
    if (opts_.router_loss == RouterLoss::GateReg) {
      dz += reg_scale * s * (1 - s);
    } else {
      const double y =
          opts_.router_loss == RouterLoss::BceNaive ? labels_[size_t(b)] : 1.0 - labels_[size_t(b)];
      dz += reg_scale * (s - y);  // d BCE(sigmoid(z), y) / dz
    }
    dz_[size_t(b)] = float(dz);
  }
  ops::router_bwd(A.pool, mask_.data(), opts_.pooling == RouterPooling::MaskedMean, rows_, T_, H,
                  router_->w.data() + long(l) * H, dz_.data(), dres_,
                  grouter_.w.data() + long(l) * H, grouter_.b.data() + l);
}

// The block's own backward over rows [r0, r0 + nr): db_ holds dL/dB there; adds the
// attention/MLP path into dres_.
void TrainGraph::backward_block_rows(int l, int r0, int nr) {
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate, T = T_;
  const LayerActs& A = acts_[size_t(l)];
  const TrainBlockWeights& bw = w_.blocks[size_t(l)];
  TrainBlockWeights* gb = opts_.trainable == Trainable::All ? &gw_.blocks[size_t(l)] : nullptr;
  const long N = long(nr) * T, o = long(r0) * T;  // tokens, first token
  const bool drop = dropout_on_;
  auto lop = [&](LoraTarget t) { return lora_op(l, t, drop, o); };
  ops::LoraOp lq = lop(LoraTarget::Q), lk = lop(LoraTarget::K), lv = lop(LoraTarget::V),
              lo = lop(LoraTarget::O), lg = lop(LoraTarget::Gate), lu = lop(LoraTarget::Up),
              ld = lop(LoraTarget::Down);
  const long R = lora_ ? lora_->cfg.rank : 0;
  auto u = [&](LoraTarget t) { return A.u[int(t)] ? A.u[int(t)] + o * R : nullptr; };
  auto gwp = [&](std::vector<float>& v) { return gb && !v.empty() ? v.data() : nullptr; };
  float *db = db_ + o * H, *dres = dres_ + o * H, *dm = dm_ + o * H, *da = da_ + o * H;
  float *dq = dq_ + o * Q, *dk = dk_ + o * K, *dv = dv_ + o * K, *datt = datt_ + o * Q;
  const float *gate = A.gate + o * I, *up = A.up + o * I;
  const size_t nI = size_t(N) * size_t(I);
  const uint8_t* mask = mask_.data() + o;

  // MLP: B = h1 + down(swiglu(gate(m), up(m))), m = norm(h1). db carries dL/dB, then dL/dh1.
  ops::swiglu_fwd(gate, up, act_, nI);  // recomputed, not stored
  ops::linear_bwd(act_, db, N, I, H, bw.wdown.data(), &ld, u(LoraTarget::Down), false, dact_,
                  gb ? gwp(gb->wdown) : nullptr, nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::swiglu_bwd(gate, up, dact_, dgate_, dup_, nI);
  ops::linear_bwd(A.m + o * H, dgate_, N, H, I, bw.wgate.data(), &lg, u(LoraTarget::Gate), false,
                  dm, gb ? gwp(gb->wgate) : nullptr, nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::linear_bwd(A.m + o * H, dup_, N, H, I, bw.wup.data(), &lu, u(LoraTarget::Up), true, dm,
                  gb ? gwp(gb->wup) : nullptr, nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::rmsnorm_bwd(A.h1 + o * H, bw.post_norm.data(), A.inv_post + o, dm, N, H, db,
                   gb ? gwp(gb->post_norm) : nullptr);

  // Attention: h1 = h + o_proj(attn(rope(q(a)), rope(k(a)), v(a))), a = norm(h).
  ops::linear_bwd(A.att + o * Q, db, N, Q, H, bw.wo.data(), &lo, u(LoraTarget::O), false, datt,
                  gb ? gwp(gb->wo) : nullptr, nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::attention_bwd(A.q + o * Q, A.k + o * K, A.v + o * K, A.att + o * Q,
                     A.lse + long(r0) * c.n_heads * T, datt, mask, nr, T, c.n_heads, c.n_kv_heads,
                     c.head_dim, dq, dk, dv, attn_scratch_);
  rope_rows(dq, nr, T, c.n_heads, c.head_dim, rope_, /*inverse=*/true);
  rope_rows(dk, nr, T, c.n_kv_heads, c.head_dim, rope_, /*inverse=*/true);
  const float* a = A.a + o * H;
  ops::linear_bwd(a, dq, N, H, Q, bw.wq.data(), &lq, u(LoraTarget::Q), false, da,
                  gb ? gwp(gb->wq) : nullptr, gb ? gwp(gb->bq) : nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::linear_bwd(a, dk, N, H, K, bw.wk.data(), &lk, u(LoraTarget::K), true, da,
                  gb ? gwp(gb->wk) : nullptr, gb ? gwp(gb->bk) : nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::linear_bwd(a, dv, N, H, K, bw.wv.data(), &lv, u(LoraTarget::V), true, da,
                  gb ? gwp(gb->wv) : nullptr, gb ? gwp(gb->bv) : nullptr, scratch_in_, scratch_r_, frozen_mm());
  ops::rmsnorm_bwd(A.h_in + o * H, bw.in_norm.data(), A.inv_in + o, da, N, H, db,
                   gb ? gwp(gb->in_norm) : nullptr);

  // dL/dh = (1 - g) dout (already in dres) + g * (residual + attention paths).
  const long n = N * H;
  ops::parallel_ranges(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) dres[i] += db[i];
  });
}

}  // namespace lr
