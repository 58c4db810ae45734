// `eval --sweep-skip`: one calibrated evaluation per target skip, the measured skips rising
// with the target, and sweep.csv / sweep.json / sweep.svg with one point per target.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli_util.h"
#include "core/error.h"
#include "demo/synth_traces.h"
#include "eval/skip_sweep.h"
#include "eval_test_util.h"

namespace lr::eval {
namespace {

using namespace lr::evaltest;
namespace fs = std::filesystem;

TEST(SkipSweep, PointsPerTargetWithRisingSkipAndTheirFiles) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const fs::path root_p =
      fs::path(::testing::TempDir()) / ("lr_skip_sweep_" + std::to_string(::getpid()));
  fs::remove_all(root_p);
  const std::string root = root_p.string();
  const ModelConfig c = tiny_cfg(4, 2048);  // the qwen2-tiny tokenizer has 2048 ids
  write_model_dir(root + "/model", c, 41,
                  test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 42);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 43, 0.05f);
  RouterWeights rt = RouterWeights::zeros(c);
  randomize(rt.w, 45, 2.f);  // input-dependent decisions
  write_adapter_dir(root + "/adapters", c, &lora, &rt);
  write_synth_traces(root, "d", 4, 4, 44);

  EvalRunConfig cfg;
  cfg.model_dir = root + "/model";
  cfg.adapters_dir = root + "/adapters";
  cfg.out_dir = root + "/out";
  cfg.data = {"hermes:" + synth_tool_path(root, "d"), "gsm8k:" + synth_planning_path(root, "d")};
  cfg.max_seq_len = 48;
  cfg.threads = 1;
  cfg.wallclock = false;
  cfg.max_task_samples = 2;
  cfg.task_max_new_tokens = 4;
  cfg.random_draws = 2;
  const std::vector<double> targets = parse_sweep_targets("0,40,100");
  const SkipSweep sw = run_skip_sweep(cfg, targets);
  ASSERT_EQ(sw.points.size(), 3u);
  for (size_t i = 0; i < sw.points.size(); ++i) {
    const SweepPoint& p = sw.points[i];
    EXPECT_EQ(p.target_pct, targets[i]);
    EXPECT_TRUE(
        fs::exists(cfg.out_dir + "/sweep/skip_" + std::to_string(int(targets[i])) + "/eval.json"));
    if (i > 0) {
      EXPECT_GT(p.router.skip_pct, sw.points[i - 1].router.skip_pct) << i;
    }
    EXPECT_TRUE(std::isfinite(p.router.ppl));
    EXPECT_TRUE(std::isfinite(p.router.task_accuracy));
  }
  EXPECT_EQ(sw.points.front().router.skip_pct, 0.0);
  EXPECT_EQ(sw.points.back().router.skip_pct, 100.0);
  // A middle point is matched by static and random masks closing round(skip * L) blocks.
  const SweepPoint& mid = sw.points[1];
  EXPECT_GT(mid.router.skip_pct, 0.0);
  EXPECT_LT(mid.router.skip_pct, 100.0);
  EXPECT_EQ(mid.soft_gate.skip_pct, mid.block_influence.skip_pct);
  EXPECT_EQ(mid.soft_gate.skip_pct, mid.random.skip_pct);
  EXPECT_LE(std::abs(mid.soft_gate.skip_pct - mid.router.skip_pct), 100.0 / 8 + 1e-9);
  EXPECT_TRUE(std::isfinite(mid.random.ppl));

  write_skip_sweep(sw, cfg.out_dir);
  const Json j = Json::parse(test::slurp(cfg.out_dir + "/sweep.json"));
  EXPECT_EQ(j["points"].size(), 3u);
  const std::string csv = test::slurp(cfg.out_dir + "/sweep.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 * 4);  // header + 4 configs a point
  const std::string svg = test::slurp(cfg.out_dir + "/sweep.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  // Router points drawn on both panels, one circle per finite value.
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1))
    ++circles;
  EXPECT_GE(circles, 2u * 3u);

  EXPECT_THROW(parse_sweep_targets("0,x"), Error);
  EXPECT_THROW(parse_sweep_targets("120"), Error);
}

}  // namespace
}  // namespace lr::eval
