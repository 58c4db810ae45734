#include "eval/skip_sweep.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "eval/report.h"
#include "io/atomic_file.h"

namespace lr::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string f1(double v) {
  return fmt_num(v, 1);
}

Json num(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

Json value_json(const SweepValue& v) {
  return Json{{"skip_pct", num(v.skip_pct)},
              {"ppl", num(v.ppl)},
              {"task_accuracy", num(v.task_accuracy)},
              {"ppl_std", num(v.ppl_std)},
              {"task_accuracy_std", num(v.task_accuracy_std)}};
}

}  // namespace

std::vector<double> parse_sweep_targets(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    double v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    LR_CHECK(ec == std::errc() && p == part.data() + part.size() && v >= 0 && v <= 100,
             "--sweep-skip: '", part, "' is not a skip % in [0, 100]");
    out.push_back(v);
  }
  LR_CHECK(!out.empty(), "--sweep-skip: empty");
  return out;
}

double task_accuracy(const TaskConfigResult& t) {
  const int n = t.tool.n + t.gsm8k.n;
  if (n == 0) return kNaN;
  return double(t.tool.exact + t.tool.no_call_ok + t.gsm8k.hash_ok) / double(n);
}

SkipSweep run_skip_sweep(const EvalRunConfig& cfg, const std::vector<double>& targets) {
  SkipSweep sw;
  for (double target : targets) {
    EvalRunConfig c = cfg;
    c.skip_target = target;
    c.logit_offset.reset();
    c.wallclock = false;
    c.baselines = true;
    if (!cfg.out_dir.empty())
      c.out_dir =
          cfg.out_dir + "/sweep/skip_" + fmt_num(target, target == std::floor(target) ? 0 : 1);
    if (cfg.progress) cfg.progress("sweep: target skip " + fmt_num(target, 1) + " %");
    const EvalResults r = run_eval(c);
    sw.n_layers = r.n_layers;
    SweepPoint p;
    p.target_pct = target;
    p.logit_offset = r.logit_offset;
    const TypeStats& all = r.types[2];
    const TaskConfigResult* routed = nullptr;
    const TaskConfigResult* all_open = nullptr;  // LoRA all blocks, else the base model
    for (const TaskConfigResult& t : r.task.configs) {
      if (t.name == "lora_routed") routed = &t;
      if (t.name == "lora_all" || (t.name == "base" && !all_open)) all_open = &t;
    }
    p.router = {all.skip_pct, all.routed.ppl(), routed ? task_accuracy(*routed) : kNaN, kNaN, kNaN};
    const Baselines& b = r.baselines;
    if (b.measured) {
      const double skip = 100.0 * b.closed / double(b.n_layers);
      std::vector<double> rp, ra;
      for (const BaselineRun& run : b.runs) {
        const double acc = run.task ? task_accuracy(*run.task) : kNaN;
        if (run.kind == "random") {
          rp.push_back(run.ppl[2]), ra.push_back(acc);
          continue;
        }
        SweepValue& v = run.kind == "soft_gate" ? p.soft_gate : p.block_influence;
        v = {skip, run.ppl[2], acc, kNaN, kNaN};
      }
      const MeanStd mp = mean_std(rp), ma = mean_std(ra);
      p.random = {rp.empty() ? kNaN : skip, rp.empty() ? kNaN : mp.mean,
                  ra.empty() ? kNaN : ma.mean, mp.stdev, ma.stdev};
    } else {
      // The routers close no block on average: every static mask is the all-open model.
      const SweepValue open{0.0, all.lora_all.ppl(), all_open ? task_accuracy(*all_open) : kNaN,
                            kNaN, kNaN};
      p.soft_gate = p.block_influence = p.random = open;
    }
    sw.points.push_back(p);
  }
  return sw;
}

Json skip_sweep_json(const SkipSweep& s) {
  Json pts = Json::array();
  for (const SweepPoint& p : s.points)
    pts.push_back(Json{{"target_skip_pct", p.target_pct},
                       {"logit_offset", p.logit_offset},
                       {"router", value_json(p.router)},
                       {"static_soft_gate", value_json(p.soft_gate)},
                       {"static_block_influence", value_json(p.block_influence)},
                       {"random", value_json(p.random)}});
  return Json{{"n_layers", s.n_layers},
              {"task_accuracy",
               "share of task items right: tool-call turns with args exact match or no-call "
               "turns without a call, GSM8K answers right after ####"},
              {"points", pts}};
}

std::string skip_sweep_csv(const SkipSweep& s) {
  std::ostringstream o;
  o << "target_skip_pct,logit_offset,config,skip_pct,ppl,ppl_std,task_accuracy,"
       "task_accuracy_std\n";
  const auto g = [](double v) { return std::isfinite(v) ? fmt_num(v, 6) : std::string(); };
  for (const SweepPoint& p : s.points) {
    const std::pair<const char*, const SweepValue*> rows[] = {
        {"router", &p.router},
        {"static_soft_gate", &p.soft_gate},
        {"static_block_influence", &p.block_influence},
        {"random", &p.random}};
    for (const auto& [name, v] : rows)
      o << g(p.target_pct) << ',' << g(p.logit_offset) << ',' << name << ',' << g(v->skip_pct)
        << ',' << g(v->ppl) << ',' << g(v->ppl_std) << ',' << g(v->task_accuracy) << ','
        << g(v->task_accuracy_std) << '\n';
  }
  return o.str();
}

std::string svg_skip_sweep(const SkipSweep& s) {
  struct Series {
    const char* name;
    const char* color;
    SweepValue SweepPoint::*member;
  };
  const Series series[] = {{"router (dial)", "#1f77b4", &SweepPoint::router},
                           {"static: lowest soft gate", "#ff7f0e", &SweepPoint::soft_gate},
                           {"static: block influence", "#2ca02c", &SweepPoint::block_influence},
                           {"random masks (mean)", "#7f7f7f", &SweepPoint::random}};
  const double left = 60, panel_w = 320, gap = 70, top = 40, plot_h = 240, bottom = 100;
  const double W = left + 2 * panel_w + gap + 20, Ht = top + plot_h + bottom;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << f1(W) << "\" height=\"" << f1(Ht)
    << "\" viewBox=\"0 0 " << f1(W) << ' ' << f1(Ht)
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect x=\"0\" y=\"0\" width=\"" << f1(W) << "\" height=\"" << f1(Ht)
    << "\" fill=\"white\"/>\n"
    << "<text x=\"" << f1(W / 2)
    << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">Speed-quality dial: router vs "
       "static and random masks at the same skip</text>\n";
  double x_max = 0;
  for (const SweepPoint& p : s.points)
    for (const Series& se : series)
      if (std::isfinite((p.*se.member).skip_pct)) x_max = std::max(x_max, (p.*se.member).skip_pct);
  x_max = x_max > 0 ? std::min(100.0, std::ceil(x_max / 10 + 0.01) * 10) : 10;
  // Two panels: task accuracy and perplexity against the measured skip.
  for (int panel = 0; panel < 2; ++panel) {
    const auto y_of_value = [&](const SweepValue& v) {
      return panel == 0 ? v.task_accuracy : v.ppl;
    };
    double y_min = panel == 0 ? 0 : std::numeric_limits<double>::infinity();
    double y_max = panel == 0 ? 1 : -std::numeric_limits<double>::infinity();
    if (panel == 1) {
      for (const SweepPoint& p : s.points)
        for (const Series& se : series) {
          const double v = y_of_value(p.*se.member);
          if (std::isfinite(v)) y_min = std::min(y_min, v), y_max = std::max(y_max, v);
        }
      if (!std::isfinite(y_min)) y_min = 0, y_max = 1;
      if (!(y_max > y_min)) y_max = y_min + 1;
      const double pad = 0.05 * (y_max - y_min);
      y_min -= pad, y_max += pad;
    }
    const double x0 = left + panel * (panel_w + gap);
    const auto X = [&](double v) { return x0 + panel_w * v / x_max; };
    const auto Y = [&](double v) { return top + plot_h * (y_max - v) / (y_max - y_min); };
    o << "<rect x=\"" << f1(x0) << "\" y=\"" << f1(top) << "\" width=\"" << f1(panel_w)
      << "\" height=\"" << f1(plot_h) << "\" fill=\"none\" stroke=\"#333\"/>\n";
    for (int i = 0; i <= 4; ++i) {
      const double yv = y_min + (y_max - y_min) * i / 4, xv = x_max * i / 4;
      o << "<text x=\"" << f1(x0 - 5) << "\" y=\"" << f1(Y(yv) + 4) << "\" text-anchor=\"end\">"
        << fmt_num(yv, 2) << "</text>\n"
        << "<line x1=\"" << f1(x0) << "\" y1=\"" << f1(Y(yv)) << "\" x2=\"" << f1(x0 + panel_w)
        << "\" y2=\"" << f1(Y(yv)) << "\" stroke=\"#eee\"/>\n"
        << "<text x=\"" << f1(X(xv)) << "\" y=\"" << f1(top + plot_h + 14)
        << "\" text-anchor=\"middle\">" << fmt_num(xv, 0) << "</text>\n";
    }
    o << "<text x=\"" << f1(x0 + panel_w / 2) << "\" y=\"" << f1(top + plot_h + 30)
      << "\" text-anchor=\"middle\">measured skip % (blocks not run)</text>\n"
      << "<text x=\"" << f1(x0 + panel_w / 2) << "\" y=\"" << f1(top - 6)
      << "\" text-anchor=\"middle\">"
      << (panel == 0 ? "task accuracy (higher is better)" : "perplexity (lower is better)")
      << "</text>\n";
    for (const Series& se : series) {
      std::ostringstream path;
      int n = 0;
      for (const SweepPoint& p : s.points) {
        const SweepValue& v = p.*se.member;
        const double y = y_of_value(v);
        if (!std::isfinite(v.skip_pct) || !std::isfinite(y)) continue;
        path << (n++ ? " L " : "M ") << f1(X(v.skip_pct)) << ' ' << f1(Y(y));
        o << "<circle cx=\"" << f1(X(v.skip_pct)) << "\" cy=\"" << f1(Y(y)) << "\" r=\"3\" fill=\""
          << se.color << "\"/>\n";
      }
      if (n > 1)
        o << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"" << se.color
          << "\" stroke-width=\"1.5\"/>\n";
    }
  }
  for (size_t i = 0; i < std::size(series); ++i) {
    const double y = top + plot_h + 50 + 14 * double(i);
    o << "<rect x=\"" << f1(left) << "\" y=\"" << f1(y - 9) << "\" width=\"10\" height=\"10\" "
      << "fill=\"" << series[i].color << "\"/>\n"
      << "<text x=\"" << f1(left + 16) << "\" y=\"" << f1(y) << "\">" << series[i].name
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void write_skip_sweep(const SkipSweep& s, const std::string& dir) {
  std::filesystem::create_directories(dir);
  remove_stale_temps(dir);  // what a killed earlier run left half-written
  write_file_atomic(dir + "/sweep.json", skip_sweep_json(s).dump(2) + "\n");
  write_file_atomic(dir + "/sweep.csv", skip_sweep_csv(s));
  write_file_atomic(dir + "/sweep.svg", svg_skip_sweep(s));
}

}  // namespace lr::eval
