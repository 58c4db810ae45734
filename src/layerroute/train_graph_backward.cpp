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
  const int H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate, T = T_;
  const LayerActs& A = acts_[size_t(l)];
  const BlockWeights& bw = w_.blocks[size_t(l)];
  BlockWeights* gb = opts_.trainable == Trainable::All ? &gw_.blocks[size_t(l)] : nullptr;
  const bool routing = opts_.gate_mode != GateMode::AllOpen;
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

  const bool drop = dropout_on_;
  ops::LoraOp lq = lora_op(l, LoraTarget::Q, drop), lk = lora_op(l, LoraTarget::K, drop),
              lv = lora_op(l, LoraTarget::V, drop), lo = lora_op(l, LoraTarget::O, drop),
              lg = lora_op(l, LoraTarget::Gate, drop), lu = lora_op(l, LoraTarget::Up, drop),
              ld = lora_op(l, LoraTarget::Down, drop);
  float* const* u = A.u;
  auto gwp = [&](std::vector<float>& v) { return gb && !v.empty() ? v.data() : nullptr; };

  // MLP: B = h1 + down(swiglu(gate(m), up(m))), m = norm(h1). db_ carries dL/dB, then dL/dh1.
  ops::swiglu_fwd(A.gate, A.up, act_, size_t(N_) * size_t(I));  // recomputed, not stored
  ops::linear_bwd(act_, db_, N_, I, H, bw.wdown.data(), &ld, u[6], false, dact_,
                  gb ? gwp(gb->wdown) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::swiglu_bwd(A.gate, A.up, dact_, dgate_, dup_, size_t(N_) * size_t(I));
  ops::linear_bwd(A.m, dgate_, N_, H, I, bw.wgate.data(), &lg, u[4], false, dm_,
                  gb ? gwp(gb->wgate) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(A.m, dup_, N_, H, I, bw.wup.data(), &lu, u[5], true, dm_,
                  gb ? gwp(gb->wup) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::rmsnorm_bwd(A.h1, bw.post_norm.data(), A.inv_post, dm_, N_, H, db_,
                   gb ? gwp(gb->post_norm) : nullptr);

  // Attention: h1 = h + o_proj(attn(rope(q(a)), rope(k(a)), v(a))), a = norm(h).
  ops::linear_bwd(A.att, db_, N_, Q, H, bw.wo.data(), &lo, u[3], false, datt_,
                  gb ? gwp(gb->wo) : nullptr, nullptr, scratch_in_, scratch_r_);
  ops::attention_bwd(A.q, A.k, A.v, A.att, A.lse, datt_, mask_.data(), rows_, T, c.n_heads,
                     c.n_kv_heads, c.head_dim, dq_, dk_, dv_);
  ops::rope_bwd(dq_, rows_, T, c.n_heads, c.head_dim, rope_cos_, rope_sin_);
  ops::rope_bwd(dk_, rows_, T, c.n_kv_heads, c.head_dim, rope_cos_, rope_sin_);
  ops::linear_bwd(A.a, dq_, N_, H, Q, bw.wq.data(), &lq, u[0], false, da_,
                  gb ? gwp(gb->wq) : nullptr, gb ? gwp(gb->bq) : nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(A.a, dk_, N_, H, K, bw.wk.data(), &lk, u[1], true, da_,
                  gb ? gwp(gb->wk) : nullptr, gb ? gwp(gb->bk) : nullptr, scratch_in_, scratch_r_);
  ops::linear_bwd(A.a, dv_, N_, H, K, bw.wv.data(), &lv, u[2], true, da_,
                  gb ? gwp(gb->wv) : nullptr, gb ? gwp(gb->bv) : nullptr, scratch_in_, scratch_r_);
  ops::rmsnorm_bwd(A.h_in, bw.in_norm.data(), A.inv_in, da_, N_, H, db_,
                   gb ? gwp(gb->in_norm) : nullptr);

  // dL/dh = (1 - g) dout + g * (residual + attention paths), then the router's pool path.
#pragma omp parallel for schedule(static)
  for (long i = 0; i < N_ * H; ++i) dres_[i] += db_[i];

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

}  // namespace lr
