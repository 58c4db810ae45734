#pragma once
// Learning-rate schedules, as a function of the optimizer step (0 for the first update).
#include <cstdint>
#include <string>

namespace lr {

enum class LrSchedule {
  WarmupCosine,  // linear warm-up over `warmup` steps, then cosine to 0 at `total` (default)
  Reference,     // the reference's: base * (1 + cos(pi * step / t_max)) / 2, no warm-up
                 // (t_max = 3000 stepped per optimizer step: only falls to ~0.85x in 750)
  Constant,
};

struct LrScheduleConfig {
  LrSchedule kind = LrSchedule::WarmupCosine;
  double base = 2e-4;
  int64_t warmup = 100;
  int64_t total = 750;   // optimizer steps (WarmupCosine)
  int64_t t_max = 3000;  // Reference
  // Parses "cosine" / "reference" / "constant"; throws otherwise.
  static LrSchedule parse(const std::string& s);
};

double lr_at(const LrScheduleConfig& cfg, int64_t step);

}  // namespace lr
