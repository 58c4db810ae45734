#pragma once
// A naive double-precision forward with per-position gate vectors (DESIGN §3 cached
// semantics written as one whole-sequence pass): block l runs only at the positions whose
// gate vector opens it, and those attend over every earlier position's K/V at block l,
// computed from the state that entered block l there. Straight loops, no engine code.
#include <cmath>
#include <string>
#include <vector>

#include "model/forward.h"

namespace lr::routed_test {

using VecD = std::vector<double>;

inline ModelConfig tiny_config(int n_layers = 4) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 32;
  c.n_layers = n_layers;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate = 48;
  c.vocab = 61;
  c.max_position = 1024;
  c.rope_theta = 1e4f;
  c.rms_eps = 1e-6f;
  c.tie_embeddings = true;
  c.qkv_bias = true;
  c.eos_ids = {};
  return c;
}

// Large init so attention is far from uniform and every block changes the logits.
inline Model tiny_model(int n_layers = 4, uint64_t seed = 5) {
  Model m;
  m.config = tiny_config(n_layers);
  m.weights = ModelWeights::random(m.config, seed, 0.3f);
  return m;
}

inline VecD lin(const VecD& x, int T, const Linear& L) {
  VecD y(size_t(T) * L.rows);
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < L.rows; ++n) {
      double s = L.bias.empty() ? 0.0 : L.bias[n];
      for (int k = 0; k < L.cols; ++k) s += x[size_t(t) * L.cols + k] * L.w[size_t(n) * L.cols + k];
      y[size_t(t) * L.rows + n] = s;
    }
  return y;
}

inline VecD norm(const VecD& x, int T, int H, const std::vector<float>& w, double eps) {
  VecD y(x.size());
  for (int t = 0; t < T; ++t) {
    double ss = 0;
    for (int i = 0; i < H; ++i) ss += x[size_t(t) * H + i] * x[size_t(t) * H + i];
    const double inv = 1.0 / std::sqrt(ss / H + eps);
    for (int i = 0; i < H; ++i) y[size_t(t) * H + i] = x[size_t(t) * H + i] * inv * w[i];
  }
  return y;
}

inline void rope(VecD& x, int T, int nh, int d, double theta) {
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < d / 2; ++i) {
        const double f = t * std::pow(theta, -2.0 * i / d);
        double& a = x[(size_t(t) * nh + h) * d + i];
        double& b = x[(size_t(t) * nh + h) * d + i + d / 2];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(f) - b0 * std::sin(f);
        b = b0 * std::cos(f) + a0 * std::sin(f);
      }
}

struct RefOut {
  VecD logits;                 // [T, V]
  std::vector<VecD> block_in;  // [L][T * H]: state entering block l at every position
};

// gates[t][l] = '1' when position t runs block l (strings of n_layers chars).
inline RefOut ref_gated(const ModelConfig& c, const ModelWeights& w, const std::vector<int>& ids,
                        const std::vector<std::string>& gates) {
  const int T = int(ids.size()), H = c.hidden, d = c.head_dim, nq = c.n_heads, nkv = c.n_kv_heads;
  RefOut out;
  VecD h(size_t(T) * H);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < H; ++i) h[size_t(t) * H + i] = w.embed.w[size_t(ids[t]) * H + i];
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& b = w.layers[size_t(l)];
    out.block_in.push_back(h);
    // K/V of every position from its own block-l input; Q only matters where l runs.
    VecD a = norm(h, T, H, b.ln_in, c.rms_eps);
    VecD q = lin(a, T, b.q), k = lin(a, T, b.k), v = lin(a, T, b.v);
    rope(q, T, nq, d, c.rope_theta);
    rope(k, T, nkv, d, c.rope_theta);
    VecD o(size_t(T) * nq * d, 0.0);
    for (int hh = 0; hh < nq; ++hh) {
      const int g = hh / (nq / nkv);
      for (int i = 0; i < T; ++i) {
        if (gates[size_t(i)][size_t(l)] != '1') continue;
        VecD s(size_t(i) + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int e = 0; e < d; ++e)
            dot += q[(size_t(i) * nq + hh) * d + e] * k[(size_t(j) * nkv + g) * d + e];
          s[size_t(j)] = dot / std::sqrt(double(d));
          mx = std::max(mx, s[size_t(j)]);
        }
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (int j = 0; j <= i; ++j)
          for (int e = 0; e < d; ++e)
            o[(size_t(i) * nq + hh) * d + e] +=
                s[size_t(j)] / sum * v[(size_t(j) * nkv + g) * d + e];
      }
    }
    VecD h1 = h, ao = lin(o, T, b.o);
    for (size_t i = 0; i < h.size(); ++i) h1[i] += ao[i];
    VecD m = norm(h1, T, H, b.ln_post, c.rms_eps);
    VecD gt = lin(m, T, b.gate), up = lin(m, T, b.up);
    for (size_t i = 0; i < gt.size(); ++i) gt[i] = gt[i] / (1 + std::exp(-gt[i])) * up[i];
    VecD dn = lin(gt, T, b.down);
    for (int t = 0; t < T; ++t) {
      if (gates[size_t(t)][size_t(l)] != '1') continue;  // skipped: identity
      for (int i = 0; i < H; ++i)
        h[size_t(t) * H + i] = h1[size_t(t) * H + i] + dn[size_t(t) * H + i];
    }
  }
  out.logits = lin(norm(h, T, H, w.norm, c.rms_eps), T, w.head());
  return out;
}

inline std::vector<int> some_ids(int T, int vocab, int salt = 0) {
  std::vector<int> ids(static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) ids[size_t(t)] = (t * 37 + 11 + salt * 13) % vocab;
  return ids;
}

// max over rows of max|ours - ref| / max|ref| in that row.
inline double worst_rel(const std::vector<float>& ours, const VecD& ref, int V) {
  double worst = 0;
  for (size_t t = 0; t * V < ref.size(); ++t) {
    double num = 0, den = 0;
    for (int i = 0; i < V; ++i) {
      num = std::max(num, std::abs(double(ours[t * V + i]) - ref[t * V + i]));
      den = std::max(den, std::abs(ref[t * V + i]));
    }
    worst = std::max(worst, num / den);
  }
  return worst;
}

}  // namespace lr::routed_test
