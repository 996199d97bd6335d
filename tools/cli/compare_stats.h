// The statistics of `aixmalloc compare`: how much faster (or leaner) one configuration is than
// another, as a ratio with a confidence interval that holds for a handful of runs and makes no
// assumption on the shape of the noise (the Hodges-Lehmann estimate and Mann-Whitney interval).
#pragma once

#include <vector>

namespace aixmalloc::cli {

// a's typical value over b's. The estimate is exp of the median of the n*m differences
// ln(a_i) - ln(b_j); the interval runs between two order statistics of those differences, chosen
// from the exact distribution of the Mann-Whitney statistic (a normal approximation past 50 runs
// each), so that it covers the true ratio with probability 1 - alpha whatever the noise's shape,
// as long as the noise of a run does not depend on the configuration's position among the runs.
// `bounded` is false when the samples are too small for that level: no interval exists then.
struct RatioInterval {
  double estimate = 1;
  double low = 0, high = 0;
  bool bounded = false;
  // The interval lies wholly below or wholly above 1.
  bool below_one() const { return bounded && high < 1; }
  bool above_one() const { return bounded && low > 1; }
  bool within(double margin) const {  // wholly inside [1 / (1 + margin), 1 + margin]
    return bounded && low >= 1 / (1 + margin) && high <= 1 + margin;
  }
};

RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b,
                             double alpha);

// The fewest runs of each of two configurations at which an interval at level 1 - alpha exists.
int fewest_runs(double alpha);

double median(std::vector<double> v);

}  // namespace aixmalloc::cli
