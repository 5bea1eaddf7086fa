#include "stats/run_set.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/str_format.h"

namespace traceframe::internal {

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  return absl::StrFormat("%.10g", value);
}

std::string JsonNumber(const std::optional<double>& value) {
  return value ? JsonNumber(*value) : "null";
}

SetStats ComputeSetStats(const std::vector<const RunFacts*>& runs,
                         const std::vector<const RunToolFacts*>& tools,
                         const std::string& success_status, const PriceTable* prices) {
  SetStats s;
  s.runs = runs.size();
  double cost = 0;
  for (const RunFacts* r : runs) {
    const bool success = r->status == success_status;
    if (success) ++s.successes;
    if (r->status == "open") ++s.open;
    if (!r->source.empty()) s.hosts.insert(r->source);
    for (const std::string& m : r->models) s.models.insert(m);
    if (!s.first_started_ms || r->started_ms < *s.first_started_ms) {
      s.first_started_ms = r->started_ms;
    }
    if (!s.last_started_ms || r->started_ms > *s.last_started_ms) {
      s.last_started_ms = r->started_ms;
    }
    // Open runs have no duration yet: counting their partial time would pull
    // the percentiles down (docs/compare.md, "When not to trust it").
    if (r->duration_ms && r->status != "open") {
      s.durations_ms.push_back(static_cast<double>(*r->duration_ms));
    }
    if (r->usage) {
      ++s.usage_runs;
      s.usage_total.input_tokens += r->usage->input_tokens;
      s.usage_total.cached_input_tokens += r->usage->cached_input_tokens;
      s.usage_total.output_tokens += r->usage->output_tokens;
      s.usage_total.reasoning_tokens += r->usage->reasoning_tokens;
      if (prices != nullptr) {
        // A run is priced when it used exactly one model with a price: the
        // ledger holds run totals, which cannot be split across models.
        const ModelPrice* price = nullptr;
        if (r->models.size() == 1) {
          auto it = prices->find(r->models[0]);
          if (it != prices->end()) price = &it->second;
        }
        if (price != nullptr) {
          const RunUsage& u = *r->usage;
          const uint64_t cached = std::min(u.cached_input_tokens, u.input_tokens);
          cost += (static_cast<double>(u.input_tokens - cached) * price->input +
                   static_cast<double>(cached) * price->cached_input +
                   static_cast<double>(u.output_tokens) * price->output) /
                  1e6;
          ++s.priced_runs;
          if (success) ++s.priced_successes;
        } else {
          for (const std::string& m : r->models) {
            if (prices->find(m) == prices->end()) s.unpriced_models.insert(m);
          }
          if (r->models.empty()) s.unpriced_models.insert("(unknown model)");
          if (r->models.size() > 1) s.unpriced_models.insert("(several models in one run)");
        }
      }
    }
    s.model_calls += r->model_calls;
    s.tool_calls += r->tool_calls;
    s.tool_failures += r->tool_failures;
    s.errors += r->errors;
    s.deviations += r->deviations;
  }
  for (const RunToolFacts* t : tools) {
    if (t == nullptr) continue;
    s.denies += t->denies;
    s.compactions += t->compactions;
  }
  if (prices != nullptr && s.priced_runs > 0) s.cost_total = cost;
  if (s.runs > 0) {
    s.success_rate = static_cast<double>(s.successes) / static_cast<double>(s.runs);
  }
  s.success_ci = WilsonInterval(s.successes, s.runs);
  std::sort(s.durations_ms.begin(), s.durations_ms.end());
  s.p50_ms = NearestRank(s.durations_ms, 50);
  s.p95_ms = NearestRank(s.durations_ms, 95);
  s.p95_too_few = !s.durations_ms.empty() && s.durations_ms.size() < kMinRunsForP95;
  if (s.tool_calls > 0) {
    const uint64_t failures = std::min(s.tool_failures, s.tool_calls);
    s.tool_failure_rate = static_cast<double>(failures) / static_cast<double>(s.tool_calls);
    s.tool_failure_ci = WilsonInterval(failures, s.tool_calls);
  }
  return s;
}

namespace {

void AddSide(const std::vector<const RunToolFacts*>& runs, uint64_t n, bool second,
             std::map<std::string, ToolRow>* rows) {
  for (const RunToolFacts* r : runs) {
    if (r == nullptr) continue;
    for (const auto& [name, f] : r->tools) {
      ToolRow& row = (*rows)[name];
      ToolSide& side = second ? row.b : row.a;
      side.calls += f.calls;
      side.results += f.results;
      side.failures += f.failures;
      side.latencies_ms.insert(side.latencies_ms.end(), f.latencies_ms.begin(),
                               f.latencies_ms.end());
      for (const auto& [text, count] : f.errors) side.errors[text] += count;
    }
  }
  for (auto& [name, row] : *rows) (second ? row.b : row.a).runs = n;
}

double PerRun(uint64_t count, uint64_t runs) {
  return runs == 0 ? 0 : static_cast<double>(count) / static_cast<double>(runs);
}

double FailureRate(const ToolSide& s) {
  return s.results == 0 ? 0 : static_cast<double>(s.failures) / static_cast<double>(s.results);
}

}  // namespace

std::vector<ToolRow> BuildToolRows(const std::vector<const RunToolFacts*>& a, uint64_t runs_a,
                                   const std::vector<const RunToolFacts*>& b, uint64_t runs_b) {
  std::map<std::string, ToolRow> rows;
  AddSide(a, runs_a, false, &rows);
  AddSide(b, runs_b, true, &rows);
  std::vector<ToolRow> out;
  out.reserve(rows.size());
  for (auto& [name, row] : rows) {
    row.tool = name;
    row.a.runs = runs_a;
    row.b.runs = runs_b;
    std::sort(row.a.latencies_ms.begin(), row.a.latencies_ms.end());
    std::sort(row.b.latencies_ms.begin(), row.b.latencies_ms.end());
    // Relative change of calls per run plus the absolute change of the
    // failure rate: both in "fractions", so a tool called twice as often and
    // one failing 100 pp more weigh the same.
    const double ca = PerRun(row.a.calls, runs_a);
    const double cb = PerRun(row.b.calls, runs_b);
    const double calls_change = std::fabs(cb - ca) / std::max({ca, cb, 1e-9});
    row.change = calls_change + std::fabs(FailureRate(row.b) - FailureRate(row.a));
    out.push_back(std::move(row));
  }
  std::stable_sort(out.begin(), out.end(), [](const ToolRow& x, const ToolRow& y) {
    return std::tie(y.change, x.tool) < std::tie(x.change, y.tool);
  });
  return out;
}

namespace {

struct TaskSide {
  uint64_t trials = 0, successes = 0;
  std::vector<std::string> runs;
  // A task passes on a side when more than half of its trials succeed (one
  // trial: that trial). docs/compare.md, "Paired runs".
  bool Passed() const { return 2 * successes > trials; }
};

std::map<std::string, TaskSide> Tasks(const std::vector<const RunFacts*>& runs,
                                      const std::string& key, const std::string& success_status) {
  std::map<std::string, TaskSide> tasks;
  for (const RunFacts* r : runs) {
    auto it = r->labels.find(key);
    if (it == r->labels.end()) continue;
    TaskSide& t = tasks[it->second];
    ++t.trials;
    if (r->status == success_status) ++t.successes;
    t.runs.push_back(r->run_id);
  }
  return tasks;
}

}  // namespace

PairedStats ComputePaired(const std::vector<const RunFacts*>& a,
                          const std::vector<const RunFacts*>& b, const std::string& key,
                          const std::string& success_status) {
  PairedStats p;
  p.key = key;
  std::map<std::string, TaskSide> ta = Tasks(a, key, success_status);
  std::map<std::string, TaskSide> tb = Tasks(b, key, success_status);
  double at_a = 0, at_b = 0, hat_a = 0, hat_b = 0;
  for (const auto& [task, side] : ta) {
    if (tb.find(task) == tb.end()) ++p.unmatched_a;
  }
  // First pass: the trial counts, for k.
  for (const auto& [task, sb] : tb) {
    auto it = ta.find(task);
    if (it == ta.end()) {
      ++p.unmatched_b;
      continue;
    }
    const uint64_t lo = std::min(it->second.trials, sb.trials);
    const uint64_t hi = std::max(it->second.trials, sb.trials);
    p.min_trials = p.tasks == 0 ? lo : std::min(p.min_trials, lo);
    p.max_trials = std::max(p.max_trials, hi);
    ++p.tasks;
  }
  const uint64_t k = p.min_trials;
  for (const auto& [task, sb] : tb) {
    auto it = ta.find(task);
    if (it == ta.end()) continue;
    const TaskSide& sa = it->second;
    const bool pa = sa.Passed(), pb = sb.Passed();
    if (pa && pb) ++p.both;
    if (!pa && !pb) ++p.neither;
    if (pa != pb) {
      if (pa)
        ++p.broke;
      else
        ++p.fixed;
      p.flipped.push_back(FlippedTask{task, pa, sa.runs, sb.runs});
    }
    if (p.max_trials > 1 && k > 0) {
      at_a += PassAtK(sa.trials, sa.successes, k).value_or(0);
      at_b += PassAtK(sb.trials, sb.successes, k).value_or(0);
      hat_a += PassHatK(sa.trials, sa.successes, k).value_or(0);
      hat_b += PassHatK(sb.trials, sb.successes, k).value_or(0);
    }
  }
  p.mcnemar_p = McNemarExactP(p.fixed, p.broke);
  p.delta_ci = NewcombePairedDifference(p.both, p.broke, p.fixed, p.neither);
  if (p.max_trials > 1 && k > 0 && p.tasks > 0) {
    const double n = static_cast<double>(p.tasks);
    p.pass_at_k_a = at_a / n;
    p.pass_at_k_b = at_b / n;
    p.pass_hat_k_a = hat_a / n;
    p.pass_hat_k_b = hat_b / n;
  }
  std::stable_sort(p.flipped.begin(), p.flipped.end(),
                   [](const FlippedTask& x, const FlippedTask& y) {
                     return std::tie(y.regression, x.task) < std::tie(x.regression, y.task);
                   });
  return p;
}

}  // namespace traceframe::internal
