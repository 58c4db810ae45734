#pragma once
// Timing on a shared machine: one noisy moment should not decide a comparison, so the
// sides being compared (routed vs all blocks open, say) are measured in turn, round after
// round, and each keeps its best. One loop for eval's wall clock, `bench` and the demo.
#include <algorithm>
#include <array>
#include <utility>

namespace lr {

// measure(side) for side = 0 .. sides-1 (sides is 1 or 2), `rounds` times (at least once)
// in that order; keep(best, r) folds a later result r into the side's best so far.
template <class R, class Measure, class Keep>
std::array<R, 2> best_of_alternating(int rounds, int sides, Measure&& measure, Keep&& keep) {
  std::array<R, 2> best{};
  for (int round = 0; round < std::max(1, rounds); ++round)
    for (int side = 0; side < sides; ++side) {
      R r = measure(side);
      if (round == 0)
        best[size_t(side)] = std::move(r);
      else
        keep(best[size_t(side)], r);
    }
  return best;
}

}  // namespace lr
