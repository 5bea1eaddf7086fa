#include "stats/statistics.h"

#include <algorithm>
#include <cmath>

namespace traceframe::internal {
namespace {

// log C(n, k) through lgamma: exact enough (1e-12 relative) for the
// discordant counts of tens of thousands of tasks, where C(n, k) overflows.
double LogChoose(uint64_t n, uint64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

// C(a, k) / C(b, k) for a <= b, as a product of k ratios (no overflow, exact
// to rounding for the small k of repeated trials).
double ChooseRatio(uint64_t a, uint64_t b, uint64_t k) {
  if (k > a) return 0;
  double r = 1;
  for (uint64_t i = 0; i < k; ++i) {
    r *= static_cast<double>(a - i) / static_cast<double>(b - i);
  }
  return r;
}

}  // namespace

std::optional<Interval> WilsonInterval(uint64_t successes, uint64_t n) {
  if (n == 0) return std::nullopt;
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = kZ95 * kZ95;
  const double denom = 1 + z2 / nn;
  const double center = (p + z2 / (2 * nn)) / denom;
  const double half = kZ95 / denom * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  // At p = 0 or 1 the limit equals 0 or 1 mathematically; clamp the rounding.
  return Interval{std::max(0.0, successes == 0 ? 0.0 : center - half),
                  std::min(1.0, successes == n ? 1.0 : center + half)};
}

std::optional<Interval> NewcombeDifference(uint64_t successes_a, uint64_t n_a, uint64_t successes_b,
                                           uint64_t n_b) {
  std::optional<Interval> wa = WilsonInterval(successes_a, n_a);
  std::optional<Interval> wb = WilsonInterval(successes_b, n_b);
  if (!wa || !wb) return std::nullopt;
  const double pa = static_cast<double>(successes_a) / static_cast<double>(n_a);
  const double pb = static_cast<double>(successes_b) / static_cast<double>(n_b);
  const double d = pb - pa;
  return Interval{d - std::hypot(pb - wb->lo, wa->hi - pa),
                  d + std::hypot(wb->hi - pb, pa - wa->lo)};
}

std::optional<Interval> NewcombePairedDifference(uint64_t both, uint64_t a_only, uint64_t b_only,
                                                 uint64_t neither) {
  const uint64_t n = both + a_only + b_only + neither;
  if (n == 0) return std::nullopt;
  const uint64_t sa = both + a_only;
  const uint64_t sb = both + b_only;
  const Interval wa = *WilsonInterval(sa, n);
  const Interval wb = *WilsonInterval(sb, n);
  const double nn = static_cast<double>(n);
  const double pa = static_cast<double>(sa) / nn;
  const double pb = static_cast<double>(sb) / nn;
  // phi of the 2x2 table; 0 when a margin is empty (Newcombe 1998b).
  const double margins = static_cast<double>(sa) * static_cast<double>(n - sa) *
                         static_cast<double>(sb) * static_cast<double>(n - sb);
  const double phi = margins == 0 ? 0
                                  : (static_cast<double>(both) * static_cast<double>(neither) -
                                     static_cast<double>(a_only) * static_cast<double>(b_only)) /
                                        std::sqrt(margins);
  const double d = pb - pa;
  const double dl = (pb - wb.lo) * (pb - wb.lo) - 2 * phi * (pb - wb.lo) * (wa.hi - pa) +
                    (wa.hi - pa) * (wa.hi - pa);
  const double du = (wb.hi - pb) * (wb.hi - pb) - 2 * phi * (wb.hi - pb) * (pa - wa.lo) +
                    (pa - wa.lo) * (pa - wa.lo);
  return Interval{d - std::sqrt(std::max(0.0, dl)), d + std::sqrt(std::max(0.0, du))};
}

double McNemarExactP(uint64_t b, uint64_t c) {
  const uint64_t n = b + c;
  if (n == 0) return 1;
  const uint64_t k = std::min(b, c);
  // Sum the lower tail in log space, scaled by its largest term (i = k).
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  const double top = LogChoose(n, k);
  double sum = 0;
  for (uint64_t i = 0; i <= k; ++i) sum += std::exp(LogChoose(n, i) - top);
  const double p = 2 * std::exp(top + log_half_n) * sum;
  return std::min(1.0, p);
}

std::optional<double> NearestRank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nullopt;
  const double n = static_cast<double>(sorted.size());
  // The small epsilon keeps ceil(0.95 * 20) at 19, not 20, despite rounding.
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100 * n - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::optional<double> PassAtK(uint64_t n, uint64_t c, uint64_t k) {
  if (k == 0 || k > n || c > n) return std::nullopt;
  return 1 - ChooseRatio(n - c, n, k);
}

std::optional<double> PassHatK(uint64_t n, uint64_t c, uint64_t k) {
  if (k == 0 || k > n || c > n) return std::nullopt;
  return ChooseRatio(c, n, k);
}

}  // namespace traceframe::internal
