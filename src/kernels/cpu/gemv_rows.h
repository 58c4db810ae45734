#pragma once
// Shared by the GEMV kernels: output rows split into chunks that the compute threads take
// dynamically. On a shared machine a thread is often preempted for a few ms; with a static
// half each, the whole call would wait for it, while chunks let the other thread carry on.
#include <algorithm>
#include <atomic>

#include "core/threads.h"
#include "kernels/cpu/gemv.h"

namespace lr {

// Below this many multiply-adds a parallel call costs more than it saves.
constexpr long kGemvParallelMinWork = 1L << 15;

// The bf16 panel GEMVs prefetch 6 KB ahead, non-temporal: the weights are read once per
// token, so they should not push x and the outputs out of L2. 6 KB is the distance that
// read fastest in whole-model passes against T0 hints and other NTA distances (2-12 KB).
constexpr int kBf16PanelAheadBytes = 6144;
// The q8 panel GEMVs, the same, for the same reason.
constexpr int kQ8PanelAheadBytes = 6144;

// Software-prefetch address for the row stream `row` (one of 4 consecutive rows of stride K),
// `ahead` elements past k. Past the row's end it moves to the same stream of the next 4-row
// block rather than into the neighbouring row (which another stream is already reading), so
// all 4 streams of the next block start warm; that matters on 896-wide rows, where a block
// is only a few KB.
template <class T>
inline const char* prefetch_addr(const T* row, int k, int ahead, int K) {
  const size_t ka = size_t(k) + size_t(ahead);
  return reinterpret_cast<const char*>(row + (ka < size_t(K) ? ka : ka + 3 * size_t(K)));
}

// The end of every GEMV's 4-row block: y[n0 + j] (+)= s[j] + bias[n0 + j] for j < cnt
// (ym: the output row; bias may be null).
inline void store_rows(float* ym, int n0, int cnt, const float* s, const float* bias,
                       bool accumulate) {
  for (int j = 0; j < cnt; ++j) {
    const float v = s[j] + (bias ? bias[n0 + j] : 0.f);
    ym[n0 + j] = accumulate ? ym[n0 + j] + v : v;
  }
}

// The bf16 kernels' x layout: each full 16-chunk of x reordered to [evens (8), odds (8)], so
// that a 32-bit lane of 16 loaded bf16 (element 2j low, 2j+1 high) meets its two x values
// with a shift and a mask; the tail (K % 16) is left unwritten.
inline void split_even_odd(const float* x, int K, float* xs) {
  for (int k = 0; k + 16 <= K; k += 16)
    for (int j = 0; j < 8; ++j) {
      xs[k + j] = x[k + 2 * j];
      xs[k + 8 + j] = x[k + 2 * j + 1];
    }
}

// rows(n0, n1) over [0, N), handed out in shrinking chunks (guided self-scheduling): each
// takes 1 / (2 * threads) of the rows left, rounded to 4 rows, at least ~64 KB of weights
// (row_bytes each). Long contiguous runs keep each thread's stream (and its prefetches)
// going, and the small chunks at the end still balance a late or preempted thread (small
// fixed chunks break the streams; large fixed ones leave a thread idle at the end).
// work: multiply-adds of the whole call, to stay serial when tiny.
template <class F>
void for_row_chunks(int N, long work, size_t row_bytes, F&& rows) {
  if (work < kGemvParallelMinWork || num_threads() < 2) {
    rows(0, N);
    return;
  }
  const int min_chunk = std::max(4, int((size_t(64) << 10) / std::max<size_t>(row_bytes, 1)) & ~3);
  const int parts = 2 * num_threads();
  std::atomic<int> next{0};
  parallel([&] {
    int n0 = next.load(std::memory_order_relaxed);
    while (n0 < N) {
      const int n1 = std::min(N, n0 + std::max(min_chunk, ((N - n0) / parts) & ~3));
      // On failure n0 is reloaded with the current start; try again from there.
      if (next.compare_exchange_weak(n0, n1, std::memory_order_relaxed)) {
        rows(n0, n1);
        n0 = next.load(std::memory_order_relaxed);
      }
    }
  });
}

// rows(out, n0, n1) for every output's rows, as one index space [0, sum N) handed out in
// chunks (for_row_chunks): one parallel call for all the matrices. Each N is a multiple
// of 4, so a 4-row block never straddles two outputs.
template <class F>
void for_rows_of_outputs(const GemvOut* outs, int count, long work_per_row, size_t row_bytes,
                         F&& rows) {
  int total = 0;
  for (int i = 0; i < count; ++i) total += outs[i].N;
  for_row_chunks(total, long(total) * work_per_row, row_bytes, [&](int n0, int n1) {
    for (int i = 0, base = 0; i < count && n0 < n1; base += outs[i].N, ++i) {
      if (n0 >= base + outs[i].N) continue;
      const int end = std::min(n1, base + outs[i].N);
      rows(outs[i], n0 - base, end - base);
      n0 = end;
    }
  });
}

}  // namespace lr
