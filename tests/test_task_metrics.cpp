// Task metrics (tool calls, GSM8K answers) on hand-written outputs: the definitions of
// `layerroute score` and of eval's generation metrics.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/task_metrics.h"

namespace lr::eval {
namespace {

std::vector<ToolCall> ref_calls(const char* json) {
  return reference_tool_calls(Json::parse(json), "ref");
}

TEST(TaskMetricsToolCall, ExtractsNestedJsonAndParsesStringArguments) {
  const auto calls = extract_tool_calls(
      "Let me look.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": {\"a\": [1, "
      "{\"b\": \"}\"}]}}}\n</tool_call>\n<tool_call>{\"name\": \"f\", \"arguments\": "
      "\"{\\\"x\\\": 2}\"}</tool_call>");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].name, "search");
  EXPECT_EQ(calls[0].arguments["q"]["a"][1]["b"], "}");
  EXPECT_EQ(calls[1].name, "f");
  ASSERT_TRUE(calls[1].arguments.is_object());
  EXPECT_EQ(calls[1].arguments["x"], 2);
}

TEST(TaskMetricsToolCall, TagsInsideStringsDoNotCutOrOpenBlocks) {
  // The closing tag inside an argument string is part of the value; the opening tag inside
  // the value does not start a second block.
  const auto calls = extract_tool_calls(
      "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"s\": \"a</tool_call><tool_call>b\"}}"
      "\n</tool_call>");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments["s"], "a</tool_call><tool_call>b");
}

TEST(TaskMetricsToolCall, BrokenBlocksAreNotCalls) {
  EXPECT_TRUE(
      extract_tool_calls("<tool_call>{\"name\": \"f\", \"arguments\": {</tool_call>").empty());
  EXPECT_TRUE(extract_tool_calls("<tool_call>{\"arguments\": {}}</tool_call>").empty());  // no name
  EXPECT_TRUE(extract_tool_calls("<tool_call>{\"name\": 3}</tool_call>").empty());
  EXPECT_TRUE(extract_tool_calls("<tool_call>[1, 2]</tool_call>").empty());
  EXPECT_TRUE(extract_tool_calls("<tool_call>{\"name\": \"f\"}").empty());  // never closed
  EXPECT_TRUE(extract_tool_calls("<tool_call>{\"name\": \"f\"} trailing</tool_call>").empty());
  EXPECT_TRUE(extract_tool_calls("no call here").empty());
  // A broken block does not hide the good one after it.
  const auto calls = extract_tool_calls(
      "<tool_call>{\"name\": \"bad\",</tool_call> <tool_call>{\"name\": \"good\"}</tool_call>");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "good");
  EXPECT_TRUE(calls[0].arguments.is_object() && calls[0].arguments.empty());  // missing = {}
}

TEST(TaskMetricsToolCall, JsonEqualIgnoresKeyOrderAndNumberFormat) {
  EXPECT_TRUE(json_equal(Json::parse("{\"a\": 1, \"b\": [1.0, {\"c\": 2}]}"),
                         Json::parse("{\"b\": [1, {\"c\": 2.0}], \"a\": 1.0}")));
  EXPECT_TRUE(json_equal(Json::parse("-3"), Json::parse("-3.0")));
  EXPECT_TRUE(json_equal(Json::parse("1e2"), Json::parse("100")));
  EXPECT_FALSE(json_equal(Json::parse("[1, 2]"), Json::parse("[2, 1]")));
  EXPECT_FALSE(json_equal(Json::parse("{\"a\": 1}"), Json::parse("{\"a\": 1, \"b\": 2}")));
  EXPECT_FALSE(json_equal(Json::parse("1"), Json::parse("\"1\"")));
  EXPECT_FALSE(json_equal(Json::parse("-1"), Json::parse("18446744073709551615")));
  EXPECT_FALSE(json_equal(Json::parse("true"), Json::parse("1")));
}

TEST(TaskMetricsToolCall, TurnScoreExactNamesAndF1) {
  const auto ref = ref_calls(
      R"([{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}])");
  // Same call, other key order, 3.0 for 3, arguments as a string.
  auto s = score_tool_call_turn(
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"days\\\": 3.0, "
      "\\\"city\\\": \\\"Paris\\\"}\"}\n</tool_call>",
      ref);
  EXPECT_TRUE(s.parsed && s.names && s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 1.0);
  // One of two values wrong, one key extra: precision 1/3, recall 1/2, F1 = 0.4.
  s = score_tool_call_turn(
      "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 4, "
      "\"unit\": \"C\"}}</tool_call>",
      ref);
  EXPECT_TRUE(s.parsed && s.names);
  EXPECT_FALSE(s.exact);
  EXPECT_NEAR(s.f1, 0.4, 1e-12);
  // Right arguments, wrong name.
  s = score_tool_call_turn(
      "<tool_call>{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}"
      "</tool_call>",
      ref);
  EXPECT_TRUE(s.parsed);
  EXPECT_FALSE(s.names || s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 1.0);
  // No call at all.
  s = score_tool_call_turn("The weather in Paris is sunny.", ref);
  EXPECT_FALSE(s.parsed || s.names || s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 0.0);
}

TEST(TaskMetricsToolCall, SeveralCallsCompareInOrderAndByIndex) {
  const auto ref =
      ref_calls(R"([{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": 2}}])");
  const std::string a = "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1}}</tool_call>";
  const std::string b = "<tool_call>{\"name\": \"b\", \"arguments\": {\"y\": 2}}</tool_call>";
  auto s = score_tool_call_turn(a + "\n" + b, ref);
  EXPECT_TRUE(s.names && s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 1.0);
  // Swapped: names differ in order and every triple sits at the other index.
  s = score_tool_call_turn(b + "\n" + a, ref);
  EXPECT_TRUE(s.parsed);
  EXPECT_FALSE(s.names || s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 0.0);
  // Only the first: precision 1, recall 1/2.
  s = score_tool_call_turn(a, ref);
  EXPECT_FALSE(s.names || s.exact);
  EXPECT_NEAR(s.f1, 2.0 / 3.0, 1e-12);
}

TEST(TaskMetricsToolCall, CallsWithoutArgumentsAndNoCallTurns) {
  const auto ref = ref_calls(R"([{"name": "now", "arguments": {}}])");
  auto s = score_tool_call_turn("<tool_call>{\"name\": \"now\"}</tool_call>", ref);
  EXPECT_TRUE(s.exact);
  EXPECT_DOUBLE_EQ(s.f1, 1.0);
  s = score_tool_call_turn("It is noon.", ref);
  EXPECT_DOUBLE_EQ(s.f1, 0.0);  // no triples on either side, but no call made
  // No-call turns: any tag counts as calling, even a broken one.
  EXPECT_TRUE(score_tool_call_turn("Hello! How can I help?", {}).no_call_ok);
  EXPECT_FALSE(score_tool_call_turn("<tool_call>{oops</tool_call>", {}).no_call_ok);
  EXPECT_FALSE(score_tool_call_turn("<tool_call>{\"name\": \"f\"}</tool_call>", {}).no_call_ok);
}

TEST(TaskMetricsToolCall, ReferenceErrorsNameTheRow) {
  try {
    reference_tool_calls(Json::parse(R"([{"arguments": {}}])"), "ref.jsonl:4");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ref.jsonl:4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(reference_tool_calls(Json::parse("{}"), "r"), Error);
}

TEST(TaskMetricsToolCall, Aggregation) {
  ToolCallMetrics m;
  const auto ref = ref_calls(R"([{"name": "f", "arguments": {"a": 1, "b": 2}}])");
  m.add(
      score_tool_call_turn("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1, \"b\": 2}}"
                           "</tool_call>",
                           ref));  // all right
  m.add(score_tool_call_turn("<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>",
                             ref));                             // F1 2/3
  m.add(score_tool_call_turn("nothing", ref));                  // nothing
  m.add(score_tool_call_turn("fine", {}));                      // no-call right
  m.add(score_tool_call_turn("<tool_call>x</tool_call>", {}));  // no-call wrong
  EXPECT_EQ(m.n, 5);
  EXPECT_EQ(m.n_call_turns, 3);
  EXPECT_DOUBLE_EQ(m.parse_rate(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.name_accuracy(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.args_exact_match(), 1.0 / 3.0);
  EXPECT_NEAR(m.args_f1(), (1.0 + 2.0 / 3.0 + 0.0) / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.no_call_accuracy(), 0.5);
  const Json j = m.to_json();
  EXPECT_EQ(j["n"], 5);
  EXPECT_NEAR(j["args_exact_match"].get<double>(), 1.0 / 3.0, 1e-12);
  ToolCallMetrics empty;
  EXPECT_TRUE(std::isnan(empty.parse_rate()));
  EXPECT_TRUE(empty.to_json()["parse_rate"].is_null());
}

TEST(TaskMetricsGsm8k, NumbersWithCommasSignsAndDecimals) {
  const auto nums = find_numbers("Spent $1,234.50, then -3 and 2.50; x-1 is 3-4 or .5.");
  std::vector<std::string> canon;
  for (const auto& d : nums) canon.push_back(d.canon);
  EXPECT_EQ(canon, (std::vector<std::string>{"1234.5", "-3", "2.5", "1", "3", "4", "0.5"}));
  EXPECT_EQ(find_numbers("007 and -0 and 10.000")[0].canon, "7");
  EXPECT_EQ(find_numbers("007 and -0 and 10.000")[1].canon, "0");
  EXPECT_EQ(find_numbers("007 and -0 and 10.000")[2].canon, "10");
}

TEST(TaskMetricsGsm8k, ReferenceAndPredictionAnswers) {
  const auto ref = reference_answer("She has 5 + 7 = 12 apples.\n#### 1,234");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->canon, "1234");
  EXPECT_EQ(reference_answer("42")->canon, "42");
  EXPECT_FALSE(reference_answer("no number"));
  EXPECT_EQ(hash_answer("#### -5 dollars")->canon, "-5");
  EXPECT_EQ(hash_answer("a 3 #### \n 2.50 then 7")->canon, "2.5");
  EXPECT_FALSE(hash_answer("the answer is 12"));
  EXPECT_FALSE(hash_answer("12 ####"));

  auto s = score_gsm8k_turn("12 + 1222 = 1234\n#### 1234", *ref);
  EXPECT_TRUE(s.hash_ok && s.last_ok);
  s = score_gsm8k_turn("The answer is 1,234.", *ref);  // no ####: wrong there
  EXPECT_FALSE(s.hash_ok);
  EXPECT_TRUE(s.last_ok);
  s = score_gsm8k_turn("#### 1234 because 5 more", *ref);
  EXPECT_TRUE(s.hash_ok);
  EXPECT_FALSE(s.last_ok);
  s = score_gsm8k_turn("#### -1234", *ref);
  EXPECT_FALSE(s.hash_ok || s.last_ok);
  EXPECT_TRUE(score_gsm8k_turn("#### 2.5", *reference_answer("#### 2.50")).hash_ok);
}

TEST(TaskMetricsGsm8k, Aggregation) {
  Gsm8kMetrics m;
  const Decimal ref = *reference_answer("#### 18");
  m.add(score_gsm8k_turn("#### 18", ref), true);
  m.add(score_gsm8k_turn("so 18", ref), false);
  m.add(score_gsm8k_turn("#### 17", ref), std::nullopt);
  EXPECT_DOUBLE_EQ(m.accuracy_hash(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.accuracy_last_number(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.ended_rate(), 0.5);
  EXPECT_EQ(m.to_json()["n_end_known"], 2);
}

}  // namespace
}  // namespace lr::eval
