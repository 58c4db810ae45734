#pragma once
// Internal helpers shared by the op files: training's parallel loops run on our pool
// (core/threads.h), the same one inference uses. Every call is milliseconds long (a whole
// micro-batch), so it is a bulk call, and afterwards the workers sleep at once instead of
// spinning, because the next call is usually an OpenBLAS GEMM that needs both cores.
#include <atomic>

#include "core/threads.h"

namespace lr::ops {

// f(j0, j1) over contiguous pieces of [0, n): a column's reduction inside f then runs in a
// fixed order, whichever thread runs the piece.
template <typename F>
void parallel_ranges(long n, F&& f) {
  parallel_for(n, f, true, /*bulk=*/true);
  threads_idle();
}

// f(i) for every i in [0, n), contiguous pieces (each i writes its own outputs).
template <typename F>
void parallel_each(long n, F&& f) {
  parallel_ranges(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) f(i);
  });
}

// f(i, slot) for every i in [0, n), handed out one at a time (uneven tasks); slot < the
// number of threads names the thread's scratch.
template <typename F>
void parallel_tasks(long n, F&& f) {
  std::atomic<long> next{0};
  std::atomic<int> slots{0};
  parallel(
      [&] {
        const int slot = slots.fetch_add(1, std::memory_order_relaxed);
        for (long i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(i, slot);
      },
      /*bulk=*/true);
  threads_idle();
}

}  // namespace lr::ops
