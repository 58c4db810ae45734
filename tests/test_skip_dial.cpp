// The speed-quality dial: the router logit offset (RouteSettings::logit_offset) in both
// engines, the --skip-target bisection, and the dial's command-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli_util.h"
#include "core/error.h"
#include "eval/skip_calibration.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "layerroute/train_graph.h"
#include "model/forward.h"
#include "routed_ref.h"
#include "temp_path.h"

namespace lr {
namespace {

using routed_test::some_ids;
using routed_test::tiny_model;

// Input-dependent logits near 0: the prompts' gates differ, so the skip moves in small jumps.
RouterWeights spread_router(const ModelConfig& c) {
  RouterWeights r = RouterWeights::zeros(c);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = 0.6f * float(std::sin(1.3 * double(i) + 0.4));
  for (int l = 0; l < c.n_layers; ++l) r.b[size_t(l)] = 0.3f * float(l % 3) - 0.2f;
  return r;
}

std::vector<std::vector<int>> prompts(const ModelConfig& c, int n) {
  std::vector<std::vector<int>> p;
  for (int i = 0; i < n; ++i) p.push_back(some_ids(5 + 3 * (i % 4), c.vocab, 11 + i));
  return p;
}

RouteOptions with_offset(double off) {
  RouteOptions o;
  o.settings.logit_offset = off;
  return o;
}

// Block 0's router sees the embeddings: its soft gate is sigmoid(z + offset) with z computed
// here; offset 0 is the trained decision bit for bit (the one-argument router_soft).
TEST(SkipDial, OffsetShiftsTheLogitAndZeroIsTheTrainedDecision) {
  const Model m = tiny_model(6);
  const ModelConfig& c = m.config;
  const RouterWeights r = spread_router(c);
  const std::vector<int> ids = some_ids(7, c.vocab, 3);
  std::vector<double> sum(size_t(c.hidden), 0.0);
  std::vector<float> e(ids.size() * size_t(c.hidden));
  InferenceSession(m, 16).embed(ids.data(), int(ids.size()), e.data());
  for (size_t t = 0; t < ids.size(); ++t)
    for (int i = 0; i < c.hidden; ++i) sum[size_t(i)] += e[t * size_t(c.hidden) + size_t(i)];
  const double z = router_logit(r.w.data(), r.b[0], sum.data(), double(ids.size()), c.hidden);
  for (double off : {0.0, -0.7, 2.5}) {
    RoutedSession s(m, &r, with_offset(off), 16);
    s.prefill(ids);
    const float want = off == 0.0 ? router_soft(z) : float(1.0 / (1.0 + std::exp(-(z + off))));
    EXPECT_EQ(s.soft()[0], want) << "offset " << off;
  }
  // Offset 0 gives the same gates and logits as settings that never mention it.
  RoutedSession a(m, &r, RouteOptions{}, 16), b(m, &r, with_offset(0.0), 16);
  const auto la = a.prefill(ids);
  const std::vector<float> va(la.begin(), la.end());
  const auto lb = b.prefill(ids);
  EXPECT_EQ(a.gates(), b.gates());
  EXPECT_EQ(va, std::vector<float>(lb.begin(), lb.end()));
}

TEST(SkipDial, LargeOffsetsCloseOrOpenEveryRoutedBlock) {
  const Model m = tiny_model(6);
  const RouterWeights r = spread_router(m.config);
  for (const auto& p : prompts(m.config, 4)) {
    RoutedSession closed(m, &r, with_offset(-1e4), 32), open(m, &r, with_offset(1e4), 32);
    closed.prefill(p);
    open.prefill(p);
    EXPECT_EQ(closed.blocks_run(), 0);
    EXPECT_EQ(open.blocks_run(), m.config.n_layers);
  }
  EXPECT_EQ(eval::mean_skip_pct(m, r, nullptr, with_offset(-1e4), prompts(m.config, 4)), 100.0);
}

// The training graph (eval's perplexity) and routed inference (generation) take the same
// gates under an offset that changes them.
TEST(SkipDial, BothEnginesApplyTheOffset) {
  const Model m = tiny_model(4);
  const ModelConfig& c = m.config;
  TrainWeights tw = TrainWeights::load(c, [&] {
    const std::string dir = test::temp_path("lr_skip_dial_engines").string();
    std::filesystem::create_directories(dir);
    write_file_atomic(dir + "/config.json", c.to_json().dump(2));
    write_safetensors(dir + "/model.safetensors", m.weights.to_tensors());
    return Checkpoint::open_dir(dir);
  }());
  RouterWeights r = RouterWeights::zeros(c);
  for (size_t i = 0; i < r.w.size(); ++i) r.w[i] = 0.02f * float(std::sin(0.7 * double(i) + 1));
  for (int l = 0; l < c.n_layers; ++l) r.b[size_t(l)] = l % 2 == 0 ? 5.f : 1.f;
  const int T = 12;
  const std::vector<int> ids = some_ids(T, c.vocab, 9);
  for (double off : {0.0, -3.0}) {
    TrainOptions opts;
    opts.logit_offset = off;
    TrainGraph g(tw, nullptr, &r, opts);
    Batch batch;
    batch.rows = 1, batch.seq = T;
    batch.ids.assign(ids.begin(), ids.end());
    batch.attn_mask.assign(size_t(T), 1);
    batch.loss_mask.assign(size_t(T), 1);
    batch.loss_mask[0] = 0;
    batch.labels = {StepLabel::ToolCall};
    g.forward(batch, RunOptions{.step = 0, .dropout = false, .need_grad = false});
    RoutedSession s(m, &r, with_offset(off), T);
    s.prefill(ids);
    std::vector<unsigned char> tg;
    for (int l = 0; l < c.n_layers; ++l) tg.push_back(g.gates()[size_t(l)] > 0.5f);
    EXPECT_EQ(tg, s.gates()) << "offset " << off;
    EXPECT_EQ(s.blocks_run(), off == 0.0 ? 4 : 2) << "offset " << off;
  }
}

TEST(SkipDial, BisectionReachesTheTargetWithinOneBlock) {
  const Model m = tiny_model(8);
  const RouterWeights r = spread_router(m.config);
  const auto p = prompts(m.config, 8);
  const double at0 = eval::mean_skip_pct(m, r, nullptr, RouteOptions{}, p);
  for (double target : {0.0, 25.0, 50.0, 80.0, 100.0}) {
    const eval::SkipCalibration c = eval::calibrate_skip(m, r, nullptr, RouteOptions{}, p, target);
    SCOPED_TRACE("target " + std::to_string(target) + ": " + c.describe());
    EXPECT_TRUE(c.within_granularity());
    EXPECT_LE(std::abs(c.skip_pct - target), 100.0 / 8);
    EXPECT_EQ(c.granularity_pct, 100.0 / 8);
    // The stored result is what the offset gives.
    EXPECT_EQ(eval::mean_skip_pct(m, r, nullptr, with_offset(c.logit_offset), p), c.skip_pct);
    // Moving the skip means moving the offset the right way.
    if (target > at0 + 100.0 / 8) {
      EXPECT_LT(c.logit_offset, 0.0);
    }
    if (target < at0 - 100.0 / 8) {
      EXPECT_GT(c.logit_offset, 0.0);
    }
  }
  EXPECT_THROW(eval::calibrate_skip(m, r, nullptr, RouteOptions{}, p, 101.0), Error);
  RouteOptions masked;
  masked.gates = GateSpec::parse("open");
  EXPECT_THROW(eval::calibrate_skip(m, r, nullptr, masked, p, 30.0), Error);
}

// The dial's flags fail in one line, before any compute.
TEST(SkipDial, CliFlagErrorsAreOneLine) {
  namespace fs = std::filesystem;
  const Model m = tiny_model(4);
  const fs::path root = test::temp_path("lr_skip_dial_cli");
  fs::remove_all(root);
  const std::string model_dir = (root / "model").string(), ad = (root / "ad").string(),
                    lora_only = (root / "lora").string();
  fs::create_directories(model_dir);
  write_file_atomic(model_dir + "/config.json", m.config.to_json().dump(2));
  write_safetensors(model_dir + "/model.safetensors", m.weights.to_tensors());
  const RouterWeights r = spread_router(m.config);
  save_adapters(ad, nullptr, &r);
  LoraConfig lc;
  lc.rank = 2;
  const LoraWeights lw = LoraWeights::init(m.config, lc, 3);
  save_adapters(lora_only, &lw, nullptr);
  const std::string gen = "generate --model " + model_dir + " --ids 1,2,3 --max-new-tokens 2 ";
  struct Case {
    std::string args, says;
    long lines = 1;  // CLI11's own parse errors add "Run with --help for more information."
  };
  for (const Case& k : {
           Case{gen + "--adapters " + ad + " --skip-target 30", "--calibration"},
           Case{gen + "--adapters " + ad + " --gate-threshold 1.5", "--gate-threshold"},
           Case{gen + "--adapters " + ad + " --skip-target 130 --calibration gsm8k:x.jsonl",
                "--skip-target"},
           Case{gen + "--skip-target 30 --calibration gsm8k:x.jsonl", "--adapters"},
           Case{gen + "--adapters " + ad + " --gates open --logit-offset -1", "--gates open"},
           Case{gen + "--adapters " + ad + " --calibration gsm8k:x.jsonl", "--skip-target"},
           Case{gen + "--adapters " + lora_only + " --logit-offset -1", "routers"},
           Case{gen + "--adapters " + ad + " --skip-target 30 --logit-offset 1", "exclude", 2},
           Case{"eval --model " + model_dir + " --data gsm8k:x.jsonl --out " +
                    (root / "o").string() + " --calibration gsm8k:x.jsonl",
                "--skip-target"},
       }) {
    const test::CliResult res = test::run_cli(k.args);
    EXPECT_NE(res.rc, 0) << k.args;
    EXPECT_NE(res.err.find(k.says), std::string::npos) << k.args << "\n" << res.err;
    EXPECT_LE(std::count(res.err.begin(), res.err.end(), '\n'), k.lines) << res.err;
  }
  // A working dial: every routed block closed, reported by generate.
  const test::CliResult ok = test::run_cli(gen + "--adapters " + ad + " --logit-offset -1e4");
  EXPECT_EQ(ok.rc, 0) << ok.err;
  EXPECT_NE(ok.err.find("blocks run: 0/4"), std::string::npos) << ok.err;
}

}  // namespace
}  // namespace lr
