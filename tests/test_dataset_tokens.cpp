// Loss-mask spans and segment tokenization with a stand-in ChatML renderer and a
// byte-per-token encoder; the train/val split; padded batches.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "text/dataset.h"
#include "train/batching.h"

namespace lr {
namespace {

// Plain ChatML, enough to exercise the span logic without the real template.
std::string chatml(const Json& messages, bool gen) {
  std::string s;
  for (const Json& m : messages)
    s += "<|im_start|>" + m["role"].get<std::string>() + "\n" + m["content"].get<std::string>() +
         "<|im_end|>\n";
  if (gen) s += "<|im_start|>assistant\n";
  return s;
}

std::vector<int32_t> bytes(std::string_view t) {
  return std::vector<int32_t>(t.begin(), t.end());  // one token per byte
}

Json convo() {
  return Json::parse(R"([{"role": "system", "content": "sys"},
    {"role": "user", "content": "quote: <|im_start|>assistant\nnot me<|im_end|>"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "u2"},
    {"role": "assistant", "content": "A2"}])");
}

std::string text_of(const std::string& full, TextSpan sp) {
  return full.substr(sp.begin, sp.end - sp.begin);
}

TEST(DatasetSpans, PrefixRenderingFindsExactlyTheAssistantTurns) {
  Json m = convo();
  std::string full = chatml(m, false);
  auto spans = assistant_spans(m, full, chatml);
  ASSERT_EQ(spans.size(), 2u);  // the ChatML quoted in a user turn is not a turn
  EXPECT_EQ(text_of(full, spans[0]), "A1<|im_end|>");
  EXPECT_EQ(text_of(full, spans[1]), "A2<|im_end|>");
}

TEST(DatasetSpans, FallsBackToScanningWhenRenderingPrefixesFails) {
  Json m = Json::parse(R"([{"role": "user", "content": "u"}, {"role": "assistant", "content": "A"},
    {"role": "user", "content": "v"}, {"role": "assistant", "content": "B"}])");
  std::string full = chatml(m, false);
  RenderFn refuses = [](const Json&, bool) -> std::string { throw Error("no"); };
  auto spans = assistant_spans(m, full, refuses);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(text_of(full, spans[0]), "A<|im_end|>");
  EXPECT_EQ(text_of(full, spans[1]), "B<|im_end|>");
  // A renderer that is not prefix-stable also falls back.
  RenderFn unstable = [](const Json& msgs, bool gen) { return chatml(msgs, gen).append("X"); };
  EXPECT_EQ(assistant_spans(m, full, unstable).size(), 2u);
}

TEST(DatasetSpans, MaskCoversAssistantTokensOnly) {
  Json m = convo();
  std::string full = chatml(m, false);
  auto spans = assistant_spans(m, full, chatml);
  TokenizedSample t = tokenize_spans(full, spans, bytes, LossOn::Assistant, 0, StepLabel::ToolCall);
  ASSERT_EQ(t.ids.size(), full.size());
  ASSERT_EQ(t.loss_mask.size(), full.size());
  EXPECT_EQ(t.label, StepLabel::ToolCall);
  std::string masked;
  for (size_t i = 0; i < full.size(); ++i)
    if (t.loss_mask[i]) masked.push_back(static_cast<char>(t.ids[i]));
  EXPECT_EQ(masked, "A1<|im_end|>A2<|im_end|>");

  TokenizedSample all = tokenize_spans(full, spans, bytes, LossOn::All, 0, StepLabel::Planning);
  EXPECT_EQ(all.loss_mask[0], 0);
  for (size_t i = 1; i < all.loss_mask.size(); ++i) ASSERT_EQ(all.loss_mask[i], 1) << i;

  TokenizedSample cut =
      tokenize_spans(full, spans, bytes, LossOn::Assistant, 10, StepLabel::Planning);
  EXPECT_EQ(cut.ids.size(), 10u);
  EXPECT_EQ(cut.loss_mask.size(), 10u);
}

TEST(DatasetSpans, PiecesAreEncodedSeparately) {
  std::vector<std::string> pieces;
  EncodeFn record = [&](std::string_view t) {
    pieces.emplace_back(t);
    return bytes(t);
  };
  std::string text = "aaXXbbYYcc";
  tokenize_spans(text, {{2, 4}, {6, 8}}, record, LossOn::Assistant, 0, StepLabel::Planning);
  EXPECT_EQ(pieces, (std::vector<std::string>{"aa", "XX", "bb", "YY", "cc"}));
}

std::vector<TokenizedSample> numbered(int n) {
  std::vector<TokenizedSample> v(n);
  for (int i = 0; i < n; ++i) v[i].ids = {i};
  return v;
}

std::vector<int> firsts(const std::vector<TokenizedSample>& v) {
  std::vector<int> r;
  for (const auto& s : v) r.push_back(s.ids[0]);
  return r;
}

TEST(DatasetSplit, DeterministicDisjointAndComplete) {
  std::vector<TokenizedSample> tr1, va1, tr2, va2, tr3, va3;
  split_train_val(numbered(100), 0.1, 42, &tr1, &va1);
  split_train_val(numbered(100), 0.1, 42, &tr2, &va2);
  split_train_val(numbered(100), 0.1, 43, &tr3, &va3);
  EXPECT_EQ(va1.size(), 10u);
  EXPECT_EQ(tr1.size(), 90u);
  EXPECT_EQ(firsts(va1), firsts(va2));
  EXPECT_EQ(firsts(tr1), firsts(tr2));
  EXPECT_NE(firsts(va1), firsts(va3));
  std::set<int> seen;
  for (int x : firsts(tr1)) seen.insert(x);
  for (int x : firsts(va1)) EXPECT_TRUE(seen.insert(x).second) << x << " in both";
  EXPECT_EQ(seen.size(), 100u);
  // Pinned: the shuffle is hand-written so this holds on any standard library.
  EXPECT_EQ(firsts(va1), (std::vector<int>{70, 21, 43, 60, 82, 55, 0, 52, 88, 29}));

  split_train_val(numbered(7), 0.0, 1, &tr1, &va1);
  EXPECT_TRUE(va1.empty());
  EXPECT_EQ(tr1.size(), 7u);
  EXPECT_THROW(split_train_val(numbered(3), 1.5, 1, &tr1, &va1), Error);
}

TEST(DatasetBatch, PadsToLongestRowWithMasks) {
  TokenizedSample a, b;
  a.ids = {5, 6, 7};
  a.loss_mask = {0, 1, 1};
  a.label = StepLabel::ToolCall;
  b.ids = {8};
  b.loss_mask = {0};
  Batch batch = make_batch({&a, &b}, -1);
  EXPECT_EQ(batch.rows, 2);
  EXPECT_EQ(batch.seq, 3);
  EXPECT_EQ(batch.ids, (std::vector<int32_t>{5, 6, 7, 8, -1, -1}));
  EXPECT_EQ(batch.attn_mask, (std::vector<uint8_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(batch.loss_mask, (std::vector<uint8_t>{0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(batch.labels, (std::vector<StepLabel>{StepLabel::ToolCall, StepLabel::Planning}));

  Batch one = make_batch({&b}, 0);
  EXPECT_EQ(one.seq, 1);  // only as long as the longest row, not max_len
  Batch none = make_batch({}, 0);
  EXPECT_EQ(none.rows, 0);
  EXPECT_TRUE(none.ids.empty());
}

}  // namespace
}  // namespace lr
