// GEMV (decode: f32, bf16, q8), sgemm (prefill), attention and SwiGLU at the Qwen2.5-0.5B
// shapes.
// GEMV reports bytes/s of weights read; weights cycle through copies totalling > 128 MB
// so they come from DRAM, not the 32 MB L3, as they do when decoding a real model.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/threads.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/swiglu.h"
#include "layerroute/ops.h"

namespace {

constexpr size_t kColdBytes = size_t(128) << 20;

template <typename T>
std::vector<std::vector<T>> weight_copies(size_t n, size_t min_total_bytes) {
  std::mt19937 rng(1);
  std::vector<T> w(n);
  for (auto& x : w) {
    if constexpr (sizeof(T) == 4)
      x = T(std::uniform_real_distribution<float>(-1, 1)(rng));
    else
      x = T(0x3c00 + (rng() & 0x3ff));  // bf16 values around 0.01..0.02
  }
  const size_t copies = std::max<size_t>(1, min_total_bytes / (n * sizeof(T)) + 1);
  return std::vector<std::vector<T>>(copies, w);
}

void BM_gemv_f32(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  auto W = weight_copies<float>(size_t(N) * K, kColdBytes);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    lr::gemv_f32(W[i++ % W.size()].data(), N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * N * K * 4);
}

void BM_gemv_bf16(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  auto W = weight_copies<uint16_t>(size_t(N) * K, kColdBytes);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    lr::gemv_bf16(W[i++ % W.size()].data(), N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * N * K * 2);
}

// Cold copies of an N x K bf16 matrix in the panel layout the GEMV and the GEMM read.
std::vector<std::vector<uint16_t>> packed_bf16_copies(int N, int K) {
  auto W = weight_copies<uint16_t>(size_t(N) * K, kColdBytes);
  for (auto& w : W) {
    std::vector<uint16_t> p(w.size());
    lr::pack_bf16_panels(w.data(), N, K, p.data());
    w.swap(p);
  }
  return W;
}

void BM_gemv_bf16_panels(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  auto W = packed_bf16_copies(N, K);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    lr::gemv_bf16_panels(W[i++ % W.size()].data(), N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * N * K * 2);
}

void BM_gemv_q8(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  const auto Wc = weight_copies<float>(size_t(N) * K, 0);
  const std::vector<float>& Wf = Wc[0];
  const int nb = lr::q8_blocks(K);
  std::vector<int8_t> q(Wf.size());
  std::vector<float> sc(size_t(N) * nb);
  lr::quantize_q8(Wf.data(), N, K, q.data(), sc.data());
  const size_t bytes = q.size() + sc.size() * 4;
  const size_t copies = kColdBytes / bytes + 1;
  std::vector<std::vector<int8_t>> Q(copies, q);
  std::vector<std::vector<float>> S(copies, sc);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    const size_t c = i++ % copies;
    lr::gemv_q8(Q[c].data(), S[c].data(), N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
}

// q8 panels (the decode layout) with the int16-activation kernel: bytes/s of weights and
// scales read, as BM_gemv_q8 reports for the row-major layout.
void BM_gemv_q8_panels(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  const auto Wc = weight_copies<float>(size_t(N) * K, 0);
  std::vector<int8_t> q(Wc[0].size());
  std::vector<float> sc(size_t(N) * lr::q8_blocks(K));
  lr::quantize_q8(Wc[0].data(), N, K, q.data(), sc.data());
  std::vector<uint8_t> p(lr::q8_panels_bytes(N, K));
  lr::pack_q8_panels(q.data(), sc.data(), N, K, p.data());
  const std::vector<std::vector<uint8_t>> P(kColdBytes / p.size() + 1, p);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    lr::gemv_q8_panels(P[i++ % P.size()].data(), N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(p.size()));
}

// Runs a benchmark on kernel path st.range(i) (0 avx2, 1 avx512, 2 avx512bf16) and restores
// the path after; a path the CPU lacks is skipped by name.
struct PathScope {
  PathScope(benchmark::State& st, int i) {
    const auto path = lr::CpuPath(st.range(i));
    ok = int(path) <= int(lr::cpu_path_supported());
    if (!ok) {
      st.SkipWithError("this CPU lacks the kernel path");
      return;
    }
    lr::set_cpu_path(path);
  }
  ~PathScope() { lr::set_cpu_path(saved); }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;
  const lr::CpuPath saved = lr::cpu_path();
  bool ok = false;
};

// The panel GEMVs on one kernel path: range(0) format (0 bf16, 1 q8), N, K, M = 1, and
// range(3) the path (0 avx2, 1 avx512, 2 avx512bf16; skipped where the CPU lacks it). Run
// with --benchmark_enable_random_interleaving=true so the paths share the VM's drift.
void BM_gemv_panels_path(benchmark::State& st) {
  const int fmt = int(st.range(0)), N = int(st.range(1)), K = int(st.range(2));
  const PathScope path(st, 3);
  if (!path.ok) return;
  const auto Wc = weight_copies<float>(size_t(N) * K, 0);
  std::vector<uint8_t> one;
  if (fmt == 0) {
    std::vector<uint16_t> b(Wc[0].size()), p(b.size());
    for (size_t i = 0; i < b.size(); ++i) b[i] = lr::f32_to_bf16(Wc[0][i]);
    lr::pack_bf16_panels(b.data(), N, K, p.data());
    const auto* c = reinterpret_cast<const uint8_t*>(p.data());
    one.assign(c, c + p.size() * sizeof(uint16_t));
  } else {
    std::vector<int8_t> q(Wc[0].size());
    std::vector<float> sc(size_t(N) * lr::q8_blocks(K));
    lr::quantize_q8(Wc[0].data(), N, K, q.data(), sc.data());
    one.resize(lr::q8_panels_bytes(N, K));
    lr::pack_q8_panels(q.data(), sc.data(), N, K, one.data());
  }
  // Copies 64-byte aligned, as the inference arena holds them (a std::vector's large
  // buffer sits 16 bytes past a page, which splits every 64-byte load across two lines).
  const size_t stride = (one.size() + 63) / 64 * 64, copies = kColdBytes / stride + 1;
  std::unique_ptr<uint8_t, decltype(&std::free)> buf(
      static_cast<uint8_t*>(std::aligned_alloc(64, stride * copies)), &std::free);
  for (size_t c = 0; c < copies; ++c) std::memcpy(buf.get() + c * stride, one.data(), one.size());
  std::vector<float> x(K, 0.5f), y(N);
  size_t i = 0;
  for (auto _ : st) {
    const uint8_t* w = buf.get() + (i++ % copies) * stride;
    if (fmt == 0)
      lr::gemv_bf16_panels(reinterpret_cast<const uint16_t*>(w), N, K, nullptr, x.data(), 1,
                           y.data());
    else
      lr::gemv_q8_panels(w, N, K, nullptr, x.data(), 1, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(one.size()));
}

// A decode step of range(0) rows at 4864 x 896 (bf16 panels, weights cold): range(1) 0 the
// panel GEMV decode runs (each row bit-identical to decoding alone), 1 the GEMM; range(2)
// the kernel path. What the GEMV's exactness costs a batch where its batched kernel is not
// wide (avx2). Interleave (--benchmark_enable_random_interleaving=true).
void BM_decode_rows(benchmark::State& st) {
  const int N = 4864, K = 896, M = int(st.range(0));
  const bool gemm = st.range(1) != 0;
  const PathScope path(st, 2);
  if (!path.ok) return;
  auto W = packed_bf16_copies(N, K);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    const uint16_t* w = W[i++ % W.size()].data();
    if (gemm)
      lr::gemm_nt(x.data(), M, lr::gemm_weights_bf16_panels(w, N, K), y.data(), N);
    else
      lr::gemv_bf16_panels(w, N, K, nullptr, x.data(), M, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * N * K * 2);
}

// Causal GQA attention at the Qwen2.5-0.5B head shape (14 q heads, 2 kv, d 64): range(0)
// new queries at the end of a context of range(1) positions, on kernel path range(2) (as
// BM_gemv_panels_path). Reports FLOP/s.
void BM_attention(benchmark::State& st) {
  const int Tn = int(st.range(0)), ctx = int(st.range(1)), nq = 14, nkv = 2, d = 64;
  const PathScope path(st, 2);
  if (!path.ok) return;
  // resize, not sized constructors: GCC 12 warns (free-nonheap-object) on the latter here
  std::vector<float> q, out, K, V;
  q.resize(size_t(Tn) * nq * d, 0.1f);
  out.resize(q.size());
  const int cap = lr::kv_capacity(ctx);  // the cache layout: only its size matters here
  K.resize(size_t(cap) * nkv * d, 0.2f);
  V.resize(K.size(), 0.3f);
  std::vector<int> pos(Tn);
  for (int i = 0; i < Tn; ++i) pos[i] = ctx - Tn + i;
  double pairs = 0;
  for (int p : pos) pairs += p + 1;
  for (auto _ : st) {
    lr::attention_causal(q.data(), Tn, pos.data(), K.data(), V.data(), cap, nq, nkv, d, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["FLOPS"] = benchmark::Counter(4.0 * d * nq * pairs * double(st.iterations()),
                                            benchmark::Counter::kIsRate);
}

// Training's attention op over a batch of range(0) rows of range(1) tokens at the same head
// shape, every key real: range(2) 0 times the forward, 1 the backward (after one forward).
// FLOPs as BM_attention's, causal pairs only (the backward's five products: 2.5x).
void BM_attention_train(benchmark::State& st) {
  const int rows = int(st.range(0)), T = int(st.range(1)), nq = 14, nkv = 2, d = 64;
  const bool backward = st.range(2) != 0;
  const size_t nQ = size_t(rows) * T * nq * d, nK = size_t(rows) * T * nkv * d;
  std::vector<float> q, k, v, out, dout, lse, scratch, dq, dk, dv;
  q.resize(nQ, 0.1f), out.resize(nQ), dout.resize(nQ, 0.01f), dq.resize(nQ);
  k.resize(nK, 0.2f), v.resize(nK, 0.3f), dk.resize(nK), dv.resize(nK);
  lse.resize(size_t(rows) * nq * T);
  scratch.resize(lr::ops::attention_scratch_floats(rows, T, nq, nkv, d));
  const std::vector<uint8_t> mask(size_t(rows) * T, 1);
  lr::ops::attention_fwd(q.data(), k.data(), v.data(), mask.data(), rows, T, nq, nkv, d, out.data(),
                         lse.data(), scratch.data());
  for (auto _ : st) {
    if (backward)
      lr::ops::attention_bwd(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(),
                             mask.data(), rows, T, nq, nkv, d, dq.data(), dk.data(), dv.data(),
                             scratch.data());
    else
      lr::ops::attention_fwd(q.data(), k.data(), v.data(), mask.data(), rows, T, nq, nkv, d,
                             out.data(), lse.data(), scratch.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double pairs = double(rows) * T * (T + 1) / 2;
  st.counters["FLOPS"] =
      benchmark::Counter((backward ? 2.5 : 1.0) * 4.0 * d * nq * pairs * double(st.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_silu_mul(benchmark::State& st) {
  const size_t n = size_t(st.range(0));
  std::vector<float> g(n, 0.3f), u(n, 0.7f), o(n);
  for (auto _ : st) {
    lr::silu_mul(g.data(), u.data(), o.data(), n);
    benchmark::DoNotOptimize(o.data());
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(n));
}

// linear_f32 across M: where the GEMV stops beating sgemm (kGemmMinRows).
void BM_linear_f32(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  auto W = weight_copies<float>(size_t(N) * K, 0);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  for (auto _ : st) {
    lr::linear_f32(x.data(), M, K, W[0].data(), N, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["FLOPS"] =
      benchmark::Counter(2.0 * M * N * K * double(st.iterations()), benchmark::Counter::kIsRate);
}

void BM_linear_bf16(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), M = int(st.range(2));
  auto W = weight_copies<uint16_t>(size_t(N) * K, 0);
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  for (auto _ : st) {
    lr::linear_bf16(x.data(), M, K, W[0].data(), N, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["FLOPS"] =
      benchmark::Counter(2.0 * M * N * K * double(st.iterations()), benchmark::Counter::kIsRate);
}

// The GEMM at M = 512 with cold weights (a new copy each call, as a prefill or a training
// step reads each layer's once), beside its peer in the same run, on kernel path
// range(3) (0 avx2, 1 avx512, 2 avx512bf16; skipped where the CPU lacks it). Variants:
// 0 ours on bf16 panels (inference), 1 ours on f32, 2 OpenBLAS sgemm x W^T (the peer),
// 3 ours on f32 rounded to bf16 (training forward), 4 ours on W^T rounded to bf16
// (training input gradient dy W, W [K, N] here), 5 OpenBLAS dy W (its peer).
void BM_gemm(benchmark::State& st) {
  const int N = int(st.range(0)), K = int(st.range(1)), variant = int(st.range(2)), M = 512;
  const PathScope path(st, 3);
  if (!path.ok) return;
  std::vector<std::vector<float>> Wf;
  std::vector<std::vector<uint16_t>> Wp;
  if (variant == 0) {
    Wp = packed_bf16_copies(N, K);
  } else {
    Wf = weight_copies<float>(size_t(N) * K, kColdBytes);
  }
  std::vector<float> x(size_t(M) * K, 0.5f), y(size_t(M) * N);
  size_t i = 0;
  for (auto _ : st) {
    const size_t c = i++;
    switch (variant) {
      case 0:
        lr::gemm_nt(x.data(), M, lr::gemm_weights_bf16_panels(Wp[c % Wp.size()].data(), N, K),
                    y.data(), N);
        break;
      case 1:
        lr::gemm_nt(x.data(), M, lr::gemm_weights_f32(Wf[c % Wf.size()].data(), N, K), y.data(), N);
        break;
      case 3:
        lr::gemm_nt(x.data(), M, lr::gemm_weights_f32_as_bf16(Wf[c % Wf.size()].data(), N, K),
                    y.data(), N);
        break;
      case 4:
        lr::gemm_nt(x.data(), M, lr::gemm_weights_f32_t(Wf[c % Wf.size()].data(), N, K, true),
                    y.data(), N);
        break;
      case 2:
        lr::threads_idle();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, x.data(), K,
                    Wf[c % Wf.size()].data(), K, 1.f, y.data(), N);
        break;
      default:
        lr::threads_idle();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.f, x.data(), K,
                    Wf[c % Wf.size()].data(), N, 1.f, y.data(), N);
        break;
    }
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["FLOPS"] =
      benchmark::Counter(2.0 * M * N * K * double(st.iterations()), benchmark::Counter::kIsRate);
}

// Args: N (out), K (in), M (activation rows).
BENCHMARK(BM_gemv_f32)
    ->Args({4864, 896, 1})
    ->Args({896, 4864, 1})
    ->Args({4864, 896, 4})
    ->UseRealTime();
BENCHMARK(BM_gemv_bf16)
    ->Args({4864, 896, 1})
    ->Args({896, 4864, 1})
    ->Args({4864, 896, 4})
    ->UseRealTime();
BENCHMARK(BM_gemv_bf16_panels)
    ->ArgsProduct({{4864, 151936}, {896}, {1, 2, 4, 8}})
    ->Args({896, 4864, 1})
    ->Args({896, 4864, 4})
    ->UseRealTime();
BENCHMARK(BM_gemv_q8)
    ->Args({4864, 896, 1})
    ->Args({896, 4864, 1})
    ->Args({151936, 896, 1})
    ->UseRealTime();
BENCHMARK(BM_gemv_q8_panels)
    ->Args({4864, 896, 1})
    ->Args({896, 4864, 1})
    ->Args({151936, 896, 1})
    ->UseRealTime();
BENCHMARK(BM_gemv_panels_path)
    ->ArgsProduct({{0, 1}, {4864}, {896}, {0, 1, 2}})
    ->ArgsProduct({{0, 1}, {896}, {4864}, {0, 1, 2}})
    ->UseRealTime();
BENCHMARK(BM_attention)
    ->ArgsProduct({{1}, {640, 4096}, {0, 1}})
    ->Args({512, 512, 0})
    ->Args({512, 512, 1})
    ->UseRealTime();
BENCHMARK(BM_decode_rows)
    ->ArgNames({"rows", "gemm", "path"})
    ->ArgsProduct({{1, 4, 8, 16}, {0, 1}, {0, 2}})
    ->UseRealTime();
BENCHMARK(BM_attention_train)
    ->ArgNames({"rows", "T", "bwd"})
    ->Args({1, 512, 0})
    ->Args({4, 128, 0})
    ->Args({1, 512, 1})
    ->Args({4, 128, 1})
    ->UseRealTime();
BENCHMARK(BM_silu_mul)->Arg(512 * 4864)->UseRealTime();
BENCHMARK(BM_linear_f32)
    ->ArgsProduct({{4864}, {896}, {4, 8, 16, 32, 128}})
    ->Args({896, 4864, 128})
    ->UseRealTime();
BENCHMARK(BM_linear_bf16)->Args({4864, 896, 128})->Args({896, 4864, 128})->UseRealTime();
BENCHMARK(BM_linear_bf16)->Args({4864, 896, 256})->UseRealTime();
// Args: N, K, variant (0 ours bf16 panels, 1 ours f32, 2 OpenBLAS f32).
// Args: N, K, variant, kernel path.
BENCHMARK(BM_gemm)
    ->ArgsProduct({{4864}, {896}, {0, 1, 3, 4}, {0, 1, 2}})
    ->ArgsProduct({{896}, {4864}, {0, 1, 3, 4}, {0, 1, 2}})
    ->Args({4864, 896, 2, 0})
    ->Args({896, 4864, 2, 0})
    ->Args({4864, 896, 5, 0})
    ->Args({896, 4864, 5, 0})
    ->UseRealTime();

}  // namespace
