// Task metrics by generation in `layerroute eval`: prompts and references from dataset
// samples, greedy decoding with the KV cache as `generate` runs it, and the scores equal to
// `layerroute score` on the generations eval writes out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "cli_util.h"
#include "core/error.h"
#include "demo/synth_traces.h"
#include "eval/eval_run.h"
#include "eval/score_files.h"
#include "eval/task_eval.h"
#include "eval_test_util.h"
#include "kernels/cpu/argmax.h"
#include "routed_ref.h"

namespace lr::eval {
namespace {

using namespace lr::evaltest;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& tag) {
  return evaltest::fresh_dir("lr_task_" + tag);
}

Sample tool_sample(Json assistant) {
  Sample s;
  s.label = StepLabel::ToolCall;
  s.origin = "t.json:1";
  s.messages = Json::array({Json{{"role", "system"}, {"content", "You call tools."}},
                            Json{{"role", "user"}, {"content", "Weather in Oslo?"}},
                            std::move(assistant), Json{{"role", "tool"}, {"content", "{\"t\": 3}"}},
                            Json{{"role", "assistant"}, {"content", "It is 3 degrees."}}});
  s.tools = Json::array({Json{{"type", "function"}, {"function", Json{{"name", "weather"}}}}});
  return s;
}

Sample plan_sample(const std::string& answer) {
  Sample s;
  s.label = StepLabel::Planning;
  s.messages = Json::array({Json{{"role", "user"}, {"content", "2 + 2?"}},
                            Json{{"role", "assistant"}, {"content", answer}}});
  return s;
}

TEST(TaskEvalItems, PromptsStopBeforeTheFirstAssistantTurnWithItsReference) {
  const Json call = Json::parse(
      R"({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": {"city": "Oslo"}}}]})");
  const auto t = task_item(tool_sample(call));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TaskKind::ToolCall);
  EXPECT_EQ(t->prompt_messages.size(), 2u);
  EXPECT_EQ(t->prompt_messages.back()["role"], "user");
  EXPECT_EQ(t->tools.size(), 1u);
  ASSERT_EQ(t->ref_calls.size(), 1u);
  EXPECT_EQ(t->ref_calls[0].name, "weather");
  EXPECT_EQ(t->ref_calls[0].arguments["city"], "Oslo");
  EXPECT_EQ(t->ref_row.dump(),
            R"({"tool_calls":[{"name":"weather","arguments":{"city":"Oslo"}}]})");

  // A tool-call step whose first assistant turn does not call: a no-call turn.
  const auto n = task_item(tool_sample(Json{{"role", "assistant"}, {"content", "Which city?"}}));
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->ref_calls.empty());
  EXPECT_EQ(n->ref_row.dump(), R"({"tool_calls":[]})");

  const auto g = task_item(plan_sample("2 + 2 = 4\n#### 4"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, TaskKind::Gsm8k);
  EXPECT_EQ(g->ref_answer.canon, "4");
  EXPECT_EQ(g->prompt_messages.size(), 1u);
  EXPECT_FALSE(task_item(plan_sample("It is 4.")));  // no ####: no reference

  // At most max_per_kind of each kind, in data order.
  std::vector<Sample> all = {plan_sample("#### 1"), tool_sample(call), plan_sample("#### 2"),
                             plan_sample("#### 3"), plan_sample("no answer")};
  const auto items = select_task_items(all, {"a:1", "a:2", "a:3", "a:4", "a:5"}, 2);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].ref_answer.canon, "1");
  EXPECT_EQ(items[0].origin, "a:1");
  EXPECT_EQ(items[1].kind, TaskKind::ToolCall);
  EXPECT_EQ(items[1].origin, "t.json:1");  // the sample's own origin wins
  EXPECT_EQ(items[2].ref_answer.canon, "2");
}

TEST(TaskEvalGreedy, MatchesAPlainGreedyLoopAndStopsOnStopIds) {
  const Model m = routed_test::tiny_model(4, 7);
  const std::vector<int> prompt = {3, 14, 15, 9, 26};
  const int n = 12;
  // Independent path: the plain engine, argmax each step.
  InferenceSession plain(m, 64);
  std::vector<int> want;
  auto logits = plain.prefill(prompt);
  for (int i = 0; i < n; ++i) {
    want.push_back(argmax(logits.data(), m.config.vocab));
    logits = plain.decode(want.back());
  }
  RouteOptions o;
  o.gates = GateSpec::parse("open");
  RoutedSession s(m, nullptr, o, 64);
  const GreedyOutput g = generate_greedy(s, prompt, n, {});
  EXPECT_EQ(g.ids, want);
  EXPECT_FALSE(g.ended);
  EXPECT_EQ(g.blocks_run, 4);
  // The first token that is new after the start as a stop id: the tokens before it, ended.
  // Run again on the same session: it resets.
  size_t k = 1;
  while (k < want.size() &&
         std::find(want.begin(), want.begin() + long(k), want[k]) != want.begin() + long(k))
    ++k;
  if (k == want.size()) k = 0;
  const GreedyOutput st = generate_greedy(s, prompt, n, {want[k]});
  EXPECT_EQ(st.ids, std::vector<int>(want.begin(), want.begin() + long(k)));
  EXPECT_TRUE(st.ended);
  // A mask closes its blocks for the whole step.
  o.gates = GateSpec::mask("1011");
  RoutedSession sm(m, nullptr, o, 64);
  EXPECT_EQ(generate_greedy(sm, prompt, 3, {}).blocks_run, 3);
}

TEST(TaskEvalScore, OutputsAreScoredByKind) {
  std::vector<TaskItem> items(3);
  items[0].kind = TaskKind::ToolCall;
  items[0].ref_calls = {ToolCall{"f", Json{{"a", 1}}}};
  items[1].kind = TaskKind::ToolCall;  // no-call turn
  items[2].kind = TaskKind::Gsm8k;
  items[2].ref_answer = *reference_answer("#### 12");
  TaskConfigResult r;
  r.outputs = {
      {"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1.0}}\n</tool_call>", true, 20, 3},
      {"<tool_call>{\"name\": \"f\"}</tool_call>", true, 10, 5},
      {"so 12\n#### 12", false, 30, 4}};
  score_task_outputs(items, &r);
  EXPECT_EQ(r.tool.n, 2);
  EXPECT_DOUBLE_EQ(r.tool.args_exact_match(), 1.0);
  EXPECT_DOUBLE_EQ(r.tool.no_call_accuracy(), 0.0);
  EXPECT_EQ(r.gsm8k.n, 1);
  EXPECT_DOUBLE_EQ(r.gsm8k.accuracy_hash(), 1.0);
  EXPECT_DOUBLE_EQ(r.gsm8k.ended_rate(), 0.0);
  EXPECT_DOUBLE_EQ(r.mean_blocks_run[0], 4.0);
  EXPECT_DOUBLE_EQ(r.mean_new_tokens[0], 15.0);
  EXPECT_DOUBLE_EQ(r.mean_blocks_run[1], 4.0);
  r.outputs.pop_back();
  EXPECT_THROW(score_task_outputs(items, &r), Error);
}

TEST(TaskEvalRun, EvalWritesTaskMetricsThatScoreRecomputes) {
  if (!test::shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string root = fresh_dir("run");
  const ModelConfig c = tiny_cfg(4, 2048);  // the qwen2-tiny tokenizer has 2048 ids
  write_model_dir(root + "/model", c, 41,
                  test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
  LoraWeights lora = LoraWeights::init(c, LoraConfig{}, 42);
  for (LoraAdapter& a : lora.adapters) randomize(a.B, 43, 0.05f);
  RouterWeights rt = RouterWeights::zeros(c);
  rt.b = {1.f, -1.f, 1.f, 1.f};  // block 1 closed for every input
  write_adapter_dir(root + "/adapters", c, &lora, &rt);
  write_synth_traces(root, "d", 3, 4, 44);

  EvalRunConfig cfg;
  cfg.model_dir = root + "/model";
  cfg.adapters_dir = root + "/adapters";
  cfg.out_dir = root + "/out";
  cfg.data = {"hermes:" + synth_tool_path(root, "d"), "gsm8k:" + synth_planning_path(root, "d")};
  cfg.max_seq_len = 48;
  cfg.threads = 1;
  cfg.wallclock = false;
  cfg.max_task_samples = 3;
  cfg.task_max_new_tokens = 8;
  const EvalResults r = run_eval(cfg);
  const TaskResults& t = r.task;
  ASSERT_TRUE(t.measured) << t.note;
  ASSERT_EQ(t.items.size(), 6u);  // 3 of each kind (4 planning samples, capped)
  ASSERT_EQ(t.configs.size(), 3u);
  EXPECT_EQ(t.configs[0].name, "base");
  EXPECT_EQ(t.configs[1].name, "lora_all");
  EXPECT_EQ(t.configs[2].name, "lora_routed");
  EXPECT_DOUBLE_EQ(t.configs[0].mean_blocks_run[0], 4.0);
  EXPECT_DOUBLE_EQ(t.configs[2].mean_blocks_run[0], 3.0);
  EXPECT_DOUBLE_EQ(t.configs[2].mean_blocks_run[1], 3.0);
  for (const TaskConfigResult& cr : t.configs) {
    EXPECT_EQ(cr.tool.n, 3);
    EXPECT_EQ(cr.gsm8k.n, 3);
    for (const TaskOutput& o : cr.outputs) EXPECT_LE(o.new_tokens, 8);
  }

  // The files eval wrote, scored by `score`, give eval's numbers.
  const std::string dir = cfg.out_dir + "/task";
  const auto quiet = [](const std::string&) {};
  for (const TaskConfigResult& cr : t.configs) {
    const Json tc = score_files(ScoreTask::ToolCall, dir + "/pred_" + cr.name + "_tool_call.jsonl",
                                dir + "/ref_tool_call.jsonl", quiet);
    const Json want_tc = cr.tool.to_json();
    for (const char* k :
         {"n", "parse_rate", "name_accuracy", "args_exact_match", "args_f1", "no_call_accuracy"})
      EXPECT_EQ(tc[k], want_tc[k]) << cr.name << " " << k;
    const Json g = score_files(ScoreTask::Gsm8k, dir + "/pred_" + cr.name + "_gsm8k.jsonl",
                               dir + "/ref_gsm8k.jsonl", quiet);
    const Json want_g = cr.gsm8k.to_json();
    for (const char* k : {"n", "accuracy_hash", "accuracy_last_number", "ended"})
      EXPECT_EQ(g[k], want_g[k]) << cr.name << " " << k;
  }
  // The references are the data's: three tool-call turns, three answers.
  const Json j = Json::parse(test::slurp(cfg.out_dir + "/eval.json"));
  EXPECT_EQ(j["task_metrics"]["configs"]["lora_routed"]["gates"], "router");
  EXPECT_EQ(j["task_metrics"]["configs"]["base"]["tool_call"]["n"], 3);
  EXPECT_TRUE(fs::exists(cfg.out_dir + "/task_metrics.csv"));
  EXPECT_EQ(xml_problem(test::slurp(cfg.out_dir + "/task_metrics.svg")), "");
  EXPECT_NE(test::slurp(cfg.out_dir + "/summary.md").find("## Task metrics"), std::string::npos);

  // Matched-compute baselines: the routers close block 1 for every input, so the
  // lowest-soft-gate mask is their own decision and must reproduce them exactly.
  const Baselines& b = r.baselines;
  ASSERT_TRUE(b.measured) << b.note;
  EXPECT_EQ(b.closed, 1);
  EXPECT_DOUBLE_EQ(b.router_mean_blocks_run, 3.0);
  ASSERT_EQ(b.runs.size(), 7u);  // soft gate, block influence, 5 random draws
  EXPECT_EQ(b.runs[0].kind, "soft_gate");
  EXPECT_EQ(b.runs[0].mask, "1011");
  for (int k = 0; k < 3; ++k) EXPECT_EQ(b.runs[0].ppl[k], b.router_ppl[k]) << k;
  ASSERT_TRUE(b.runs[0].task);
  const TaskConfigResult& routed = t.configs[2];
  ASSERT_EQ(b.runs[0].task->outputs.size(), routed.outputs.size());
  for (size_t i = 0; i < routed.outputs.size(); ++i) {
    EXPECT_EQ(b.runs[0].task->outputs[i].text, routed.outputs[i].text) << i;
    EXPECT_EQ(b.runs[0].task->outputs[i].new_tokens, routed.outputs[i].new_tokens) << i;
    EXPECT_EQ(b.runs[0].task->outputs[i].ended, routed.outputs[i].ended) << i;
  }
  EXPECT_EQ(b.runs[1].kind, "block_influence");
  ASSERT_EQ(b.block_influence.size(), 4u);
  for (double x : b.block_influence) EXPECT_TRUE(x > 0 && x < 2) << x;
  for (size_t i = 1; i < b.runs.size(); ++i) {
    EXPECT_EQ(std::count(b.runs[i].mask.begin(), b.runs[i].mask.end(), '0'), 1) << b.runs[i].mask;
    EXPECT_TRUE(std::isfinite(b.runs[i].ppl[2]));
    ASSERT_TRUE(b.runs[i].task);
    EXPECT_EQ(b.runs[i].task->tool.n, 3);
  }
  EXPECT_EQ(b.runs[2].kind, "random");
  EXPECT_EQ(j["baselines"]["closed_blocks"], 1);
  EXPECT_EQ(j["baselines"]["runs"].size(), 7u);
  EXPECT_EQ(j["baselines"]["random_summary"]["ppl_all"]["n"], 5);
  EXPECT_EQ(xml_problem(test::slurp(cfg.out_dir + "/baselines.svg")), "");
  EXPECT_NE(test::slurp(cfg.out_dir + "/baselines.csv").find("soft_gate,mask:1011,"),
            std::string::npos);

  // Off: nothing generated; On without references: a one-line error before any compute.
  cfg.task_metrics = EvalRunConfig::Tasks::Off;
  cfg.baselines = false;
  cfg.out_dir = root + "/out_off";
  EXPECT_FALSE(run_eval(cfg).task.measured);
  EXPECT_FALSE(fs::exists(cfg.out_dir + "/task"));
  const std::string chat = root + "/chat.jsonl";
  write_file_atomic(chat,
                    R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", )"
                    R"("content": "hello"}]})"
                    "\n");
  cfg.data = {"messages:" + chat};
  cfg.task_metrics = EvalRunConfig::Tasks::Auto;
  EXPECT_FALSE(run_eval(cfg).task.measured);
  cfg.task_metrics = EvalRunConfig::Tasks::On;
  try {
    run_eval(cfg);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no sample has a reference"), std::string::npos);
  }
  fs::remove_all(root);
}

TEST(TaskEvalRun, CliFlags) {
  auto h = test::run_cli("eval --help");
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("--max-task-samples"), std::string::npos);
  EXPECT_NE(h.out.find("--no-task-metrics"), std::string::npos);
  auto both =
      test::run_cli("eval --model m --data gsm8k:x --out o --task-metrics --no-task-metrics");
  EXPECT_NE(both.rc, 0);
}

}  // namespace
}  // namespace lr::eval
