// Naive twins of the vectorised training kernels: exp, the small GEMM, blocked attention at
// a shape that crosses query blocks and vector tails, SwiGLU tails, and LoRA backward over a
// slice of the rows (the dropout mask must follow the slice's offset); the vectorised
// dropout against the scalar counter-based draw, element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "grad_check_util.h"
#include "layerroute/ops.h"
#include "layerroute/rng.h"

namespace lr {

using testing::random_vec;
using testing::to_f;

TEST(GradKernels, ExpArrayMatchesStdExp) {
  std::vector<float> x;
  for (double v = -87.3; v <= 88.37; v += 0.01337) x.push_back(float(v));
  x.push_back(0.f), x.push_back(-0.f), x.push_back(1e-8f);
  std::vector<float> y(x.size());
  ops::exp_array(x.data(), y.data(), x.size());
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(double(x[i]));
    worst = std::max(worst, std::fabs(y[i] - ref) / ref);
  }
  EXPECT_LT(worst, 5e-7);
  std::vector<float> low{-std::numeric_limits<float>::infinity(), -100.f, -88.f, -1e30f, 0, 0, 0, 0,
                         -std::numeric_limits<float>::infinity()};
  ops::exp_array(low.data(), low.data(), low.size());
  for (size_t i = 0; i < low.size(); ++i)
    if (i < 4 || i == 8) {
      EXPECT_EQ(low[i], 0.f) << i;
    }
}

TEST(GradKernels, SmallGemmBothLayoutsAndTails) {
  for (int M : {1, 5, 13})
    for (int N : {3, 16, 37})
      for (int K : {1, 7, 64}) {
        auto A = to_f(random_vec(size_t(M * K), 1)), B = to_f(random_vec(size_t(K * (N + 3)), 2));
        auto C0 = to_f(random_vec(size_t(M * (N + 1)), 3));
        for (bool trans : {false, true})
          for (bool acc : {false, true}) {
            std::vector<float> C = C0;
            const long ldb = N + 3, ldc = N + 1;
            // Row-major A [M, K], or the same values stored transposed [K, M].
            std::vector<float> At(A.size());
            for (int r = 0; r < M; ++r)
              for (int k = 0; k < K; ++k) At[size_t(k * M + r)] = A[size_t(r * K + k)];
            if (trans)
              ops::small_gemm(M, N, K, At.data(), 1, M, B.data(), ldb, C.data(), ldc, acc);
            else
              ops::small_gemm(M, N, K, A.data(), K, 1, B.data(), ldb, C.data(), ldc, acc);
            for (int r = 0; r < M; ++r)
              for (int c = 0; c < N + 1; ++c) {
                const size_t i = size_t(r * ldc + c);
                if (c == N) {  // past N: untouched
                  EXPECT_EQ(C[i], C0[i]);
                  continue;
                }
                double s = acc ? C0[i] : 0.0;
                for (int k = 0; k < K; ++k)
                  s += double(A[size_t(r * K + k)]) * B[size_t(k * ldb + c)];
                EXPECT_NEAR(C[i], s, 1e-4) << M << " " << N << " " << K << " " << trans << acc;
              }
          }
      }
}

// Blocked attention against a naive double forward and analytic backward.
TEST(GradKernels, BlockedAttentionMatchesNaive) {
  const int rows = 2, T = 150, nh = 4, nkv = 2, hd = 40, Qd = nh * hd, Kd = nkv * hd, G = nh / nkv;
  std::vector<uint8_t> mask(size_t(rows * T), 1);
  for (int t = 0; t < 20; ++t) mask[size_t(T + t)] = 0;  // row 1: left padding
  for (int t = 140; t < T; ++t) mask[size_t(t)] = 0;     // row 0: right padding
  auto q = random_vec(size_t(rows * T * Qd), 1), k = random_vec(size_t(rows * T * Kd), 2),
       v = random_vec(size_t(rows * T * Kd), 3), dO = random_vec(size_t(rows * T * Qd), 4);
  std::vector<double> o(q.size(), 0), dq(q.size(), 0), dk(k.size(), 0), dv(v.size(), 0);
  const double sc = 1 / std::sqrt(double(hd));
  for (int b = 0; b < rows; ++b)
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < T; ++i) {
        const int kh = h / G;
        const size_t qo = size_t((b * T + i) * Qd + h * hd);
        std::vector<double> p(size_t(T), 0);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; ++j) {
          if (!mask[size_t(b * T + j)]) continue;
          double s = 0;
          for (int d = 0; d < hd; ++d) s += q[qo + d] * k[size_t((b * T + j) * Kd + kh * hd + d)];
          p[size_t(j)] = s * sc, mx = std::max(mx, s * sc);
        }
        if (mx == -1e300) continue;
        for (int j = 0; j <= i; ++j)
          if (mask[size_t(b * T + j)]) sum += (p[size_t(j)] = std::exp(p[size_t(j)] - mx));
        double D = 0;
        std::vector<double> dp(size_t(T), 0);
        for (int j = 0; j <= i; ++j) {
          if (!mask[size_t(b * T + j)]) continue;
          p[size_t(j)] /= sum;
          const size_t ko = size_t((b * T + j) * Kd + kh * hd);
          for (int d = 0; d < hd; ++d) {
            o[qo + d] += p[size_t(j)] * v[ko + d];
            dp[size_t(j)] += dO[qo + d] * v[ko + d];
            dv[ko + d] += p[size_t(j)] * dO[qo + d];
          }
          D += p[size_t(j)] * dp[size_t(j)];
        }
        for (int j = 0; j <= i; ++j) {
          if (!mask[size_t(b * T + j)]) continue;
          const double ds = p[size_t(j)] * (dp[size_t(j)] - D) * sc;
          const size_t ko = size_t((b * T + j) * Kd + kh * hd);
          for (int d = 0; d < hd; ++d) dq[qo + d] += ds * k[ko + d], dk[ko + d] += ds * q[qo + d];
        }
      }
  auto qf = to_f(q), kf = to_f(k), vf = to_f(v), dOf = to_f(dO);
  std::vector<float> out(q.size()), lse(size_t(rows * nh * T)),
      scratch(ops::attention_scratch_floats(rows, T, nh, nkv, hd));
  ops::attention_fwd(qf.data(), kf.data(), vf.data(), mask.data(), rows, T, nh, nkv, hd, out.data(),
                     lse.data(), scratch.data());
  std::vector<float> gq(q.size()), gk(k.size()), gv(v.size());
  ops::attention_bwd(qf.data(), kf.data(), vf.data(), out.data(), lse.data(), dOf.data(),
                     mask.data(), rows, T, nh, nkv, hd, gq.data(), gk.data(), gv.data(),
                     scratch.data());
  auto close = [](const std::vector<float>& a, const std::vector<double>& b, const char* what) {
    for (size_t i = 0; i < b.size(); ++i)
      ASSERT_NEAR(a[i], b[i], 2e-5 * (1 + std::fabs(b[i]))) << what << " " << i;
  };
  close(out, o, "out"), close(gq, dq, "dq"), close(gk, dk, "dk"), close(gv, dv, "dv");
}

// 8 draws at a time through an emulated 64-bit multiply: the very same mask and values as
// the scalar uniform_at, at any offset, length (vector tails) and rate, including p whose
// threshold p * 2^24 is not an integer and p exactly equal to a draw.
TEST(GradKernels, DropoutMatchesScalarDraws) {
  for (float rate : {0.05f, 0.5f, 0.f, 1e-7f, -1.f, 0.999f})
    for (uint64_t first : {uint64_t(0), uint64_t(3), uint64_t(1) << 40})
      for (size_t n : {size_t(1), size_t(7), size_t(8), size_t(13), size_t(4099)}) {
        const uint64_t key = mix_key(uint64_t(n), first) ^ uint64_t(rate * 1e6f);
        // -1: p equal to the last element's own draw, which must be kept (u >= p).
        const float p = rate >= 0.f ? rate : uniform_at(key, first + n - 1);
        std::vector<float> x = to_f(random_vec(n, 11 + n));
        std::vector<float> y(n, -1.f);
        ops::dropout(x.data(), y.data(), n, p, key, first);
        const float keep_scale = 1.f / (1.f - p);
        size_t dropped = 0;
        for (size_t i = 0; i < n; ++i) {
          const bool keep = uniform_at(key, first + i) >= p;
          dropped += keep ? 0 : 1;
          ASSERT_EQ(y[i], keep ? x[i] * keep_scale : 0.f)
              << "p " << p << " first " << first << " n " << n << " i " << i;
        }
        if (p == 0.5f && n == 4099) {
          EXPECT_GT(dropped, n / 2 - 150);
          EXPECT_LT(dropped, n / 2 + 150);
        }
      }
}

TEST(GradKernels, SwiGluTailsMatchNaive) {
  const size_t n = 1003;
  auto g = random_vec(n, 1, 12.0), u = random_vec(n, 2), d = random_vec(n, 3);
  auto gf = to_f(g), uf = to_f(u), df = to_f(d);
  std::vector<float> act(n), dg(n), du(n);
  ops::swiglu_fwd(gf.data(), uf.data(), act.data(), n);
  ops::swiglu_bwd(gf.data(), uf.data(), df.data(), dg.data(), du.data(), n);
  for (size_t i = 0; i < n; ++i) {
    const double sg = 1 / (1 + std::exp(-double(gf[i])));
    EXPECT_NEAR(act[i], gf[i] * sg * uf[i], 1e-5 * (1 + std::fabs(act[i])));
    EXPECT_NEAR(du[i], df[i] * gf[i] * sg, 1e-5);
    EXPECT_NEAR(dg[i], df[i] * uf[i] * sg * (1 + gf[i] * (1 - sg)), 1e-5);
  }
}

// LoRA backward over rows [3, 7) with `first` = 3 * in equals the full backward when dy
// is zero outside those rows: the slice regenerates the same dropout mask.
TEST(GradKernels, LoraBackwardOverRowSliceKeepsDropoutMask) {
  const int N = 9, in = 12, out = 5, r = 3, s0 = 3, s1 = 7;
  auto x = to_f(random_vec(N * in, 1)), W = to_f(random_vec(out * in, 2)),
       A = to_f(random_vec(r * in, 3)), B = to_f(random_vec(out * r, 4)),
       dy = to_f(random_vec(N * out, 5));
  for (int n = 0; n < N; ++n)
    if (n < s0 || n >= s1)
      for (int o = 0; o < out; ++o) dy[size_t(n * out + o)] = 0.f;
  std::vector<float> y(N * out), u(N * r), scratch(N * in), scratch_r(N * r);
  std::vector<float> dA_full(r * in, 0.f), dB_full(out * r, 0.f), dx_full(N * in, 0.f);
  ops::LoraOp lo{A.data(), B.data(), r, 2.f, 0.4f, 99, dA_full.data(), dB_full.data()};
  ops::linear_fwd(x.data(), N, in, out, W.data(), nullptr, &lo, false, y.data(), u.data(),
                  scratch.data());
  ops::linear_bwd(x.data(), dy.data(), N, in, out, W.data(), &lo, u.data(), false, dx_full.data(),
                  nullptr, nullptr, scratch.data(), scratch_r.data());
  std::vector<float> dA(r * in, 0.f), dB(out * r, 0.f), dx((s1 - s0) * in, 0.f);
  ops::LoraOp ls = lo;
  ls.dA = dA.data(), ls.dB = dB.data(), ls.first = uint64_t(s0) * in;
  ops::linear_bwd(x.data() + s0 * in, dy.data() + s0 * out, s1 - s0, in, out, W.data(), &ls,
                  u.data() + s0 * r, false, dx.data(), nullptr, nullptr, scratch.data(),
                  scratch_r.data());
  for (int i = 0; i < r * in; ++i) EXPECT_NEAR(dA[size_t(i)], dA_full[size_t(i)], 1e-5);
  for (int i = 0; i < out * r; ++i) EXPECT_NEAR(dB[size_t(i)], dB_full[size_t(i)], 1e-5);
  for (int i = 0; i < (s1 - s0) * in; ++i)
    EXPECT_NEAR(dx[size_t(i)], dx_full[size_t(s0 * in + i)], 1e-5);
}

}  // namespace lr
