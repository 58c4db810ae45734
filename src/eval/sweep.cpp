#include "eval/sweep.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "eval/metrics.h"
#include "eval/report.h"

namespace lr::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream os;
  os.precision(8);
  os << v;
  return os.str();
}

}  // namespace

MetricList sweep_metrics(const EvalResults& r) {
  MetricList m;
  const TypeStats &tool = r.types[0], &plan = r.types[1], &all = r.types[2];
  m.emplace_back("skip_pct_tool_call", tool.skip_pct);
  m.emplace_back("skip_pct_planning", plan.skip_pct);
  m.emplace_back("skip_differential", r.skip_differential);
  m.emplace_back("blocks_run_tool_call", tool.mean_blocks_run);
  m.emplace_back("blocks_run_planning", plan.mean_blocks_run);
  m.emplace_back("paper_flops_saved_pct_tool_call", tool.paper_saving_pct);
  m.emplace_back("paper_flops_saved_pct_planning", plan.paper_saving_pct);
  m.emplace_back("full_flops_saved_pct_all", all.full_saving_pct);
  for (const TypeStats* t : {&tool, &plan, &all}) {
    m.emplace_back("ppl_base_" + t->name, t->base.ppl());
    m.emplace_back("ppl_lora_all_blocks_" + t->name, t->lora_all.ppl());
    m.emplace_back("ppl_lora_routed_" + t->name, t->routed.ppl());
  }
  m.emplace_back("delta_ppl_routed_minus_lora_all", all.delta_ppl_vs_lora_all());
  m.emplace_back("delta_ppl_routed_minus_base", all.delta_ppl_vs_base());
  m.emplace_back("lora_impact_ce", all.lora_impact_ce());
  m.emplace_back("corr_gate_seq_len", r.corr_gate_len);
  m.emplace_back("point_biserial_gate_tool_call", r.corr_gate_label);
  m.emplace_back("flip_rate_vs_bias_only", r.flip_rate);
  for (int l = 0; l < r.n_layers; ++l)
    m.emplace_back("open_share_block_" + std::to_string(l), all.open_frac[size_t(l)]);
  return m;
}

std::vector<MetricSummary> aggregate(const std::vector<SweepRun>& runs) {
  std::vector<MetricSummary> out;
  if (runs.empty()) return out;
  for (const auto& [name, v0] : runs.front().metrics) {
    (void)v0;
    MetricSummary s;
    s.name = name;
    std::vector<double> finite;
    for (const SweepRun& r : runs) {
      double v = kNaN;
      for (const auto& [n, x] : r.metrics)
        if (n == name) v = x;
      s.per_seed.push_back(v);
      if (std::isfinite(v)) finite.push_back(v);
    }
    s.n = int(finite.size());
    s.mean = mean_of(finite);
    s.std = sample_std(finite);
    s.min = finite.empty() ? kNaN : *std::min_element(finite.begin(), finite.end());
    s.max = finite.empty() ? kNaN : *std::max_element(finite.begin(), finite.end());
    out.push_back(std::move(s));
  }
  return out;
}

std::string sweep_csv(const std::vector<SweepRun>& runs) {
  std::ostringstream o;
  o << "metric,mean,std,min,max,n";
  for (const SweepRun& r : runs) o << ",seed_" << r.seed;
  o << '\n';
  for (const MetricSummary& s : aggregate(runs)) {
    o << s.name << ',' << num(s.mean) << ',' << num(s.std) << ',' << num(s.min) << ',' << num(s.max)
      << ',' << s.n;
    for (double v : s.per_seed) o << ',' << num(v);
    o << '\n';
  }
  return o.str();
}

std::string sweep_markdown(const std::vector<SweepRun>& runs) {
  std::ostringstream o;
  o << "# LayerRoute sweep: " << runs.size() << " seeds\n\n"
    << "Mean ± sample std (n − 1) over the seeds with a value; n/a where undefined.\n\n";
  o << "| metric | mean | std | min | max |";
  for (const SweepRun& r : runs) o << " seed " << r.seed << " |";
  o << "\n|---|---:|---:|---:|---:|";
  for (size_t i = 0; i < runs.size(); ++i) o << "---:|";
  o << '\n';
  for (const MetricSummary& s : aggregate(runs)) {
    o << "| " << s.name << " | " << fmt_num(s.mean, 4) << " | " << fmt_num(s.std, 4) << " | "
      << fmt_num(s.min, 4) << " | " << fmt_num(s.max, 4) << " |";
    for (double v : s.per_seed) o << ' ' << fmt_num(v, 4) << " |";
    o << '\n';
  }
  return o.str();
}

Json sweep_json(const std::vector<SweepRun>& runs) {
  Json j;
  Json seeds = Json::array();
  for (const SweepRun& r : runs) seeds.push_back(r.seed);
  j["seeds"] = seeds;
  Json rows = Json::array();
  for (const MetricSummary& s : aggregate(runs))
    rows.push_back(Json{{"metric", s.name},
                        {"mean", s.mean},
                        {"std", s.std},
                        {"min", s.min},
                        {"max", s.max},
                        {"n", s.n},
                        {"per_seed", s.per_seed}});
  j["metrics"] = rows;
  return j;
}

std::vector<uint64_t> parse_seeds(const std::string& s) {
  std::vector<uint64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    LR_CHECK(!item.empty() && item.find_first_not_of("0123456789") == std::string::npos,
             "--seeds: '", item, "' is not a non-negative integer");
    out.push_back(std::stoull(item));
  }
  LR_CHECK(!out.empty(), "--seeds: no seeds");
  return out;
}

}  // namespace lr::eval
