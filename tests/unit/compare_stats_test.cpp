// The interval of `aixmalloc compare` (tools/cli/compare_stats.h): its ranks against the
// Mann-Whitney distribution counted by brute force, the textbook critical values, the fewest runs
// for a level, and what it says of equal and of well-separated samples.
#include "tools/cli/compare_stats.h"

#include <math.h>

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace {

using aixmalloc::cli::fewest_runs;
using aixmalloc::cli::ratio_interval;
using aixmalloc::cli::RatioInterval;

// Samples whose n*m log-differences are all distinct and known: ln a_i = 100 i, ln b_j = j.
std::vector<double> spaced(int n, double step) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) v.push_back(exp(step * i));
  return v;
}

// The rank (1-based) of the interval's lower end among the sorted differences.
int lower_rank(int n, int m, double alpha) {
  RatioInterval r = ratio_interval(spaced(n, 100), spaced(m, 1), alpha);
  if (!r.bounded) return 0;
  std::vector<double> d;
  for (int i = 1; i <= n; ++i)
    for (int j = 1; j <= m; ++j) d.push_back(100.0 * i - j);
  std::sort(d.begin(), d.end());
  return static_cast<int>(std::lower_bound(d.begin(), d.end(), log(r.low) - 1e-6) - d.begin()) + 1;
}

// The largest c with P(U <= c - 1) <= alpha / 2, counting every ordering of n + m values.
int brute_rank(int n, int m, double alpha) {
  std::vector<double> count(n * m + 1, 0);
  std::vector<int> pick(n + m, 0);
  std::fill(pick.begin() + m, pick.end(), 1);  // 1: a value of the first sample
  double total = 0;
  do {
    int u = 0, below = 0;
    for (int x : pick) {  // pairs (a, b) with b below a
      if (x)
        u += below;
      else
        ++below;
    }
    ++count[u];
    ++total;
  } while (std::next_permutation(pick.begin(), pick.end()));
  double cdf = 0;
  int c = 0;
  for (int u = 0; u <= n * m; ++u) {
    cdf += count[u] / total;
    if (cdf > alpha / 2 + 1e-12) break;
    c = u + 1;
  }
  return c;
}

TEST(CompareStats, RanksFollowTheExactDistribution) {
  for (int n = 2; n <= 9; ++n)
    for (int m = 2; m <= 9; ++m)
      for (double alpha : {0.2, 0.05, 0.01, 0.001})
        EXPECT_EQ(lower_rank(n, m, alpha), brute_rank(n, m, alpha))
            << "n " << n << " m " << m << " alpha " << alpha;
}

TEST(CompareStats, TextbookCriticalValues) {
  // Two-sided 5% critical values of U (reject when U <= value): 5+5: 2, 8+8: 13, 10+10: 23; the
  // interval starts one rank above.
  EXPECT_EQ(lower_rank(5, 5, 0.05), 3);
  EXPECT_EQ(lower_rank(8, 8, 0.05), 14);
  EXPECT_EQ(lower_rank(10, 10, 0.05), 24);
}

TEST(CompareStats, FewestRuns) {
  EXPECT_EQ(fewest_runs(0.05), 4);
  EXPECT_EQ(fewest_runs(0.01), 5);
  EXPECT_EQ(fewest_runs(0.001), 7);
  EXPECT_FALSE(ratio_interval(spaced(3, 1), spaced(3, 1), 0.05).bounded);
  EXPECT_TRUE(ratio_interval(spaced(4, 1), spaced(4, 1), 0.05).bounded);
}

TEST(CompareStats, EqualSamplesIncludeNoDifference) {
  std::vector<double> a = {1.02, 0.97, 1.10, 0.99, 1.01, 0.95, 1.04};
  RatioInterval r = ratio_interval(a, a, 0.01);
  ASSERT_TRUE(r.bounded);
  EXPECT_DOUBLE_EQ(r.estimate, 1.0);
  EXPECT_FALSE(r.below_one());
  EXPECT_FALSE(r.above_one());
}

TEST(CompareStats, SeparatedSamplesExcludeNoDifference) {
  std::vector<double> fast = {0.80, 0.82, 0.79, 0.85, 0.81}, slow = {1.00, 1.03, 0.98, 1.01, 1.20};
  RatioInterval r = ratio_interval(fast, slow, 0.01);
  ASSERT_TRUE(r.bounded);
  EXPECT_TRUE(r.below_one());
  EXPECT_NEAR(r.estimate, 0.80, 0.03);
  EXPECT_TRUE(ratio_interval(slow, fast, 0.01).above_one());
  // One sample mixed into the other: not separated.
  std::vector<double> mixed = {0.80, 1.02, 0.79, 1.05, 0.81};
  EXPECT_FALSE(ratio_interval(mixed, slow, 0.01).below_one());
}

TEST(CompareStats, LargeSamplesUseTheNormalApproximation) {
  // 60 runs each, the second 5% slower: the interval (normal approximation) holds 1.05.
  std::vector<double> a, b;
  for (int i = 0; i < 60; ++i) {
    double noise = 1 + 0.02 * ((i * 37) % 11 - 5) / 5.0;
    a.push_back(noise);
    b.push_back(1.05 * (1 + 0.02 * ((i * 53) % 11 - 5) / 5.0));
  }
  RatioInterval r = ratio_interval(b, a, 0.05);
  ASSERT_TRUE(r.bounded);
  EXPECT_LE(r.low, 1.05);
  EXPECT_GE(r.high, 1.05);
  EXPECT_TRUE(r.above_one());
}

}  // namespace
