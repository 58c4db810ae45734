// Task metrics in the reports: eval.json "task_metrics", task_metrics.csv, a summary.md
// section, task_metrics.svg, and the generations with their references as JSONL in the
// layout `layerroute score` reads (task/pred_CONFIG_KIND.jsonl, task/ref_KIND.jsonl), so the
// numbers can be recomputed, or compared with another system's outputs.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "eval/report.h"
#include "io/atomic_file.h"

namespace lr::eval {

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

// What the reports call each configuration.
std::string config_title(const TaskConfigResult& c) {
  if (c.name == "base") return "base";
  if (c.name == "lora_all") return "LoRA, all blocks";
  return std::string(c.lora ? "LoRA + " : "no LoRA, ") + "gates " + c.gates;
}

bool has_kind(const TaskResults& t, TaskKind k) {
  for (const TaskItem& it : t.items)
    if (it.kind == k) return true;
  return false;
}

}  // namespace

Json task_results_json(const TaskResults& t) {
  Json j = Json{{"measured", t.measured}, {"note", t.note}, {"max_new_tokens", t.max_new_tokens}};
  Json configs = Json::object();
  for (const TaskConfigResult& c : t.configs) configs[c.name] = task_config_json(c);
  j["configs"] = configs;
  return j;
}

std::string task_metrics_csv(const TaskResults& t) {
  std::ostringstream o;
  o << "config,gates,lora,task,n,parse_rate,name_accuracy,args_exact_match,args_f1,"
       "no_call_accuracy,accuracy_hash,accuracy_last_number,ended,mean_blocks_run,"
       "mean_new_tokens\n";
  const std::string na = "nan";
  for (const TaskConfigResult& c : t.configs) {
    const std::string head = c.name + "," + csv_field(c.gates) + "," + (c.lora ? "1" : "0");
    if (has_kind(t, TaskKind::ToolCall))
      o << head << ",tool_call," << c.tool.n << ',' << num(c.tool.parse_rate()) << ','
        << num(c.tool.name_accuracy()) << ',' << num(c.tool.args_exact_match()) << ','
        << num(c.tool.args_f1()) << ',' << num(c.tool.no_call_accuracy()) << ',' << na << ',' << na
        << ',' << na << ',' << num(c.mean_blocks_run[0]) << ',' << num(c.mean_new_tokens[0])
        << '\n';
    if (has_kind(t, TaskKind::Gsm8k))
      o << head << ",gsm8k," << c.gsm8k.n << ',' << na << ',' << na << ',' << na << ',' << na << ','
        << na << ',' << num(c.gsm8k.accuracy_hash()) << ',' << num(c.gsm8k.accuracy_last_number())
        << ',' << num(c.gsm8k.ended_rate()) << ',' << num(c.mean_blocks_run[1]) << ','
        << num(c.mean_new_tokens[1]) << '\n';
  }
  return o.str();
}

std::string task_metrics_markdown(const TaskResults& t) {
  std::ostringstream o;
  o << "\n## Task metrics (generation)\n\n";
  if (!t.measured) {
    o << t.note << ".\n";
    return o.str();
  }
  o << "Definitions as in `layerroute score --help`; " << t.note << ".\n";
  if (has_kind(t, TaskKind::ToolCall)) {
    o << "\n| tool_call | turns (with a call) | parse rate | name accuracy | args exact match | "
         "args F1 | no-call accuracy | blocks run | new tokens |\n"
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const TaskConfigResult& c : t.configs)
      o << "| " << config_title(c) << " | " << c.tool.n << " (" << c.tool.n_call_turns << ") | "
        << fmt_num(c.tool.parse_rate(), 3) << " | " << fmt_num(c.tool.name_accuracy(), 3) << " | "
        << fmt_num(c.tool.args_exact_match(), 3) << " | " << fmt_num(c.tool.args_f1(), 3) << " | "
        << fmt_num(c.tool.no_call_accuracy(), 3) << " | " << fmt_num(c.mean_blocks_run[0], 2)
        << " | " << fmt_num(c.mean_new_tokens[0], 1) << " |\n";
  }
  if (has_kind(t, TaskKind::Gsm8k)) {
    o << "\n| planning (GSM8K) | samples | accuracy (####) | accuracy (last number) | ended | "
         "blocks run | new tokens |\n|---|---:|---:|---:|---:|---:|---:|\n";
    for (const TaskConfigResult& c : t.configs)
      o << "| " << config_title(c) << " | " << c.gsm8k.n << " | "
        << fmt_num(c.gsm8k.accuracy_hash(), 3) << " | "
        << fmt_num(c.gsm8k.accuracy_last_number(), 3) << " | " << fmt_num(c.gsm8k.ended_rate(), 3)
        << " | " << fmt_num(c.mean_blocks_run[1], 2) << " | " << fmt_num(c.mean_new_tokens[1], 1)
        << " |\n";
  }
  return o.str();
}

std::string svg_task_metrics(const TaskResults& t) {
  std::vector<std::string> cats;
  const bool tool = has_kind(t, TaskKind::ToolCall), gsm = has_kind(t, TaskKind::Gsm8k);
  if (tool)
    cats.insert(cats.end(),
                {"parse rate", "name accuracy", "args exact", "args F1", "no-call acc."});
  if (gsm) cats.insert(cats.end(), {"GSM8K acc. (####)", "GSM8K acc. (last)", "GSM8K ended"});
  static const char* colors[] = {"#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  std::vector<BarSeries> series;
  for (size_t i = 0; i < t.configs.size(); ++i) {
    const TaskConfigResult& c = t.configs[i];
    std::vector<double> v;
    if (tool)
      v.insert(v.end(), {c.tool.parse_rate(), c.tool.name_accuracy(), c.tool.args_exact_match(),
                         c.tool.args_f1(), c.tool.no_call_accuracy()});
    if (gsm)
      v.insert(v.end(),
               {c.gsm8k.accuracy_hash(), c.gsm8k.accuracy_last_number(), c.gsm8k.ended_rate()});
    series.push_back({config_title(c), colors[i % 5], v});
  }
  return svg_bar_chart("Task metrics by configuration (greedy generation)", "share", cats, series,
                       0.0, 1.0);
}

void write_task_files(const TaskResults& t, const std::string& out_dir) {
  if (!t.measured) return;
  write_file_atomic(out_dir + "/task_metrics.csv", task_metrics_csv(t));
  write_file_atomic(out_dir + "/task_metrics.svg", svg_task_metrics(t));
  const std::string dir = out_dir + "/task";
  std::filesystem::create_directories(dir);
  remove_stale_temps(dir);
  for (TaskKind k : {TaskKind::ToolCall, TaskKind::Gsm8k}) {
    if (!has_kind(t, k)) continue;
    const std::string kind = task_kind_name(k);
    std::string ref;
    for (const TaskItem& it : t.items)
      if (it.kind == k)
        ref += it.ref_row.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    write_file_atomic(dir + "/ref_" + kind + ".jsonl", ref);
    for (const TaskConfigResult& c : t.configs) {
      std::string pred;
      for (size_t i = 0; i < t.items.size(); ++i) {
        if (t.items[i].kind != k) continue;
        const TaskOutput& out = c.outputs[i];
        // A generation can stop inside a multi-byte character: replace, do not fail.
        pred += Json{{"text", out.text}, {"ended", out.ended}, {"origin", t.items[i].origin}}.dump(
                    -1, ' ', false, Json::error_handler_t::replace) +
                "\n";
      }
      write_file_atomic(dir + "/pred_" + c.name + "_" + kind + ".jsonl", pred);
    }
  }
}

}  // namespace lr::eval
