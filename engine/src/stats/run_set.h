// Internal: the figures of one set of runs, the per-tool table and the
// paired analysis behind `stats` and `compare` (docs/compare.md).
#ifndef TRACEFRAME_ENGINE_SRC_STATS_RUN_SET_H_
#define TRACEFRAME_ENGINE_SRC_STATS_RUN_SET_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stats/statistics.h"
#include "traceframe/compare.h"

namespace traceframe::internal {

struct SetStats {
  uint64_t runs = 0;
  uint64_t successes = 0;
  uint64_t open = 0;
  std::optional<double> success_rate;
  std::optional<Interval> success_ci;
  std::set<std::string> hosts;
  std::set<std::string> models;
  std::optional<int64_t> first_started_ms, last_started_ms;
  std::vector<double> durations_ms;  // sorted, finished runs only
  std::optional<double> p50_ms, p95_ms;
  bool p95_too_few = false;
  uint64_t usage_runs = 0;  // runs that record usage
  RunUsage usage_total;
  std::optional<double> cost_total;  // over priced runs
  uint64_t priced_runs = 0, priced_successes = 0;
  std::set<std::string> unpriced_models;
  uint64_t model_calls = 0, tool_calls = 0, tool_failures = 0, errors = 0, deviations = 0,
           denies = 0, compactions = 0;
  std::optional<double> tool_failure_rate;
  std::optional<Interval> tool_failure_ci;
};

SetStats ComputeSetStats(const std::vector<const RunFacts*>& runs,
                         const std::vector<const RunToolFacts*>& tools,
                         const std::string& success_status, const PriceTable* prices);

struct ToolSide {
  uint64_t runs = 0;  // runs in the set (calls per run divides by this)
  uint64_t calls = 0, results = 0, failures = 0;
  std::vector<double> latencies_ms;  // sorted
  std::map<std::string, uint64_t> errors;
};

struct ToolRow {
  std::string tool;
  ToolSide a, b;
  double change = 0;  // the sort key: |calls/run change| + |failure rate change|
};

// Aggregates per-run tool facts; rows sorted by change, largest first.
std::vector<ToolRow> BuildToolRows(const std::vector<const RunToolFacts*>& a, uint64_t runs_a,
                                   const std::vector<const RunToolFacts*>& b, uint64_t runs_b);

struct FlippedTask {
  std::string task;
  bool regression = false;  // passed on the baseline, fails on the candidate
  std::vector<std::string> baseline_runs, candidate_runs;
};

struct PairedStats {
  std::string key;
  uint64_t tasks = 0;                         // tasks with runs on both sides
  uint64_t unmatched_a = 0, unmatched_b = 0;  // tasks on one side only
  uint64_t both = 0, neither = 0, fixed = 0, broke = 0;
  double mcnemar_p = 1;
  std::optional<Interval> delta_ci;
  uint64_t min_trials = 0, max_trials = 0;
  std::optional<double> pass_at_k_a, pass_at_k_b, pass_hat_k_a, pass_hat_k_b;
  std::vector<FlippedTask> flipped;  // regressions first, then by task
};

PairedStats ComputePaired(const std::vector<const RunFacts*>& a,
                          const std::vector<const RunFacts*>& b, const std::string& key,
                          const std::string& success_status);

// Number formatting shared by the reports: JSON numbers (null for NaN/inf).
std::string JsonNumber(double value);
std::string JsonNumber(const std::optional<double>& value);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_STATS_RUN_SET_H_
