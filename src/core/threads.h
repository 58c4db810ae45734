#pragma once
// One place decides how many threads compute uses, and owns the pool that runs our
// kernels. Two thread pools share the cores: ours (kernels: GEMV, attention, norms) and
// OpenBLAS's pthreads (sgemm). They run one after the other, never nested: our workers
// spin only briefly between parallel calls (decode issues ~200 per token, so a futex
// wake-up per call would cost more than the work) and go to sleep at once when
// threads_idle() says BLAS is about to run.
#include <type_traits>

namespace lr {

// n <= 0 picks the number of online cores. Sets our pool and OpenBLAS's (and OpenMP's,
// still used by the training ops).
void set_num_threads(int n);
int num_threads();

// fn(ctx, tid, nth) runs once on each of nth threads (tid 0 is the caller) and returns when
// all are done. nth = min(max_threads, num_threads()) (max_threads <= 0: all). A call from
// inside a parallel region, or while another thread is using the pool, runs serially with
// nth = 1, so kernels can nest and sessions on different threads stay correct.
using ParallelFn = void (*)(void* ctx, int tid, int nth);
void run_parallel(ParallelFn fn, void* ctx, int max_threads = 0);

// Workers stop spinning and sleep until the next run_parallel: call before handing the
// cores to another pool (OpenBLAS), so the two never compete for them.
void threads_idle();

// f(tid, nth) on every thread.
template <class F>
void parallel(F&& f, int max_threads = 0) {
  using Fn = std::remove_reference_t<F>;
  run_parallel([](void* c, int tid, int nth) { (*static_cast<Fn*>(c))(tid, nth); },
               const_cast<void*>(static_cast<const void*>(&f)), max_threads);
}

// [0, n) in nth contiguous ranges, f(begin, end); serial when !par or n < 2.
template <class F>
void parallel_for(long n, F&& f, bool par = true) {
  if (!par || n < 2) {
    if (n > 0) f(0L, n);
    return;
  }
  auto body = [&](int tid, int nth) {
    const long b = n * tid / nth, e = n * (tid + 1) / nth;
    if (b < e) f(b, e);
  };
  parallel(body, n < 2 ? 1 : 0);
}

}  // namespace lr
