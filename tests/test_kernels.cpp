// Every CPU kernel against a naive double-precision loop written here.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernel_test_util.h"
#include "kernels/cpu/argmax.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/swiglu.h"

namespace lr {
namespace {

TEST(Kernel, LinearF32AllShapes) {
  // M crosses the GEMV/GEMM threshold; N and K hit every tail of the 4-row / 16-col loops.
  for (int M : {1, 2, 3, kGemmMinRows - 1, kGemmMinRows, 33})
    for (int N : {1, 5, 64, 67})
      for (int K : {3, 8, 16, 61, 96}) {
        auto x = randv(size_t(M) * K, 1 + M);
        auto W = randv(size_t(N) * K, 2 + N);
        auto b = randv(N, 3);
        auto ref = ref_linear(x, M, K, W, N, b.data());
        std::vector<float> y(size_t(M) * N);
        linear_f32(x.data(), M, K, W.data(), N, b.data(), y.data());
        EXPECT_LT(rel_err(y, ref), 1e-5) << M << " " << N << " " << K;
        // accumulate: y += xW^T (no bias)
        auto ref2 = ref_linear(x, M, K, W, N, nullptr);
        for (size_t i = 0; i < ref2.size(); ++i) ref2[i] += y[i];
        linear_f32(x.data(), M, K, W.data(), N, nullptr, y.data(), true);
        EXPECT_LT(rel_err(y, ref2), 1e-5) << "accumulate " << M << " " << N << " " << K;
      }
}

TEST(Kernel, LinearBf16MatchesWidenedWeights) {
  for (int M : {1, 3, 40})
    for (int N : {7, 130})
      for (int K : {24, 896}) {
        auto x = randv(size_t(M) * K, 5);
        auto Wf = randv(size_t(N) * K, 6);
        std::vector<uint16_t> Wb(Wf.size());
        for (size_t i = 0; i < Wf.size(); ++i) {
          Wb[i] = f32_to_bf16(Wf[i]);
          Wf[i] = bf16_to_f32(Wb[i]);  // the reference sees exactly the stored values
        }
        auto b = randv(N, 7);
        // The GEMM (M >= kGemmMinRows) rounds x to bf16 on the avx512bf16 path.
        const bool rounds = M >= kGemmMinRows && cpu_path() >= CpuPath::Avx512Bf16;
        auto ref = ref_linear(rounds ? round_bf16(x) : x, M, K, Wf, N, b.data());
        std::vector<float> y(size_t(M) * N);
        linear_bf16(x.data(), M, K, Wb.data(), N, b.data(), y.data());
        EXPECT_LT(rel_err(y, ref), 1e-5) << M << " " << N << " " << K;
        if (M <= 3) {
          std::vector<float> y2(size_t(M) * N);
          gemv_bf16(Wb.data(), N, K, b.data(), x.data(), M, y2.data());
          EXPECT_EQ(y, y2);
        }
      }
}

// The panel GEMVs and GEMMs on every kernel path (the AVX-512 panel dots are meant to be
// bit-identical to the AVX2 ones, so a server's batch equals a lone sequence).
using PanelPath = CpuPathTest;
LR_INSTANTIATE_CPU_PATHS(PanelPath);

TEST_P(PanelPath, Bf16PanelsMatchRowMajorBitForBit) {
  for (int M : {1, 3, 40})
    for (int N : {4, 132, 1000})
      for (int K : {16, 48, 896}) {
        auto x = randv(size_t(M) * K, 15);
        auto Wf = randv(size_t(N) * K, 16);
        std::vector<uint16_t> Wb(Wf.size()), P(Wf.size());
        for (size_t i = 0; i < Wf.size(); ++i) {
          Wb[i] = f32_to_bf16(Wf[i]);
          Wf[i] = bf16_to_f32(Wb[i]);
        }
        ASSERT_TRUE(bf16_panels_fit(N, K));
        pack_bf16_panels(Wb.data(), N, K, P.data());
        // Every weight lands once, at the documented place.
        for (int n : {0, 1, N - 1})
          for (int k : {0, 15, K - 1})
            EXPECT_EQ(P[bf16_panel_index(n, k, K)], Wb[size_t(n) * K + k]) << n << " " << k;
        // Unpacked rows are the row-major rows.
        std::vector<float> rows(size_t(3) * K);
        const int n0 = N > 3 ? N - 3 : 0, nr = std::min(3, N);
        unpack_bf16_rows(P.data(), n0, nr, K, rows.data());
        for (int r = 0; r < nr; ++r)
          for (int k = 0; k < K; ++k)
            ASSERT_EQ(rows[size_t(r) * K + k], Wf[size_t(n0 + r) * K + k]);
        auto b = randv(N, 17);
        std::vector<float> y(size_t(M) * N), yp(size_t(M) * N);
        linear_bf16(x.data(), M, K, Wb.data(), N, b.data(), y.data());
        linear_bf16_panels(x.data(), M, K, P.data(), N, b.data(), yp.data());
        // The same products summed in the same order: identical, GEMV and GEMM paths alike
        // (the row-major GEMV has only the AVX2 loop: the panels' AVX-512 one matches it).
        EXPECT_EQ(y, yp) << M << " " << N << " " << K;
        if (M < kGemmMinRows) {  // accumulate adds onto y
          std::vector<float> acc = yp;
          gemv_bf16_panels(P.data(), N, K, nullptr, x.data(), M, acc.data(), true);
          auto ref = ref_linear(x, M, K, Wf, N, b.data());
          for (size_t i = 0; i < ref.size(); ++i) ref[i] = 2 * ref[i] - b[i % size_t(N)];
          EXPECT_LT(rel_err(acc, ref), 1e-5);
        }
      }
  EXPECT_FALSE(bf16_panels_fit(130, 896));
  EXPECT_FALSE(bf16_panels_fit(132, 24));
}

TEST(Kernel, Q8QuantizeAndGemvMatchNaive) {
  // K crosses block tails (K % 32 != 0), M crosses the GEMV/sgemm threshold.
  for (int M : {1, 2, 5, kGemmMinRows, 19})
    for (int N : {1, 7, 130})
      for (int K : {24, 32, 100, 896}) {
        auto x = randv(size_t(M) * K, 8);
        auto Wf = randv(size_t(N) * K, 9, 0.05f);
        Wf[0] = 0.f;  // an all-zero block stays exact
        // The last row tiny: a bf16 scale keeps f32's range (an f16 one would go subnormal).
        for (int k = 0; k < K; ++k) Wf[size_t(N - 1) * K + k] *= 1e-30f;
        const int nb = q8_blocks(K);
        std::vector<int8_t> q(Wf.size());
        std::vector<float> sc(size_t(N) * nb);
        quantize_q8(Wf.data(), N, K, q.data(), sc.data());
        for (int n = 0; n < N; ++n)
          for (int bb = 0; bb < nb; ++bb) {
            float amax = 0.f;
            for (int k = bb * kQ8Block; k < std::min(K, (bb + 1) * kQ8Block); ++k)
              amax = std::max(amax, std::abs(Wf[size_t(n) * K + k]));
            // naive twin of the scale: block max / 127, rounded to the nearest bf16
            ASSERT_EQ(sc[size_t(n) * nb + bb], bf16_to_f32(f32_to_bf16(amax / 127.f))) << n;
          }
        std::vector<float> deq(Wf.size());
        dequantize_q8(q.data(), sc.data(), 0, N, K, deq.data());
        for (int n = 0; n < N; ++n)
          for (int k = 0; k < K; ++k) {
            const size_t i = size_t(n) * K + k;
            const float s = sc[size_t(n) * nb + k / kQ8Block];
            // naive twin: nearest of q * s, |q| <= 127, s = block max / 127
            ASSERT_LE(std::abs(deq[i] - Wf[i]), 0.5f * s * 1.0001f) << n << " " << k;
            ASSERT_EQ(deq[i], float(q[i]) * s);
          }
        auto b = randv(N, 10);
        // The GEMM (M >= kGemmMinRows) on the avx512bf16 path multiplies bf16(x) by
        // bf16(q * s).
        const bool rounds = M >= kGemmMinRows && cpu_path() >= CpuPath::Avx512Bf16;
        const auto xs = rounds ? round_bf16(x) : x;
        const auto ws = rounds ? round_bf16(deq) : deq;
        auto ref = ref_linear(xs, M, K, ws, N, b.data());
        std::vector<float> y(size_t(M) * N);
        linear_q8(x.data(), M, K, q.data(), sc.data(), N, b.data(), y.data());
        EXPECT_LT(rel_err(y, ref), 1e-5) << M << " " << N << " " << K;
        auto ref2 = ref_linear(xs, M, K, ws, N, nullptr);
        for (size_t i = 0; i < ref2.size(); ++i) ref2[i] += y[i];
        linear_q8(x.data(), M, K, q.data(), sc.data(), N, nullptr, y.data(), true);
        EXPECT_LT(rel_err(y, ref2), 1e-5) << "accumulate " << M << " " << N << " " << K;
      }
}

TEST(Kernel, QuantizeXI16MatchesNaive) {
  // Full blocks take the AVX2 path, the 7-long tail the scalar one; an all-zero block and
  // exact ties (x * inv = k + 0.5 for a power-of-two scale) round like nearbyint.
  const int K = 32 * 3 + 7;
  auto x = randv(K, 31, 5.f);
  for (int k = 32; k < 64; ++k) x[k] = 0.f;
  std::vector<int16_t> xq(K);
  std::vector<float> xs(q8_blocks(K));
  quantize_x_i16(x.data(), K, xq.data(), xs.data());
  for (int b = 0; b < q8_blocks(K); ++b) {
    const int k0 = 32 * b, k1 = std::min(K, k0 + 32);
    float amax = 0.f;
    for (int k = k0; k < k1; ++k) amax = std::max(amax, std::abs(x[k]));
    const float s = amax / 32767.f, inv = s > 0.f ? 1.f / s : 0.f;
    EXPECT_EQ(xs[b], s) << b;
    for (int k = k0; k < k1; ++k) {
      ASSERT_EQ(xq[k], int16_t(std::nearbyint(x[k] * inv))) << k;
      ASSERT_LE(std::abs(double(xq[k]) * s - x[k]), 0.5 * s * 1.0001) << k;
    }
  }
  EXPECT_EQ(xs[1], 0.f);
}

TEST_P(PanelPath, Q8PanelsMatchNaive) {
  for (int M : {1, 3, kGemmMinRows, 19})
    for (int N : {4, 132, 1000})
      for (int K : {32, 96, 896}) {
        auto x = randv(size_t(M) * K, 32, 2.f);
        auto Wf = randv(size_t(N) * K, 33, 0.05f);
        const int nb = K / kQ8Block;
        std::vector<int8_t> q(Wf.size());
        std::vector<float> sc(size_t(N) * nb);
        quantize_q8(Wf.data(), N, K, q.data(), sc.data());
        ASSERT_TRUE(q8_panels_fit(N, K));
        std::vector<uint8_t> P(q8_panels_bytes(N, K));
        ASSERT_EQ(P.size(), size_t(N) * K + sizeof(uint16_t) * N * nb);
        pack_q8_panels(q.data(), sc.data(), N, K, P.data());
        // Dequantized panel rows are exactly the row-major q8 rows.
        std::vector<float> deq(Wf.size()), deqp(Wf.size());
        dequantize_q8(q.data(), sc.data(), 0, N, K, deq.data());
        dequantize_q8_panels(P.data(), 0, N, K, deqp.data());
        ASSERT_EQ(deq, deqp) << N << " " << K;
        auto b = randv(N, 34);
        std::vector<float> y(size_t(M) * N), yr(size_t(M) * N);
        linear_q8_panels(x.data(), M, K, P.data(), N, b.data(), y.data());
        if (M >= kGemmMinRows) {
          // Prefill widens while packing for the GEMM: the row-major q8 result, bit for bit.
          linear_q8(x.data(), M, K, q.data(), sc.data(), N, b.data(), yr.data());
          EXPECT_EQ(y, yr) << M << " " << N << " " << K;
          continue;
        }
        // The GEMV's naive twin: x rounded per block to int16 (as quantize_x_i16 does),
        // integer block sums, scaled, in double.
        std::vector<double> ref(size_t(M) * N);
        std::vector<int16_t> xq(K);
        std::vector<float> xs(nb);
        for (int m = 0; m < M; ++m) {
          quantize_x_i16(x.data() + size_t(m) * K, K, xq.data(), xs.data());
          for (int n = 0; n < N; ++n) {
            double s = b[n];
            for (int bb = 0; bb < nb; ++bb) {
              int64_t d = 0;
              for (int k = 32 * bb; k < 32 * bb + 32; ++k)
                d += int64_t(q[size_t(n) * K + k]) * xq[k];
              s += double(d) * sc[size_t(n) * nb + bb] * xs[bb];
            }
            ref[size_t(m) * N + n] = s;
          }
        }
        EXPECT_LT(rel_err(y, ref), 1e-6) << M << " " << N << " " << K;
        // Bit-identical to the AVX2 GEMV.
        set_cpu_path(CpuPath::Avx2);
        std::vector<float> y2(y.size());
        linear_q8_panels(x.data(), M, K, P.data(), N, b.data(), y2.data());
        set_cpu_path(GetParam());
        EXPECT_EQ(y, y2) << M << " " << N << " " << K;
        // Against f32 x (gemv_q8's numerics) each output moves by at most what rounding x
        // can do: sum_k |w_k| * xs_b / 2 (plus float rounding).
        const auto ref32 = ref_linear(x, M, K, deq, N, b.data());
        for (int m = 0; m < M; ++m) {
          quantize_x_i16(x.data() + size_t(m) * K, K, xq.data(), xs.data());
          for (int n = 0; n < N; ++n) {
            double bound = 0;
            for (int k = 0; k < K; ++k)
              bound += std::abs(deq[size_t(n) * K + k]) * 0.5 * xs[k / 32];
            const size_t i = size_t(m) * N + n;
            ASSERT_LE(std::abs(y[i] - ref32[i]), bound * 1.01 + 1e-6 * std::abs(ref32[i]))
                << M << " " << N << " " << K;
          }
        }
        std::vector<float> acc = y;
        gemv_q8_panels(P.data(), N, K, nullptr, x.data(), M, acc.data(), true);
        for (size_t i = 0; i < ref.size(); ++i) ref[i] = 2 * ref[i] - b[i % size_t(N)];
        EXPECT_LT(rel_err(acc, ref), 1e-6) << "accumulate " << M << " " << N << " " << K;
      }
  EXPECT_FALSE(q8_panels_fit(132, 48));
  EXPECT_FALSE(q8_panels_fit(130, 64));
}

TEST_P(PanelPath, GemvOverSeveralMatricesMatchesOneByOne) {
  // q/k/v-like: one call over three matrices of the same K gives each output exactly what
  // its own call gives (bias, accumulate, M > 1 included), for both panel formats.
  const int K = 896;
  const int Ns[3] = {132, 4, 1000};
  for (int M : {1, 3}) {
    const auto x = randv(size_t(M) * K, 41);
    std::vector<std::vector<uint16_t>> bp(3);
    std::vector<std::vector<uint8_t>> qp(3);
    std::vector<std::vector<float>> bias(3);
    for (int i = 0; i < 3; ++i) {
      const int N = Ns[i];
      const auto w = randv(size_t(N) * K, 42 + i, 0.05f);
      std::vector<uint16_t> wb(w.size());
      for (size_t j = 0; j < w.size(); ++j) wb[j] = f32_to_bf16(w[j]);
      bp[i].resize(wb.size());
      pack_bf16_panels(wb.data(), N, K, bp[i].data());
      std::vector<int8_t> q(w.size());
      std::vector<float> sc(size_t(N) * q8_blocks(K));
      quantize_q8(w.data(), N, K, q.data(), sc.data());
      qp[i].resize(q8_panels_bytes(N, K));
      pack_q8_panels(q.data(), sc.data(), N, K, qp[i].data());
      bias[i] = randv(N, 50 + i);
    }
    for (bool q8 : {false, true}) {
      std::vector<std::vector<float>> many(3), one(3);
      GemvOut outs[3];
      for (int i = 0; i < 3; ++i) {
        many[i] = one[i] = randv(size_t(M) * Ns[i], 60 + i);  // accumulate onto these
        const bool acc = i == 1;
        const float* b = i == 2 ? nullptr : bias[i].data();
        const void* w = q8 ? static_cast<const void*>(qp[i].data()) : bp[i].data();
        outs[i] = {w, Ns[i], b, many[i].data(), acc};
        if (q8)
          gemv_q8_panels(qp[i].data(), Ns[i], K, b, x.data(), M, one[i].data(), acc);
        else
          gemv_bf16_panels(bp[i].data(), Ns[i], K, b, x.data(), M, one[i].data(), acc);
      }
      if (q8)
        gemv_q8_panels_many(outs, 3, K, x.data(), M);
      else
        gemv_bf16_panels_many(outs, 3, K, x.data(), M);
      for (int i = 0; i < 3; ++i)
        EXPECT_EQ(many[i], one[i]) << "q8 " << q8 << " M " << M << " " << i;
    }
  }
}

TEST(Kernel, ParallelForCoversEachIndexOnceAndNests) {
  for (long n : {0L, 1L, 2L, 3L, 1000L}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    parallel_for(n, [&](long b, long e) {
      for (long i = b; i < e; ++i) {
        // a nested call (serial inside a region) must still cover its whole range
        parallel_for(3, [&](long b2, long e2) { hits[size_t(i)] += int(e2 - b2); });
      }
    });
    for (long i = 0; i < n; ++i) EXPECT_EQ(hits[size_t(i)].load(), 3) << n << " " << i;
  }
}

TEST(Kernel, RmsNorm) {
  const int T = 3, H = 37;
  auto x = randv(T * H, 8, 3.f), w = randv(H, 9);
  std::vector<float> y(T * H);
  rmsnorm(x.data(), w.data(), y.data(), T, H, 1e-6f);
  std::vector<double> ref(T * H);
  for (int t = 0; t < T; ++t) {
    double ss = 0;
    for (int i = 0; i < H; ++i) ss += double(x[t * H + i]) * x[t * H + i];
    const double inv = 1.0 / std::sqrt(ss / H + 1e-6);
    for (int i = 0; i < H; ++i) ref[t * H + i] = x[t * H + i] * inv * w[i];
  }
  EXPECT_LT(rel_err(y, ref), 1e-6);
}

TEST(Kernel, RopeRotateHalf) {
  const int T = 4, nh = 3, d = 16;
  const int stride = nh * d + 5;  // rows wider than the heads: the stride is honoured
  auto x = randv(T * stride, 10);
  const int pos[T] = {0, 7, 3, 1000};
  auto table = make_rope_table(1024, d, 1e6);
  auto y = x;
  rope_apply(y.data(), T, stride, nh, d, pos, table);
  std::vector<double> ref(x.begin(), x.end());
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < d / 2; ++i) {
        const double f = std::pow(1e6, -2.0 * i / d) * pos[t];
        const size_t a = size_t(t) * stride + h * d + i, b = a + d / 2;
        ref[a] = x[a] * std::cos(f) - x[b] * std::sin(f);
        ref[b] = x[b] * std::cos(f) + x[a] * std::sin(f);
      }
  EXPECT_LT(rel_err(y, ref), 1e-6);
  int bad = 1024;
  EXPECT_THROW(rope_apply(y.data(), 1, stride, nh, d, &bad, table), Error);
}

TEST(Kernel, SiluMulAndSoftmax) {
  auto g = randv(50, 11, 6.f), u = randv(50, 12);
  std::vector<float> o(50);
  silu_mul(g.data(), u.data(), o.data(), 50);
  std::vector<double> ref(50);
  for (int i = 0; i < 50; ++i) ref[i] = g[i] / (1.0 + std::exp(-double(g[i]))) * u[i];
  EXPECT_LT(rel_err(o, ref), 1e-6);

  auto x = randv(2 * 30, 13, 40.f);
  auto s = x;
  softmax(s.data(), 2, 30);
  for (int r = 0; r < 2; ++r) {
    double mx = -1e30, sum = 0;
    for (int i = 0; i < 30; ++i) mx = std::max(mx, double(x[r * 30 + i]));
    for (int i = 0; i < 30; ++i) sum += std::exp(x[r * 30 + i] - mx);
    for (int i = 0; i < 30; ++i)
      EXPECT_NEAR(s[r * 30 + i], std::exp(x[r * 30 + i] - mx) / sum, 1e-6);
  }
}

TEST(Kernel, Argmax) {
  std::vector<float> v = {1, 5, -2, 5, 3};
  EXPECT_EQ(argmax(v.data(), 5), 1);  // first of equal maxima
  v[4] = 9;
  EXPECT_EQ(argmax(v.data(), 5), 4);
}

// The online softmax's running max (its result would hide a wrong one: it cancels out).
TEST(Kernel, RowMax) {
  EXPECT_EQ(row_max(nullptr, 0), -std::numeric_limits<float>::infinity());
  for (int n : {1, 7, 8, 9, 16, 23, 64})
    for (int at = 0; at < n; ++at) {
      std::vector<float> v(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) v[size_t(i)] = -100.f - float(i);
      v[size_t(at)] = -3.5f;
      EXPECT_EQ(row_max(v.data(), n), -3.5f) << "n " << n << " at " << at;
    }
}

// The cache layout of attention.h, element by element, and kv_load as kv_store's inverse.
TEST(Kernel, KVCacheLayout) {
  const int n_kv = 2, d = 8, cap = kv_capacity(70);
  ASSERT_EQ(cap, 128);
  std::vector<float> K(size_t(cap) * n_kv * d, -1.f), V(K.size(), -1.f);
  std::vector<float> k(n_kv * d), v(n_kv * d), k2(k.size()), v2(v.size());
  for (int p : {0, 5, 63, 64, 69}) {
    for (int i = 0; i < n_kv * d; ++i) {
      k[size_t(i)] = float(1000 * p + i);
      v[size_t(i)] = float(-1000 * p - i);
    }
    kv_store(K.data(), V.data(), cap, n_kv, d, p, k.data(), v.data());
    for (int g = 0; g < n_kv; ++g)
      for (int c = 0; c < d; ++c) {
        EXPECT_EQ(K[(size_t(g) * cap + p / 64 * 64) * d + size_t(c) * 64 + p % 64],
                  k[size_t(g) * d + c]);
        EXPECT_EQ(V[(size_t(g) * cap + p) * d + c], v[size_t(g) * d + c]);
      }
    kv_load(K.data(), V.data(), cap, n_kv, d, p, k2.data(), v2.data());
    EXPECT_EQ(k2, k);
    EXPECT_EQ(v2, v);
  }
}

// Causal GQA over a cache, on every kernel path: a few new queries (decode-like) and a
// whole prompt (prefill), over one key tile and several.
using AttentionPath = CpuPathTest;
LR_INSTANTIATE_CPU_PATHS(AttentionPath);

TEST_P(AttentionPath, CausalGqaMatchesNaive) {
  // 14/2: Qwen2.5-0.5B's 7 q heads per kv head (a decode step's 7 rows: AVX2 4 + 3,
  // AVX-512 6 + 1; a prefill item's 42 rows); d 20 and 8 take the AVX2 tiles' 8-column
  // P.V on every path, 16, 48, 64 and 128 the AVX-512 ones where the CPU has them.
  for (auto [nq, nkv] : {std::pair{6, 2}, std::pair{14, 2}})
    for (int d : {8, 16, 20, 48, 64, 128})
      for (auto [Tc, T_new] : {std::pair{1, 1}, std::pair{5, 4}, std::pair{150, 4},
                               std::pair{150, 150}, std::pair{70, 33}}) {
        const int group = nq / nkv;
        std::vector<int> pos(T_new);
        for (int i = 0; i < T_new; ++i) pos[i] = Tc - T_new + i;
        auto q = randv(size_t(T_new) * nq * d, 14, 2.f);
        auto K = randv(size_t(Tc) * nkv * d, 15, 2.f);
        auto V = randv(size_t(Tc) * nkv * d, 16);
        // Into the cache layout, from row-major [pos][nkv * d].
        const int cap = kv_capacity(Tc);
        std::vector<float> Kc(size_t(cap) * nkv * d), Vc(Kc.size());
        for (int p = 0; p < Tc; ++p)
          kv_store(Kc.data(), Vc.data(), cap, nkv, d, p, K.data() + size_t(p) * nkv * d,
                   V.data() + size_t(p) * nkv * d);
        std::vector<float> out(size_t(T_new) * nq * d), lse(size_t(nq) * T_new);
        attention_causal(q.data(), T_new, pos.data(), Kc.data(), Vc.data(), cap, nq, nkv, d,
                         out.data(), lse.data(), T_new);
        std::vector<double> ref(out.size());
        double lse_err = 0;
        for (int i = 0; i < T_new; ++i)
          for (int h = 0; h < nq; ++h) {
            const int g = h / group;
            std::vector<double> s(pos[i] + 1);
            double mx = -1e300, sum = 0;
            for (int j = 0; j <= pos[i]; ++j) {
              double dot = 0;
              for (int c = 0; c < d; ++c)
                dot += double(q[(size_t(i) * nq + h) * d + c]) * K[(size_t(j) * nkv + g) * d + c];
              s[j] = dot / std::sqrt(double(d));
              mx = std::max(mx, s[j]);
            }
            for (auto& e : s) sum += (e = std::exp(e - mx));
            const double lse_ref = mx + std::log(sum);
            lse_err = std::max(
                lse_err, std::abs(lse[size_t(h) * T_new + i] - lse_ref) / (1 + std::abs(lse_ref)));
            for (int c = 0; c < d; ++c) {
              double o = 0;
              for (int j = 0; j <= pos[i]; ++j) o += s[j] / sum * V[(size_t(j) * nkv + g) * d + c];
              ref[(size_t(i) * nq + h) * d + c] = o;
            }
          }
        EXPECT_LT(rel_err(out, ref), 1e-5) << nq << " " << d << " " << Tc << " " << T_new;
        EXPECT_LT(lse_err, 1e-5) << "log-sum-exp " << nq << " " << d << " " << Tc << " " << T_new;
      }
}

}  // namespace
}  // namespace lr
