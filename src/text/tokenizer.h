#pragma once
// Byte-level BPE from a Hugging Face tokenizer.json: added/special tokens matched first,
// NFC normaliser (utf8proc), regex Split pre-tokeniser (PCRE2, UTF + JIT), ByteLevel
// mapping, merges by rank with a cache; decode and a streaming decoder that never emits
// broken UTF-8.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lr {

class Tokenizer {
 public:
  // path: a tokenizer.json, or a model directory containing one. Throws lr::Error.
  static Tokenizer load(const std::string& path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Added tokens in the text (e.g. <|im_start|>) map to their ids.
  std::vector<int32_t> encode(std::string_view text) const;
  // Raw bytes of the tokens joined; skip_special drops added tokens marked special.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  std::string id_to_token(int32_t id) const;           // "" when out of range
  bool is_special(int32_t id) const;
  size_t vocab_size() const;  // largest id + 1

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Feeds ids one at a time; returns the text that became complete UTF-8 (holding back a
// partial multi-byte sequence until the rest arrives).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special = true)
      : tok_(tok), skip_special_(skip_special) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is left (invalid bytes as U+FFFD)

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace lr
