// Tokenizer pieces that need no peer: UTF-8 helpers, the byte-level alphabet, the \s
// rewrite, loader errors, and the golden tiny model's tokenizer.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/regex_split.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include "tokenizer_test_util.h"

namespace lr {
namespace {

using namespace tok_test;

TEST(TokenizerUtf8, ValidityAndLossy) {
  EXPECT_TRUE(utf8::is_valid("abc \xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));
  EXPECT_FALSE(utf8::is_valid("\xC0\x80"));          // overlong
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(utf8::is_valid("\xE4\xB8"));          // truncated
  std::string out;
  utf8::append_lossy("a\xE4\xB8z\xFF\xF0\x9F\x98\x80", out);
  EXPECT_EQ(out, "a\xEF\xBF\xBDz\xEF\xBF\xBD\xF0\x9F\x98\x80");
  EXPECT_TRUE(utf8::is_ascii("plain text 123"));
  EXPECT_FALSE(utf8::is_ascii("plain text \xC3\xA9 more ascii after"));
}

TEST(TokenizerUtf8, IncompleteTail) {
  EXPECT_EQ(utf8::incomplete_tail("ab"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0"), 1u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F"), 2u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8::incomplete_tail("a\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(utf8::incomplete_tail("a\xE0\x80"), 0u);  // already invalid: nothing to wait for
  EXPECT_EQ(utf8::incomplete_tail("\x80\x80"), 0u);
}

TEST(TokenizerByteLevel, AlphabetIsABijection) {
  const auto& chars = byte_level::byte_chars();
  std::set<std::string> seen(chars.begin(), chars.end());
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(chars[' '], "\xC4\xA0");   // Ġ
  EXPECT_EQ(chars['\n'], "\xC4\x8A");  // Ċ
  EXPECT_EQ(chars['A'], "A");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(char(b));
  std::string back;
  ASSERT_TRUE(byte_level::decode(byte_level::encode(all), back));
  EXPECT_EQ(back, all);
  std::string untouched = "x";
  EXPECT_FALSE(byte_level::decode("\xE4\xB8\xAD", untouched));
  EXPECT_EQ(untouched, "x");
}

TEST(TokenizerRegex, WhitespaceRewrite) {
  std::string p = rust_whitespace_classes(R"(\s+(?!\S)|[^\s\p{L}]|\\s|[]\s])");
  EXPECT_EQ(p.find("\\s"), p.find("\\\\s") + 1);  // only the escaped-backslash one is left
  EXPECT_NE(p.find("[^\\t\\n"), std::string::npos);
  // U+180E is not White_Space for Rust's regex (PCRE2's own \s says it is).
  RegexSplit split(R"(\s+|\S+)", "test");
  std::vector<std::pair<size_t, size_t>> pieces;
  split.split("a \xE1\xA0\x8E b\xC2\xA0\xE3\x80\x80x", pieces);
  ASSERT_EQ(pieces.size(), 7u);  // a, ' ', U+180E, ' ', b, NBSP+U+3000, x
  EXPECT_EQ(pieces[2], (std::pair<size_t, size_t>{2, 5}));   // U+180E joins no whitespace run
  EXPECT_EQ(pieces[5], (std::pair<size_t, size_t>{7, 12}));  // NBSP + U+3000 are whitespace
}

class TokenizerErrors : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::string dir = temp_dir("errors");
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  }
  // Loads `path` expecting an lr::Error whose message names the file and contains `what`.
  void expect_error(const std::string& path, const std::string& what) {
    try {
      Tokenizer::load(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }
  }
  static std::string json_with(
      const std::string& model, const std::string& normalizer = "null",
      const std::string& pre = R"({"type": "ByteLevel", "add_prefix_space": false})") {
    return R"({"normalizer": )" + normalizer + R"(, "pre_tokenizer": )" + pre +
           R"(, "decoder": null, "model": )" + model + "}";
  }
};

const char* kBpe = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

TEST_F(TokenizerErrors, MissingFile) {
  expect_error("/nonexistent/dir/tokenizer.json", "cannot read");
}

TEST_F(TokenizerErrors, NotJson) {
  expect_error(write("tokenizer.json", "{not json"), "not valid JSON");
}

TEST_F(TokenizerErrors, UnsupportedModel) {
  expect_error(write("tokenizer.json", json_with(R"({"type": "WordPiece", "vocab": {}})")),
               "unsupported model type 'WordPiece'");
}

TEST_F(TokenizerErrors, UnsupportedNormalizerAndPreTokenizer) {
  expect_error(write("tokenizer.json", json_with(kBpe, R"({"type": "Lowercase"})")),
               "unsupported normalizer 'Lowercase'");
  expect_error(write("tokenizer.json", json_with(kBpe, "null", R"({"type": "Whitespace"})")),
               "unsupported pre-tokenizer 'Whitespace'");
  expect_error(write("tokenizer.json", json_with(kBpe, "null", "null")), "ByteLevel");
}

TEST_F(TokenizerErrors, BadMerge) {
  expect_error(write("tokenizer.json",
                     json_with(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]})")),
               "missing from the vocab");
}

TEST(TokenizerMini, MergesAsPairsAndSequenceNormalizer) {
  // Merges given as [a, b] pairs; NFC inside a Sequence; plain ByteLevel with the GPT-2 regex.
  std::string dir = temp_dir("mini");
  std::ofstream(dir + "/tokenizer.json") << R"({
    "added_tokens": [{"id": 5, "content": "<x>", "special": true}, {"id": 6, "content": "<x>>", "special": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4, "\u00c3": 7, "\u00a9": 8, "\u00c3\u00a9": 9},
              "merges": [["a", "b"], ["Ġ", "ab"], ["\u00c3", "\u00a9"]]}})";
  Tokenizer tok = Tokenizer::load(dir);
  EXPECT_EQ(tok.vocab_size(), 10u);
  EXPECT_EQ(tok.encode("ab ab<x>>ab<x>"), (std::vector<int32_t>{2, 4, 6, 2, 5}));
  EXPECT_EQ(tok.encode("e\xCC\x81"), (std::vector<int32_t>{9}));  // NFC: e + U+0301 -> U+00E9
  EXPECT_EQ(tok.encode("abc"), (std::vector<int32_t>{2}));        // 'c' is not in the vocab
  EXPECT_EQ(tok.decode({2, 4, 5, 6}), "ab ab<x><x>>");
  EXPECT_EQ(tok.decode({2, 5, 99, -3}, true), "ab");
}

TEST(TokenizerTiny, GoldenTokenizerLoads) {
  Tokenizer tok =
      Tokenizer::load(std::string(LR_SHARED_DIR) + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 2048u);
  std::string text = "Hello world! The quick brown fox, 12345.\n\tdef f(x): return x";
  auto ids = tok.encode(text);
  for (int32_t id : ids) EXPECT_LT(id, 2048);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.encode("  "), (std::vector<int32_t>{256}));  // merge 0 is "Ġ Ġ"
}

}  // namespace
}  // namespace lr
