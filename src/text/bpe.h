#pragma once
// Byte-level BPE model: merges applied by rank over the bytes of one pre-token, with a
// thread-safe cache of pre-token -> ids (text repeats words a lot).
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lr {

class Bpe {
 public:
  // vocab: byte-level token string -> id. merges: pairs of byte-level strings in rank
  // order. ignore_merges: a pre-token that is itself in the vocab maps straight to it
  // (Llama 3 style). `where` names the file for errors.
  Bpe(std::unordered_map<std::string, int32_t> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges,
      const std::string& where);

  // Appends the ids of one pre-token given as raw bytes. Bytes whose character is not in
  // the vocab are dropped (Hugging Face's BPE without an unk token does the same).
  void encode_word(std::string_view bytes, std::vector<int32_t>& out) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  void merge_word(std::string_view bytes, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::array<int32_t, 256> byte_id_{};
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;

  // Bounded: cleared when it grows past kCacheMax entries, so memory stays flat on
  // adversarial input while normal text keeps a high hit rate.
  static constexpr size_t kCacheMax = 1 << 18;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace lr
