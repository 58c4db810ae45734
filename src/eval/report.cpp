#include "eval/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "io/atomic_file.h"

namespace lr::eval {

std::string fmt_num(double v, int decimals) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fmt_int_grouped(int64_t v) {
  std::string d = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

void write_reports(const EvalResults& r, const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  remove_stale_temps(out_dir);  // what a killed earlier evaluation left half-written
  const auto put = [&](const char* name, const std::string& text) {
    write_file_atomic(out_dir + "/" + name, text);
  };
  put("eval.json", results_json(r).dump(2) + "\n");
  put("types.csv", types_csv(r));
  put("blocks.csv", blocks_csv(r));
  put("samples.csv", samples_csv(r));
  put("summary.md", summary_markdown(r));
  put("gates_per_block.svg", svg_gates_per_block(r));
  put("skip_by_type.svg", svg_skip_by_type(r));
  put("perplexity.svg", svg_perplexity(r));
  write_task_files(r.task, out_dir);
  if (r.baselines.measured) {
    put("baselines.csv", baselines_csv(r.baselines));
    put("baselines.svg", svg_baselines(r.baselines));
  }
}

}  // namespace lr::eval
