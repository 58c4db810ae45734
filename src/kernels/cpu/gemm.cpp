#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

constexpr int MR = kGemmMR, NR = kGemmNR;
constexpr int kKc = 256;         // depth of a slice: 6 x 256 x 4 B of x per panel, 16 KB of W
constexpr int kMaxKc = 2 * kKc;  // with rounding up to a format's column block
constexpr int kMcPanels = 16;    // x panels per block: 96 rows x kc, ~96 KB, stays in L2
constexpr int kNcPanels = 16;    // W micro-panels per task (256 outputs), at most
constexpr int kMinRun = 4;       // and at least, where the matrix has them

int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

// A task's run of W micro-panels: matrix w, its micro-panels [p0, p1).
struct Run {
  int w, p0, p1;
};

// 64-byte aligned scratch that only grows.
struct Scratch {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      const size_t bytes = (want * sizeof(float) + 63) / 64 * 64;
      p.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      LR_CHECK(p, "gemm: cannot allocate ", bytes, " bytes of scratch");
      n = want;
    }
    return p.get();
  }
};

// dst[k * ldd + i] = src[i * lds + k] for i < 8, k < kc; rows >= R (of the 8) are zero.
// Columns in steps of 8 through a register transpose, then the tail.
void transpose_rows(const float* src, int lds, int R, int kc, float* dst, int ldd) {
  int k = 0;
#if LR_HAVE_AVX2
  if (R == 8) {
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + size_t(i) * lds + k);
      simd::transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + size_t(k + i) * ldd, r[i]);
    }
  }
#endif
  for (; k < kc; ++k)
    for (int i = 0; i < 8; ++i) dst[size_t(k) * ldd + i] = i < R ? src[size_t(i) * lds + k] : 0.f;
}

// W rows [n0, n0 + 16) x [k0, k0 + kc) -> dst[k * 16 + j] (rows >= N zero): widen into a
// row-major tile in L1, then transpose each 8-row half into its 8 lanes of the panel.
void pack_w_panel(const GemmWeights& W, int n0, int k0, int kc, float* dst) {
  alignas(64) float tile[NR * kMaxKc];
  const int n = std::min(NR, W.N - n0);
  W.widen(W, n0, n, k0, kc, tile, kc);
  for (int h = 0; h < NR; h += 8)
    transpose_rows(tile + size_t(h) * kc, kc, std::clamp(n - h, 0, 8), kc, dst + h, NR);
}

// x rows [m0, m0 + 6) x [k0, k0 + kc) -> dst[k * 6 + r] (rows >= M zero).
void pack_x_panel(const float* x, int M, int K, int m0, int k0, int kc, float* dst) {
  const int R = std::min(MR, M - m0);
  const float* src = x + size_t(m0) * K + k0;
  int k = 0;
#if LR_HAVE_AVX2
  if (R == MR) {
    // 8 columns of the 6 rows at a time: an 8 x 8 transpose whose last two rows are
    // don't-cares, stored 8 wide at a stride of 6, ascending, so each store's 2 extra
    // lanes are overwritten by the next; the panel's very last store is 6 wide (another
    // thread may be packing the next panel).
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int i = 0; i < MR; ++i) r[i] = _mm256_loadu_ps(src + size_t(i) * K + k);
      r[6] = r[7] = _mm256_setzero_ps();
      simd::transpose8(r);
      for (int i = 0; i < 7; ++i) _mm256_storeu_ps(dst + size_t(k + i) * MR, r[i]);
      float* last = dst + size_t(k + 7) * MR;
      if (k + 8 < kc) {
        _mm256_storeu_ps(last, r[7]);
      } else {
        _mm_storeu_ps(last, _mm256_castps256_ps128(r[7]));
        _mm_storel_pi(reinterpret_cast<__m64*>(last + 4), _mm256_extractf128_ps(r[7], 1));
      }
    }
  }
#endif
  for (; k < kc; ++k)
    for (int i = 0; i < MR; ++i) dst[size_t(k) * MR + i] = i < R ? src[size_t(i) * K + k] : 0.f;
}

// C[6 x 16] += A panel . B micro-panel over kc. Partial blocks (mr < 6 or nr < 16) go
// through a local tile, so the kernel itself always runs the full register block.
void micro_kernel(int kc, const float* A, const float* B, float* C, int ldc, int mr, int nr) {
#if LR_HAVE_AVX2
  // Twelve named accumulators: with an array GCC kept a copy on the stack, stored each step.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  // C's tile is in L3 at best (a row every ldc floats): ask for it now, use it at the end.
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + size_t(r) * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k, A += MR, B += NR) {
    const __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8);
    __m256 a = _mm256_broadcast_ss(A);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(A + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(A + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  const __m256 c[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == MR && nr == NR) {
    for (int r = 0; r < MR; ++r) {
      float* cr = C + size_t(r) * ldc;
      _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), c[r][0]));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), c[r][1]));
    }
    return;
  }
  alignas(32) float t[MR][NR];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(t[r], c[r][0]);
    _mm256_store_ps(t[r] + 8, c[r][1]);
  }
#else
  float t[MR][NR] = {};
  for (int k = 0; k < kc; ++k, A += MR, B += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) t[r][j] += A[r] * B[j];
#endif
  for (int r = 0; r < mr; ++r)
    for (int j = 0; j < nr; ++j) C[size_t(r) * ldc + j] += t[r][j];
}

}  // namespace

void gemm_nt(const float* x, int M, const GemmWeights* Ws, float* const* ys, const int* ldys,
             int count) {
  if (M <= 0 || count <= 0) return;
  const int K = Ws[0].K;
  int align = 1;
  for (int i = 0; i < count; ++i) {
    LR_CHECK(Ws[i].K == K && Ws[i].N > 0 && Ws[i].widen, "gemm: weight ", i, " is [", Ws[i].N,
             " x ", Ws[i].K, "], expected K = ", K);
    align = std::max(align, Ws[i].k_align);
  }
  // Equal slices of K near kKc, each a multiple of every format's column block.
  const int nk = ceil_div(K, kKc);
  const int kc = std::min(K, ceil_div(ceil_div(K, nk), align) * align);
  LR_CHECK(kc <= kMaxKc, "gemm: column block ", align, " too large");
  const int mp = ceil_div(M, MR);

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
  float* xbuf[2] = {xs[0].get(size_t(mp) * MR * kc), xs[1].get(size_t(mp) * MR * kc)};
  const int xgroups = ceil_div(mp, 8);
  auto pack_x_group = [&](int g, int k0, float* xp) {
    const int kcur = std::min(kc, K - k0);
    for (int q = 8 * g; q < std::min(mp, 8 * g + 8); ++q)
      pack_x_panel(x, M, K, q * MR, k0, kcur, xp + size_t(q) * MR * kc);
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
    const float* xp = xbuf[s % 2];
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
            float* wp = ws.get(size_t(kNcPanels) * NR * kMaxKc);
            for (int p = run.p0; p < run.p1; ++p) {
              // The weights come from DRAM in short runs the hardware prefetcher misses: ask
              // for the next micro-panel while this one is widened (+2-4 % of a prefill).
              if (W.prefetch && p + 1 < run.p1)
                W.prefetch(W, (p + 1) * NR, std::min(NR, W.N - (p + 1) * NR), k0, kcur);
              pack_w_panel(W, p * NR, k0, kcur, wp + size_t(p - run.p0) * NR * kcur);
            }
            const int q_lo = mp * split / msplit, q_hi = mp * (split + 1) / msplit;
            for (int qb = q_lo; qb < q_hi; qb += kMcPanels) {
              const int qe = std::min(q_hi, qb + kMcPanels);
              for (int p = run.p0; p < run.p1; ++p) {
                const float* B = wp + size_t(p - run.p0) * NR * kcur;
                const int n0 = p * NR, nr = std::min(NR, W.N - n0);
                for (int q = qb; q < qe; ++q) {
                  const int m0 = q * MR;
                  micro_kernel(kcur, xp + size_t(q) * MR * kc, B, y + size_t(m0) * ldy + n0, ldy,
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

GemmWeights gemm_weights_bf16(const uint16_t* W, int N, int K) {
  return {W, nullptr, N, K, &widen_bf16, 1};
}

GemmWeights gemm_weights_bf16_panels(const uint16_t* P, int N, int K) {
  LR_CHECK(bf16_panels_fit(N, K), "bf16 panels: ", N, " x ", K, " is not 4 x 16 aligned");
  return {P, nullptr, N, K, &widen_bf16_panels, 16, &prefetch_bf16_panels};
}

GemmWeights gemm_weights_q8(const int8_t* q, const float* scales, int N, int K) {
  return {q, scales, N, K, &widen_q8, kQ8Block};
}

GemmWeights gemm_weights_q8_panels(const uint8_t* P, int N, int K) {
  LR_CHECK(q8_panels_fit(N, K), "q8 panels: ", N, " x ", K, " is not 4 x 32 aligned");
  return {P, nullptr, N, K, &widen_q8_panels, kQ8Block, &prefetch_q8_panels};
}

}  // namespace lr
