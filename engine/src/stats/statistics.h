// The statistics behind `stats` and `compare` (docs/compare.md, "What each
// number means"). Pure functions, no I/O, thread-safe.
#ifndef TRACEFRAME_ENGINE_SRC_STATS_STATISTICS_H_
#define TRACEFRAME_ENGINE_SRC_STATS_STATISTICS_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace traceframe::internal {

// The 0.975 quantile of the standard normal: every interval here is 95%.
inline constexpr double kZ95 = 1.959963984540054;

struct Interval {
  double lo = 0;
  double hi = 0;
};

// Wilson score interval for `successes` out of `n`. nullopt when n == 0 (a
// rate of nothing has no interval; the reports print null, not [0, 1]).
std::optional<Interval> WilsonInterval(uint64_t successes, uint64_t n);

// Newcombe's hybrid score interval (Newcombe 1998, method 10) for p_b - p_a
// of two independent proportions. nullopt when either n is 0.
std::optional<Interval> NewcombeDifference(uint64_t successes_a, uint64_t n_a, uint64_t successes_b,
                                           uint64_t n_b);

// Newcombe's interval for the difference of paired proportions (Newcombe
// 1998b, method 10: Wilson limits combined with the phi correlation), for
// p_b - p_a over tasks. Cells: both pass, a only (b broke), b only (b fixed),
// neither. nullopt when there are no tasks.
std::optional<Interval> NewcombePairedDifference(uint64_t both, uint64_t a_only, uint64_t b_only,
                                                 uint64_t neither);

// Exact McNemar test: two-sided binomial p-value of the discordant counts
// under p = 1/2, min(1, 2 * P(X <= min(b, c))). 1 when there are none.
double McNemarExactP(uint64_t b, uint64_t c);

// Nearest-rank percentile (0 < p <= 100) of `sorted` (ascending): the value
// at rank ceil(p/100 * n). nullopt when empty.
std::optional<double> NearestRank(const std::vector<double>& sorted, double p);

// Below this many values the nearest-rank p95 is the maximum, so the reports
// say so (ceil(0.95 n) == n for every n < 20).
inline constexpr uint64_t kMinRunsForP95 = 20;

// pass@k (Chen et al. 2021, unbiased): the probability that at least one of
// k trials drawn without replacement from n (c of which succeeded) succeeds:
// 1 - C(n-c, k) / C(n, k). nullopt when k == 0 or k > n.
std::optional<double> PassAtK(uint64_t n, uint64_t c, uint64_t k);

// pass^k (Yao et al. 2024, tau-bench): the probability that all k drawn
// trials succeed: C(c, k) / C(n, k). nullopt when k == 0 or k > n.
std::optional<double> PassHatK(uint64_t n, uint64_t c, uint64_t k);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_STATS_STATISTICS_H_
