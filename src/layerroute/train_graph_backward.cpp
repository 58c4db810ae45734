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
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden;
  const bool full = opts_.trainable == Trainable::All;
  std::memset(dres_, 0, sizeof(float) * size_t(N_) * size_t(H));
  ops::rmsnorm_bwd(h_final_, w_.final_norm.data(), inv_final_, dhf_, N_, H, dres_,
                   full ? gw_.final_norm.data() : nullptr);
  for (int l = c.n_layers - 1; l >= 0; --l) backward_block(l);
  if (full) {
    // Serial over tokens: a token id may repeat, and the order of the sums stays fixed.
    float* gE = gw_.embed.data();
    for (long i = 0; i < N_; ++i) {
      float* d = gE + long(ids_[size_t(i)]) * H;
      const float* s = dres_ + i * H;
      for (int j = 0; j < H; ++j) d[j] += s[j];
    }
  }
}

// On entry dres_ holds dL/d(output of block l); on exit dL/d(input of block l).
void TrainGraph::backward_block(int l) {
  const ModelConfig& c = w_.cfg;
  const int H = c.hidden, T = T_;
  const LayerActs& A = acts_[size_t(l)];
  const bool routing = routes();
  const float* gate = gate_.data() + size_t(l) * size_t(rows_);

  // Gate: out = g B + (1 - g) h. STE: dL/dsoft = <dout, B - h> per row.
#pragma omp parallel for schedule(static)
  for (long i = 0; i < N_; ++i) {
    float* dr = dres_ + i * H;
    float* dbo = db_ + i * H;
    const float g = gate[i / T];
    if (routing) {
      const float* bo = A.bout + i * H;
      const float* h = A.h_in + i * H;
      double s = 0;
      for (int j = 0; j < H; ++j) s += double(dr[j]) * (bo[j] - h[j]);
      partial_[i] = float(s);
    }
    for (int j = 0; j < H; ++j) {
      dbo[j] = g * dr[j];
      dr[j] *= 1.f - g;
    }
  }

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

  if (!routing) return;
  const float* soft = soft_.data() + size_t(l) * size_t(rows_);
  const bool masked = opts_.pooling == RouterPooling::MaskedMean;
  const float* wr = router_->w.data() + long(l) * H;
  float* gw = grouter_.w.data() + long(l) * H;
  const double reg_scale =
      double(loss_scale_) * double(opts_.lambda) / (double(rows_) * double(c.n_layers));
  for (int b = 0; b < rows_; ++b) {
    double dsoft = 0;
    for (int t = 0; t < T; ++t) dsoft += partial_[long(b) * T + t];
    const double s = soft[b];
    double dz = dsoft * s * (1 - s);
    if (opts_.router_loss == RouterLoss::GateReg) {
      dz += reg_scale * s * (1 - s);
    } else {
      const double y =
          opts_.router_loss == RouterLoss::BceNaive ? labels_[size_t(b)] : 1.0 - labels_[size_t(b)];
      dz += reg_scale * (s - y);  // d BCE(sigmoid(z), y) / dz
    }
    const float dzf = float(dz);
    grouter_.b[size_t(l)] += dzf;
    const float* pool = A.pool + long(b) * H;
    for (int j = 0; j < H; ++j) gw[j] += dzf * pool[j];
    const uint8_t* mk = mask_.data() + long(b) * T;
    int cnt = 0;
    for (int t = 0; t < T; ++t) cnt += (!masked || mk[t]) ? 1 : 0;
    const float coef = dzf / float(cnt > 0 ? cnt : 1);
    for (int t = 0; t < T; ++t) {
      if (masked && !mk[t]) continue;
      float* dr = dres_ + (long(b) * T + t) * H;
      for (int j = 0; j < H; ++j) dr[j] += coef * wr[j];
    }
  }
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
  auto u = [&](int t) { return A.u[t] ? A.u[t] + o * R : nullptr; };
  auto gwp = [&](std::vector<float>& v) { return gb && !v.empty() ? v.data() : nullptr; };
  float *db = db_ + o * H, *dres = dres_ + o * H, *dm = dm_ + o * H, *da = da_ + o * H;
  float *dq = dq_ + o * Q, *dk = dk_ + o * K, *dv = dv_ + o * K, *datt = datt_ + o * Q;
  const float *gate = A.gate + o * I, *up = A.up + o * I;
  const size_t nI = size_t(N) * size_t(I);
  const uint8_t* mask = mask_.data() + o;

  // MLP: B = h1 + down(swiglu(gate(m), up(m))), m = norm(h1). db carries dL/dB, then dL/dh1.
  ops::swiglu_fwd(gate, up, act_, nI);  // recomputed, not stored
  ops::linear_bwd(act_, db, N, I, H, bw.wdown.data(), &ld, u(6), false, dact_,
                  gb ? gwp(gb->wdown) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::swiglu_bwd(gate, up, dact_, dgate_, dup_, nI);
  ops::linear_bwd(A.m + o * H, dgate_, N, H, I, bw.wgate.data(), &lg, u(4), false, dm,
                  gb ? gwp(gb->wgate) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(A.m + o * H, dup_, N, H, I, bw.wup.data(), &lu, u(5), true, dm,
                  gb ? gwp(gb->wup) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::rmsnorm_bwd(A.h1 + o * H, bw.post_norm.data(), A.inv_post + o, dm, N, H, db,
                   gb ? gwp(gb->post_norm) : nullptr);

  // Attention: h1 = h + o_proj(attn(rope(q(a)), rope(k(a)), v(a))), a = norm(h).
  ops::linear_bwd(A.att + o * Q, db, N, Q, H, bw.wo.data(), &lo, u(3), false, datt,
                  gb ? gwp(gb->wo) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::attention_bwd(A.q + o * Q, A.k + o * K, A.v + o * K, A.att + o * Q,
                     A.lse + long(r0) * c.n_heads * T, datt, mask, nr, T, c.n_heads, c.n_kv_heads,
                     c.head_dim, dq, dk, dv, attn_scratch_);
  ops::rope_bwd(dq, nr, T, c.n_heads, c.head_dim, rope_cos_, rope_sin_);
  ops::rope_bwd(dk, nr, T, c.n_kv_heads, c.head_dim, rope_cos_, rope_sin_);
  const float* a = A.a + o * H;
  ops::linear_bwd(a, dq, N, H, Q, bw.wq.data(), &lq, u(0), false, da, gb ? gwp(gb->wq) : nullptr,
                  gb ? gwp(gb->bq) : nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(a, dk, N, H, K, bw.wk.data(), &lk, u(1), true, da, gb ? gwp(gb->wk) : nullptr,
                  gb ? gwp(gb->bk) : nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(a, dv, N, H, K, bw.wv.data(), &lv, u(2), true, da, gb ? gwp(gb->wv) : nullptr,
                  gb ? gwp(gb->bv) : nullptr, scratch_in_, scratch_r_);
  ops::rmsnorm_bwd(A.h_in + o * H, bw.in_norm.data(), A.inv_in + o, da, N, H, db,
                   gb ? gwp(gb->in_norm) : nullptr);

  // dL/dh = (1 - g) dout (already in dres) + g * (residual + attention paths).
  const long n = N * H;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) dres[i] += db[i];
}

}  // namespace lr
