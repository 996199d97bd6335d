// The Hodges-Lehmann ratio and the exact Mann-Whitney interval on the logarithms of run times:
// run times are skewed and hit by outliers (another process takes the CPU), which a t interval
// handles badly with five runs, and a bootstrap of a median of five is too coarse.
#include "tools/cli/compare_stats.h"

#include <math.h>

#include <algorithm>

namespace aixmalloc::cli {

namespace {

// Up to this many pairs the Mann-Whitney distribution is computed exactly.
constexpr size_t kExactPairs = 2500;

// P(U <= u) for u = 0 .. n*m under the null hypothesis (both samples from one distribution):
// the number of orderings giving U = u is the coefficient of q^u in the Gaussian binomial
// [n+m choose n], built as the product over k of (1 - q^(m+k)) / (1 - q^k).
std::vector<double> mann_whitney_cdf(size_t n, size_t m) {
  size_t top = n * m;
  std::vector<double> c(top + 1, 0.0);
  c[0] = 1;
  // Only the coefficients up to n*m are kept: a lower one never depends on a higher one.
  for (size_t k = 1; k <= n; ++k) {
    for (size_t u = top; u >= m + k && u <= top; --u) c[u] -= c[u - (m + k)];
    for (size_t u = k; u <= top; ++u) c[u] += c[u - k];
  }
  double total = 0;
  for (double& x : c) x = total += x;
  for (double& x : c) x /= total;
  return c;
}

// z such that a standard normal exceeds it with probability p.
double upper_quantile(double p) {
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    (0.5 * erfc(mid / sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return lo;
}

// The largest c >= 1 with P(U <= c - 1) <= alpha / 2; 0 when there is none.
size_t order_for(size_t n, size_t m, double alpha) {
  if (n * m <= kExactPairs) {
    std::vector<double> cdf = mann_whitney_cdf(n, m);
    size_t c = 0;
    while (c < cdf.size() && cdf[c] <= alpha / 2 * (1 + 1e-9)) ++c;
    return c;
  }
  double nm = static_cast<double>(n * m);
  double sigma = sqrt(nm * static_cast<double>(n + m + 1) / 12);
  double c = floor(nm / 2 + 0.5 - upper_quantile(alpha / 2) * sigma);
  return c < 1 ? 0 : static_cast<size_t>(c);
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b,
                             double alpha) {
  RatioInterval r;
  if (a.empty() || b.empty()) return r;
  std::vector<double> d;
  d.reserve(a.size() * b.size());
  for (double x : a)
    for (double y : b) d.push_back(log(std::max(x, 1e-12)) - log(std::max(y, 1e-12)));
  std::sort(d.begin(), d.end());
  r.estimate = exp(median(d));
  size_t c = order_for(a.size(), b.size(), alpha);
  if (c == 0 || c > d.size() - c + 1) return r;
  r.low = exp(d[c - 1]);
  r.high = exp(d[d.size() - c]);
  r.bounded = true;
  return r;
}

int fewest_runs(double alpha) {
  double ways = 2;  // C(2n, n) for n = 1
  for (int n = 1; n < 100; ++n) {
    if (2 / ways <= alpha * (1 + 1e-9)) return n;
    ways = ways * (2 * n + 1) * (2 * n + 2) / ((n + 1.0) * (n + 1.0));
  }
  return 100;
}

}  // namespace aixmalloc::cli
