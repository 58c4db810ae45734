#pragma once
// The Split pre-tokeniser (behaviour Isolated): every regex match and every gap between
// matches becomes its own piece. PCRE2 (UTF + UCP, JIT) stands in for the Rust `regex`
// crate Hugging Face uses; \s and \S are rewritten to Rust's Unicode White_Space set.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lr {

class RegexSplit {
 public:
  // `where` names the tokenizer file in errors.
  RegexSplit(const std::string& pattern, const std::string& where);
  ~RegexSplit();
  RegexSplit(const RegexSplit&) = delete;
  RegexSplit& operator=(const RegexSplit&) = delete;
  RegexSplit(RegexSplit&& o) noexcept : code_(o.code_), where_(std::move(o.where_)) {
    o.code_ = nullptr;
  }

  // Appends [begin, end) byte ranges (relative to text) of the pieces. text must be valid
  // UTF-8 (not re-checked, for speed).
  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*, kept opaque so the header stays PCRE2-free
  std::string where_;
};

// Rewrites \s / \S in a regex so they mean Unicode White_Space (what Rust's regex uses);
// PCRE2's own \s also matches U+180E. Exposed for tests.
std::string rust_whitespace_classes(const std::string& pattern);

// The GPT-2 pre-tokenisation regex (ByteLevel with use_regex = true).
extern const char* const kGpt2Pattern;

}  // namespace lr
