// The text commands (tokenize, render) end to end through the binary.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_util.h"
#include "io/json.h"
#include "temp_path.h"

namespace lr::test {
namespace {

const std::string kTinyQwen = std::string(LR_SHARED_DIR) + "/fixtures/golden/qwen2-tiny";

TEST(CliTokenize, EncodesAndDecodesJsonl) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  auto r = run_cli("tokenize --tokenizer " + kTinyQwen,
                   "{\"text\": \"Hello world\"}\n\n{\"text\": \"ab\"}\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  const Json a = Json::parse(l1), b = Json::parse(l2);
  ASSERT_TRUE(a["ids"].is_array());
  ASSERT_FALSE(a["ids"].empty());
  // Decoding the ids gives the text back.
  auto d = run_cli("tokenize --decode --tokenizer " + kTinyQwen + "/tokenizer.json", l1 + "\n");
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_EQ(Json::parse(d.out)["text"], "Hello world");
  EXPECT_TRUE(b["ids"].is_array());
}

TEST(CliTokenize, BadInputIsOneLineErrorWithRow) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  auto r = run_cli("tokenize --tokenizer " + kTinyQwen, "{\"text\": \"ok\"}\n{\"nope\": 1}\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("stdin:2"), std::string::npos) << r.err;
  auto bad_json = run_cli("tokenize --tokenizer " + kTinyQwen, "{\"text\": \n");
  EXPECT_EQ(bad_json.rc, 1);
  EXPECT_NE(bad_json.err.find("stdin:1: not valid JSON"), std::string::npos) << bad_json.err;
  auto bad_id = run_cli("tokenize --decode --tokenizer " + kTinyQwen, "{\"ids\": [99999999]}\n");
  EXPECT_EQ(bad_id.rc, 1);
  EXPECT_NE(bad_id.err.find("out of range"), std::string::npos) << bad_id.err;
  auto missing = run_cli("tokenize --tokenizer /nonexistent/tok.json", "");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("/nonexistent/tok.json"), std::string::npos) << missing.err;
}

TEST(CliRender, RendersWithModelTemplate) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  namespace fs = std::filesystem;
  const fs::path dir = temp_path("lr_render_model");
  fs::create_directories(dir);
  Json cfg;
  cfg["chat_template"] = slurp(shared_dir() + "/fixtures/chat-template/qwen2.5-instruct.jinja");
  std::ofstream(dir / "tokenizer_config.json") << cfg.dump();
  auto r =
      run_cli("render --model " + dir.string(),
              R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true})"
              "\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["text"],
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  auto bad = run_cli("render --model " + dir.string(), "{\"messages\": 3}\n");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("stdin:1"), std::string::npos) << bad.err;
  auto unknown = run_cli("render --model " + kTinyQwen, "");
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_NE(unknown.err.find("tokenizer_config.json"), std::string::npos) << unknown.err;
}

TEST(Cli, HelpAndBadFlags) {
  auto h = run_cli("tokenize --help");
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("--tokenizer"), std::string::npos);
  auto bad = run_cli("tokenize --no-such-flag");
  EXPECT_NE(bad.rc, 0);
  auto none = run_cli("");
  EXPECT_NE(none.rc, 0);
}

}  // namespace
}  // namespace lr::test
