#pragma once
// A naive double-precision LayerRoute forward over named tensors (HF/PEFT/router names), the
// independent reference the end-to-end gradient checks differentiate numerically. Gates are
// the surrogate g = base + soft - ref, whose gradient is the straight-through estimator's.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "layerroute/lora.h"
#include "layerroute/router.h"
#include "layerroute/train_graph.h"
#include "model/config.h"

namespace lr::testing {

using Named = std::map<std::string, std::vector<double>>;
using Mat = std::vector<std::vector<double>>;  // [tokens][features]

struct RefSetup {
  ModelConfig cfg;
  bool lora = true;
  LoraConfig lora_cfg;
  bool routing = true;
  RouterPooling pooling = RouterPooling::MaskedMean;
  RouterLoss router_loss = RouterLoss::GateReg;
  double lambda = 1.0;
  std::vector<float> base, ref;  // [L * rows]
};

inline const std::vector<double>& get(const Named& P, const std::string& n) {
  auto it = P.find(n);
  if (it == P.end()) throw std::runtime_error("ref model: no tensor " + n);
  return it->second;
}

// y[t] = x[t] W^T (+ b) (+ s (x[t] A^T) B^T)
inline Mat ref_linear(const Named& P, const RefSetup& S, const Mat& x, const std::string& wname,
                      const std::string& bname, const std::string& lora_name, int out) {
  const auto& W = get(P, wname);
  const int in = int(x[0].size());
  Mat y(x.size(), std::vector<double>(size_t(out), 0.0));
  const bool has_lora = S.lora && P.count(lora_name + ".lora_A.weight");
  for (size_t t = 0; t < x.size(); ++t) {
    for (int o = 0; o < out; ++o) {
      double s = bname.empty() ? 0.0 : get(P, bname)[size_t(o)];
      for (int i = 0; i < in; ++i) s += x[t][size_t(i)] * W[size_t(o * in + i)];
      y[t][size_t(o)] = s;
    }
    if (has_lora) {
      const auto& A = get(P, lora_name + ".lora_A.weight");
      const auto& B = get(P, lora_name + ".lora_B.weight");
      const int r = S.lora_cfg.rank;
      for (int k = 0; k < r; ++k) {
        double u = 0;
        for (int i = 0; i < in; ++i) u += x[t][size_t(i)] * A[size_t(k * in + i)];
        for (int o = 0; o < out; ++o)
          y[t][size_t(o)] += S.lora_cfg.scale() * u * B[size_t(o * r + k)];
      }
    }
  }
  return y;
}

inline Mat ref_rmsnorm(const Mat& x, const std::vector<double>& w, double eps) {
  Mat y = x;
  for (auto& row : y) {
    double ss = 0;
    for (double v : row) ss += v * v;
    const double r = 1 / std::sqrt(ss / double(row.size()) + eps);
    for (size_t j = 0; j < row.size(); ++j) row[j] *= r * w[j];
  }
  return y;
}

inline void ref_rope(Mat& x, int nh, int hd, double theta, int T) {
  for (size_t n = 0; n < x.size(); ++n) {
    const int t = int(n % size_t(T));
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < hd / 2; ++i) {
        const double ang = t * std::pow(theta, -2.0 * i / hd);
        double& a = x[n][size_t(h * hd + i)];
        double& b = x[n][size_t(h * hd + i + hd / 2)];
        const double x1 = a, x2 = b;
        a = x1 * std::cos(ang) - x2 * std::sin(ang);
        b = x2 * std::cos(ang) + x1 * std::sin(ang);
      }
  }
}

// Total loss: mean CE over targets + lambda * router term.
inline double ref_loss(const Named& P, const RefSetup& S, const Batch& batch) {
  const ModelConfig& c = S.cfg;
  const int H = c.hidden, T = batch.seq, rows = batch.rows, L = c.n_layers, hd = c.head_dim;
  const int nh = c.n_heads, nkv = c.n_kv_heads;
  const size_t N = size_t(rows * T);
  const auto& E = get(P, "model.embed_tokens.weight");
  Mat h(N, std::vector<double>(size_t(H)));
  for (size_t n = 0; n < N; ++n)
    for (int j = 0; j < H; ++j) h[n][size_t(j)] = E[size_t(batch.ids[n] * H + j)];
  double router_term = 0;
  for (int l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::string lp = "base_model.model.model.layers." + std::to_string(l) + ".";
    std::vector<double> g(size_t(rows), 1.0);
    if (S.routing) {
      const auto& w = get(P, p + "router.weight");
      const double bias = get(P, p + "router.bias")[0];
      for (int b = 0; b < rows; ++b) {
        std::vector<double> pool(size_t(H), 0.0);
        int cnt = 0;
        for (int t = 0; t < T; ++t) {
          if (S.pooling == RouterPooling::MaskedMean && !batch.attn_mask[size_t(b * T + t)])
            continue;
          ++cnt;
          for (int j = 0; j < H; ++j) pool[size_t(j)] += h[size_t(b * T + t)][size_t(j)];
        }
        double z = bias;
        for (int j = 0; j < H; ++j) z += w[size_t(j)] * pool[size_t(j)] / std::max(cnt, 1);
        const double s = 1 / (1 + std::exp(-z));
        const size_t i = size_t(l * rows + b);
        g[size_t(b)] = S.base[i] + (s - S.ref[i]);
        if (S.router_loss == RouterLoss::GateReg) {
          router_term += s / (rows * L);
        } else {
          const double y = (batch.labels[size_t(b)] == StepLabel::ToolCall) ? 1.0 : 0.0;
          const double yt = S.router_loss == RouterLoss::BceNaive ? y : 1 - y;
          router_term -= (yt * std::log(s) + (1 - yt) * std::log(1 - s)) / (rows * L);
        }
      }
    }
    const bool bias = c.qkv_bias;
    Mat a = ref_rmsnorm(h, get(P, p + "input_layernorm.weight"), c.rms_eps);
    Mat q = ref_linear(P, S, a, p + "self_attn.q_proj.weight",
                       bias ? p + "self_attn.q_proj.bias" : "", lp + "self_attn.q_proj", c.q_dim());
    Mat k =
        ref_linear(P, S, a, p + "self_attn.k_proj.weight", bias ? p + "self_attn.k_proj.bias" : "",
                   lp + "self_attn.k_proj", c.kv_dim());
    Mat v =
        ref_linear(P, S, a, p + "self_attn.v_proj.weight", bias ? p + "self_attn.v_proj.bias" : "",
                   lp + "self_attn.v_proj", c.kv_dim());
    ref_rope(q, nh, hd, c.rope_theta, T);
    ref_rope(k, nkv, hd, c.rope_theta, T);
    Mat att(N, std::vector<double>(size_t(c.q_dim()), 0.0));
    for (int b = 0; b < rows; ++b)
      for (int hh = 0; hh < nh; ++hh)
        for (int i = 0; i < T; ++i) {
          const int kh = hh / (nh / nkv);
          std::vector<double> s(size_t(T), 0.0);
          double mx = -1e300, sum = 0;
          bool any = false;
          for (int j = 0; j <= i; ++j) {
            if (!batch.attn_mask[size_t(b * T + j)]) continue;
            any = true;
            for (int d = 0; d < hd; ++d)
              s[size_t(j)] += q[size_t(b * T + i)][size_t(hh * hd + d)] *
                              k[size_t(b * T + j)][size_t(kh * hd + d)] / std::sqrt(double(hd));
            mx = std::max(mx, s[size_t(j)]);
          }
          if (!any) continue;
          for (int j = 0; j <= i; ++j)
            if (batch.attn_mask[size_t(b * T + j)]) sum += std::exp(s[size_t(j)] - mx);
          for (int j = 0; j <= i; ++j) {
            if (!batch.attn_mask[size_t(b * T + j)]) continue;
            const double pj = std::exp(s[size_t(j)] - mx) / sum;
            for (int d = 0; d < hd; ++d)
              att[size_t(b * T + i)][size_t(hh * hd + d)] +=
                  pj * v[size_t(b * T + j)][size_t(kh * hd + d)];
          }
        }
    Mat o = ref_linear(P, S, att, p + "self_attn.o_proj.weight", "", lp + "self_attn.o_proj", H);
    Mat h1 = h;
    for (size_t n = 0; n < N; ++n)
      for (int j = 0; j < H; ++j) h1[n][size_t(j)] += o[n][size_t(j)];
    Mat m = ref_rmsnorm(h1, get(P, p + "post_attention_layernorm.weight"), c.rms_eps);
    Mat gt =
        ref_linear(P, S, m, p + "mlp.gate_proj.weight", "", lp + "mlp.gate_proj", c.intermediate);
    Mat up = ref_linear(P, S, m, p + "mlp.up_proj.weight", "", lp + "mlp.up_proj", c.intermediate);
    for (size_t n = 0; n < N; ++n)
      for (int j = 0; j < c.intermediate; ++j) {
        const double x = gt[n][size_t(j)];
        gt[n][size_t(j)] = x / (1 + std::exp(-x)) * up[n][size_t(j)];
      }
    Mat dn = ref_linear(P, S, gt, p + "mlp.down_proj.weight", "", lp + "mlp.down_proj", H);
    for (size_t n = 0; n < N; ++n) {
      const double gg = g[n / size_t(T)];
      for (int j = 0; j < H; ++j) {
        const double B = h1[n][size_t(j)] + dn[n][size_t(j)];
        h[n][size_t(j)] = gg * B + (1 - gg) * h[n][size_t(j)];
      }
    }
  }
  Mat hf = ref_rmsnorm(h, get(P, "model.norm.weight"), c.rms_eps);
  const auto& head = c.tie_embeddings ? E : get(P, "lm_head.weight");
  double ce = 0;
  int nt = 0;
  for (int b = 0; b < rows; ++b)
    for (int t = 0; t + 1 < T; ++t) {
      if (!batch.loss_mask[size_t(b * T + t + 1)]) continue;
      const int tgt = batch.ids[size_t(b * T + t + 1)];
      std::vector<double> lg(size_t(c.vocab), 0.0);
      double mx = -1e300, sum = 0;
      for (int v = 0; v < c.vocab; ++v) {
        for (int j = 0; j < H; ++j)
          lg[size_t(v)] += hf[size_t(b * T + t)][size_t(j)] * head[size_t(v * H + j)];
        mx = std::max(mx, lg[size_t(v)]);
      }
      for (double x : lg) sum += std::exp(x - mx);
      ce += mx + std::log(sum) - lg[size_t(tgt)];
      ++nt;
    }
  return (nt ? ce / nt : 0.0) + S.lambda * router_term;
}

}  // namespace lr::testing
