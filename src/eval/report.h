#pragma once
// Reports of an evaluation (DESIGN.md §4), every file written atomically into OUT:
//   eval.json            everything, NaN as null
//   types.csv            one row per step type (tool_call, planning, all)
//   blocks.csv           one row per (block, type): bias, sigmoid(b), mean soft gate, open share
//   samples.csv          one row per sample: label, length, blocks run, FLOPs, gates per block
//   summary.md           the tables a reader wants first
//   gates_per_block.svg  sigmoid(b) and the mean soft gate per type, per block
//   skip_by_type.svg     skip % and FLOPs saved per type
//   perplexity.svg       perplexity per configuration and type
// and, when task metrics were measured (report_task.cpp):
//   task_metrics.csv     one row per (configuration, task)
//   task_metrics.svg     the task metrics per configuration
//   task/ref_KIND.jsonl, task/pred_CONFIG_KIND.jsonl   inputs of `layerroute score`
// and, when the matched-compute baselines ran (baselines.cpp):
//   baselines.csv        one row per baseline mask: perplexity per type and task metrics
//   baselines.svg        perplexity per type, router vs the baselines
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "io/json.h"

namespace lr::eval {

Json results_json(const EvalResults& r);
std::string types_csv(const EvalResults& r);
std::string blocks_csv(const EvalResults& r);
std::string samples_csv(const EvalResults& r);
std::string summary_markdown(const EvalResults& r);
std::string svg_gates_per_block(const EvalResults& r);
std::string svg_skip_by_type(const EvalResults& r);
std::string svg_perplexity(const EvalResults& r);

Json task_results_json(const TaskResults& t);
std::string task_metrics_csv(const TaskResults& t);
std::string task_metrics_markdown(const TaskResults& t);  // a summary.md section
std::string svg_task_metrics(const TaskResults& t);
// The task files above, when t.measured.
void write_task_files(const TaskResults& t, const std::string& out_dir);

// Creates OUT if needed and writes every file above.
void write_reports(const EvalResults& r, const std::string& out_dir);

// A hand-written SVG grouped bar chart (no library): categories along x, one bar per series
// in each group, a y axis spanning [min(0, values), max(values)] (or the given bounds when
// y_max > y_min), an optional dashed horizontal line. NaN values draw no bar.
struct BarSeries {
  std::string name, color;
  std::vector<double> values;  // one per category
};
std::string svg_bar_chart(const std::string& title, const std::string& y_label,
                          const std::vector<std::string>& categories,
                          const std::vector<BarSeries>& series, double y_min = 0, double y_max = 0,
                          double ref_line = std::numeric_limits<double>::quiet_NaN());

// Text helpers shared by the report writers: "n/a" for NaN, fixed decimals otherwise.
std::string fmt_num(double v, int decimals);
std::string fmt_int_grouped(int64_t v);  // 15,737,028,608
std::string xml_escape(const std::string& s);
std::string csv_field(const std::string& s);  // quoted when it holds , " or a newline

}  // namespace lr::eval
