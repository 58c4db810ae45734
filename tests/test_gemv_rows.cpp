// The GEMV kernels' row scheduling (kernels/cpu/gemv_rows.h): every output row is handed
// out exactly once, in chunks that start on a 4-row block, whatever the shape.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "core/threads.h"
#include "kernels/cpu/gemv_rows.h"

namespace lr {
namespace {

struct Taken {
  std::vector<std::pair<int, int>> chunks;
};

Taken schedule(int N, size_t row_bytes, long work) {
  Taken t;
  std::mutex mu;
  for_row_chunks(N, work, row_bytes, [&](int n0, int n1) {
    std::lock_guard<std::mutex> lk(mu);
    t.chunks.emplace_back(n0, n1);
  });
  return t;
}

TEST(GemvRows, EveryRowExactlyOnceInFourRowAlignedChunks) {
  set_num_threads(2);
  for (int N : {1, 4, 6, 100, 1003, 4864, 151936})
    for (size_t row_bytes : {size_t(1), size_t(952), size_t(1) << 20}) {
      const Taken t = schedule(N, row_bytes, 1L << 40);
      std::vector<int> hits(size_t(N), 0);
      for (const auto& [n0, n1] : t.chunks) {
        ASSERT_LT(n0, n1) << "N " << N;
        ASSERT_TRUE(n0 % 4 == 0) << "chunk [" << n0 << ", " << n1 << ") of N " << N;
        for (int n = n0; n < n1; ++n) ++hits[size_t(n)];
      }
      for (int n = 0; n < N; ++n)
        ASSERT_EQ(hits[size_t(n)], 1)
            << "row " << n << " of N " << N << ", row_bytes " << row_bytes;
    }
}

TEST(GemvRows, ChunksShrinkFromAQuarterToTheMinimum) {
  set_num_threads(2);
  // 4864 rows of 952 bytes (a q8 gate matrix): the first chunk is a quarter of the rows
  // (rounded to 4), none is below ~64 KB of weights except the last.
  const Taken t = schedule(4864, 952, 1L << 40);
  int first = 4864, smallest = 4864;
  for (size_t i = 0; i < t.chunks.size(); ++i) {
    const auto [n0, n1] = t.chunks[i];
    if (n0 == 0) first = n1;
    if (n1 != 4864) smallest = std::min(smallest, n1 - n0);
  }
  EXPECT_EQ(first, 1216);
  EXPECT_GE(smallest, 68);  // (64 KB / 952) rounded down to 4 rows
  EXPECT_LT(t.chunks.size(), 40u);
}

TEST(GemvRows, TinyWorkRunsAsOneChunk) {
  const Taken t = schedule(100, 952, 10);
  ASSERT_EQ(t.chunks.size(), 1u);
  EXPECT_EQ(t.chunks[0], std::make_pair(0, 100));
}

}  // namespace
}  // namespace lr
