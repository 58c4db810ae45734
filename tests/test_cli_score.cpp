// `layerroute score` end to end through the binary, on small files written here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "io/json.h"
#include "temp_path.h"

namespace lr::test {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::string p = temp_path(name).string();
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(CliScore, ToolCallMetricsAndMalformedRows) {
  // Row 1 right (key order and 3.0 differ), row 2 wrong argument value, row 3 no call,
  // row 4 a no-call turn answered in prose, row 5 unparseable prediction, row 6 a reference
  // call without a name: rows 5 and 6 are reported and left out.
  const std::string pred =
      write("score_tc_pred.jsonl",
            "{\"text\": \"<tool_call>\\n{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": {\\\"d\\\": "
            "3.0, \\\"c\\\": \\\"Oslo\\\"}}\\n</tool_call>\"}\n"
            "{\"text\": \"<tool_call>{\\\"name\\\": \\\"w\\\", \\\"arguments\\\": {\\\"c\\\": "
            "\\\"Rome\\\", \\\"d\\\": 3}}</tool_call>\"}\n"
            "{\"text\": \"I cannot.\"}\n"
            "\n"
            "{\"text\": \"Hello!\"}\n"
            "{\"text\": oops}\n"
            "{\"text\": \"x\"}\n");
  const std::string ref =
      write("score_tc_ref.jsonl",
            "{\"tool_calls\": [{\"name\": \"w\", \"arguments\": {\"c\": \"Oslo\", \"d\": 3}}]}\n"
            "{\"tool_calls\": [{\"name\": \"w\", \"arguments\": {\"c\": \"Oslo\", \"d\": 3}}]}\n"
            "{\"tool_calls\": [{\"name\": \"w\", \"arguments\": \"{\\\"c\\\": \\\"Oslo\\\"}\"}]}\n"
            "{\"tool_calls\": []}\n"
            "{\"tool_calls\": [{\"name\": \"w\"}]}\n"
            "{\"tool_calls\": [{\"arguments\": {}}]}\n");
  auto r =
      run_cli("score --task tool_call --pred " + shell_quote(pred) + " --ref " + shell_quote(ref));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1u) << r.out;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["rows"], 6);
  EXPECT_EQ(j["n"], 4);
  EXPECT_EQ(j["malformed_pred"], 1);
  EXPECT_EQ(j["malformed_ref"], 1);
  EXPECT_EQ(j["n_call_turns"], 3);
  EXPECT_NEAR(j["parse_rate"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j["name_accuracy"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j["args_exact_match"].get<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(j["args_f1"].get<double>(), (1.0 + 0.5 + 0.0) / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(j["no_call_accuracy"].get<double>(), 1.0);
  // Each malformed row named by file and line (the prediction's blank line 4 is skipped,
  // so its bad row is line 6).
  EXPECT_NE(r.err.find(pred + ":6:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(ref + ":6:"), std::string::npos) << r.err;
  std::filesystem::remove(pred);
  std::filesystem::remove(ref);
}

TEST(CliScore, Gsm8kMetrics) {
  const std::string pred = write("score_g_pred.jsonl",
                                 "{\"text\": \"5 + 7 = 12\\n#### 1,234\", \"ended\": true}\n"
                                 "{\"text\": \"So she pays 2.50\", \"finish_reason\": \"length\"}\n"
                                 "{\"text\": \"#### -3 apples, 4 left\"}\n");
  const std::string ref = write("score_g_ref.jsonl",
                                "{\"answer\": \"...\\n#### 1234\"}\n"
                                "{\"answer\": \"#### 2.5\"}\n"
                                "{\"answer\": \"#### -3\"}\n");
  auto r = run_cli("score --task gsm8k --pred " + shell_quote(pred) + " --ref " + shell_quote(ref));
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["n"], 3);
  EXPECT_NEAR(j["accuracy_hash"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(j["accuracy_last_number"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(j["ended"].get<double>(), 0.5);
  EXPECT_EQ(j["malformed_pred"], 0);
  std::filesystem::remove(pred);
  std::filesystem::remove(ref);
}

TEST(CliScore, DifferentRowCountsAndMissingFilesAreOneLineErrors) {
  const std::string pred = write("score_n_pred.jsonl", "{\"text\": \"1\"}\n{\"text\": \"2\"}\n");
  const std::string ref = write("score_n_ref.jsonl", "{\"answer\": \"1\"}\n");
  auto r = run_cli("score --task gsm8k --pred " + shell_quote(pred) + " --ref " + shell_quote(ref));
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("2 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(ref), std::string::npos) << r.err;
  auto m =
      run_cli("score --task gsm8k --pred " + shell_quote(pred) + " --ref /nonexistent/r.jsonl");
  EXPECT_EQ(m.rc, 1);
  EXPECT_NE(m.err.find("/nonexistent/r.jsonl"), std::string::npos) << m.err;
  auto t = run_cli("score --task nope --pred " + shell_quote(pred) + " --ref " + shell_quote(ref));
  EXPECT_NE(t.rc, 0);
  auto h = run_cli("score --help");
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("args_f1"), std::string::npos);
  std::filesystem::remove(pred);
  std::filesystem::remove(ref);
}

}  // namespace
}  // namespace lr::test
