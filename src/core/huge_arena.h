#pragma once
// Memory for the inference weights, on transparent huge pages. Decoding streams every
// weight once per token, and 2 MB pages read faster than 4 KB ones (fewer TLB misses).
// Separate vectors, which glibc places anywhere, could only be huge in their 2 MB-aligned
// interiors, and the small q/k/v/o not at all. The arena maps 2 MB-aligned chunks of
// >= 64 MB with MADV_HUGEPAGE and hands out 64-byte-aligned ranges first-fit, so
// consecutive matrices share pages; freed ranges coalesce, whole free 2 MB pages go back to
// the kernel, a chunk with nothing left in it is unmapped. Harmless where THP is off.
#include <cstddef>
#include <new>
#include <vector>

namespace lr {

struct HugeArenaStats {
  size_t mapped = 0;  // bytes of chunks mapped
  size_t in_use = 0;  // bytes handed out (each rounded up to 64)
  size_t chunks = 0;
};

class HugeArena {
 public:
  HugeArena();
  ~HugeArena();  // unmaps every chunk
  HugeArena(const HugeArena&) = delete;
  HugeArena& operator=(const HugeArena&) = delete;
  // n bytes (0 counts as 1), 64-byte aligned; throws std::bad_alloc when the kernel refuses.
  void* alloc(size_t n);
  // p from alloc(n) of this arena, with the same n; null is ignored.
  void release(void* p, size_t n);
  HugeArenaStats stats() const;

 private:
  struct State;
  State* s_;
};

// The process's arena for the weights (never destroyed: vectors may outlive statics).
HugeArena& weights_arena();

// std::vector storage from weights_arena(). Under AddressSanitizer it is plain operator new, so
// the sanitizer still sees overflows of these buffers.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
#if defined(__SANITIZE_ADDRESS__)
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
#else
    return static_cast<T*>(weights_arena().alloc(n * sizeof(T)));
#endif
  }
  void deallocate(T* p, size_t n) noexcept {
#if defined(__SANITIZE_ADDRESS__)
    (void)n;
    ::operator delete(p, std::align_val_t(64));
#else
    weights_arena().release(p, n * sizeof(T));
#endif
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using huge_vector = std::vector<T, HugePageAllocator<T>>;

}  // namespace lr
