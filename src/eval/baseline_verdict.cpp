#include "eval/baseline_verdict.h"

#include <cmath>
#include <limits>

#include "eval/report.h"
#include "eval/skip_sweep.h"

namespace lr::eval {

std::string router_vs_static_line(const Baselines& b) {
  if (!b.measured) return "Router vs static mask: " + b.note + ".";
  const BaselineRun* best = nullptr;
  for (const BaselineRun& r : b.runs)
    if (r.kind != "random" && (!best || r.ppl[2] < best->ppl[2])) best = &r;
  if (!best) return "Router vs static mask: not measured (no static mask ran).";
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double ra = b.router_task ? task_accuracy(*b.router_task) : nan;
  const double sa = best->task ? task_accuracy(*best->task) : nan;
  const bool acc_known = std::isfinite(ra) && std::isfinite(sa);
  const bool beat = b.router_ppl[2] < best->ppl[2] && (!acc_known || ra >= sa);
  std::string s = "Router vs static mask (" + std::to_string(b.closed) + " of " +
                  std::to_string(b.n_layers) + " blocks closed, best static: " + best->kind +
                  "): the router " + (beat ? "BEAT" : "did NOT beat") +
                  " the static mask on this model: perplexity " + fmt_num(b.router_ppl[2], 3) +
                  " vs " + fmt_num(best->ppl[2], 3);
  if (acc_known) s += ", task accuracy " + fmt_num(ra, 3) + " vs " + fmt_num(sa, 3);
  return s + ".";
}

}  // namespace lr::eval
