#include "eval/machine_limits.h"

#include <cblas.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>

#include "core/dtype.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/simd.h"
#include "model/forward.h"

namespace lr {

namespace {

// sink += the sum of floats [64 b, 64 e) of p (whole cache lines).
void add_lines(const float* p, long b, long e, std::atomic<double>& sink) {
  float s = 0;
#if LR_HAVE_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (long i = b * 64; i < e * 64; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  s = simd::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#else
  for (long i = b * 64; i < e * 64; ++i) s += p[i];
#endif
  double cur = sink.load();
  while (!sink.compare_exchange_weak(cur, cur + s)) {
  }
}

}  // namespace

BandwidthProbe::BandwidthProbe(size_t bytes) {
  const size_t before = current_rss_bytes();
  n_ = bytes / sizeof(float) / 64 * 64;  // whole cache lines
  void* mem =
      mmap(nullptr, n_ * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    n_ = 0;
    return;
  }
  madvise(mem, n_ * sizeof(float), MADV_HUGEPAGE);
  p_ = static_cast<float*>(mem);
  // Filled (and faulted in) by all threads; bulk, as a pass (below).
  parallel_for(
      long(n_), [&](long b, long e) { std::fill(p_ + b, p_ + e, 1.f); }, true, /*bulk=*/true);
  const size_t after = current_rss_bytes();
  resident_ = after > before ? after - before : 0;
}

BandwidthProbe::~BandwidthProbe() {
  if (p_) munmap(p_, n_ * sizeof(float));
}

double BandwidthProbe::pass() {
  std::atomic<double> sink{0};
  const float* p = p_;
  // Pieces of whole cache lines. A bulk call: a pass lasts milliseconds, and its final join
  // (waiting for the other thread's last piece) must not count as a preempted worker and
  // send the pool's next calls (the decode being measured) to one thread.
  Timer t;
  parallel_for(
      long(n_) / 64, [&](long b, long e) { add_lines(p, b, e, sink); }, true, /*bulk=*/true);
  const double sec = t.seconds();
  sum_ = sink.load();
  return sec;
}

double read_bandwidth_1gib() {
  BandwidthProbe probe(size_t(1) << 30);
  if (!probe.ok()) return 0;
  double best = 1e30;
  for (int rep = 0; rep < 4; ++rep) {
    const double sec = probe.pass();
    if (rep > 0) best = std::min(best, sec);
  }
  return probe.bytes() / best;
}

double linear_bytes(const Linear& L) {
  const double n = double(L.rows) * L.cols;
  double b = 4.0 * L.bias.size();
  switch (L.dtype) {
    case WeightsDType::F32:
      return b + 4 * n;
    case WeightsDType::BF16:
      return b + 2 * n;
    case WeightsDType::Q8:
      return b + (L.q8_panels() ? double(L.q8_panel.size())
                                : n + sizeof(float) * double(L.rows) * q8_blocks(L.cols));
  }
  return b;
}

double decode_bytes(const Model& m) {
  double b = linear_bytes(m.weights.head());
  for (const auto& l : m.weights.layers)
    for (const Linear* L : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) b += linear_bytes(*L);
  return b;
}

SgemmProbe::SgemmProbe() {
  const size_t before = current_rss_bytes();
  a_.assign(size_t(512) * 896, 0.5f);
  w_.assign(size_t(4864) * 896, 0.25f);
  c_.assign(size_t(512) * 4864, 0.f);
  const size_t after = current_rss_bytes();
  resident_ = after > before ? after - before : 0;
}

double SgemmProbe::rate(int reps) {
  const int M = 512, K = 896, N = 4864;
  threads_idle();  // our pool's workers sleep while OpenBLAS's threads run
  double best = 1e30;
  for (int rep = 0; rep <= reps; ++rep) {
    Timer t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, a_.data(), K, w_.data(), K,
                0.f, c_.data(), N);
    if (rep > 0) best = std::min(best, t.seconds());
  }
  return 2.0 * M * N * K / best;
}

GemmProbe::GemmProbe() {
  const int M = 512, K = 896, N = 4864;
  a_.assign(size_t(M) * K, 0.5f);
  c_.assign(size_t(M) * N, 0.f);
  std::vector<uint16_t> rows(size_t(N) * K, f32_to_bf16(0.25f));
  w_.resize(rows.size());
  pack_bf16_panels(rows.data(), N, K, w_.data());
}

const char* GemmProbe::kernel() const {
  const GemmWeights W = gemm_weights_bf16_panels(w_.data(), 4864, 896);
  return gemm_kernel_name(&W, 1);
}

double GemmProbe::rate(int reps) {
  const int M = 512, K = 896, N = 4864;
  const GemmWeights W = gemm_weights_bf16_panels(w_.data(), N, K);
  double best = 1e30;
  for (int rep = 0; rep <= reps; ++rep) {
    Timer t;
    gemm_nt(a_.data(), M, W, c_.data(), N);
    if (rep > 0) best = std::min(best, t.seconds());
  }
  return 2.0 * M * N * K / best;
}

}  // namespace lr
