#include "text/bpe.h"

#include <algorithm>

#include "core/error.h"
#include "text/byte_level.h"

namespace lr {
namespace {

// Pre-tokens longer than this skip the cache: they are rare (long digit-free blobs or
// whitespace runs) and would only evict useful entries.
constexpr size_t kMaxCachedLen = 64;

struct Sym {
  int32_t id;
  int32_t prev, next;  // linked list over live symbols; -1 at the ends
};

struct Cand {
  int32_t rank, pos, left, right, merged;
  // std heap is a max-heap: "greater" means lower priority. Lowest rank wins, then the
  // leftmost position, which is the order Hugging Face's BPE applies merges in.
  bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

Bpe::Bpe(std::unordered_map<std::string, int32_t> vocab,
         const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges,
         const std::string& where)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges) {
  const auto& chars = byte_level::byte_chars();
  for (size_t b = 0; b < 256; ++b) {
    auto it = vocab_.find(chars[b]);
    byte_id_[b] = it == vocab_.end() ? -1 : it->second;
  }
  merges_.reserve(merges.size() * 2);
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    auto ia = vocab_.find(a), ib = vocab_.find(b);
    joined = a + b;
    auto ij = vocab_.find(joined);
    if (ia == vocab_.end() || ib == vocab_.end() || ij == vocab_.end())
      fail(where, ": merge ", r, " '", a, " ", b, "' uses a token missing from the vocab");
    // The first (lowest-rank) occurrence of a pair wins, as in Hugging Face.
    merges_.try_emplace(key(ia->second, ib->second), Merge{int32_t(r), ij->second});
  }
}

void Bpe::merge_word(std::string_view bytes, std::vector<int32_t>& out) const {
  thread_local std::vector<Sym> syms;
  thread_local std::vector<Cand> heap;
  syms.clear();
  heap.clear();
  for (char c : bytes) {
    int32_t id = byte_id_[uint8_t(c)];
    if (id < 0) continue;
    int32_t n = int32_t(syms.size());
    syms.push_back({id, n - 1, -1});
    if (n > 0) syms[size_t(n - 1)].next = n;
  }
  auto push_pair = [&](int32_t pos) {
    int32_t nx = syms[size_t(pos)].next;
    if (nx < 0) return;
    auto it = merges_.find(key(syms[size_t(pos)].id, syms[size_t(nx)].id));
    if (it == merges_.end()) return;
    heap.push_back(
        {it->second.rank, pos, syms[size_t(pos)].id, syms[size_t(nx)].id, it->second.id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 0; i + 1 < int32_t(syms.size()); ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Cand c = heap.back();
    heap.pop_back();
    Sym& s = syms[size_t(c.pos)];
    // Stale entries: the left symbol changed, or its right neighbour did.
    if (s.id != c.left || s.next < 0 || syms[size_t(s.next)].id != c.right) continue;
    Sym& r = syms[size_t(s.next)];
    s.id = c.merged;
    s.next = r.next;
    if (r.next >= 0) syms[size_t(r.next)].prev = c.pos;
    r.id = -1;
    if (s.prev >= 0) push_pair(s.prev);
    push_pair(c.pos);
  }
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[size_t(i)].next)
    out.push_back(syms[size_t(i)].id);
}

void Bpe::encode_word(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  if (bytes.size() == 1) {
    int32_t id = byte_id_[uint8_t(bytes[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (ignore_merges_) {
    auto it = vocab_.find(byte_level::encode(bytes));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (bytes.size() > kMaxCachedLen) {
    merge_word(bytes, out);
    return;
  }
  thread_local std::string key_buf;
  key_buf.assign(bytes);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key_buf);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = out.size();
  merge_word(bytes, out);
  std::vector<int32_t> ids(out.begin() + std::ptrdiff_t(start), out.end());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kCacheMax) cache_.clear();
  cache_.emplace(key_buf, std::move(ids));
}

}  // namespace lr
