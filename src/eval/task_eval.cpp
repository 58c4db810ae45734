#include "eval/task_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "core/error.h"
#include "kernels/cpu/argmax.h"
#include "layerroute/adapters.h"
#include "model/forward.h"
#include "model/generation_config.h"
#include "model/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string content_text(const Json& m) {
  auto c = m.find("content");
  return c != m.end() && c->is_string() ? c->get<std::string>() : std::string();
}

}  // namespace

const char* task_kind_name(TaskKind k) {
  return k == TaskKind::ToolCall ? "tool_call" : "gsm8k";
}

std::optional<TaskItem> task_item(const Sample& s) {
  if (!s.messages.is_array()) return std::nullopt;
  size_t k = 0;
  while (k < s.messages.size() && s.messages[k].value("role", "") != "assistant") ++k;
  if (k == s.messages.size()) return std::nullopt;
  const Json& turn = s.messages[k];
  TaskItem it;
  it.origin = s.origin;
  it.tools = s.tools;
  it.prompt_messages = Json::array();
  for (size_t i = 0; i < k; ++i) it.prompt_messages.push_back(s.messages[i]);
  if (s.label == StepLabel::ToolCall) {
    it.kind = TaskKind::ToolCall;
    auto tc = turn.find("tool_calls");
    if (tc != turn.end() && !tc->is_null())
      it.ref_calls = reference_tool_calls(*tc, s.origin.empty() ? "sample" : s.origin);
    Json calls = Json::array();
    for (const ToolCall& c : it.ref_calls)
      calls.push_back(Json{{"name", c.name}, {"arguments", c.arguments}});
    it.ref_row = Json{{"tool_calls", calls}};
    return it;
  }
  const std::string answer = content_text(turn);
  if (answer.find("####") == std::string::npos) return std::nullopt;
  const auto d = hash_answer(answer);
  if (!d) return std::nullopt;
  it.kind = TaskKind::Gsm8k;
  it.ref_answer = *d;
  it.ref_row = Json{{"answer", answer}};
  return it;
}

std::vector<TaskItem> select_task_items(const std::vector<Sample>& samples,
                                        const std::vector<std::string>& origins,
                                        size_t max_per_kind) {
  std::vector<TaskItem> out;
  size_t taken[2] = {0, 0};
  for (size_t i = 0; i < samples.size(); ++i) {
    auto it = task_item(samples[i]);
    if (!it) continue;
    size_t& n = taken[int(it->kind)];
    if (max_per_kind > 0 && n >= max_per_kind) continue;
    ++n;
    if (it->origin.empty() && i < origins.size()) it->origin = origins[i];
    out.push_back(std::move(*it));
  }
  return out;
}

GreedyOutput generate_greedy(RoutedSession& s, std::span<const int> prompt, int max_new,
                             const std::vector<int>& stop_ids) {
  GreedyOutput o;
  s.reset();
  std::span<const float> logits = s.prefill(prompt);
  o.blocks_run = s.blocks_run();
  const int V = s.model().config.vocab;
  for (int i = 0; i < max_new; ++i) {
    const int next = argmax(logits.data(), V);
    if (is_stop(stop_ids, next)) {
      o.ended = true;
      break;
    }
    o.ids.push_back(next);
    if (i + 1 < max_new) logits = s.decode(next);
  }
  return o;
}

void score_task_outputs(const std::vector<TaskItem>& items, TaskConfigResult* r) {
  LR_CHECK(r->outputs.size() == items.size(), "task metrics: ", r->outputs.size(), " outputs for ",
           items.size(), " items");
  r->tool = {};
  r->gsm8k = {};
  double blocks[2] = {0, 0}, toks[2] = {0, 0};
  int n[2] = {0, 0};
  for (size_t i = 0; i < items.size(); ++i) {
    const TaskItem& it = items[i];
    const TaskOutput& o = r->outputs[i];
    if (it.kind == TaskKind::ToolCall)
      r->tool.add(score_tool_call_turn(o.text, it.ref_calls));
    else
      r->gsm8k.add(score_gsm8k_turn(o.text, it.ref_answer), o.ended);
    const int k = int(it.kind);
    blocks[k] += o.blocks_run, toks[k] += o.new_tokens, ++n[k];
  }
  for (int k = 0; k < 2; ++k) {
    r->mean_blocks_run[k] = n[k] ? blocks[k] / n[k] : kNaN;
    r->mean_new_tokens[k] = n[k] ? toks[k] / n[k] : kNaN;
  }
}

Json task_config_json(const TaskConfigResult& r) {
  const auto num = [](double v) { return number_or_null(v); };
  Json tool = r.tool.to_json(), gsm = r.gsm8k.to_json();
  tool["mean_blocks_run"] = num(r.mean_blocks_run[0]);
  tool["mean_new_tokens"] = num(r.mean_new_tokens[0]);
  gsm["mean_blocks_run"] = num(r.mean_blocks_run[1]);
  gsm["mean_new_tokens"] = num(r.mean_new_tokens[1]);
  return Json{{"gates", r.gates}, {"lora", r.lora}, {"tool_call", tool}, {"gsm8k", gsm}};
}

TaskResults run_task_metrics(const TaskSetup& setup, std::vector<TaskItem> items) {
  TaskResults res;
  res.max_new_tokens = setup.max_new_tokens;
  LR_CHECK(setup.max_new_tokens > 0, "--task-max-new-tokens must be positive");
  if (items.empty()) {
    res.note = "not measured: no sample has a reference answer";
    return res;
  }
  const auto note = [&](const std::string& s) {
    if (setup.progress) setup.progress(s);
  };
  const Model model = Model::load(setup.model_dir);
  const ModelConfig& c = model.config;
  setup.gates.check(c.n_layers);
  res.n_layers = c.n_layers;
  const Tokenizer tok = Tokenizer::load(setup.model_dir);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(setup.model_dir);
  std::optional<Adapters> ad;
  if (!setup.adapters_dir.empty()) ad.emplace(Adapters::load(setup.adapters_dir, c));
  const RouterWeights* router = ad && ad->has_router ? &ad->router : nullptr;
  LowRankDeltas deltas;
  if (ad && !setup.no_lora) deltas = ad->deltas();
  const bool lora = deltas.any_active();

  std::vector<int> specials;
  for (const char* t : {"<|im_end|>", "<|endoftext|>"})
    if (tok.token_to_id(t) >= 0) specials.push_back(tok.token_to_id(t));
  const std::vector<int> stops =
      make_stop_ids({c.eos_ids, GenerationConfig::load(setup.model_dir).eos_ids, specials});

  int max_T = 0;
  for (TaskItem& it : items) {
    const std::string text = tmpl.render(it.prompt_messages, it.tools, true);
    it.prompt_ids.clear();
    for (int32_t id : tok.encode(text)) it.prompt_ids.push_back(id);
    LR_CHECK(!it.prompt_ids.empty(), it.origin, ": empty prompt");
    max_T = std::max(max_T, int(it.prompt_ids.size()));
  }
  max_T += setup.max_new_tokens + 1;

  // The configurations that differ: routing only where it can close a block.
  struct Config {
    std::string name;
    GateSpec gates;
    bool lora;
  };
  std::vector<Config> configs;
  if (!setup.gated_only) {
    configs.push_back({"base", GateSpec::parse("open"), false});
    if (lora) configs.push_back({"lora_all", GateSpec::parse("open"), true});
  }
  const bool gated =
      setup.gates.mode == GateMode::Mask || (setup.gates.mode == GateMode::Router && router);
  if (gated || setup.gated_only) configs.push_back({"lora_routed", setup.gates, lora});

  for (const Config& cf : configs) {
    RouteOptions o;
    o.gates = cf.gates;
    o.settings = setup.dial.applied(ad ? ad->settings : RouteSettings{});
    RoutedSession s(model, router, o, max_T);
    if (cf.lora) s.set_lora(&deltas);
    TaskConfigResult r;
    r.name = cf.name;
    r.gates = cf.gates.str();
    r.lora = cf.lora;
    for (const TaskItem& it : items) {
      const GreedyOutput g = generate_greedy(s, it.prompt_ids, setup.max_new_tokens, stops);
      TaskOutput out;
      out.text = tok.decode(std::vector<int32_t>(g.ids.begin(), g.ids.end()));
      out.ended = g.ended;
      out.new_tokens = int(g.ids.size());
      out.blocks_run = g.blocks_run;
      r.outputs.push_back(std::move(out));
    }
    score_task_outputs(items, &r);
    note("task metrics: " + cf.name + ": " + std::to_string(items.size()) + " generations");
    res.configs.push_back(std::move(r));
  }
  res.items = std::move(items);
  res.measured = true;
  res.note = "greedy, KV cache, one step per prompt (gates decided at its prefill), at most " +
             std::to_string(setup.max_new_tokens) + " new tokens";
  return res;
}

}  // namespace lr::eval
