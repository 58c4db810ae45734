// Each op's float backward against central differences of a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "grad_check_util.h"
#include "kernels/cpu/rope.h"
#include "layerroute/ops.h"

namespace lr {

using testing::expect_grad_close;
using testing::numeric_grad;
using testing::random_vec;
using testing::to_f;

namespace {
double dotv(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

TEST(GradOps, RmsNorm) {
  const int N = 3, H = 8;
  const float eps = 1e-6f;
  auto x = random_vec(N * H, 1), w = random_vec(H, 2), R = random_vec(N * H, 3);
  auto ref = [&] {
    std::vector<double> y(N * H);
    for (int n = 0; n < N; ++n) {
      double ss = 0;
      for (int j = 0; j < H; ++j) ss += x[n * H + j] * x[n * H + j];
      const double r = 1 / std::sqrt(ss / H + eps);
      for (int j = 0; j < H; ++j) y[n * H + j] = x[n * H + j] * r * w[j];
    }
    return dotv(y, R);
  };
  auto xf = to_f(x), wf = to_f(w), Rf = to_f(R);
  std::vector<float> y(N * H), inv(N), dx(N * H, 0.f), dw(H, 0.f);
  ops::rmsnorm_fwd(xf.data(), wf.data(), eps, N, H, y.data(), inv.data());
  double lf = 0;
  for (int i = 0; i < N * H; ++i) lf += double(y[i]) * R[i];
  EXPECT_NEAR(lf, ref(), 1e-5);
  ops::rmsnorm_bwd(xf.data(), wf.data(), inv.data(), Rf.data(), N, H, dx.data(), dw.data());
  expect_grad_close(dx, numeric_grad(x, ref), 1e-4, "dx");
  expect_grad_close(dw, numeric_grad(w, ref), 1e-4, "dw");
}

// Linear with bias and LoRA, dropout on (the same mask must be used in backward).
TEST(GradOps, LinearLoraWithDropout) {
  const int N = 5, in = 6, out = 4, r = 2;
  const float s = 2.f, p = 0.3f;
  const uint64_t key = 77;
  auto x = random_vec(N * in, 1), W = random_vec(out * in, 2), b = random_vec(out, 3),
       A = random_vec(r * in, 4), B = random_vec(out * r, 5), R = random_vec(N * out, 6);
  std::vector<float> ones(N * in, 1.f), mask(N * in);
  ops::dropout(ones.data(), mask.data(), ones.size(), p, key);
  int dropped = 0;
  for (float m : mask) dropped += m == 0.f;
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, N * in);
  auto ref = [&] {
    double L = 0;
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < out; ++o) {
        double y = b[o];
        for (int i = 0; i < in; ++i) y += x[n * in + i] * W[o * in + i];
        for (int k = 0; k < r; ++k) {
          double u = 0;
          for (int i = 0; i < in; ++i) u += mask[n * in + i] * x[n * in + i] * A[k * in + i];
          y += s * u * B[o * r + k];
        }
        L += y * R[n * out + o];
      }
    return L;
  };
  auto xf = to_f(x), Wf = to_f(W), bf = to_f(b), Af = to_f(A), Bf = to_f(B), Rf = to_f(R);
  std::vector<float> y(N * out), u(N * r), scratch(N * in), scratch_r(N * r);
  std::vector<float> dx(N * in, 0.f), dW(out * in, 0.f), db(out, 0.f), dA(r * in, 0.f),
      dB(out * r, 0.f);
  ops::LoraOp lo{Af.data(), Bf.data(), r, s, p, key, dA.data(), dB.data()};
  ops::linear_fwd(xf.data(), N, in, out, Wf.data(), bf.data(), &lo, false, y.data(), u.data(),
                  scratch.data());
  double lf = 0;
  for (int i = 0; i < N * out; ++i) lf += double(y[i]) * R[i];
  EXPECT_NEAR(lf, ref(), 1e-4);
  ops::linear_bwd(xf.data(), Rf.data(), N, in, out, Wf.data(), &lo, u.data(), false, dx.data(),
                  dW.data(), db.data(), scratch.data(), scratch_r.data());
  expect_grad_close(dx, numeric_grad(x, ref), 1e-4, "dx");
  expect_grad_close(dW, numeric_grad(W, ref), 1e-4, "dW");
  expect_grad_close(db, numeric_grad(b, ref), 1e-4, "db");
  expect_grad_close(dA, numeric_grad(A, ref), 1e-4, "dA");
  expect_grad_close(dB, numeric_grad(B, ref), 1e-4, "dB");
}

TEST(GradOps, Rope) {
  const int rows = 2, T = 3, nh = 2, hd = 4, half = hd / 2, D = nh * hd;
  const float theta = 100.f;
  const RopeTable table = make_rope_table(T, hd, theta);
  auto x = random_vec(rows * T * D, 1), R = random_vec(rows * T * D, 2);
  auto ref = [&] {
    double L = 0;
    for (int n = 0; n < rows * T; ++n) {
      const int t = n % T;
      for (int h = 0; h < nh; ++h)
        for (int i = 0; i < half; ++i) {
          const double ang = t * std::pow(double(theta), -2.0 * i / hd);
          const double x1 = x[n * D + h * hd + i], x2 = x[n * D + h * hd + i + half];
          L += (x1 * std::cos(ang) - x2 * std::sin(ang)) * R[n * D + h * hd + i];
          L += (x2 * std::cos(ang) + x1 * std::sin(ang)) * R[n * D + h * hd + i + half];
        }
    }
    return L;
  };
  auto xf = to_f(x), dx = to_f(R);
  rope_rows(xf.data(), rows, T, nh, hd, table);
  double lf = 0;
  for (size_t i = 0; i < xf.size(); ++i) lf += double(xf[i]) * R[i];
  EXPECT_NEAR(lf, ref(), 1e-5);
  rope_rows(dx.data(), rows, T, nh, hd, table, /*inverse=*/true);
  expect_grad_close(dx, numeric_grad(x, ref), 1e-4, "dx");
}

TEST(GradOps, CausalGqaAttentionWithPadding) {
  const int rows = 2, T = 5, nh = 4, nkv = 2, hd = 4, Qd = nh * hd, Kd = nkv * hd;
  const std::vector<uint8_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  auto q = random_vec(rows * T * Qd, 1), k = random_vec(rows * T * Kd, 2),
       v = random_vec(rows * T * Kd, 3), R = random_vec(rows * T * Qd, 4);
  auto ref = [&] {
    double L = 0;
    const double sc = 1 / std::sqrt(double(hd));
    for (int b = 0; b < rows; ++b)
      for (int h = 0; h < nh; ++h)
        for (int i = 0; i < T; ++i) {
          const int kh = h / (nh / nkv);
          std::vector<double> s(T, 0);
          double mx = -1e300, sum = 0;
          for (int j = 0; j <= i; ++j) {
            if (!mask[b * T + j]) continue;
            for (int d = 0; d < hd; ++d)
              s[j] += q[(b * T + i) * Qd + h * hd + d] * k[(b * T + j) * Kd + kh * hd + d] * sc;
            mx = std::max(mx, s[j]);
          }
          for (int j = 0; j <= i; ++j)
            if (mask[b * T + j]) sum += std::exp(s[j] - mx);
          for (int j = 0; j <= i; ++j) {
            if (!mask[b * T + j]) continue;
            const double pj = std::exp(s[j] - mx) / sum;
            for (int d = 0; d < hd; ++d)
              L += pj * v[(b * T + j) * Kd + kh * hd + d] * R[(b * T + i) * Qd + h * hd + d];
          }
        }
    return L;
  };
  auto qf = to_f(q), kf = to_f(k), vf = to_f(v), Rf = to_f(R);
  std::vector<float> out(rows * T * Qd), lse(rows * nh * T),
      scratch(ops::attention_scratch_floats(rows, T, nh, nkv, hd));
  ops::attention_fwd(qf.data(), kf.data(), vf.data(), mask.data(), rows, T, nh, nkv, hd, out.data(),
                     lse.data(), scratch.data());
  double lf = 0;
  for (size_t i = 0; i < out.size(); ++i) lf += double(out[i]) * R[i];
  EXPECT_NEAR(lf, ref(), 1e-5);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  ops::attention_bwd(qf.data(), kf.data(), vf.data(), out.data(), lse.data(), Rf.data(),
                     mask.data(), rows, T, nh, nkv, hd, dq.data(), dk.data(), dv.data(),
                     scratch.data());
  expect_grad_close(dq, numeric_grad(q, ref), 1e-4, "dq");
  expect_grad_close(dk, numeric_grad(k, ref), 1e-4, "dk");
  expect_grad_close(dv, numeric_grad(v, ref), 1e-4, "dv");
}

TEST(GradOps, SwiGlu) {
  const int n = 12;
  auto g = random_vec(n, 1, 3.0), u = random_vec(n, 2), R = random_vec(n, 3);
  auto ref = [&] {
    double L = 0;
    for (int i = 0; i < n; ++i) L += g[i] / (1 + std::exp(-g[i])) * u[i] * R[i];
    return L;
  };
  auto gf = to_f(g), uf = to_f(u), Rf = to_f(R);
  std::vector<float> act(n), dg(n), du(n);
  ops::swiglu_fwd(gf.data(), uf.data(), act.data(), n);
  ops::swiglu_bwd(gf.data(), uf.data(), Rf.data(), dg.data(), du.data(), n);
  expect_grad_close(dg, numeric_grad(g, ref), 1e-4, "dg");
  expect_grad_close(du, numeric_grad(u, ref), 1e-4, "du");
}

// Chunk 2 over 3 targets: the second chunk is partial.
TEST(GradOps, LmHeadCrossEntropyChunked) {
  const int N = 5, H = 6, V = 11, chunk = 2;
  const std::vector<int32_t> pos{0, 2, 4}, tgt{3, 10, 0};
  auto h = random_vec(N * H, 1), E = random_vec(V * H, 2);
  auto ref = [&] {
    double L = 0;
    for (size_t i = 0; i < pos.size(); ++i) {
      std::vector<double> lg(V, 0);
      double mx = -1e300, sum = 0;
      for (int v = 0; v < V; ++v) {
        for (int j = 0; j < H; ++j) lg[v] += h[pos[i] * H + j] * E[v * H + j];
        mx = std::max(mx, lg[v]);
      }
      for (int v = 0; v < V; ++v) sum += std::exp(lg[v] - mx);
      L += mx + std::log(sum) - lg[tgt[i]];
    }
    return L;
  };
  auto hf = to_f(h), Ef = to_f(E);
  std::vector<float> dh(N * H, 0.f), dE(V * H, 0.f), xb(chunk * H), dxb(chunk * H), lg(chunk * V);
  std::vector<double> rl(chunk);
  const double loss =
      ops::lm_head_ce(hf.data(), H, Ef.data(), V, pos.data(), tgt.data(), 3, 1.f, dh.data(),
                      dE.data(), chunk, xb.data(), dxb.data(), lg.data(), rl.data());
  EXPECT_NEAR(loss, ref(), 1e-5);
  expect_grad_close(dh, numeric_grad(h, ref), 1e-4, "dh");
  expect_grad_close(dE, numeric_grad(E, ref), 1e-4, "dE");
  for (int j = 0; j < H; ++j) EXPECT_EQ(dh[1 * H + j], 0.f);  // not a target position
}

}  // namespace lr

namespace lr {

// Router op pair: L = sum_b c_b * sigmoid(z_b), z_b = w . masked-mean(h_b) + b. The backward
// is given dL/dz = c s (1 - s), as the graph gives it.
TEST(GradOps, RouterPooledScore) {
  const int rows = 2, T = 4, H = 5;
  const std::vector<uint8_t> mask{1, 1, 1, 0, 1, 1, 0, 0};
  for (bool masked : {true, false}) {
    auto h = random_vec(rows * T * H, 21), w = random_vec(H, 22), bv = random_vec(1, 23),
         coef = random_vec(rows, 24);
    auto ref = [&] {
      double L = 0;
      for (int r = 0; r < rows; ++r) {
        double z = bv[0];
        int cnt = 0;
        for (int t = 0; t < T; ++t) cnt += (!masked || mask[size_t(r * T + t)]) ? 1 : 0;
        for (int j = 0; j < H; ++j) {
          double p = 0;
          for (int t = 0; t < T; ++t)
            if (!masked || mask[size_t(r * T + t)]) p += h[size_t((r * T + t) * H + j)];
          z += w[size_t(j)] * p / cnt;
        }
        L += coef[size_t(r)] / (1 + std::exp(-z));
      }
      return L;
    };
    auto hf = to_f(h), wf = to_f(w);
    std::vector<float> pool(size_t(rows * H)), dz(rows), dh(h.size(), 0.f), dw(H, 0.f);
    std::vector<double> z(rows);
    float db = 0.f;
    ops::router_fwd(hf.data(), mask.data(), masked, rows, T, H, wf.data(), float(bv[0]),
                    pool.data(), z.data());
    double L = 0;
    for (int r = 0; r < rows; ++r) {
      const double s = 1 / (1 + std::exp(-z[size_t(r)]));
      L += coef[size_t(r)] * s;
      dz[size_t(r)] = float(coef[size_t(r)] * s * (1 - s));
    }
    EXPECT_NEAR(L, ref(), 1e-5);
    ops::router_bwd(pool.data(), mask.data(), masked, rows, T, H, wf.data(), dz.data(), dh.data(),
                    dw.data(), &db);
    expect_grad_close(dh, numeric_grad(h, ref), 1e-4, masked ? "dh masked" : "dh");
    expect_grad_close(dw, numeric_grad(w, ref), 1e-4, "dw");
    expect_grad_close({db}, numeric_grad(bv, ref), 1e-4, "db");
    // Padding positions get no gradient from a masked mean.
    if (masked) {
      for (int j = 0; j < H; ++j) EXPECT_EQ(dh[size_t(3 * H + j)], 0.f);
    }
  }
}

// Gate op pair: out = g B + (1 - g) h per row; its gradient in B, h and g (the STE hands
// dL/dg to soft).
TEST(GradOps, StraightThroughGate) {
  const int rows = 2, T = 3, H = 4, n = rows * T * H;
  auto B = random_vec(n, 31), h = random_vec(n, 32), g = random_vec(rows, 33),
       R = random_vec(n, 34);
  auto ref = [&] {
    double L = 0;
    for (int i = 0; i < n; ++i) {
      const double gi = g[size_t(i / (T * H))];
      L += (gi * B[size_t(i)] + (1 - gi) * h[size_t(i)]) * R[size_t(i)];
    }
    return L;
  };
  auto Bf = to_f(B), hf = to_f(h), gf = to_f(g), d = to_f(R);
  std::vector<float> out(n), dB(n), partial(size_t(rows * T));
  std::vector<double> dg(rows);
  ops::gate_fwd(Bf.data(), hf.data(), gf.data(), rows, T, H, out.data());
  double L = 0;
  for (int i = 0; i < n; ++i) L += double(out[size_t(i)]) * R[size_t(i)];
  EXPECT_NEAR(L, ref(), 1e-5);
  ops::gate_bwd(Bf.data(), hf.data(), gf.data(), rows, T, H, d.data(), dB.data(), dg.data(),
                partial.data());
  expect_grad_close(dB, numeric_grad(B, ref), 1e-4, "dB");
  expect_grad_close(d, numeric_grad(h, ref), 1e-4, "dh");
  expect_grad_close({float(dg[0]), float(dg[1])}, numeric_grad(g, ref), 1e-4, "dg");
}

}  // namespace lr
