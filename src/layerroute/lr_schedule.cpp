#include "layerroute/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lr {

LrSchedule LrScheduleConfig::parse(const std::string& s) {
  if (s == "cosine" || s == "warmup-cosine") return LrSchedule::WarmupCosine;
  if (s == "reference") return LrSchedule::Reference;
  if (s == "constant") return LrSchedule::Constant;
  fail("unknown lr schedule '", s, "' (cosine, reference, constant)");
}

double lr_at(const LrScheduleConfig& c, int64_t step) {
  constexpr double kPi = 3.14159265358979323846;
  switch (c.kind) {
    case LrSchedule::Constant:
      return c.base;
    case LrSchedule::Reference:
      return c.base * (1.0 + std::cos(kPi * double(step) / double(c.t_max))) / 2.0;
    case LrSchedule::WarmupCosine: {
      // Warm-up reaches base at step warmup - 1 (HF's get_cosine_schedule_with_warmup
      // uses (step) / warmup; +1 avoids a wasted first step at lr 0).
      if (step < c.warmup) return c.base * double(step + 1) / double(c.warmup);
      const double span = double(std::max<int64_t>(c.total - c.warmup, 1));
      const double p = std::min(1.0, double(step - c.warmup) / span);
      return c.base * 0.5 * (1.0 + std::cos(kPi * p));
    }
  }
  return c.base;
}

}  // namespace lr
