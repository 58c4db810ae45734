#include "core/threads.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/join_backoff.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define LR_CPU_RELAX() _mm_pause()
#else
#define LR_CPU_RELAX() ((void)0)
#endif

extern "C" void openblas_set_num_threads(int);

namespace lr {

namespace {

// How long an idle worker spins before sleeping. Decode leaves gaps of a few us between
// parallel calls (norms, argmax over the vocabulary: ~50 us), so 200 us keeps workers hot
// through a token without burning a core for long once the work stops.
constexpr auto kSpin = std::chrono::microseconds(200);
// A join slower than this means a worker lost its core in the middle of a call.
constexpr auto kSlowJoin = std::chrono::microseconds(500);

long futex(std::atomic<unsigned>* addr, int op, unsigned val) {
  return syscall(SYS_futex, reinterpret_cast<unsigned*>(addr), op, val, nullptr, nullptr, 0);
}

thread_local bool t_in_parallel = false;

class Pool {
 public:
  explicit Pool(int n) : n_(n) {
    for (int t = 1; t < n_; ++t) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    stop_.store(true);
    gen_.fetch_add(1);
    futex(&gen_, FUTEX_WAKE_PRIVATE, 0x7fffffff);
    for (auto& w : workers_) w.join();
  }
  int size() const { return n_; }

  // Caller holds mu_. Workers join the round only if they wake up before the caller has
  // finished its own share: on a loaded machine a preempted worker is simply left out
  // (the work is handed out through counters, so the caller does it) instead of every
  // call waiting a scheduler tick for it.
  void run(ParallelFn fn, void* ctx, bool bulk) {
    fn_ = fn;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    entered_.store(0, std::memory_order_release);  // publishes fn_, ctx_ to joiners
    park_.store(false, std::memory_order_relaxed);
    gen_.fetch_add(1);  // seq_cst: pairs with the worker's sleepers_ increment
    if (sleepers_.load() > 0) futex(&gen_, FUTEX_WAKE_PRIVATE, 0x7fffffff);
    t_in_parallel = true;
    fn(ctx);
    t_in_parallel = false;
    const int joined = entered_.fetch_or(kClosed) & ~kClosed;
    std::chrono::steady_clock::time_point t0;
    bool slow = false;
    for (int i = 0; done_.load(std::memory_order_acquire) != joined; ++i) {
      if (i < 4096) {
        LR_CPU_RELAX();
        continue;
      }
      if (i == 4096) t0 = std::chrono::steady_clock::now();
      sched_yield();
      if (!slow && i % 64 == 0) slow = std::chrono::steady_clock::now() - t0 > kSlowJoin;
    }
    // Bulk calls neither feed nor follow the back-off: a rare preemption costs little
    // beside the call itself, and a serial GEMM would halve a whole prefill.
    if (!bulk) backoff_.after_join(slow);
  }

  // Guarded by mu_.
  JoinBackoff backoff_;

  void idle() { park_.store(true, std::memory_order_relaxed); }

  std::mutex mu_;

 private:
  void loop() {
    t_in_parallel = true;  // anything a worker runs is already inside a region
    unsigned seen = gen_.load();
    for (;;) {
      unsigned g = wait_change(seen);
      seen = g;
      if (stop_.load()) return;
      if (entered_.fetch_add(1) & kClosed) continue;  // too late: the caller did it all
      fn_(ctx_);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  unsigned wait_change(unsigned seen) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 1;; ++i) {
      const unsigned g = gen_.load(std::memory_order_acquire);
      // A worker that starts after the pool began stopping read the final gen_ as its
      // `seen`: no change will come, so it must look at stop_ (set before that increment).
      if (g != seen || stop_.load()) return g;
      const bool park = park_.load(std::memory_order_relaxed);
      if (park || (i % 256 == 0 && std::chrono::steady_clock::now() - t0 > kSpin)) {
        sleepers_.fetch_add(1);  // seq_cst, before re-checking gen_ inside the futex
        futex(&gen_, FUTEX_WAIT_PRIVATE, seen);
        sleepers_.fetch_sub(1);
        t0 = std::chrono::steady_clock::now();
      } else {
        LR_CPU_RELAX();
      }
    }
  }

  const int n_;
  std::vector<std::thread> workers_;
  std::atomic<unsigned> gen_{0};
  static constexpr int kClosed = 1 << 30;
  std::atomic<int> entered_{0}, done_{0}, sleepers_{0};
  std::atomic<bool> park_{false}, stop_{false};
  ParallelFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

int g_threads = 0;  // 0: not set yet
Pool* g_pool = nullptr;
std::mutex g_pool_mu;  // guards g_pool replacement

int online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}

Pool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (g_threads == 0) g_threads = online_cores();
  if (!g_pool || g_pool->size() != g_threads) {
    delete g_pool;  // only when the thread count changes, between runs
    g_pool = new Pool(g_threads);
  }
  return *g_pool;
}

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = online_cores();
  {
    std::lock_guard<std::mutex> lk(g_pool_mu);
    g_threads = n;
  }
  openblas_set_num_threads(n);
  pool();
}

int num_threads() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  return g_threads == 0 ? online_cores() : g_threads;
}

void run_parallel(ParallelFn fn, void* ctx, bool bulk) {
  if (t_in_parallel) {
    fn(ctx);
    return;
  }
  Pool& p = pool();
  std::unique_lock<std::mutex> lk(p.mu_, std::try_to_lock);
  const bool serial = !bulk && lk.owns_lock() && p.backoff_.take_serial();
  if (p.size() <= 1 || !lk.owns_lock() || serial) {
    t_in_parallel = true;
    fn(ctx);
    t_in_parallel = false;
    return;
  }
  p.run(fn, ctx, bulk);
}

void threads_idle() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (g_pool) g_pool->idle();
}

}  // namespace lr
