#pragma once
// One place decides how many threads compute uses, and owns the pool that runs our
// kernels: all of inference, and training's ops, whose big GEMMs run on OpenBLAS's own
// threads in between (never at the same time as this pool). Our workers spin only
// briefly between parallel calls (decode issues ~200 per token, so a futex wake-up per
// call would cost more than the work), then sleep; threads_idle() sends them to sleep at
// once, before another pool takes the cores.
#include <algorithm>
#include <atomic>
#include <type_traits>

namespace lr {

// n <= 0 picks the number of online cores. Sets our pool and OpenBLAS's.
void set_num_threads(int n);
int num_threads();

// fn(ctx) runs on the caller and on each pool worker that wakes up in time, and returns
// when all of those are done. Work must be shared through counters that any thread may
// drain (parallel_for, or an atomic index), since a worker may not take part at all (it
// was preempted). Calls from inside a parallel region, or while another thread uses the
// pool, run fn on the caller alone, so kernels can nest and concurrent sessions work.
// When joins that waited > 500 us for a preempted worker recur (an oversubscribed
// machine), the next 1024 calls run on the caller alone (core/join_backoff.h); bulk calls
// (milliseconds each: the GEMM) neither feed nor follow the back-off, which would make a
// whole prefill serial.
using ParallelFn = void (*)(void* ctx);
void run_parallel(ParallelFn fn, void* ctx, bool bulk = false);

// Workers stop spinning and sleep until the next run_parallel: call before handing the
// cores to another pool (OpenBLAS), so the two never compete for them.
void threads_idle();

// f() on the participating threads (see run_parallel).
template <class F>
void parallel(F&& f, bool bulk = false) {
  using Fn = std::remove_reference_t<F>;
  run_parallel([](void* c) { (*static_cast<Fn*>(c))(); },
               const_cast<void*>(static_cast<const void*>(&f)), bulk);
}

// [0, n) in about 2 * num_threads() contiguous pieces handed out in order, f(begin, end);
// serial when !par or n < 2. bulk: as for parallel (long calls, outside the back-off).
template <class F>
void parallel_for(long n, F&& f, bool par = true, bool bulk = false) {
  const long pieces = std::min<long>(n, 2L * num_threads());
  if (!par || pieces < 2) {
    if (n > 0) f(0L, n);
    return;
  }
  std::atomic<long> next{0};
  parallel(
      [&] {
        for (long i; (i = next.fetch_add(1, std::memory_order_relaxed)) < pieces;)
          f(n * i / pieces, n * (i + 1) / pieces);
      },
      bulk);
}

}  // namespace lr
