#pragma once
// One line saying whether per-input routing beat a static mask of the same compute on this
// model, from the measured perplexity and task accuracy (baselines.h, skip_sweep.h).
#include <string>

#include "eval/baselines.h"

namespace lr::eval {

// The router beats the static masks when its perplexity (all samples) is lower than the
// best static mask's and, where task metrics were measured, its task accuracy is at least
// that mask's. Says "not measured" (with the reason) when the baselines did not run.
std::string router_vs_static_line(const Baselines& b);

}  // namespace lr::eval
