#include "kernels/cpu/peak_probe.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/cpu_features.h"
#include "core/threads.h"
#include "kernels/cpu/isa.h"

namespace lr {

namespace {

// One chunk: kIters steps of 12 independent accumulators (more than latency x throughput
// on the cores we know, so the loop is bound by the FMA ports). Returns the FLOP done.
constexpr long kIters = 1 << 16;
constexpr int kAcc = 12;

double chunk_avx2(float seed) {
  __m256 c[kAcc];
  for (int i = 0; i < kAcc; ++i) c[i] = _mm256_set1_ps(seed + float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kIters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) c[i] = _mm256_fmadd_ps(c[i], a, b);
  __m256 s = c[0];
  for (int i = 1; i < kAcc; ++i) s = _mm256_add_ps(s, c[i]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return double(kIters) * kAcc * 8 * 2;
}

LR_TARGET_AVX512 double chunk_avx512(float seed) {
  __m512 c[kAcc];
  for (int i = 0; i < kAcc; ++i) c[i] = _mm512_set1_ps(seed + float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kIters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) c[i] = _mm512_fmadd_ps(c[i], a, b);
  __m512 s = c[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_ps(s, c[i]);
  alignas(64) float out[16];  // (GCC 12's _mm512_reduce_add_ps warns under -Werror)
  _mm512_store_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return double(kIters) * kAcc * 16 * 2;
}

LR_TARGET_AVX512BF16 double chunk_bf16(float seed) {
  __m512 c[kAcc];
  for (int i = 0; i < kAcc; ++i) c[i] = _mm512_set1_ps(seed + float(i));
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
  for (long it = 0; it < kIters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) c[i] = _mm512_dpbf16_ps(c[i], a, b);
  __m512 s = c[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_ps(s, c[i]);
  alignas(64) float out[16];  // (GCC 12's _mm512_reduce_add_ps warns under -Werror)
  _mm512_store_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return double(kIters) * kAcc * 16 * 2 * 2;
}

double run_chunk(PeakLoop l, float seed) {
  switch (l) {
    case PeakLoop::FmaAvx2:
      return chunk_avx2(seed);
    case PeakLoop::FmaAvx512:
      return chunk_avx512(seed);
    case PeakLoop::Bf16Dot:
      return chunk_bf16(seed);
  }
  return 0;
}

}  // namespace

PeakLoop gemm_peak_loop(CpuPath p, bool bf16_weights) {
  if (bf16_weights && p >= CpuPath::Avx512Bf16) return PeakLoop::Bf16Dot;
  return p >= CpuPath::Avx512 ? PeakLoop::FmaAvx512 : PeakLoop::FmaAvx2;
}

const char* peak_loop_name(PeakLoop l) {
  switch (l) {
    case PeakLoop::FmaAvx2:
      return "fp32 FMA avx2";
    case PeakLoop::FmaAvx512:
      return "fp32 FMA avx512";
    case PeakLoop::Bf16Dot:
      return "bf16 dot (vdpbf16ps)";
  }
  return "?";
}

bool peak_loop_supported(PeakLoop l) {
  switch (l) {
    case PeakLoop::FmaAvx2:
      return true;  // the build's baseline
    case PeakLoop::FmaAvx512:
      return cpu_path_supported() >= CpuPath::Avx512;
    case PeakLoop::Bf16Dot:
      return cpu_path_supported() >= CpuPath::Avx512Bf16;
  }
  return false;
}

double probe_peak_flop_s(PeakLoop l, double seconds, int reps) {
  if (!peak_loop_supported(l)) return 0;
  using clock = std::chrono::steady_clock;
  // Size the run from one chunk on this thread.
  const auto t0 = clock::now();
  const double one = run_chunk(l, 1.f);
  const double chunk_s = std::max(1e-6, std::chrono::duration<double>(clock::now() - t0).count());
  const long chunks = std::max<long>(2L * num_threads(), long(seconds / chunk_s) * num_threads());
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    std::atomic<long> next{0};
    const auto s0 = clock::now();
    parallel(
        [&] {
          for (long c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
            run_chunk(l, float(c % 7));
        },
        /*bulk=*/true);
    const double s = std::chrono::duration<double>(clock::now() - s0).count();
    best = std::max(best, one * double(chunks) / s);
  }
  return best;
}

}  // namespace lr
