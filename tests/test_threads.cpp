// The thread pool (core/threads.h) under churn: a pool replaced right after it was made
// (its worker not yet started) must still shut down. A worker that started after the stop
// once read the final generation as "seen" and slept forever, hanging the caller.
#include <gtest/gtest.h>

#include <atomic>

#include "core/threads.h"

namespace lr {
namespace {

TEST(ThreadPool, ReplacedAtOnceNeverHangs) {
  const int before = num_threads();
  std::atomic<long> sum{0};
  for (int i = 0; i < 2000; ++i) {
    set_num_threads(2);  // a pool with one worker that may not have started yet...
    set_num_threads(1);  // ...is stopped and joined at once
    if (i % 100 == 0) {
      set_num_threads(2);
      parallel_for(64, [&](long b, long e) { sum += e - b; });
    }
  }
  set_num_threads(before);
  EXPECT_EQ(sum.load(), 20 * 64);
}

}  // namespace
}  // namespace lr
