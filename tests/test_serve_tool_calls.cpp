// The incremental tool-call parser of `layerroute serve`: any split of the stream gives the
// same content and calls, tags never reach the content, broken blocks come back as content.
#include <gtest/gtest.h>

#include "io/json.h"
#include "serve/tool_call_parser.h"

namespace lr::serve {
namespace {

// Feeds `text` in pieces cut at the given byte offsets; joins content, collects calls, and
// checks no content event carries a tag when every block is valid.
ParsedReply feed(std::string_view text, const std::vector<size_t>& cuts, bool expect_no_tags) {
  ToolCallParser p;
  ParsedReply r;
  auto take = [&](std::vector<ParseEvent> ev) {
    for (auto& e : ev) {
      if (e.kind == ParseEvent::Kind::Content) {
        EXPECT_FALSE(e.text.empty());
        if (expect_no_tags) {
          EXPECT_EQ(e.text.find('<'), std::string::npos) << "content delta: " << e.text;
        }
        r.content += e.text;
      } else {
        r.calls.push_back(e.call);
      }
    }
  };
  size_t at = 0;
  for (size_t c : cuts) {
    take(p.push(text.substr(at, c - at)));
    at = c;
  }
  take(p.push(text.substr(at)));
  take(p.finish());
  r.invalid_blocks = p.invalid_blocks();
  return r;
}

void expect_same(const ParsedReply& a, const ParsedReply& b, const std::string& where) {
  EXPECT_EQ(a.content, b.content) << where;
  ASSERT_EQ(a.calls.size(), b.calls.size()) << where;
  for (size_t i = 0; i < a.calls.size(); ++i) {
    EXPECT_EQ(a.calls[i].name, b.calls[i].name) << where;
    EXPECT_EQ(a.calls[i].arguments, b.calls[i].arguments) << where;
  }
  EXPECT_EQ(a.invalid_blocks, b.invalid_blocks) << where;
}

// Every single cut, every pair of cuts, and byte by byte give the whole-text result.
void check_all_splits(std::string_view text, const ParsedReply& want, bool no_tags) {
  expect_same(feed(text, {}, no_tags), want, "whole");
  for (size_t i = 0; i <= text.size(); ++i)
    expect_same(feed(text, {i}, no_tags), want, "cut at " + std::to_string(i));
  for (size_t i = 0; i <= text.size(); i += 3)
    for (size_t j = i; j <= text.size(); ++j)
      expect_same(feed(text, {i, j}, no_tags), want,
                  "cuts at " + std::to_string(i) + "," + std::to_string(j));
  std::vector<size_t> every;
  for (size_t i = 1; i < text.size(); ++i) every.push_back(i);
  expect_same(feed(text, every, no_tags), want, "byte by byte");
}

TEST(ServeToolCalls, OneCallWithTextAround) {
  const std::string text =
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\", \"days\": 3}}\n</tool_call>\nDone.";
  const ParsedReply r = parse_tool_calls(text);
  EXPECT_EQ(r.content, "Let me check.\n\nDone.");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_EQ(r.calls[0].arguments, "{\"city\": \"Paris\", \"days\": 3}");
  EXPECT_EQ(r.invalid_blocks, 0);
  check_all_splits(text, r, true);
}

TEST(ServeToolCalls, SeveralCalls) {
  const std::string text =
      "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": "
      "\"b\", \"arguments\": {\"x\": [1, 2, {\"y\": null}]}}\n</tool_call>";
  const ParsedReply r = parse_tool_calls(text);
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].name, "a");
  EXPECT_EQ(r.calls[0].arguments, "{}");
  EXPECT_EQ(r.calls[1].name, "b");
  EXPECT_EQ(r.calls[1].arguments, "{\"x\": [1, 2, {\"y\": null}]}");
  EXPECT_EQ(r.content, "\n");
  check_all_splits(text, r, true);
}

TEST(ServeToolCalls, TagsInsideJsonStrings) {
  const std::string text =
      "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"s\": \"</tool_call> and "
      "<tool_call> \\\" \\\\\"}}\n</tool_call>";
  const ParsedReply r = parse_tool_calls(text);
  ASSERT_EQ(r.calls.size(), 1u) << r.content;
  EXPECT_EQ(r.calls[0].name, "echo");
  EXPECT_EQ(r.calls[0].arguments, "{\"s\": \"</tool_call> and <tool_call> \\\" \\\\\"}");
  EXPECT_EQ(r.content, "");
  check_all_splits(text, r, true);
}

TEST(ServeToolCalls, ArgumentsGivenAsJsonText) {
  const ParsedReply r = parse_tool_calls(
      "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"k\\\":1}\"}</tool_call>");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, "{\"k\": 1}");
}

TEST(ServeToolCalls, BrokenJsonIsContent) {
  const std::string bad = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"x\": }\n</tool_call>";
  const std::string text = "pre " + bad + " <tool_call>{\"name\": \"g\"}</tool_call> post";
  const ParsedReply r = parse_tool_calls(text);
  EXPECT_EQ(r.content, "pre " + bad + "  post");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "g");
  EXPECT_EQ(r.calls[0].arguments, "{}");
  EXPECT_EQ(r.invalid_blocks, 1);
  check_all_splits(text, r, false);
}

TEST(ServeToolCalls, UnbalancedQuoteEndsAtThePlainClosingTag) {
  const std::string text =
      "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": \"oops}}</tool_call>after "
      "<tool_call>{\"name\": \"g\", \"arguments\": {}}</tool_call>";
  const ParsedReply r = parse_tool_calls(text);
  EXPECT_EQ(r.invalid_blocks, 1);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "g");
  EXPECT_EQ(r.content,
            "<tool_call>{\"name\": \"f\", \"arguments\": {\"x\": \"oops}}</tool_call>after ");
  check_all_splits(text, r, false);
}

TEST(ServeToolCalls, NotACallObjectIsContent) {
  for (const char* body : {"[1, 2]", "{\"arguments\": {}}", "{\"name\": 3}", "{\"name\": \"\"}",
                           "{\"name\": \"f\", \"arguments\": 7}", ""}) {
    const std::string text = std::string("<tool_call>") + body + "</tool_call>";
    const ParsedReply r = parse_tool_calls(text);
    EXPECT_TRUE(r.calls.empty()) << body;
    EXPECT_EQ(r.content, text) << body;
    EXPECT_EQ(r.invalid_blocks, 1) << body;
  }
}

TEST(ServeToolCalls, PartialTagsAreHeldBackNotLost) {
  ToolCallParser p;
  EXPECT_TRUE(p.push("a <tool_").size() == 1);  // "a " out, "<tool_" held
  auto ev = p.push("x");                        // not a tag after all
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].text, "<tool_x");
  EXPECT_TRUE(p.push("<").empty());
  ev = p.finish();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].text, "<");
  // Text that merely looks like a closing tag outside a block is content.
  EXPECT_EQ(parse_tool_calls("</tool_call> x").content, "</tool_call> x");
}

TEST(ServeToolCalls, UnclosedBlockAtTheEnd) {
  // Stopped right after the JSON: still a call.
  ParsedReply r = parse_tool_calls("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n");
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, "{\"a\": 1}");
  // Cut off inside the JSON (max tokens): content, counted.
  r = parse_tool_calls("<tool_call>\n{\"name\": \"f\", \"argu");
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(r.content, "<tool_call>\n{\"name\": \"f\", \"argu");
  EXPECT_EQ(r.invalid_blocks, 1);
}

// A call nested 100,000 deep is not a call (model output is read like a stranger's body):
// content, counted, never a value deep enough that copying or printing it overflows the
// stack.
TEST(ServeToolCalls, DeeplyNestedArgumentsAreContent) {
  const size_t n = 100000;
  std::string args;
  for (size_t i = 0; i < n; ++i) args += "{\"a\":";
  args += "1" + std::string(n, '}');
  for (const std::string& a : {args, Json(args).dump()}) {
    const std::string text = "<tool_call>{\"name\": \"f\", \"arguments\": " + a + "}</tool_call>";
    const ParsedReply r = parse_tool_calls(text);
    EXPECT_TRUE(r.calls.empty());
    EXPECT_EQ(r.content, text);
    EXPECT_EQ(r.invalid_blocks, 1);
  }
}

TEST(ServeToolCalls, Utf8AndUnicodeArguments) {
  const std::string text =
      "Météo: <tool_call>{\"name\": \"w\", \"arguments\": {\"ville\": \"Zürich "
      "東京\"}}</tool_call>";
  const ParsedReply r = parse_tool_calls(text);
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].arguments, "{\"ville\": \"Zürich 東京\"}");
  EXPECT_EQ(r.content, "Météo: ");
  check_all_splits(text, r, true);
}

}  // namespace
}  // namespace lr::serve
