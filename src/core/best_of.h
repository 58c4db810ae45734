#pragma once
// Timing on a shared machine: one noisy moment should not decide a comparison, so the
// sides being compared (routed vs all blocks open, say) are measured in turn, round after
// round, and each keeps its best. One loop for eval's wall clock, `bench` and the demo.
#include <algorithm>
#include <array>
#include <utility>

namespace lr {

// measure_round() measures every side once (in whatever interleaving it chooses: `bench`'s
// decode takes a few tokens of each side in turn) and returns their results; that `rounds`
// times (at least once). keep(best, r) folds a later result r into the side's best so far;
// the first round's results are taken as they are. Sides beyond `sides` (1 or 2) stay empty.
template <class R, class MeasureRound, class Keep>
std::array<R, 2> best_of_rounds(int rounds, int sides, MeasureRound&& measure_round, Keep&& keep) {
  std::array<R, 2> best{};
  for (int round = 0; round < std::max(1, rounds); ++round) {
    std::array<R, 2> r = measure_round();
    for (int side = 0; side < sides; ++side)
      if (round == 0)
        best[size_t(side)] = std::move(r[size_t(side)]);
      else
        keep(best[size_t(side)], r[size_t(side)]);
  }
  return best;
}

// The same, each round being measure(side) for side = 0 .. sides-1 in that order.
template <class R, class Measure, class Keep>
std::array<R, 2> best_of_alternating(int rounds, int sides, Measure&& measure, Keep&& keep) {
  return best_of_rounds<R>(
      rounds, sides,
      [&] {
        std::array<R, 2> r{};
        for (int side = 0; side < sides; ++side) r[size_t(side)] = measure(side);
        return r;
      },
      keep);
}

}  // namespace lr
