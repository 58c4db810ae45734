// SVG charts written by hand: a grouped bar chart with axis, ticks, legend and title.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "eval/report.h"

namespace lr::eval {

namespace {

std::string f1(double v) {
  return fmt_num(v, 1);
}

// A "nice" tick step (1, 2, 5 x 10^k) giving about n ticks over span.
double tick_step(double span, int n) {
  const double raw = span / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

}  // namespace

std::string svg_bar_chart(const std::string& title, const std::string& y_label,
                          const std::vector<std::string>& categories,
                          const std::vector<BarSeries>& series, double y_min, double y_max,
                          double ref_line) {
  if (!(y_max > y_min)) {
    y_min = 0, y_max = 0;
    for (const BarSeries& s : series)
      for (double v : s.values)
        if (std::isfinite(v)) y_min = std::min(y_min, v), y_max = std::max(y_max, v);
    if (std::isfinite(ref_line)) y_max = std::max(y_max, ref_line);
    if (!(y_max > y_min)) y_max = y_min + 1;
    y_max += 0.05 * (y_max - y_min);
  }
  const double left = 70, right = 20, top = 40, bottom = 36 + 15 * double(series.size());
  // A group is as wide as its bars or its label (~6.5 px a character at this font size),
  // so labels such as "GSM8K acc (####)" never run into their neighbours.
  size_t longest = 0;
  for (const std::string& c : categories) longest = std::max(longest, c.size());
  const double group_w =
      std::max({24.0, 14.0 * double(series.size()) + 10, 6.5 * double(longest) + 10});
  const double plot_w = std::max(300.0, group_w * double(categories.size()));
  const double plot_h = 260, W = left + plot_w + right, Ht = top + plot_h + bottom;
  const auto y_of = [&](double v) { return top + plot_h * (y_max - v) / (y_max - y_min); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << f1(W) << "\" height=\"" << f1(Ht)
    << "\" viewBox=\"0 0 " << f1(W) << ' ' << f1(Ht) << "\" font-family=\"sans-serif\" "
    << "font-size=\"11\">\n";
  o << "<rect x=\"0\" y=\"0\" width=\"" << f1(W) << "\" height=\"" << f1(Ht)
    << "\" fill=\"white\"/>\n";
  o << "<text x=\"" << f1(W / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">"
    << xml_escape(title) << "</text>\n";
  // Y axis with ticks and grid lines.
  const double step = tick_step(y_max - y_min, 5);
  for (double v = std::ceil(y_min / step) * step; v <= y_max + 1e-9 * step; v += step) {
    const double y = y_of(v);
    o << "<line x1=\"" << f1(left) << "\" y1=\"" << f1(y) << "\" x2=\"" << f1(left + plot_w)
      << "\" y2=\"" << f1(y) << "\" stroke=\"#ddd\"/>\n";
    o << "<text x=\"" << f1(left - 6) << "\" y=\"" << f1(y + 4) << "\" text-anchor=\"end\">"
      << fmt_num(v, step < 1 ? 2 : 0) << "</text>\n";
  }
  o << "<text x=\"16\" y=\"" << f1(top + plot_h / 2) << "\" text-anchor=\"middle\" "
    << "transform=\"rotate(-90 16 " << f1(top + plot_h / 2) << ")\">" << xml_escape(y_label)
    << "</text>\n";
  // Bars.
  const double zero = y_of(std::clamp(0.0, y_min, y_max));
  const double bar_w = (group_w - 10) / double(std::max<size_t>(series.size(), 1));
  for (size_t c = 0; c < categories.size(); ++c) {
    const double gx = left + group_w * double(c) + 5;
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = c < series[s].values.size() ? series[s].values[c] : NAN;
      if (!std::isfinite(v)) continue;
      const double y = y_of(std::clamp(v, y_min, y_max));
      o << "<rect x=\"" << f1(gx + bar_w * double(s)) << "\" y=\"" << f1(std::min(y, zero))
        << "\" width=\"" << f1(bar_w) << "\" height=\"" << f1(std::fabs(zero - y)) << "\" fill=\""
        << xml_escape(series[s].color) << "\"><title>"
        << xml_escape(series[s].name + " " + categories[c] + ": " + fmt_num(v, 4))
        << "</title></rect>\n";
    }
    o << "<text x=\"" << f1(gx + (group_w - 10) / 2) << "\" y=\"" << f1(top + plot_h + 16)
      << "\" text-anchor=\"middle\">" << xml_escape(categories[c]) << "</text>\n";
  }
  // Axes and the reference line.
  o << "<line x1=\"" << f1(left) << "\" y1=\"" << f1(top) << "\" x2=\"" << f1(left) << "\" y2=\""
    << f1(top + plot_h) << "\" stroke=\"black\"/>\n";
  o << "<line x1=\"" << f1(left) << "\" y1=\"" << f1(zero) << "\" x2=\"" << f1(left + plot_w)
    << "\" y2=\"" << f1(zero) << "\" stroke=\"black\"/>\n";
  if (std::isfinite(ref_line) && ref_line >= y_min && ref_line <= y_max)
    o << "<line x1=\"" << f1(left) << "\" y1=\"" << f1(y_of(ref_line)) << "\" x2=\""
      << f1(left + plot_w) << "\" y2=\"" << f1(y_of(ref_line))
      << "\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n";
  // Legend under the axis, one series per line (names can be long, charts narrow).
  double ly = top + plot_h + 30;
  for (const BarSeries& s : series) {
    o << "<rect x=\"" << f1(left) << "\" y=\"" << f1(ly) << "\" width=\"10\" height=\"10\" "
      << "fill=\"" << xml_escape(s.color) << "\"/>\n";
    o << "<text x=\"" << f1(left + 14) << "\" y=\"" << f1(ly + 9) << "\">" << xml_escape(s.name)
      << "</text>\n";
    ly += 15;
  }
  o << "</svg>\n";
  return o.str();
}

std::string svg_gates_per_block(const EvalResults& r) {
  std::vector<std::string> cats;
  for (int l = 0; l < r.n_layers; ++l) cats.push_back(std::to_string(l));
  std::vector<double> sb = r.sigmoid_bias;
  sb.resize(size_t(r.n_layers), NAN);
  return svg_bar_chart("Gate per block (dashed: threshold)", "gate value", cats,
                       {{"sigmoid(b)", "#999999", sb},
                        {"mean soft gate, tool_call", "#1f77b4", r.types[0].mean_soft},
                        {"mean soft gate, planning", "#ff7f0e", r.types[1].mean_soft}},
                       0.0, 1.0, r.threshold);
}

std::string svg_skip_by_type(const EvalResults& r) {
  std::vector<std::string> cats;
  std::vector<double> skip, paper, full;
  for (const TypeStats& t : r.types) {
    cats.push_back(t.name);
    skip.push_back(t.skip_pct), paper.push_back(t.paper_saving_pct),
        full.push_back(t.full_saving_pct);
  }
  return svg_bar_chart("Blocks skipped by step type", "%", cats,
                       {{"skip %", "#1f77b4", skip},
                        {"paper block FLOPs saved %", "#2ca02c", paper},
                        {"full forward FLOPs saved %", "#9467bd", full}});
}

std::string svg_perplexity(const EvalResults& r) {
  std::vector<std::string> cats;
  std::vector<double> base, all, routed, zero;
  for (const TypeStats& t : r.types) {
    cats.push_back(t.name);
    base.push_back(t.base.ppl()), all.push_back(t.lora_all.ppl()), routed.push_back(t.routed.ppl()),
        zero.push_back(t.lora_zero.ppl());
  }
  return svg_bar_chart("Perplexity by configuration", "perplexity", cats,
                       {{"base", "#7f7f7f", base},
                        {"LoRA, all blocks", "#1f77b4", all},
                        {"LoRA + routing", "#d62728", routed},
                        {"LoRA scale 0 + routing", "#bcbd22", zero}});
}

}  // namespace lr::eval
