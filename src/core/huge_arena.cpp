#include "core/huge_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>

namespace lr {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kMinChunk = size_t(64) << 20;

size_t round_up(size_t n, size_t a) {
  return (n + a - 1) / a * a;
}

struct Chunk {
  uintptr_t base = 0;
  size_t size = 0, used = 0;
  std::map<uintptr_t, size_t> free;  // start -> length, coalesced
};

}  // namespace

struct HugeArena::State {
  mutable std::mutex mu;
  std::map<uintptr_t, Chunk> chunks;  // by base

  // A 2 MB-aligned mapping of `size` (a multiple of 2 MB): map 2 MB more, trim both ends.
  static uintptr_t map_aligned(size_t size) {
    void* m =
        mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t raw = reinterpret_cast<uintptr_t>(m);
    const uintptr_t base = round_up(raw, kHuge);
    if (base > raw) munmap(m, base - raw);
    const uintptr_t end = raw + size + kHuge;
    if (end > base + size) munmap(reinterpret_cast<void*>(base + size), end - (base + size));
    madvise(reinterpret_cast<void*>(base), size, MADV_HUGEPAGE);
    return base;
  }

  void* alloc(size_t n) {
    n = round_up(n == 0 ? 1 : n, kAlign);
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [base, c] : chunks)
      for (auto it = c.free.begin(); it != c.free.end(); ++it)
        if (it->second >= n) return take(c, it, n);
    const size_t size = std::max(kMinChunk, round_up(n, kHuge));
    const uintptr_t base = map_aligned(size);
    Chunk& c = chunks[base];
    c.base = base;
    c.size = size;
    c.free[base] = size;
    return take(c, c.free.begin(), n);
  }

  static void* take(Chunk& c, std::map<uintptr_t, size_t>::iterator it, size_t n) {
    const uintptr_t p = it->first;
    const size_t len = it->second;
    c.free.erase(it);
    if (len > n) c.free[p + n] = len - n;
    c.used += n;
    return reinterpret_cast<void*>(p);
  }

  void release(void* ptr, size_t n) {
    n = round_up(n == 0 ? 1 : n, kAlign);
    uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
    std::lock_guard<std::mutex> lock(mu);
    auto ci = chunks.upper_bound(p);
    if (ci == chunks.begin()) return;  // not ours: a caller bug, but never crash here
    --ci;
    Chunk& c = ci->second;
    if (p + n > c.base + c.size) return;
    c.used -= n;
    if (c.used == 0) {
      munmap(reinterpret_cast<void*>(c.base), c.size);
      chunks.erase(ci);
      return;
    }
    // Coalesce with the free ranges on either side.
    auto next = c.free.lower_bound(p);
    if (next != c.free.end() && next->first == p + n) {
      n += next->second;
      next = c.free.erase(next);
    }
    if (next != c.free.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == p) {
        p = prev->first;
        n += prev->second;
        c.free.erase(prev);
      }
    }
    c.free[p] = n;
    // Whole 2 MB pages of the free range go back to the kernel (touched again, they come
    // back as zero pages); partial ones would split a huge page still in use.
    const uintptr_t b = round_up(p, kHuge), e = (p + n) / kHuge * kHuge;
    if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
  }
};

HugeArena::HugeArena() : s_(new State) {}

HugeArena::~HugeArena() {
  for (const auto& [base, c] : s_->chunks) munmap(reinterpret_cast<void*>(c.base), c.size);
  delete s_;
}

void* HugeArena::alloc(size_t n) {
  return s_->alloc(n);
}

void HugeArena::release(void* p, size_t n) {
  if (p) s_->release(p, n);
}

HugeArenaStats HugeArena::stats() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  HugeArenaStats st;
  for (const auto& [base, c] : s_->chunks) {
    st.mapped += c.size;
    st.in_use += c.used;
    ++st.chunks;
  }
  return st;
}

HugeArena& weights_arena() {
  static HugeArena* a = new HugeArena;
  return *a;
}

}  // namespace lr
