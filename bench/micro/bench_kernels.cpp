// GEMV (decode) and sgemm (prefill) speed at the Qwen2.5-0.5B MLP shapes.
// GEMV reports bytes/s of weights read; weights cycle through copies totalling > 128 MB
// so they come from DRAM, not the 32 MB L3, as they do when decoding a real model.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/gemv.h"
#include "kernels/cpu/linear.h"

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
BENCHMARK(BM_linear_f32)
    ->ArgsProduct({{4864}, {896}, {4, 8, 16, 32, 128}})
    ->Args({896, 4864, 128})
    ->UseRealTime();
BENCHMARK(BM_linear_bf16)->Args({4864, 896, 128})->Args({896, 4864, 128})->UseRealTime();

}  // namespace
