// The evaluator on tiny random models with hand-set routers, the report files, and
// `layerroute eval` / `sweep` end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "cli_util.h"
#include "core/error.h"
#include "demo/synth_traces.h"
#include "eval/evaluator.h"
#include "eval/report.h"
#include "eval/sweep_run.h"
#include "eval_test_util.h"

namespace lr::eval {
namespace {

using namespace lr::evaltest;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& tag) {
  return evaltest::fresh_dir("lr_eval_" + tag);
}

TEST(EvalRouting, ClosedBlockNeverRunsForAnySample) {
  const ModelConfig c = tiny_cfg(4);
  TrainWeights w = TrainWeights::random(c, 1);
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 2);
  RouterWeights rt = RouterWeights::zeros(c);
  rt.b = {5.f, -5.f, 5.f, 5.f};
  const auto samples = random_samples(7, c.vocab, 3);
  EvalOptions o;
  o.batch_size = 2;
  const EvalResults r = evaluate(w, &lora, &rt, samples, o);
  ASSERT_EQ(r.types.size(), 3u);
  for (const TypeStats& t : r.types) {
    EXPECT_DOUBLE_EQ(t.mean_blocks_run, 3.0) << t.name;
    EXPECT_DOUBLE_EQ(t.skip_pct, 100.0 / 4) << t.name;
    EXPECT_NEAR(t.paper_saving_pct, 25.0, 1e-9) << t.name;
    EXPECT_DOUBLE_EQ(t.open_frac[1], 0.0);
    EXPECT_DOUBLE_EQ(t.flip_rate, 0.0);  // w = 0: the router is its bias
  }
  EXPECT_EQ(r.types[0].n_samples, 4);
  EXPECT_EQ(r.types[1].n_samples, 3);
  EXPECT_DOUBLE_EQ(r.skip_differential, 0.0);
  // Biases are used as loaded for every sample (never reset after the first).
  for (const SampleRecord& s : r.samples) {
    EXPECT_EQ(s.blocks_run, 3);
    EXPECT_EQ(s.hard[1], 0.f);
    EXPECT_NEAR(s.score[1], -5.0, 1e-5);
    EXPECT_EQ(s.seq_len, int(samples[size_t(s.index)].ids.size()));
  }
  EXPECT_EQ(rt.b[1], -5.f);
  long targets = 0;
  for (const auto& s : samples) targets += long(s.ids.size()) - 1;
  EXPECT_EQ(r.types[2].routed.n_targets, targets);
}

// Tool-call steps use token 1, planning steps token 2; embedding dim 0 is +1 / -1 for them,
// and block 0's router reads dim 0. The masked mean pool is then exactly +-1 whatever the
// length, so block 0 runs for tool calls only.
TEST(EvalRouting, RouterReadingALabelFeatureGivesAKnownDifferential) {
  const ModelConfig c = tiny_cfg(4);
  TrainWeights w = TrainWeights::random(c, 5);
  for (int j = 0; j < c.hidden; ++j) w.embed[size_t(c.hidden) + size_t(j)] = 0.f;
  for (int j = 0; j < c.hidden; ++j) w.embed[2 * size_t(c.hidden) + size_t(j)] = 0.f;
  w.embed[size_t(c.hidden)] = 1.f, w.embed[2 * size_t(c.hidden)] = -1.f;
  RouterWeights rt = RouterWeights::zeros(c);
  rt.b = {0.f, 5.f, 5.f, 5.f};
  rt.w[0] = 10.f;
  std::vector<TokenizedSample> samples;
  for (int i = 0; i < 6; ++i) {
    const bool tool = i % 2 == 0;
    samples.push_back(make_sample(3 + i, tool ? StepLabel::ToolCall : StepLabel::Planning,
                                  [&](int) { return tool ? 1 : 2; }));
  }
  EvalOptions o;
  o.batch_size = 4;  // rows of different lengths share a padded batch
  const EvalResults r = evaluate(w, nullptr, &rt, samples, o);
  EXPECT_DOUBLE_EQ(r.types[0].skip_pct, 0.0);
  EXPECT_DOUBLE_EQ(r.types[1].skip_pct, 25.0);
  EXPECT_DOUBLE_EQ(r.skip_differential, -25.0);
  EXPECT_NEAR(r.corr_gate_label, 1.0, 1e-9);
  // Bias-only block 0 (b = 0) is closed: every tool-call decision there flips.
  EXPECT_NEAR(r.flip_rate, 3.0 / 24.0, 1e-12);
  EXPECT_NEAR(r.samples[0].score[0], 10.0, 5e-3);     // recovered from a float soft gate
  EXPECT_TRUE(std::isnan(r.types[0].corr_gate_len));  // constant gate score within the type
}

TEST(EvalPerplexity, ConfigurationsAgreeWhereTheyMust) {
  const ModelConfig c = tiny_cfg(3);
  TrainWeights w = TrainWeights::random(c, 7);
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 8);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 9, 0.2f);
  RouterWeights open = RouterWeights::zeros(c);
  open.b.assign(3, 6.f);
  const auto samples = random_samples(6, c.vocab, 11);
  const EvalResults r = evaluate(w, &lora, &open, samples, EvalOptions{});
  for (const TypeStats& t : r.types) {
    // Every gate open: routing is exactly LoRA on all blocks; scale 0 is exactly the base.
    EXPECT_EQ(t.routed.ce(), t.lora_all.ce()) << t.name;
    EXPECT_EQ(t.lora_zero.ce(), t.base.ce()) << t.name;
    EXPECT_NE(t.lora_all.ce(), t.base.ce()) << t.name;
    EXPECT_NEAR(t.delta_ppl_vs_lora_all(), 0.0, 0.0);
    EXPECT_NEAR(t.delta_ppl_vs_base(), t.lora_all.ppl() - t.base.ppl(), 1e-12);
  }
  // The "all" CE is the token-weighted mean of the two types.
  const TypeStats &a = r.types[0], &b = r.types[1], &all = r.types[2];
  EXPECT_NEAR(all.routed.ce(),
              (a.routed.ce_sum + b.routed.ce_sum) / double(a.routed.n_targets + b.routed.n_targets),
              1e-12);
  // Routers add their FLOPs and save nothing when every gate is open.
  EXPECT_LT(all.full_saving_pct, 0.0);
  EXPECT_DOUBLE_EQ(all.paper_saving_pct, 0.0);
}

TEST(EvalGates, MaskEqualsRoutersClosingTheSameBlocks) {
  const ModelConfig c = tiny_cfg(4);
  TrainWeights w = TrainWeights::random(c, 41);
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 42);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 43, 0.2f);
  RouterWeights rt = RouterWeights::zeros(c);
  rt.b = {5.f, -5.f, 5.f, -5.f};  // w = 0: blocks 1 and 3 closed for every sample
  const auto samples = random_samples(6, c.vocab, 44);
  EvalOptions by_router, by_mask, open;
  by_router.batch_size = by_mask.batch_size = open.batch_size = 2;
  by_mask.gates = GateSpec::parse("mask:1010");
  open.gates = GateSpec::parse("open");
  const EvalResults r = evaluate(w, &lora, &rt, samples, by_router);
  const EvalResults m = evaluate(w, &lora, &rt, samples, by_mask);
  const EvalResults m_no_routers = evaluate(w, &lora, nullptr, samples, by_mask);
  const EvalResults o = evaluate(w, &lora, &rt, samples, open);
  EXPECT_EQ(r.gates, "router");
  EXPECT_EQ(m.gates, "mask:1010");
  EXPECT_EQ(o.gates, "open");
  for (size_t t = 0; t < 3; ++t) {
    // The same blocks closed the same way: the same numbers, bit for bit.
    EXPECT_EQ(m.types[t].routed.ce(), r.types[t].routed.ce()) << t;
    EXPECT_EQ(m.types[t].lora_zero.ce(), r.types[t].lora_zero.ce()) << t;
    EXPECT_EQ(m_no_routers.types[t].routed.ce(), r.types[t].routed.ce()) << t;
    EXPECT_DOUBLE_EQ(m.types[t].skip_pct, 50.0) << t;
    EXPECT_DOUBLE_EQ(m.types[t].open_frac[1], 0.0);
    EXPECT_DOUBLE_EQ(m.types[t].open_frac[2], 1.0);
    // A mask consults no router: no flip rate against the bias-only router.
    EXPECT_TRUE(std::isnan(m.types[t].flip_rate));
    EXPECT_FALSE(std::isnan(r.types[t].flip_rate));
    // All open: the recorded configuration is LoRA on every block, whatever the routers say.
    EXPECT_EQ(o.types[t].routed.ce(), o.types[t].lora_all.ce()) << t;
    EXPECT_NE(o.types[t].routed.ce(), r.types[t].routed.ce()) << t;
    EXPECT_DOUBLE_EQ(o.types[t].skip_pct, 0.0);
    EXPECT_FALSE(o.types[t].lora_zero.measured);  // LoRA impact needs closed gates
  }
  for (const SampleRecord& s : m.samples) {
    EXPECT_EQ(s.blocks_run, 2);
    EXPECT_TRUE(std::isnan(s.score[0]));
  }
  EvalOptions bad;
  bad.gates = GateSpec::parse("mask:101");
  EXPECT_THROW(evaluate(w, &lora, &rt, samples, bad), std::exception);
}

TEST(EvalBatching, ResultsDoNotDependOnBatchSize) {
  const ModelConfig c = tiny_cfg(4);
  TrainWeights w = TrainWeights::random(c, 13);
  RouterWeights rt = RouterWeights::zeros(c);
  randomize(rt.w, 14, 3.f);
  rt.b = {0.2f, -0.1f, 0.05f, 0.f};
  const auto samples = random_samples(9, c.vocab, 15);
  EvalOptions o1, o4;
  o1.batch_size = 1, o4.batch_size = 4;
  const EvalResults r1 = evaluate(w, nullptr, &rt, samples, o1);
  const EvalResults r4 = evaluate(w, nullptr, &rt, samples, o4);
  for (size_t i = 0; i < samples.size(); ++i)
    for (int l = 0; l < c.n_layers; ++l) {
      EXPECT_NEAR(r1.samples[i].soft[size_t(l)], r4.samples[i].soft[size_t(l)], 1e-5);
      if (std::fabs(r1.samples[i].soft[size_t(l)] - 0.5f) > 1e-4f) {
        EXPECT_EQ(r1.samples[i].hard[size_t(l)], r4.samples[i].hard[size_t(l)]);
      }
    }
  EXPECT_NEAR(r1.types[2].routed.ce(), r4.types[2].routed.ce(), 1e-4);
}

TEST(EvalRouting, NoRoutersMeansEveryBlockRuns) {
  const ModelConfig c = tiny_cfg(2);
  TrainWeights w = TrainWeights::random(c, 17);
  const EvalResults r = evaluate(w, nullptr, nullptr, random_samples(4, c.vocab, 18), {});
  EXPECT_DOUBLE_EQ(r.types[2].skip_pct, 0.0);
  EXPECT_TRUE(std::isnan(r.flip_rate));
  EXPECT_EQ(r.types[2].routed.ce(), r.types[2].base.ce());
  EXPECT_THROW(evaluate(w, nullptr, nullptr, {}, {}), std::exception);
}

EvalResults small_results() {
  const ModelConfig c = tiny_cfg(3);
  TrainWeights w = TrainWeights::random(c, 21);
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 22);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 23, 0.1f);
  RouterWeights rt = RouterWeights::zeros(c);
  randomize(rt.w, 24, 2.f);
  rt.b = {1.f, -0.2f, 0.3f};
  auto samples = random_samples(5, c.vocab, 25);
  EvalResults r = evaluate(w, &lora, &rt, samples, {}, {"a.json:1", "b,\"q\":2"});
  r.meta = Json{{"model", "tiny"}};
  return r;
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char ch : s) n += ch == '\n' ? 1 : 0;
  return n;
}

TEST(ReportFiles, WrittenAndParse) {
  const EvalResults r = small_results();
  const std::string dir = fresh_dir("report") + "/out";
  write_reports(r, dir);
  for (const char* f : {"eval.json", "types.csv", "blocks.csv", "samples.csv", "summary.md",
                        "gates_per_block.svg", "skip_by_type.svg", "perplexity.svg"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  const Json j = Json::parse(test::slurp(dir + "/eval.json"));
  EXPECT_EQ(j["model"]["n_layers"], 3);
  EXPECT_EQ(j["samples"].size(), 5u);
  EXPECT_TRUE(j["types"].contains("tool_call"));
  EXPECT_EQ(j["types"]["all"]["flops"]["paper_block_all"].get<int64_t>(),
            r.types[2].paper_flops_all);
  EXPECT_FALSE(j["wallclock"]["measured"].get<bool>());

  const std::string types = test::slurp(dir + "/types.csv");
  EXPECT_EQ(count_lines(types), 1u + 3u);
  EXPECT_EQ(types.rfind("type,n_samples,", 0), 0u);
  EXPECT_EQ(count_lines(test::slurp(dir + "/blocks.csv")), 1u + 3u * 3u);
  // samples.csv: every row has the header's column count (the quoted origin included).
  std::istringstream ss(test::slurp(dir + "/samples.csv"));
  std::string line;
  std::getline(ss, line);
  const size_t cols = size_t(std::count(line.begin(), line.end(), ','));
  EXPECT_EQ(cols, 10u + 3u * 3u);
  int rows = 0;
  while (std::getline(ss, line)) {
    ++rows;
    size_t commas = 0;
    bool quoted = false;
    for (char ch : line) {
      if (ch == '"') quoted = !quoted;
      commas += (ch == ',' && !quoted) ? 1 : 0;
    }
    EXPECT_EQ(commas, cols) << line;
  }
  EXPECT_EQ(rows, 5);

  const std::string md = test::slurp(dir + "/summary.md");
  EXPECT_NE(md.find("| tool_call |"), std::string::npos);
  EXPECT_NE(md.find("Δ routing − base"), std::string::npos);
  EXPECT_NE(md.find("not measured"), std::string::npos);
}

TEST(ReportSvg, ChartsAreWellFormedWithNumbersInRange) {
  const EvalResults r = small_results();
  for (const std::string& svg : {svg_gates_per_block(r), svg_skip_by_type(r), svg_perplexity(r)}) {
    EXPECT_EQ(xml_problem(svg), "") << svg;
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    EXPECT_EQ(svg.find("inf"), std::string::npos);
    EXPECT_EQ(svg.find("height=\"-"), std::string::npos);
    EXPECT_EQ(svg.find("width=\"-"), std::string::npos);
  }
  // NaN bars are left out, negative values grow down from the zero line, text is escaped.
  const std::string s = svg_bar_chart("a < b & c", "y", {"x<1", "x2"},
                                      {{"s&1", "#000", {NAN, -3.0}}, {"s2", "#111", {2.0, 1.0}}});
  EXPECT_EQ(xml_problem(s), "") << s;
  EXPECT_NE(s.find("a &lt; b &amp; c"), std::string::npos);
  size_t bars = 0;
  for (size_t p = s.find("<title>"); p != std::string::npos; p = s.find("<title>", p + 1)) ++bars;
  EXPECT_EQ(bars, 3u);
  EXPECT_NE(xml_problem("<svg><g></svg></g>"), "");  // the checker itself catches nesting
  EXPECT_NE(xml_problem("<svg><text>a & b</text></svg>"), "");
}

TEST(EvalCli, EndToEndOnATinyModelDirectory) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string root = fresh_dir("cli");
  const ModelConfig c = tiny_cfg(4, 2048);  // the qwen2-tiny tokenizer has 2048 ids
  write_model_dir(root + "/model", c, 31,
                  test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 32);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 33, 0.05f);
  RouterWeights rt = RouterWeights::zeros(c);
  rt.b = {1.f, -1.f, 1.f, 1.f};
  write_adapter_dir(root + "/adapters", c, &lora, &rt);
  write_synth_traces(root, "d", 3, 3, 34);
  const std::string out = root + "/out";
  auto r = test::run_cli("eval --model " + root + "/model --adapters " + root +
                         "/adapters --data hermes:" + synth_tool_path(root, "d") +
                         " --data gsm8k:" + synth_planning_path(root, "d") + " --out " + out +
                         " --max-seq-len 48 --batch-size 2 --threads 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("| tool_call | 3 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| planning | 3 |"), std::string::npos) << r.out;
  const Json j = Json::parse(test::slurp(out + "/eval.json"));
  EXPECT_EQ(j["samples"].size(), 6u);
  // Block 1 closed by its bias, w = 0: 25 % skipped.
  EXPECT_DOUBLE_EQ(j["types"]["all"]["skip_pct"].get<double>(), 25.0);
  EXPECT_TRUE(fs::exists(out + "/gates_per_block.svg"));

  auto bad =
      test::run_cli("eval --model " + root + "/model --adapters " + root +
                    "/nope --data gsm8k:" + synth_planning_path(root, "d") + " --out " + out);
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.err.find("nope"), std::string::npos) << bad.err;

  // --gates mask:BITS and --no-lora: the mask decides, the LoRA is left out, the wall clock
  // compares the mask against every block open.
  const std::string out2 = root + "/out_mask";
  auto rm = test::run_cli(
      "eval --model " + root + "/model --adapters " + root +
      "/adapters --gates mask:0110 --no-lora --data hermes:" + synth_tool_path(root, "d") +
      " --data gsm8k:" + synth_planning_path(root, "d") + " --out " + out2 +
      " --max-seq-len 48 --batch-size 2 --threads 1");
  ASSERT_EQ(rm.rc, 0) << rm.err;
  const Json jm = Json::parse(test::slurp(out2 + "/eval.json"));
  EXPECT_DOUBLE_EQ(jm["types"]["all"]["skip_pct"].get<double>(), 50.0);
  EXPECT_EQ(jm["routing"]["gates"], "mask:0110");
  EXPECT_EQ(jm["lora"]["has_lora"], false);
  EXPECT_EQ(jm["meta"]["no_lora"], true);
  EXPECT_NE(rm.out.find("Gates: mask:0110"), std::string::npos) << rm.out;
  EXPECT_EQ(jm["wallclock"]["measured"], true) << jm["wallclock"].dump();

  // --no-lora --gates open is the base model: its perplexity equals the base pass's.
  const std::string out3 = root + "/out_base";
  auto rb = test::run_cli(
      "eval --model " + root + "/model --adapters " + root +
      "/adapters --gates open --no-lora --data gsm8k:" + synth_planning_path(root, "d") +
      " --out " + out3 + " --max-seq-len 48 --threads 1");
  ASSERT_EQ(rb.rc, 0) << rb.err;
  const Json jb = Json::parse(test::slurp(out3 + "/eval.json"));
  const Json& loss = jb["types"]["all"]["loss"];
  EXPECT_EQ(loss["lora_routed"]["ce"], loss["base"]["ce"]) << loss.dump();
  EXPECT_DOUBLE_EQ(jb["types"]["all"]["skip_pct"].get<double>(), 0.0);

  auto bad_mask = test::run_cli(
      "eval --model " + root + "/model --adapters " + root +
      "/adapters --gates mask:01 --data gsm8k:" + synth_planning_path(root, "d") + " --out " + out);
  EXPECT_NE(bad_mask.rc, 0);
  EXPECT_NE(bad_mask.err.find("mask:01 has 2 bits, the model has 4 blocks"), std::string::npos)
      << bad_mask.err;
  auto bad_gates = test::run_cli("eval --model " + root + "/model --gates sometimes --data gsm8k:" +
                                 synth_planning_path(root, "d") + " --out " + out);
  EXPECT_NE(bad_gates.rc, 0);
  EXPECT_NE(bad_gates.err.find("'sometimes'"), std::string::npos) << bad_gates.err;
}

TEST(EvalCli, SweepRejectsPerSeedFlagsInThePassthrough) {
  auto r = test::run_cli("sweep --seeds 1,2 --model m --data gsm8k:x --eval-data gsm8k:x --out " +
                         fresh_dir("sweep") + " --seed 3");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
}

TEST(EvalCli, SweepTrainsAndAggregatesTwoSeeds) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string root = fresh_dir("sweep2");
  const ModelConfig c = tiny_cfg(4, 2048);
  write_model_dir(root + "/model", c, 41,
                  test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  write_synth_traces(root, "t", 4, 4, 42);
  write_synth_traces(root, "e", 2, 2, 43);
  const std::string data = " --data hermes:" + synth_tool_path(root, "t") +
                           " --data gsm8k:" + synth_planning_path(root, "t");
  const std::string eval_data = " --eval-data hermes:" + synth_tool_path(root, "e") +
                                " --eval-data gsm8k:" + synth_planning_path(root, "e");
  const std::string out = root + "/sweep";
  // Unknown options (--max-steps ...) go to `layerroute train` unchanged.
  auto r = test::run_cli("sweep --seeds 5,6 --model " + root + "/model" + data + eval_data +
                         " --out " + out +
                         " --adapters-from final --threads 1 --eval-max-seq-len 32"
                         " --max-steps 2 --batch-size 2 --grad-accum 1 --max-seq-len 32"
                         " --val-fraction 0.25 --eval-every 100");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"sweep.csv", "sweep.md", "sweep.json", "seed_5/eval/eval.json",
                        "seed_6/train/final/router.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const std::string csv = test::slurp(out + "/sweep.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "metric,mean,std,min,max,n,seed_5,seed_6");
  EXPECT_NE(csv.find("\nskip_differential,"), std::string::npos);
  EXPECT_NE(r.out.find("| skip_pct_tool_call |"), std::string::npos) << r.out;
}

// The library under `sweep`: a finished seed is evaluated again but not retrained (the
// second run gets a binary that does not exist), and a bad configuration is one error.
TEST(SweepRun, FinishedSeedsAreNotTrainedAgain) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string root = fresh_dir("sweep_lib");
  write_model_dir(root + "/model", tiny_cfg(4, 2048), 44,
                  test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  write_synth_traces(root, "t", 4, 4, 45);
  SweepConfig cfg;
  cfg.exe = LR_CLI_PATH;
  cfg.seeds = {9};
  cfg.model_dir = root + "/model";
  cfg.out_dir = root + "/sweep";
  cfg.adapters_from = "final";
  cfg.data = {"gsm8k:" + synth_planning_path(root, "t")};
  cfg.train_extra = {"--max-steps",   "2",  "--batch-size",   "2",    "--grad-accum", "1",
                     "--max-seq-len", "32", "--val-fraction", "0.25", "--eval-every", "100"};
  cfg.eval_data = {"gsm8k:" + synth_planning_path(root, "t")};
  cfg.max_seq_len = 32;
  cfg.threads = 1;
  cfg.wallclock = false;
  std::vector<std::string> said;
  cfg.progress = [&](const std::string& s) { said.push_back(s); };
  const auto first = run_sweep(cfg);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].seed, 9u);
  const std::string json = test::slurp(cfg.out_dir + "/sweep.json");
  cfg.exe = root + "/no-such-layerroute";
  said.clear();
  const auto again = run_sweep(cfg);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].metrics.size(), first[0].metrics.size());
  for (size_t i = 0; i < first[0].metrics.size(); ++i) {
    const auto &a = again[0].metrics[i], &b = first[0].metrics[i];
    EXPECT_EQ(a.first, b.first);
    EXPECT_TRUE(a.second == b.second || (std::isnan(a.second) && std::isnan(b.second))) << a.first;
  }
  EXPECT_EQ(test::slurp(cfg.out_dir + "/sweep.json"), json);
  ASSERT_FALSE(said.empty());
  EXPECT_NE(said[0].find("training already done"), std::string::npos) << said[0];

  SweepConfig bad = cfg;
  bad.adapters_from = "latest";
  EXPECT_THROW(run_sweep(bad), Error);
  bad = cfg;
  bad.eval_data.clear();
  EXPECT_THROW(run_sweep(bad), Error);
  bad = cfg;
  bad.train_extra = {"--out=elsewhere"};
  EXPECT_THROW(run_sweep(bad), Error);
}

}  // namespace
}  // namespace lr::eval
