#include "eval/baselines.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "eval/report.h"

namespace lr::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kTypes[3] = {"tool_call", "planning", "all"};

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

// The task metrics a baseline row shows, by name, from a configuration.
struct TaskCol {
  const char* name;
  double (*get)(const TaskConfigResult&);
};
const TaskCol kTaskCols[] = {
    {"tool_parse_rate", [](const TaskConfigResult& c) { return c.tool.parse_rate(); }},
    {"tool_name_accuracy", [](const TaskConfigResult& c) { return c.tool.name_accuracy(); }},
    {"tool_args_exact_match", [](const TaskConfigResult& c) { return c.tool.args_exact_match(); }},
    {"tool_args_f1", [](const TaskConfigResult& c) { return c.tool.args_f1(); }},
    {"tool_no_call_accuracy", [](const TaskConfigResult& c) { return c.tool.no_call_accuracy(); }},
    {"gsm8k_accuracy_hash", [](const TaskConfigResult& c) { return c.gsm8k.accuracy_hash(); }},
    {"gsm8k_accuracy_last_number",
     [](const TaskConfigResult& c) { return c.gsm8k.accuracy_last_number(); }},
    {"gsm8k_ended", [](const TaskConfigResult& c) { return c.gsm8k.ended_rate(); }},
};

std::vector<const BaselineRun*> runs_of(const Baselines& b, const std::string& kind) {
  std::vector<const BaselineRun*> out;
  for (const BaselineRun& r : b.runs)
    if (r.kind == kind) out.push_back(&r);
  return out;
}

std::string pm(const MeanStd& m, int d) {
  std::string s = fmt_num(m.mean, d);
  if (m.n > 1) {
    s += " ± ";
    s += fmt_num(m.stdev, d);
  }
  return s;
}

}  // namespace

int matched_closed_blocks(double mean_blocks_run, int n_layers) {
  if (!std::isfinite(mean_blocks_run)) return 0;
  const long k = std::lround(double(n_layers) - mean_blocks_run);
  return int(std::min<long>(std::max<long>(k, 0), n_layers));
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  double s = 0;
  for (double x : v)
    if (!std::isnan(x)) s += x, ++m.n;
  m.mean = m.n > 0 ? s / m.n : kNaN;
  double ss = 0;
  for (double x : v)
    if (!std::isnan(x)) ss += (x - m.mean) * (x - m.mean);
  m.stdev = m.n > 1 ? std::sqrt(ss / (m.n - 1)) : kNaN;
  return m;
}

Json baselines_json(const Baselines& b) {
  Json j = Json{{"measured", b.measured},
                {"note", b.note},
                {"router_mean_blocks_run", b.router_mean_blocks_run},
                {"closed_blocks", b.closed},
                {"mean_soft_gate", b.mean_soft},
                {"block_influence", b.block_influence},
                {"calibration_samples", b.calibration_samples}};
  Json rp = Json::object();
  for (int t = 0; t < 3; ++t) rp[kTypes[t]] = number_or_null(b.router_ppl[t]);
  j["router_ppl"] = rp;
  Json runs = Json::array();
  for (const BaselineRun& r : b.runs) {
    Json x = Json{{"kind", r.kind}, {"mask", r.mask}};
    Json p = Json::object();
    for (int t = 0; t < 3; ++t) p[kTypes[t]] = number_or_null(r.ppl[t]);
    x["ppl"] = p;
    if (r.task) x["task"] = task_config_json(*r.task);
    runs.push_back(x);
  }
  j["runs"] = runs;
  // Random draws summarised.
  const auto rnd = runs_of(b, "random");
  if (!rnd.empty()) {
    Json s = Json::object();
    for (int t = 0; t < 3; ++t) {
      std::vector<double> v;
      for (const BaselineRun* r : rnd) v.push_back(r->ppl[t]);
      const MeanStd m = mean_std(v);
      s[std::string("ppl_") + kTypes[t]] =
          Json{{"mean", number_or_null(m.mean)}, {"std", number_or_null(m.stdev)}, {"n", m.n}};
    }
    if (rnd.front()->task)
      for (const TaskCol& col : kTaskCols) {
        std::vector<double> v;
        for (const BaselineRun* r : rnd) v.push_back(col.get(*r->task));
        const MeanStd m = mean_std(v);
        s[col.name] =
            Json{{"mean", number_or_null(m.mean)}, {"std", number_or_null(m.stdev)}, {"n", m.n}};
      }
    j["random_summary"] = s;
  }
  return j;
}

std::string baselines_csv(const Baselines& b) {
  std::ostringstream o;
  o << "kind,mask,ppl_tool_call,ppl_planning,ppl_all";
  for (const TaskCol& col : kTaskCols) o << ',' << col.name;
  o << '\n';
  for (const BaselineRun& r : b.runs) {
    o << r.kind << ",mask:" << r.mask << ',' << num(r.ppl[0]) << ',' << num(r.ppl[1]) << ','
      << num(r.ppl[2]);
    for (const TaskCol& col : kTaskCols) o << ',' << (r.task ? num(col.get(*r.task)) : "nan");
    o << '\n';
  }
  return o.str();
}

std::string baselines_markdown(const Baselines& b) {
  std::ostringstream o;
  o << "\n## Matched-compute baselines\n\n";
  if (!b.measured) {
    o << b.note << ".\n";
    return o.str();
  }
  o << "The routers run " << fmt_num(b.router_mean_blocks_run, 2) << " of " << b.n_layers
    << " blocks on average; each baseline closes " << b.closed
    << " blocks for every input (LoRA on). Block influence averaged over " << b.calibration_samples
    << " calibration samples. " << b.note << ".\n\n";
  const bool task = !b.runs.empty() && b.runs.front().task.has_value();
  o << "| configuration | mask | ppl tool_call | ppl planning | ppl all |"
    << (task ? " tool name acc. | tool args F1 | GSM8K acc. (####) |" : "")
    << "\n|---|---|---:|---:|---:|" << (task ? "---:|---:|---:|" : "") << "\n";
  const auto task_cells = [&](const std::optional<TaskConfigResult>& t) {
    if (!task) return std::string();
    if (!t) return std::string(" n/a | n/a | n/a |");
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) on a chain of operator+.
    std::string c = " ";
    c += fmt_num(t->tool.name_accuracy(), 3);
    c += " | ";
    c += fmt_num(t->tool.args_f1(), 3);
    c += " | ";
    c += fmt_num(t->gsm8k.accuracy_hash(), 3);
    c += " |";
    return c;
  };
  o << "| router (per input) | | " << fmt_num(b.router_ppl[0], 4) << " | "
    << fmt_num(b.router_ppl[1], 4) << " | " << fmt_num(b.router_ppl[2], 4) << " |"
    << task_cells(b.router_task) << "\n";
  for (const char* kind : {"soft_gate", "block_influence"})
    for (const BaselineRun* r : runs_of(b, kind)) {
      o << "| static: "
        << (r->kind == "soft_gate" ? "lowest mean soft gate" : "lowest block influence") << " | "
        << r->mask << " | " << fmt_num(r->ppl[0], 4) << " | " << fmt_num(r->ppl[1], 4) << " | "
        << fmt_num(r->ppl[2], 4) << " |";
      o << task_cells(r->task);
      o << "\n";
    }
  const auto rnd = runs_of(b, "random");
  if (!rnd.empty()) {
    auto over = [&](auto get) {
      std::vector<double> v;
      for (const BaselineRun* r : rnd) v.push_back(get(*r));
      return mean_std(v);
    };
    o << "| random, " << rnd.size() << " draws (mean ± std) | | "
      << pm(over([](const BaselineRun& r) { return r.ppl[0]; }), 4) << " | "
      << pm(over([](const BaselineRun& r) { return r.ppl[1]; }), 4) << " | "
      << pm(over([](const BaselineRun& r) { return r.ppl[2]; }), 4) << " |";
    if (task && rnd.front()->task)
      o << ' ' << pm(over([](const BaselineRun& r) { return r.task->tool.name_accuracy(); }), 3)
        << " | " << pm(over([](const BaselineRun& r) { return r.task->tool.args_f1(); }), 3)
        << " | " << pm(over([](const BaselineRun& r) { return r.task->gsm8k.accuracy_hash(); }), 3)
        << " |";
    o << "\n";
  }
  // The verdict on perplexity, all samples: lower is better.
  double best = kNaN;
  for (const BaselineRun& r : b.runs)
    if (r.kind != "random" && (std::isnan(best) || r.ppl[2] < best)) best = r.ppl[2];
  if (std::isfinite(best) && std::isfinite(b.router_ppl[2]))
    o << "\nOn perplexity (all samples) the router "
      << (b.router_ppl[2] < best    ? "beats"
          : b.router_ppl[2] == best ? "ties with"
                                    : "does not beat")
      << " the best static mask at the same compute (" << fmt_num(b.router_ppl[2], 4) << " vs "
      << fmt_num(best, 4) << ").\n";
  return o.str();
}

std::string svg_baselines(const Baselines& b) {
  std::vector<std::string> cats = {"tool_call", "planning", "all"};
  std::vector<BarSeries> series;
  series.push_back({"router", "#d62728", {b.router_ppl[0], b.router_ppl[1], b.router_ppl[2]}});
  for (const BaselineRun* r : runs_of(b, "soft_gate"))
    series.push_back({"static: lowest soft gate", "#1f77b4", {r->ppl[0], r->ppl[1], r->ppl[2]}});
  for (const BaselineRun* r : runs_of(b, "block_influence"))
    series.push_back(
        {"static: lowest block influence", "#2ca02c", {r->ppl[0], r->ppl[1], r->ppl[2]}});
  const auto rnd = runs_of(b, "random");
  if (!rnd.empty()) {
    std::vector<double> v;
    for (int t = 0; t < 3; ++t) {
      std::vector<double> x;
      for (const BaselineRun* r : rnd) x.push_back(r->ppl[t]);
      v.push_back(mean_std(x).mean);
    }
    series.push_back({"random (mean)", "#7f7f7f", v});
  }
  return svg_bar_chart(
      "Perplexity at matched compute (" + std::to_string(b.closed) + " blocks closed)",
      "perplexity", cats, series);
}

}  // namespace lr::eval
