// core/best_of.h: the sides are measured in turn, round after round, and each keeps its best.
#include <gtest/gtest.h>

#include <array>
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

TEST(BestOfRounds, EachRoundMeasuresBothSidesAndEachKeepsItsBest) {
  // A round that interleaves the sides itself (bench's decode, 8 tokens of each in turn).
  int round = 0;
  const double times[3][2] = {{2.0, 5.0}, {1.0, 6.0}, {3.0, 4.0}};
  const auto best = best_of_rounds<double>(
      3, 2,
      [&] {
        const auto& t = times[round++];
        return std::array<double, 2>{t[0], t[1]};
      },
      [](double& b, double r) { b = std::min(b, r); });
  EXPECT_EQ(round, 3);
  EXPECT_EQ(best[0], 1.0);
  EXPECT_EQ(best[1], 4.0);
  // One side: the second result is never kept; zero rounds still measure once.
  round = 0;
  const auto one = best_of_rounds<double>(
      0, 1,
      [&] {
        return std::array<double, 2>{double(++round), 9.0};
      },
      [](double& b, double r) { b = std::min(b, r); });
  EXPECT_EQ(round, 1);
  EXPECT_EQ(one[0], 1.0);
  EXPECT_EQ(one[1], 0.0);
}

}  // namespace
}  // namespace lr
