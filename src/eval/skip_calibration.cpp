#include "eval/skip_calibration.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "layerroute/routed_session.h"
#include "text/chat_template.h"
#include "text/dataset.h"
#include "text/tokenizer.h"

namespace lr::eval {

bool SkipCalibration::within_granularity() const {
  return std::abs(skip_pct - target_pct) <= granularity_pct + 1e-9;
}

std::string SkipCalibration::describe() const {
  std::ostringstream o;
  o << "skip target " << target_pct << " %: skip " << skip_pct << " % over " << prompts
    << " calibration steps";
  if (!within_granularity())
    o << " (the nearest reachable: further than one block, " << granularity_pct
      << " %, from the target)";
  // Full precision, so that --logit-offset reproduces the same gates.
  o << std::setprecision(17) << "; logit offset " << logit_offset << " (reuse: --logit-offset "
    << logit_offset << ")";
  return o.str();
}

Json SkipCalibration::json() const {
  return Json{{"target_skip_pct", target_pct},
              {"logit_offset", logit_offset},
              {"calibrated_skip_pct", skip_pct},
              {"granularity_pct", granularity_pct},
              {"within_granularity", within_granularity()},
              {"calibration_steps", prompts},
              {"evaluations", evaluations}};
}

double mean_skip_pct(const Model& model, const RouterWeights& router, const LowRankDeltas* lora,
                     const RouteOptions& opt, const std::vector<std::vector<int>>& prompts) {
  LR_CHECK(!prompts.empty(), "skip calibration: no calibration steps");
  int max_T = 1;
  for (const auto& p : prompts) max_T = std::max(max_T, int(p.size()));
  RoutedSession s(model, &router, opt, max_T);
  s.set_lora(lora);
  const int L = model.config.n_layers;
  double closed = 0;
  for (const auto& p : prompts) {
    LR_CHECK(!p.empty(), "skip calibration: an empty calibration step");
    s.reset();
    s.prefill(p);
    closed += double(L - s.blocks_run());
  }
  return 100.0 * closed / (double(L) * double(prompts.size()));
}

SkipCalibration calibrate_skip(const Model& model, const RouterWeights& router,
                               const LowRankDeltas* lora, RouteOptions opt,
                               const std::vector<std::vector<int>>& prompts, double target_pct,
                               int max_evaluations) {
  LR_CHECK(target_pct >= 0 && target_pct <= 100, "--skip-target must be in [0, 100], got ",
           target_pct);
  LR_CHECK(opt.gates.mode == GateMode::Router,
           "--skip-target needs the routers' gates (not --gates open or mask:BITS)");
  SkipCalibration c;
  c.target_pct = target_pct;
  c.prompts = int(prompts.size());
  c.granularity_pct = 100.0 / model.config.n_layers;
  bool have = false;
  // Evaluates one offset and keeps it when it is the nearest to the target so far (ties: the
  // offset nearer 0, the smaller change to the trained routers).
  auto eval_at = [&](double off) {
    opt.settings.logit_offset = off;
    const double s = mean_skip_pct(model, router, lora, opt, prompts);
    ++c.evaluations;
    const double d = std::abs(s - target_pct), best = std::abs(c.skip_pct - target_pct);
    if (!have || d < best || (d == best && std::abs(off) < std::abs(c.logit_offset))) {
      c.logit_offset = off, c.skip_pct = s, have = true;
    }
    return s;
  };
  auto done = [&] { return have && std::abs(c.skip_pct - target_pct) < 1e-9; };
  // The skip falls as the offset rises. Bracket the target: lo skips >= target, hi <= target.
  const double s0 = eval_at(0.0);
  if (done()) return c;
  double lo, hi;
  const double kMaxOffset = 1e4;  // beyond any trained logit: every gate saturated
  if (s0 > target_pct) {
    lo = 0;
    hi = 1;
    while (eval_at(hi) > target_pct && hi < kMaxOffset && c.evaluations < max_evaluations)
      lo = hi, hi *= 4;
  } else {
    hi = 0;
    lo = -1;
    while (eval_at(lo) < target_pct && lo > -kMaxOffset && c.evaluations < max_evaluations)
      hi = lo, lo *= 4;
  }
  while (!done() && c.evaluations < max_evaluations && hi - lo > 1e-6) {
    const double mid = 0.5 * (lo + hi);
    (eval_at(mid) > target_pct ? lo : hi) = mid;
  }
  return c;
}

std::vector<std::vector<int>> calibration_prompts(const std::string& spec,
                                                  const std::string& model_dir, size_t max_samples,
                                                  size_t max_len) {
  const DataSpec ds = DataSpec::parse(spec);
  LoadReport rep;
  const std::vector<Sample> samples = load_dataset(ds, max_samples, &rep);
  LR_CHECK(!samples.empty(), "--calibration ", spec, ": no samples");
  const Tokenizer tok = Tokenizer::load(model_dir);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(model_dir);
  std::vector<std::vector<int>> out;
  for (const Sample& s : samples) {
    const TokenizedSample t = tokenize_sample(s, tok, tmpl, LossOn::All, max_len);
    if (!t.ids.empty()) out.emplace_back(t.ids.begin(), t.ids.end());
  }
  LR_CHECK(!out.empty(), "--calibration ", spec, ": every sample tokenized empty");
  return out;
}

}  // namespace lr::eval
