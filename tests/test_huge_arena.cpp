// The weights' huge-page arena (core/huge_arena.h): aligned disjoint ranges, first-fit reuse
// of coalesced free ranges, chunks unmapped when empty, and the decode panels living in it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/huge_arena.h"
#include "model/forward.h"
#include "routed_ref.h"

namespace lr {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

size_t round64(size_t n) {
  return (std::max<size_t>(n, 1) + 63) / 64 * 64;
}

TEST(HugeArena, RangesAreAlignedDisjointAndCounted) {
  HugeArena a;
  const std::vector<size_t> sizes = {0, 1, 63, 64, 100, 4096, kMiB, 3 * kMiB + 5};
  std::vector<uint8_t*> ps;
  size_t want = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto* p = static_cast<uint8_t*>(a.alloc(sizes[i]));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << sizes[i];
    std::memset(p, int(i + 1), std::max<size_t>(sizes[i], 1));
    ps.push_back(p);
    want += round64(sizes[i]);
  }
  // Every range still holds its own byte: none overlapped another.
  for (size_t i = 0; i < sizes.size(); ++i)
    for (size_t k = 0; k < std::max<size_t>(sizes[i], 1); k += 7)
      ASSERT_EQ(ps[i][k], uint8_t(i + 1)) << "range " << i << " byte " << k;
  const HugeArenaStats s = a.stats();
  EXPECT_EQ(s.in_use, want);
  EXPECT_EQ(s.chunks, 1u);
  EXPECT_EQ(s.mapped % (2 * kMiB), 0u);
  for (size_t i = 0; i < sizes.size(); ++i) a.release(ps[i], sizes[i]);
  EXPECT_EQ(a.stats().in_use, 0u);
}

TEST(HugeArena, FreedNeighboursCoalesceAndAreReusedFirstFit) {
  HugeArena a;
  auto* A = static_cast<uint8_t*>(a.alloc(kMiB));
  auto* B = static_cast<uint8_t*>(a.alloc(kMiB));
  auto* C = static_cast<uint8_t*>(a.alloc(kMiB));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(A) % (2 * kMiB), 0u);  // a chunk starts on a huge page
  EXPECT_EQ(B, A + kMiB);
  EXPECT_EQ(C, B + kMiB);
  a.release(B, kMiB);
  a.release(A, kMiB);
  // A and B's ranges merged: 2 MiB fit where A was, before C.
  auto* D = static_cast<uint8_t*>(a.alloc(2 * kMiB));
  EXPECT_EQ(D, A);
  auto* E = static_cast<uint8_t*>(a.alloc(64));
  EXPECT_EQ(E, C + kMiB);
  a.release(C, kMiB);
  a.release(D, 2 * kMiB);
  a.release(E, 64);
  EXPECT_EQ(a.stats().in_use, 0u);
}

TEST(HugeArena, EmptyChunksAreUnmappedAndLargeRequestsGetTheirOwn) {
  HugeArena a;
  void* small = a.alloc(10 * kMiB);
  EXPECT_EQ(a.stats().chunks, 1u);
  EXPECT_GE(a.stats().mapped, 64 * kMiB);
  void* big = a.alloc(100 * kMiB + 1);  // more than the rest of the first chunk
  EXPECT_EQ(a.stats().chunks, 2u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % (2 * kMiB), 0u);
  a.release(small, 10 * kMiB);
  EXPECT_EQ(a.stats().chunks, 1u);
  a.release(big, 100 * kMiB + 1);
  const HugeArenaStats s = a.stats();
  EXPECT_EQ(s.chunks, 0u);
  EXPECT_EQ(s.mapped, 0u);
}

TEST(HugeArena, DecodePanelsLiveInTheWeightsArena) {
  // Every matrix in panels: q8 needs 32-wide inputs (down's is the intermediate), and the
  // embedding (the tied head) 4-row blocks.
  ModelConfig c = routed_test::tiny_config(2);
  c.intermediate = 64;
  c.vocab = 100;
  for (WeightsDType dt : {WeightsDType::BF16, WeightsDType::Q8}) {
    const size_t before = weights_arena().stats().in_use;
    {
      ModelWeights w = ModelWeights::random(c, 7, 0.02f, dt);
      w.pack_decode_panels();
      size_t bytes = 0;
      for (const auto& l : w.layers)
        for (const Linear* L : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
          const bool packed = dt == WeightsDType::BF16 ? L->bf16_panels() : L->q8_panels();
          ASSERT_TRUE(packed);
          const void* p = dt == WeightsDType::BF16 ? static_cast<const void*>(L->bf16_panel.data())
                                                   : static_cast<const void*>(L->q8_panel.data());
          EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
          bytes +=
              round64(dt == WeightsDType::BF16 ? L->bf16_panel.size() * 2 : L->q8_panel.size());
        }
#if !defined(__SANITIZE_ADDRESS__)  // there the allocator is plain operator new
      // The block matrices, and the embedding where its shape packs (vocab 100 does).
      const Linear& e = w.embed;
      bytes += round64(dt == WeightsDType::BF16 ? e.bf16_panel.size() * 2 : e.q8_panel.size());
      EXPECT_EQ(weights_arena().stats().in_use - before, bytes);
#endif
    }
    EXPECT_EQ(weights_arena().stats().in_use, before) << "the panels went back";
  }
}

}  // namespace
}  // namespace lr
