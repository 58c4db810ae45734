#pragma once
// The speed-quality dial's calibration (`--skip-target P`): the global router logit offset
// (RouteSettings::logit_offset) at which the mean skip over calibration steps is P %.
// Each calibration step is one sample's tokens (as eval and training see the step),
// prefilled as one routed step; its skip is the share of blocks its gates close. The skip
// moves in jumps (one prompt's block opening or closing), so an exact P is often
// unreachable: the search returns the offset whose measured skip is nearest P, and says
// whether that is within one block's granularity (100 / n_layers %).
#include <string>
#include <vector>

#include "io/json.h"
#include "layerroute/routed_batch.h"
#include "model/low_rank_delta.h"

namespace lr::eval {

struct SkipCalibration {
  double target_pct = 0;
  double logit_offset = 0;  // the chosen offset
  double skip_pct = 0;      // mean skip % of the calibration steps at logit_offset
  double granularity_pct = 0;
  int prompts = 0, evaluations = 0;
  bool within_granularity() const;  // |skip_pct - target_pct| <= granularity_pct
  std::string describe() const;     // one line for stderr
  Json json() const;
};

// Mean skip % of the prompts, each prefilled alone as one step under opt (router gates).
double mean_skip_pct(const Model& model, const RouterWeights& router, const LowRankDeltas* lora,
                     const RouteOptions& opt, const std::vector<std::vector<int>>& prompts);

// Bisection on opt.settings.logit_offset (the rest of opt kept) for a mean skip of
// target_pct over the prompts. Throws lr::Error for a target outside [0, 100], no prompts,
// or gates that are not the routers'.
SkipCalibration calibrate_skip(const Model& model, const RouterWeights& router,
                               const LowRankDeltas* lora, RouteOptions opt,
                               const std::vector<std::vector<int>>& prompts, double target_pct,
                               int max_evaluations = 40);

// The calibration steps of a FORMAT:FILE dataset: up to max_samples samples tokenized with
// the model directory's tokenizer and chat template (whole step, truncated to max_len).
std::vector<std::vector<int>> calibration_prompts(const std::string& spec,
                                                  const std::string& model_dir, size_t max_samples,
                                                  size_t max_len);

}  // namespace lr::eval
