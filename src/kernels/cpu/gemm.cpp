#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

constexpr int kMcPanels = 16;  // x panels per block: up to 192 rows x kc, stays in L2
constexpr int kNcPanels = 16;  // W micro-panels per task, at most
constexpr int kMinRun = 4;     // and at least, where the matrix has them

int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

// A task's run of W micro-panels: matrix w, its micro-panels [p0, p1).
struct Run {
  int w, p0, p1;
};

// 64-byte aligned scratch that only grows.
struct Scratch {
  std::unique_ptr<char, decltype(&std::free)> p{nullptr, &std::free};
  size_t n = 0;
  char* get(size_t want) {
    if (want > n) {
      const size_t bytes = (want + 63) / 64 * 64;
      p.reset(static_cast<char*>(std::aligned_alloc(64, bytes)));
      LR_CHECK(p, "gemm: cannot allocate ", bytes, " bytes of scratch");
      n = want;
    }
    return p.get();
  }
};

const GemmKernel& pick_kernel(const GemmWeights* Ws, int count) {
  const CpuPath path = cpu_path();
  bool pairs = true;
  for (int i = 0; i < count; ++i) pairs = pairs && Ws[i].pack_pairs;
  if (path >= CpuPath::Avx512Bf16 && pairs) return gemm_kernel_bf16();
  if (path >= CpuPath::Avx512) return gemm_kernel_avx512();
  return gemm_kernel_avx2();
}

}  // namespace

const char* gemm_kernel_name(const GemmWeights* Ws, int count) {
  return pick_kernel(Ws, count).name;
}

void gemm_nt(const float* x, int M, const GemmWeights* Ws, float* const* ys, const int* ldys,
             int count) {
  if (M <= 0 || count <= 0) return;
  const GemmKernel& kern = pick_kernel(Ws, count);
  const int MR = kern.mr, NR = kern.nr;
  const int K = Ws[0].K;
  int align = kern.k_group;
  for (int i = 0; i < count; ++i) {
    LR_CHECK(Ws[i].K == K && Ws[i].N > 0 && Ws[i].widen, "gemm: weight ", i, " is [", Ws[i].N,
             " x ", Ws[i].K, "], expected K = ", K);
    align = std::lcm(align, Ws[i].k_align);
  }
  // Equal slices of K near the kernel's depth, each a multiple of every format's column block and
  // of the kernel's k group (only the last slice may end at an odd K).
  const int nk = ceil_div(K, kern.kc);
  const int kc = std::min(K, ceil_div(ceil_div(K, nk), align) * align);
  LR_CHECK(kc <= kGemmMaxKc, "gemm: column block ", align, " too large");
  const int mp = ceil_div(M, MR);
  // Bytes of one packed panel (4-byte words, kc rounded up to the k group).
  const size_t groups = size_t(ceil_div(kc, kern.k_group));
  const size_t x_panel = size_t(MR) * groups * 4, w_panel = size_t(NR) * groups * 4;

  // Tasks: a run of W micro-panels of one matrix (runs split a matrix evenly) x a range
  // of x panels. A task packs its own W micro-panels, so packing (the weights' only read
  // from memory) interleaves with the other thread's FMAs. Runs shrink (to kMinRun) until
  // there are ~4 per thread; only matrices narrower than that (LoRA, tests) split x's
  // rows too, packing their few W panels once per split.
  int total_panels = 0;
  for (int i = 0; i < count; ++i) total_panels += ceil_div(Ws[i].N, NR);
  const int run_len = std::clamp(total_panels / (4 * num_threads()), kMinRun, kNcPanels);
  // The caller's list, reused: a prefill makes a few calls per block and allocates nothing.
  thread_local std::vector<Run> runs;
  runs.clear();
  for (int i = 0; i < count; ++i) {
    const int p = ceil_div(Ws[i].N, NR), n = ceil_div(p, run_len);
    for (int r = 0; r < n; ++r) runs.push_back({i, p * r / n, p * (r + 1) / n});
  }
  const int nruns = int(runs.size());
  const Run* run_list = runs.data();  // inside the lambda a worker would name its own runs
  const int msplit = std::clamp(ceil_div(4 * num_threads(), nruns), 1, ceil_div(mp, kMcPanels));
  const int ntasks = nruns * msplit;

  // x packed for two slices (this one and the next); the caller's, reached by workers
  // through these pointers.
  thread_local Scratch xs[2];
  char* xbuf[2] = {xs[0].get(size_t(mp) * x_panel), xs[1].get(size_t(mp) * x_panel)};
  const int xgroups = ceil_div(mp, 8);
  auto pack_x_group = [&](int g, int k0, char* xp) {
    const int kcur = std::min(kc, K - k0);
    for (int q = 8 * g; q < std::min(mp, 8 * g + 8); ++q)
      kern.pack_x(x, M, K, q * MR, k0, kcur, xp + size_t(q) * x_panel);
  };
  std::atomic<int> next{0};
  parallel(
      [&] {
        for (int g; (g = next.fetch_add(1, std::memory_order_relaxed)) < xgroups;)
          pack_x_group(g, 0, xbuf[0]);
      },
      /*bulk=*/true);

  for (int k0 = 0, s = 0; k0 < K; k0 += kc, ++s) {
    const int kcur = std::min(kc, K - k0);
    const int gcur = ceil_div(kcur, kern.k_group);
    const char* xp = xbuf[s % 2];
    // After this slice's tasks, the same call packs x for the next slice (those small
    // tasks also fill the gap while the last big task finishes): one call per slice.
    const int npack = k0 + kc < K ? xgroups : 0;
    std::atomic<int> next_task{0};
    parallel(
        [&] {
          thread_local Scratch ws;  // each thread's own W micro-panels
          for (int t; (t = next_task.fetch_add(1, std::memory_order_relaxed)) < ntasks + npack;) {
            if (t >= ntasks) {
              pack_x_group(t - ntasks, k0 + kc, xbuf[(s + 1) % 2]);
              continue;
            }
            const Run& run = run_list[t / msplit];
            const int split = t % msplit;
            const GemmWeights& W = Ws[run.w];
            const int ldy = ldys[run.w];
            float* y = ys[run.w];
            char* wp = ws.get(size_t(kNcPanels) * w_panel);
            for (int p = run.p0; p < run.p1; ++p) {
              // The weights come from DRAM in short runs the hardware prefetcher misses: ask
              // for the next micro-panel while this one is packed.
              if (W.prefetch && p + 1 < run.p1)
                W.prefetch(W, (p + 1) * NR, std::min(NR, W.N - (p + 1) * NR), k0, kcur);
              kern.pack_w(W, p * NR, k0, kcur, wp + size_t(p - run.p0) * w_panel);
            }
            const int q_lo = mp * split / msplit, q_hi = mp * (split + 1) / msplit;
            for (int qb = q_lo; qb < q_hi; qb += kMcPanels) {
              const int qe = std::min(q_hi, qb + kMcPanels);
              for (int p = run.p0; p < run.p1; ++p) {
                const char* B = wp + size_t(p - run.p0) * w_panel;
                const int n0 = p * NR, nr = std::min(NR, W.N - n0);
                for (int q = qb; q < qe; ++q) {
                  const int m0 = q * MR;
                  kern.micro(gcur, xp + size_t(q) * x_panel, B, y + size_t(m0) * ldy + n0, ldy,
                             std::min(MR, M - m0), nr);
                }
              }
            }
          }
        },
        /*bulk=*/true);
  }
}

// --- weight formats -------------------------------------------------------------------

namespace {

void widen_f32(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  const float* w = static_cast<const float*>(W.w);
  for (int r = 0; r < n; ++r)
    std::memcpy(dst + size_t(r) * ldd, w + size_t(n0 + r) * W.K + k0, sizeof(float) * kc);
}

// W[n][k] = T[k][n]: T's rows are read along n, each once.
void widen_f32_t(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  const float* T = static_cast<const float*>(W.w);
  for (int k = 0; k < kc; ++k) {
    const float* t = T + size_t(k0 + k) * W.N + n0;
    for (int r = 0; r < n; ++r) dst[size_t(r) * ldd + k] = t[r];
  }
}

void widen_bf16(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  const uint16_t* w = static_cast<const uint16_t*>(W.w);
  for (int r = 0; r < n; ++r) {
    const uint16_t* s = w + size_t(n0 + r) * W.K + k0;
    float* d = dst + size_t(r) * ldd;
    for (int k = 0; k < kc; ++k) d[k] = bf16_to_f32(s[k]);
  }
}

void widen_bf16_panels(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  unpack_bf16_panel_cols(static_cast<const uint16_t*>(W.w), n0, n, W.K, k0, kc, dst, ldd);
}

void widen_q8(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  const int8_t* q = static_cast<const int8_t*>(W.w);
  const int nb = q8_blocks(W.K);
  for (int r = 0; r < n; ++r) {
    const int8_t* s = q + size_t(n0 + r) * W.K;
    const float* sc = W.scales + size_t(n0 + r) * nb;
    float* d = dst + size_t(r) * ldd;
    for (int k = k0; k < k0 + kc; ++k) d[k - k0] = float(s[k]) * sc[k / kQ8Block];
  }
}

// Rows [n0, n0 + n) x [k0, k0 + kc) of 4-row panels: per panel, one contiguous range.
void prefetch_panels(const char* base, size_t panel_bytes, double bytes_per_col, int n0, int n,
                     int k0, int kc) {
  const size_t b0 = size_t(k0 * bytes_per_col), b1 = size_t((k0 + kc) * bytes_per_col);
  for (int p = n0 / 4; p < (n0 + n + 3) / 4; ++p)
    for (size_t b = b0; b < b1; b += 64) _mm_prefetch(base + p * panel_bytes + b, _MM_HINT_T0);
}

void prefetch_bf16_panels(const GemmWeights& W, int n0, int n, int k0, int kc) {
  prefetch_panels(static_cast<const char*>(W.w), size_t(W.K) * 4 * sizeof(uint16_t),
                  4 * sizeof(uint16_t), n0, n, k0, kc);
}

void prefetch_q8_panels(const GemmWeights& W, int n0, int n, int k0, int kc) {
  prefetch_panels(static_cast<const char*>(W.w), size_t(W.K / kQ8Block) * kQ8PanelBlockBytes,
                  double(kQ8PanelBlockBytes) / kQ8Block, n0, n, k0, kc);
}

void prefetch_f32(const GemmWeights& W, int n0, int n, int k0, int kc) {
  const float* w = static_cast<const float*>(W.w);
  for (int r = n0; r < n0 + n; ++r)
    for (int k = k0; k < k0 + kc; k += 16)
      _mm_prefetch(reinterpret_cast<const char*>(w + size_t(r) * W.K + k), _MM_HINT_T0);
}

void widen_q8_panels(const GemmWeights& W, int n0, int n, int k0, int kc, float* dst, int ldd) {
  dequantize_q8_panel_cols(static_cast<const uint8_t*>(W.w), n0, n, W.K, k0, kc, dst, ldd);
}

}  // namespace

GemmWeights gemm_weights_f32(const float* W, int N, int K) {
  return {W, nullptr, N, K, &widen_f32, 1, &prefetch_f32};
}

GemmWeights gemm_weights_f32_as_bf16(const float* W, int N, int K) {
  GemmWeights g = gemm_weights_f32(W, N, K);
  g.pack_pairs = &gemm_pairs_f32;
  return g;
}

GemmWeights gemm_weights_f32_t(const float* T, int N, int K, bool as_bf16) {
  GemmWeights g{T, nullptr, N, K, &widen_f32_t, 1};
  if (as_bf16) g.pack_pairs = &gemm_pairs_f32_t;
  return g;
}

GemmWeights gemm_weights_bf16(const uint16_t* W, int N, int K) {
  return {W, nullptr, N, K, &widen_bf16, 1, nullptr, &gemm_pairs_bf16};
}

GemmWeights gemm_weights_bf16_panels(const uint16_t* P, int N, int K) {
  LR_CHECK(bf16_panels_fit(N, K), "bf16 panels: ", N, " x ", K, " is not 4 x 16 aligned");
  return {P, nullptr, N, K, &widen_bf16_panels, 16, &prefetch_bf16_panels, &gemm_pairs_bf16_panels};
}

GemmWeights gemm_weights_q8(const int8_t* q, const float* scales, int N, int K) {
  return {q, scales, N, K, &widen_q8, kQ8Block, nullptr, &gemm_pairs_widened};
}

GemmWeights gemm_weights_q8_panels(const uint8_t* P, int N, int K) {
  LR_CHECK(q8_panels_fit(N, K), "q8 panels: ", N, " x ", K, " is not 4 x 32 aligned");
  return {P, nullptr, N, K, &widen_q8_panels, kQ8Block, &prefetch_q8_panels, &gemm_pairs_widened};
}

}  // namespace lr
