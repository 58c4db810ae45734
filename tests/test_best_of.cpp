// core/best_of.h: the sides are measured in turn, round after round, and each keeps its best.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/best_of.h"

namespace lr {
namespace {

TEST(BestOfAlternating, AlternatesSidesAndKeepsEachBest) {
  std::vector<int> order;
  const double times[2][3] = {{3.0, 1.0, 2.0}, {0.5, 4.0, 0.25}};
  int seen[2] = {0, 0};
  const auto best = best_of_alternating<double>(
      3, 2,
      [&](int side) {
        order.push_back(side);
        return times[side][seen[side]++];
      },
      [](double& b, double r) { b = std::min(b, r); });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(best[0], 1.0);
  EXPECT_EQ(best[1], 0.25);
}

TEST(BestOfAlternating, OneSideAndAtLeastOneRound) {
  int calls = 0;
  auto measure = [&](int side) {
    EXPECT_EQ(side, 0);
    return std::string(size_t(++calls), 'x');
  };
  // keep is never called for the first round: the first result is taken as it is.
  auto keep = [](std::string& b, const std::string& r) { b += "|" + r; };
  const auto once = best_of_alternating<std::string>(0, 1, measure, keep);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(once[0], "x");
  calls = 0;
  const auto twice = best_of_alternating<std::string>(2, 1, measure, keep);
  EXPECT_EQ(twice[0], "x|xx");
  EXPECT_TRUE(twice[1].empty());
}

}  // namespace
}  // namespace lr
