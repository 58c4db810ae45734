#include "eval/score_files.h"

#include <optional>
#include <utility>
#include <vector>

#include "core/error.h"
#include "eval/task_metrics.h"
#include "io/atomic_file.h"

namespace lr::eval {

namespace {

struct Row {
  size_t line = 0;
  std::string text;
};

// Non-blank lines with their 1-based line numbers.
std::vector<Row> read_rows(const std::string& path) {
  const std::string all = read_file(path);
  std::vector<Row> rows;
  size_t line = 0, pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    ++line;
    std::string s = all.substr(pos, nl - pos);
    if (s.find_first_not_of(" \t\r") != std::string::npos) rows.push_back({line, std::move(s)});
    pos = nl + 1;
  }
  return rows;
}

// The parsed object of a row, or a reason why not.
Json row_object(const Row& r, const std::string& where) {
  Json j = parse_json(r.text, where);
  LR_CHECK(j.is_object(), where, ": not a JSON object");
  return j;
}

struct Pred {
  std::string text;
  std::optional<bool> ended;
};

Pred read_pred(const Row& r, const std::string& where) {
  const Json j = row_object(r, where);
  auto t = j.find("text");
  LR_CHECK(t != j.end() && t->is_string(), where, ": field \"text\" missing or not a string");
  Pred p{t->get<std::string>(), std::nullopt};
  if (auto e = j.find("ended"); e != j.end() && !e->is_null()) {
    LR_CHECK(e->is_boolean(), where, ": field \"ended\" is not true/false");
    p.ended = e->get<bool>();
  } else if (auto f = j.find("finish_reason"); f != j.end() && f->is_string()) {
    p.ended = f->get<std::string>() == "stop";
  }
  return p;
}

std::vector<ToolCall> read_ref_calls(const Row& r, const std::string& where) {
  const Json j = row_object(r, where);
  auto c = j.find("tool_calls");
  LR_CHECK(c != j.end(), where, ": field \"tool_calls\" missing");
  if (c->is_null()) return {};
  return reference_tool_calls(*c, where);
}

Decimal read_ref_answer(const Row& r, const std::string& where) {
  const Json j = row_object(r, where);
  auto a = j.find("answer");
  LR_CHECK(a != j.end(), where, ": field \"answer\" missing");
  std::string text;
  if (a->is_string())
    text = a->get<std::string>();
  else if (a->is_number())
    text = a->dump();
  else
    fail(where, ": field \"answer\" is not a string or number");
  const auto d = reference_answer(text);
  LR_CHECK(d, where, ": field \"answer\" holds no number");
  return *d;
}

}  // namespace

ScoreTask parse_score_task(const std::string& s) {
  if (s == "tool_call") return ScoreTask::ToolCall;
  if (s == "gsm8k") return ScoreTask::Gsm8k;
  fail("--task: unknown task \"", s, "\" (known: tool_call, gsm8k)");
}

Json score_files(ScoreTask task, const std::string& pred_path, const std::string& ref_path,
                 const std::function<void(const std::string&)>& warn) {
  const std::vector<Row> pred = read_rows(pred_path), ref = read_rows(ref_path);
  LR_CHECK(pred.size() == ref.size(), pred_path, " has ", pred.size(), " rows but ", ref_path,
           " has ", ref.size(), "; each prediction needs its reference on the same row");
  int bad_pred = 0, bad_ref = 0;
  ToolCallMetrics tm;
  Gsm8kMetrics gm;
  for (size_t i = 0; i < pred.size(); ++i) {
    const std::string pw = pred_path + ":" + std::to_string(pred[i].line),
                      rw = ref_path + ":" + std::to_string(ref[i].line);
    // Each side is read on its own so that both sides' faults are reported.
    std::optional<Pred> p;
    try {
      p = read_pred(pred[i], pw);
    } catch (const Error& e) {
      ++bad_pred;
      warn(e.what());
    }
    try {
      if (task == ScoreTask::ToolCall) {
        const std::vector<ToolCall> calls = read_ref_calls(ref[i], rw);
        if (p) tm.add(score_tool_call_turn(p->text, calls));
      } else {
        const Decimal answer = read_ref_answer(ref[i], rw);
        if (p) gm.add(score_gsm8k_turn(p->text, answer), p->ended);
      }
    } catch (const Error& e) {
      ++bad_ref;
      warn(e.what());
    }
  }
  Json out = Json::object();
  out["task"] = task == ScoreTask::ToolCall ? "tool_call" : "gsm8k";
  out["rows"] = pred.size();
  out["malformed_pred"] = bad_pred;
  out["malformed_ref"] = bad_ref;
  const Json m = task == ScoreTask::ToolCall ? tm.to_json() : gm.to_json();
  for (auto it = m.begin(); it != m.end(); ++it) out[it.key()] = it.value();
  return out;
}

}  // namespace lr::eval
