// `stats` and `compare`: loading and selecting runs, the per-tool pass, and
// the reports (JSON contract, text, HTML). docs/compare.md describes every
// figure; the statistics are in stats/statistics.cc.
#include "traceframe/compare.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "simdjson.h"
#include "stats/run_set.h"
#include "stats/statistics.h"
#include "traceframe/json.h"
#include "traceframe/render.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"
#include "util/file_util.h"
#include "util/parallel.h"
#include "util/progress.h"

namespace traceframe {

using internal::ComputePaired;
using internal::ComputeSetStats;
using internal::Interval;
using internal::JsonNumber;
using internal::PairedStats;
using internal::SetStats;
using internal::ToolRow;
using internal::ToolSide;

RunFacts RunFactsFromLedger(const LedgerEntry& e) {
  RunFacts r;
  r.run_id = e.run_id;
  r.trace_path = e.trace_path;
  r.status = e.status;
  r.started_ms = e.started_ms;
  r.duration_ms = e.duration_ms;
  r.model_calls = e.model_calls;
  r.tool_calls = e.tool_calls;
  r.tool_failures = e.tool_failures;
  r.errors = e.errors;
  r.deviations = e.deviations;
  r.source = e.source;
  r.labels = e.labels;
  r.models = e.models;
  // No counts at all means the trace recorded no usage: left out of the
  // per-run means rather than counted as zero tokens.
  if (e.usage.any()) {
    r.usage = RunUsage{e.usage.input_tokens, e.usage.cache_read_input_tokens, e.usage.output_tokens,
                       e.usage.reasoning_output_tokens};
  }
  return r;
}

absl::StatusOr<Selection> ParseSelection(std::string_view text) {
  Selection sel;
  sel.text = std::string(text);
  if (text.empty()) return absl::InvalidArgumentError("empty selection");
  std::error_code ec;
  const std::filesystem::path path{std::string(text)};
  if (std::filesystem::is_directory(path, ec)) {
    sel.kind = Selection::Kind::kDirectory;
    sel.path = sel.text;
    return sel;
  }
  if (std::filesystem::is_regular_file(path, ec)) {
    sel.kind = Selection::Kind::kLedger;
    sel.path = sel.text;
    return sel;
  }
  for (absl::string_view part_view : absl::StrSplit(ToAbsl(text), ',')) {
    const std::string_view part = ToStd(part_view);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(Cat(
          "selection '", text, "' is neither K=V[,K=V...] nor an existing directory or ledger"));
    }
    sel.labels.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
  }
  return sel;
}

bool MatchesLabels(const RunFacts& run,
                   const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& [k, v] : labels) {
    auto it = run.labels.find(k);
    if (it == run.labels.end() || it->second != v) return false;
  }
  return true;
}

absl::StatusOr<std::vector<RunFacts>> LoadRunsFromLedger(const std::string& path) {
  absl::StatusOr<std::vector<LedgerEntry>> entries = ReadLedger(path);
  if (!entries.ok()) return entries.status();
  std::vector<RunFacts> runs;
  runs.reserve(entries->size());
  for (const LedgerEntry& e : *entries) runs.push_back(RunFactsFromLedger(e));
  return runs;
}

absl::StatusOr<std::vector<RunFacts>> LoadRunsFromDirectory(const std::string& dir,
                                                            const std::string& ledger,
                                                            std::vector<std::string>* warnings) {
  LedgerRebuildOptions options;
  options.dir = dir;
  // The ledger of a directory lives in it (never outside what the user
  // named); a rebuild leaves ledgers out of the runs.
  options.out =
      ledger.empty() ? (std::filesystem::path(dir) / "ledger.traceframe").string() : ledger;
  absl::StatusOr<LedgerRebuildResult> rebuilt = RebuildLedger(options);
  if (!rebuilt.ok()) return rebuilt.status();
  if (warnings != nullptr) {
    for (const SkippedTrace& s : rebuilt->skipped) {
      warnings->push_back(Cat("skipped ", s.path, ": ", s.reason));
    }
  }
  std::vector<RunFacts> runs;
  runs.reserve(rebuilt->entries.size());
  for (const LedgerEntry& e : rebuilt->entries) runs.push_back(RunFactsFromLedger(e));
  return runs;
}

absl::StatusOr<PriceTable> ParsePrices(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("prices: not valid JSON");
  }
  simdjson::dom::object models;
  if (root["models"].get_object().get(models) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("prices: expected {\"models\": {NAME: {...}}}");
  }
  PriceTable table;
  for (auto field : models) {
    const std::string name(field.key);
    ModelPrice price;
    bool has_cached = false;
    simdjson::dom::object o;
    if (field.value.get_object().get(o) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(Cat("prices: model '", name, "' is not an object"));
    }
    for (auto [key, value] : o) {
      double v = 0;
      if (value.get_double().get(v) != simdjson::SUCCESS || v < 0 || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            Cat("prices: ", name, ".", key, " is not a non-negative number"));
      }
      if (key == "input") {
        price.input = v;
      } else if (key == "cached_input") {
        price.cached_input = v;
        has_cached = true;
      } else if (key == "output") {
        price.output = v;
      }
    }
    if (!has_cached) price.cached_input = price.input;
    table[name] = price;
  }
  return table;
}

absl::Status WriteReportFile(const std::string& path, std::string_view contents) {
  return WriteFileAtomically(path, contents);
}

namespace {

std::optional<std::string_view> StringAt(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  if (e[key].get_string().get(s) == simdjson::SUCCESS) return s;
  return std::nullopt;
}

std::string ErrorText(simdjson::dom::element payload) {
  std::optional<std::string_view> text = StringAt(payload, "error");
  if (!text) {
    simdjson::dom::element err;
    if (payload["error"].get(err) == simdjson::SUCCESS) text = StringAt(err, "message");
  }
  if (!text) text = StringAt(payload, "stderr_preview");
  if (!text || text->empty()) return "(no error text)";
  std::string_view first = *text;
  first = first.substr(0, first.find('\n'));
  bool truncated = false;
  std::string out = TruncateUtf8Chars(first, 120, &truncated);
  if (truncated) out += "...";
  return out;
}

RunToolFacts ReadOne(const std::string& path, simdjson::dom::parser& parser, bool* ok) {
  RunToolFacts facts;
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(path);
  if (!reader.ok()) {
    *ok = false;
    return facts;
  }
  // Results pair with the oldest pending call of the same tool (FIFO): hosts
  // that run tools in parallel still finish each call after starting it.
  std::map<std::string, std::deque<int64_t>> pending;
  (*reader)->ScanAll([&](const EventView& e) {
    if (e.kind != EventKind::kToolCall && e.kind != EventKind::kToolResult &&
        e.kind != EventKind::kPermissionDecision && e.kind != EventKind::kModelCall) {
      return true;
    }
    std::string_view raw = RawPayload(e.line);
    // Most model calls are not compactions: only those that name one are
    // parsed (and then checked field by field, not by the text).
    if (e.kind == EventKind::kModelCall && raw.find("compaction") == std::string_view::npos) {
      return true;
    }
    simdjson::dom::element payload;
    if (parser.parse(raw.data(), raw.size()).get(payload) != simdjson::SUCCESS) return true;
    if (e.kind == EventKind::kModelCall) {
      if (StringAt(payload, "operation") == std::optional<std::string_view>("compaction")) {
        ++facts.compactions;
      }
      return true;
    }
    if (e.kind == EventKind::kPermissionDecision) {
      std::optional<std::string_view> d = StringAt(payload, "decision");
      if (d && (*d == "deny" || *d == "denied" || *d == "block" || *d == "blocked")) {
        ++facts.denies;
      }
      return true;
    }
    std::string tool(StringAt(payload, "tool").value_or("(unnamed)"));
    ToolFacts& t = facts.tools[tool];
    if (e.kind == EventKind::kToolCall) {
      ++t.calls;
      pending[tool].push_back(e.ts_ms);
      return true;
    }
    ++t.results;
    std::optional<int64_t> call_ts;
    auto& queue = pending[tool];
    if (!queue.empty()) {
      call_ts = queue.front();
      queue.pop_front();
    }
    double duration = 0;
    if (payload["duration_ms"].get_double().get(duration) == simdjson::SUCCESS && duration >= 0) {
      t.latencies_ms.push_back(duration);
    } else if (call_ts) {
      t.latencies_ms.push_back(static_cast<double>(e.ts_ms - *call_ts));
    }
    if (e.tool_failed) {
      ++t.failures;
      ++t.errors[ErrorText(payload)];
    }
    return true;
  });
  *ok = true;
  return facts;
}

}  // namespace

std::vector<RunToolFacts> ReadToolFacts(
    const std::vector<std::string>& paths, int threads, std::vector<std::string>* unreadable,
    const std::function<void(uint64_t done, uint64_t total)>& progress) {
  std::vector<RunToolFacts> out(paths.size());
  std::vector<char> ok(paths.size(), 1);
  internal::ProgressMeter meter(progress, paths.size());
  internal::WorkQueue queue(paths.size());
  // A worker per 16 traces at most: threads cost more than small sets save.
  const size_t workers = internal::WorkerCount(threads, paths.size() / 16 + 1);
  internal::RunOnWorkers(workers, [&] {
    simdjson::dom::parser parser;
    for (size_t i; queue.Next(&i);) {
      bool good = true;
      out[i] = ReadOne(paths[i], parser, &good);
      ok[i] = good ? 1 : 0;
      meter.Add(1);
    }
  });
  if (unreadable != nullptr) {
    for (size_t i = 0; i < paths.size(); ++i) {
      if (!ok[i]) unreadable->push_back(paths[i]);
    }
  }
  return out;
}

namespace {

// ---- shared formatting -------------------------------------------------

// Terminal output never carries control characters from a trace.
std::string Safe(std::string_view text) {
  std::string out;
  for (unsigned char c : SanitizeUtf8(text)) {
    if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string Pct(const std::optional<double>& v) {
  return v ? absl::StrFormat("%.1f%%", *v * 100) : "n/a";
}
std::string Ci(const std::optional<Interval>& ci) {
  return ci ? absl::StrFormat("[%.1f, %.1f]", ci->lo * 100, ci->hi * 100) : "[n/a]";
}
std::string Ms(const std::optional<double>& v) {
  return v ? HumanDuration(static_cast<int64_t>(std::llround(*v))) : "n/a";
}
std::string Num(double v) { return absl::StrFormat("%.2f", v); }

std::string JsonCi(const std::optional<Interval>& ci) {
  return ci ? Cat("[", JsonNumber(ci->lo), ",", JsonNumber(ci->hi), "]") : "null";
}

std::string JsonStrings(const std::set<std::string>& values) {
  std::string out = "[";
  bool first = true;
  for (const std::string& v : values) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, v);
  }
  out.push_back(']');
  return out;
}

std::string Date(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

double PerRun(uint64_t count, uint64_t runs) {
  return runs == 0 ? std::nan("") : static_cast<double>(count) / static_cast<double>(runs);
}
std::optional<double> Ratio(const std::optional<double>& b, const std::optional<double>& a) {
  if (!a || !b || *a == 0) return std::nullopt;
  return *b / *a;
}
std::optional<double> Diff(const std::optional<double>& b, const std::optional<double>& a) {
  if (!a || !b) return std::nullopt;
  return *b - *a;
}

std::optional<double> CostPerRun(const SetStats& s) {
  if (!s.cost_total || s.priced_runs == 0) return std::nullopt;
  return *s.cost_total / static_cast<double>(s.priced_runs);
}
std::optional<double> CostPerSuccess(const SetStats& s) {
  if (!s.cost_total || s.priced_successes == 0) return std::nullopt;
  return *s.cost_total / static_cast<double>(s.priced_successes);
}

std::string SetJson(const SetStats& s, const std::string& selection) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("selection", selection)
      .Uint("runs", s.runs)
      .Uint("successes", s.successes)
      .Raw("success_rate", JsonNumber(s.success_rate))
      .Raw("success_ci", JsonCi(s.success_ci))
      .Uint("open", s.open)
      .Raw("hosts", JsonStrings(s.hosts))
      .Raw("models", JsonStrings(s.models));
  if (s.first_started_ms) {
    w.Int("first_started_ms", *s.first_started_ms).Int("last_started_ms", *s.last_started_ms);
  } else {
    w.Null("first_started_ms").Null("last_started_ms");
  }
  std::string duration;
  JsonObjectWriter(&duration)
      .Uint("n", s.durations_ms.size())
      .Raw("p50", JsonNumber(s.p50_ms))
      .Raw("p95", JsonNumber(s.p95_ms))
      .Bool("p95_too_few", s.p95_too_few)
      .Finish();
  w.Raw("duration_ms", duration);
  std::string usage;
  const double un = static_cast<double>(s.usage_runs);
  auto per = [&](uint64_t v) {
    return s.usage_runs ? JsonNumber(static_cast<double>(v) / un) : "null";
  };
  JsonObjectWriter(&usage)
      .Uint("n", s.usage_runs)
      .Raw("input_tokens", per(s.usage_total.input_tokens))
      .Raw("cached_input_tokens", per(s.usage_total.cached_input_tokens))
      .Raw("output_tokens", per(s.usage_total.output_tokens))
      .Raw("reasoning_tokens", per(s.usage_total.reasoning_tokens))
      .Finish();
  w.Raw("usage_per_run", usage)
      .Raw("cost_per_run", JsonNumber(CostPerRun(s)))
      .Raw("cost_per_success", JsonNumber(CostPerSuccess(s)))
      .Uint("priced_runs", s.priced_runs)
      .Raw("unpriced_models", JsonStrings(s.unpriced_models))
      .Uint("tool_calls", s.tool_calls)
      .Uint("tool_failures", s.tool_failures)
      .Raw("tool_failure_rate", JsonNumber(s.tool_failure_rate))
      .Raw("tool_failure_ci", JsonCi(s.tool_failure_ci));
  std::string per_run;
  JsonObjectWriter(&per_run)
      .Raw("model_calls", JsonNumber(PerRun(s.model_calls, s.runs)))
      .Raw("tool_calls", JsonNumber(PerRun(s.tool_calls, s.runs)))
      .Raw("errors", JsonNumber(PerRun(s.errors, s.runs)))
      .Raw("denies", JsonNumber(PerRun(s.denies, s.runs)))
      .Raw("deviations", JsonNumber(PerRun(s.deviations, s.runs)))
      .Raw("compactions", JsonNumber(PerRun(s.compactions, s.runs)))
      .Finish();
  w.Raw("per_run", per_run);
  w.Finish();
  return out;
}

std::optional<double> ToolFailureRate(const ToolSide& t) {
  if (t.results == 0) return std::nullopt;
  return static_cast<double>(t.failures) / static_cast<double>(t.results);
}
// An interval only from 10 results on: below that it spans most of [0, 1].
std::optional<Interval> ToolFailureCi(const ToolSide& t) {
  if (t.results < 10) return std::nullopt;
  return internal::WilsonInterval(t.failures, t.results);
}
std::optional<std::pair<std::string, uint64_t>> TopError(const ToolSide& t) {
  std::optional<std::pair<std::string, uint64_t>> top;
  for (const auto& [text, count] : t.errors) {
    if (!top || count > top->second) top = std::make_pair(text, count);
  }
  return top;
}

std::string ToolSideJson(const ToolSide& t) {
  std::string out, latency;
  JsonObjectWriter(&latency)
      .Uint("n", t.latencies_ms.size())
      .Raw("p50", JsonNumber(internal::NearestRank(t.latencies_ms, 50)))
      .Raw("p95", JsonNumber(internal::NearestRank(t.latencies_ms, 95)))
      .Finish();
  JsonObjectWriter w(&out);
  w.Uint("calls", t.calls)
      .Raw("calls_per_run", JsonNumber(PerRun(t.calls, t.runs)))
      .Uint("results", t.results)
      .Uint("failures", t.failures)
      .Raw("failure_rate", JsonNumber(ToolFailureRate(t)))
      .Raw("failure_ci", JsonCi(ToolFailureCi(t)))
      .Raw("latency_ms", latency);
  if (auto top = TopError(t)) {
    w.String("top_error", top->first).Uint("top_error_count", top->second);
  } else {
    w.Null("top_error").Uint("top_error_count", 0);
  }
  w.Finish();
  return out;
}

std::string ToolsJson(const std::vector<ToolRow>& rows, bool two_sides) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out.push_back(',');
    JsonObjectWriter w(&out);
    w.String("tool", rows[i].tool);
    if (two_sides) {
      w.Raw("baseline", ToolSideJson(rows[i].a))
          .Raw("candidate", ToolSideJson(rows[i].b))
          .Raw("change", JsonNumber(rows[i].change));
    } else {
      w.Raw("stats", ToolSideJson(rows[i].a));
    }
    w.Finish();
  }
  out.push_back(']');
  return out;
}

std::string SetText(const SetStats& s, std::string_view name) {
  std::string out =
      absl::StrFormat("  %-10s %llu runs", name, static_cast<unsigned long long>(s.runs));
  if (s.open) Append(&out, " (", s.open, " open)");
  if (!s.hosts.empty()) Append(&out, ", hosts: ", Safe(absl::StrJoin(s.hosts, " ")));
  if (!s.models.empty()) Append(&out, ", models: ", Safe(absl::StrJoin(s.models, " ")));
  if (s.first_started_ms) {
    Append(&out, ", ", Date(*s.first_started_ms), " .. ", Date(*s.last_started_ms));
  }
  out.push_back('\n');
  return out;
}

std::string UsageLine(const SetStats& s) {
  if (s.usage_runs == 0) return "no usage recorded";
  const double n = static_cast<double>(s.usage_runs);
  return absl::StrFormat("in %.0f (cached %.0f) out %.0f (reasoning %.0f) (n=%llu)",
                         static_cast<double>(s.usage_total.input_tokens) / n,
                         static_cast<double>(s.usage_total.cached_input_tokens) / n,
                         static_cast<double>(s.usage_total.output_tokens) / n,
                         static_cast<double>(s.usage_total.reasoning_tokens) / n,
                         static_cast<unsigned long long>(s.usage_runs));
}

std::string CostText(const SetStats& s) {
  auto per_run = CostPerRun(s);
  if (!per_run) return "n/a";
  std::string out = absl::StrFormat(
      "$%.4f/run, %s/success (n=%llu)", *per_run,
      CostPerSuccess(s) ? absl::StrFormat("$%.4f", *CostPerSuccess(s)) : std::string("n/a"),
      static_cast<unsigned long long>(s.priced_runs));
  if (!s.unpriced_models.empty()) {
    Append(&out, "; unpriced: ", Safe(absl::StrJoin(s.unpriced_models, " ")));
  }
  return out;
}

std::string ToolSideText(const ToolSide& t) {
  return absl::StrFormat(
      "%.2f/run fail %s%s p50 %s p95 %s", PerRun(t.calls, t.runs), Pct(ToolFailureRate(t)),
      ToolFailureCi(t) ? " " + Ci(ToolFailureCi(t)) : std::string(),
      Ms(internal::NearestRank(t.latencies_ms, 50)), Ms(internal::NearestRank(t.latencies_ms, 95)));
}

std::string ToolsText(const std::vector<ToolRow>& rows, bool two_sides) {
  if (rows.empty()) return "";
  std::string out =
      two_sides ? "\nper tool (largest change first; baseline -> candidate)\n" : "\nper tool\n";
  for (const ToolRow& r : rows) {
    Append(&out, "  ", Safe(r.tool), "\n    ", two_sides ? "A " : "", ToolSideText(r.a));
    if (auto top = TopError(r.a)) {
      Append(&out, "  top error (", top->second, "x): ", Safe(top->first));
    }
    out.push_back('\n');
    if (two_sides) {
      Append(&out, "    B ", ToolSideText(r.b));
      if (auto top = TopError(r.b)) {
        Append(&out, "  top error (", top->second, "x): ", Safe(top->first));
      }
      out.push_back('\n');
    }
  }
  return out;
}

std::string SignedPp(double v) { return absl::StrFormat("%+.1f", v * 100); }

struct Gathered {
  std::vector<const RunFacts*> runs;
  std::vector<const RunToolFacts*> tools;
};

// ---- HTML --------------------------------------------------------------

std::string Esc(std::string_view s) { return HtmlEscape(SanitizeUtf8(s)); }

// A horizontal bar on a 0..100% axis with the interval as a whisker.
std::string RateBar(std::string_view label, const SetStats& s, std::string_view colour) {
  std::string out = Cat("<div class=row><span class=lab>", Esc(label), "</span>");
  Append(&out, "<svg width=420 height=22 role=img aria-label='", Esc(label), " ",
         Pct(s.success_rate), "'><rect x=0 y=4 width=400 height=14 fill='#eee'/>");
  if (s.success_rate) {
    Append(&out, absl::StrFormat("<rect x=0 y=4 width=%.1f height=14 fill='%s'/>",
                                 *s.success_rate * 400, colour));
  }
  if (s.success_ci) {
    const double lo = s.success_ci->lo * 400, hi = s.success_ci->hi * 400;
    Append(&out, absl::StrFormat("<line x1=%.1f x2=%.1f y1=11 y2=11 stroke='#000' "
                                 "stroke-width=2 /><line x1=%.1f x2=%.1f y1=6 y2=16 "
                                 "stroke='#000'/><line x1=%.1f x2=%.1f y1=6 y2=16 "
                                 "stroke='#000'/>",
                                 lo, hi, lo, lo, hi, hi));
  }
  Append(&out, "</svg><span>", Esc(Pct(s.success_rate)), " ", Esc(Ci(s.success_ci)), " n=", s.runs,
         "</span></div>\n");
  return out;
}

// Duration distributions side by side: a strip of ticks per set on a shared
// log-free linear axis up to the larger maximum, with p50/p95 marked.
std::string DurationStrip(std::string_view label, const SetStats& s, double max,
                          std::string_view colour) {
  std::string out = Cat("<div class=row><span class=lab>", Esc(label), "</span>",
                        "<svg width=420 height=30><rect x=0 y=2 width=400 height=26 "
                        "fill='#f7f7f7'/>");
  // At most ~2000 ticks: enough to see the shape, small enough to stay a page.
  const size_t n = s.durations_ms.size();
  const size_t step = std::max<size_t>(1, n / 2000);
  for (size_t i = 0; i < n; i += step) {
    Append(&out,
           absl::StrFormat("<line x1=%.1f x2=%.1f y1=6 y2=24 stroke='%s' "
                           "stroke-opacity=0.3 />",
                           s.durations_ms[i] / max * 400, s.durations_ms[i] / max * 400, colour));
  }
  for (const auto& [p, name] : {std::make_pair(s.p50_ms, "p50"), std::make_pair(s.p95_ms, "p95")}) {
    if (!p) continue;
    Append(&out, absl::StrFormat("<line x1=%.1f x2=%.1f y1=2 y2=28 stroke='#000' "
                                 "stroke-width=2><title>%s</title></line>",
                                 *p / max * 400, *p / max * 400, name));
  }
  Append(&out, "</svg><span>p50 ", Esc(Ms(s.p50_ms)), " p95 ", Esc(Ms(s.p95_ms)),
         s.p95_too_few ? " (too few runs for p95)" : "", " n=", n, "</span></div>\n");
  return out;
}

const char kHtmlHead[] =
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>traceframe compare</title>"
    "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:72em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    ".row{display:flex;align-items:center;gap:.6em;margin:.3em 0}.lab{width:7em}"
    ".worse{background:#fdd}.better{background:#dfd}.verdict{font-weight:bold}"
    "</style></head><body>\n";

std::string ToolCell(const ToolSide& t) { return Esc(ToolSideText(t)); }

}  // namespace

CompareReport BuildCompareReport(const std::vector<RunFacts>& baseline,
                                 const std::vector<RunFacts>& candidate,
                                 const CompareOptions& options) {
  Gathered a, b;
  for (const RunFacts& r : baseline) a.runs.push_back(&r);
  for (const RunFacts& r : candidate) b.runs.push_back(&r);
  std::vector<RunToolFacts> tool_facts;
  std::vector<std::string> unreadable;
  if (options.tools) {
    std::vector<std::string> paths;
    for (const RunFacts* r : a.runs) paths.push_back(r->trace_path);
    for (const RunFacts* r : b.runs) paths.push_back(r->trace_path);
    tool_facts = ReadToolFacts(paths, options.threads, &unreadable, options.progress);
    for (size_t i = 0; i < a.runs.size(); ++i) a.tools.push_back(&tool_facts[i]);
    for (size_t i = 0; i < b.runs.size(); ++i) b.tools.push_back(&tool_facts[a.runs.size() + i]);
  }
  const SetStats sa = ComputeSetStats(a.runs, a.tools, options.success_status, options.prices);
  const SetStats sb = ComputeSetStats(b.runs, b.tools, options.success_status, options.prices);
  std::vector<ToolRow> rows = internal::BuildToolRows(a.tools, sa.runs, b.tools, sb.runs);
  std::optional<PairedStats> paired;
  if (!options.pair_by.empty()) {
    paired = ComputePaired(a.runs, b.runs, options.pair_by, options.success_status);
  }
  std::vector<std::string> notes;
  // The delta and its interval: paired (on tasks) when every run is one
  // trial of a task present on both sides, so tasks and runs coincide;
  // otherwise Newcombe's independent interval over runs.
  std::optional<double> delta = Diff(sb.success_rate, sa.success_rate);
  std::optional<Interval> delta_ci;
  std::string method = "newcombe-independent";
  if (paired && paired->max_trials == 1 && paired->unmatched_a == 0 && paired->unmatched_b == 0 &&
      paired->tasks == sa.runs && paired->tasks == sb.runs) {
    delta_ci = paired->delta_ci;
    method = "newcombe-paired";
  } else {
    delta_ci = internal::NewcombeDifference(sa.successes, sa.runs, sb.successes, sb.runs);
    if (paired) {
      notes.push_back(
          "the success interval treats runs as independent: some tasks have several trials or "
          "appear on one side only (see paired)");
    }
  }
  std::string verdict = "no runs to compare";
  if (delta && delta_ci) {
    const bool decisive = delta_ci->lo > 0 || delta_ci->hi < 0;
    verdict = absl::StrFormat(
        "success %s pp [%s, %s]: %s", SignedPp(*delta), SignedPp(delta_ci->lo),
        SignedPp(delta_ci->hi),
        !decisive ? "not decisive" : (delta_ci->lo > 0 ? "candidate better" : "candidate worse"));
  }
  if (sa.p95_too_few || sb.p95_too_few) {
    notes.push_back(Cat("fewer than ", internal::kMinRunsForP95,
                        " finished runs on a side: its p95 is the slowest run"));
  }
  for (const std::string& p : unreadable) {
    notes.push_back(Cat("could not read ", p, " for the per-tool table"));
  }

  // ---- JSON (the contract: docs/compare.md) ----
  std::string json;
  {
    JsonObjectWriter w(&json);
    w.String("schema", "traceframe.compare/1")
        .String("success_status", options.success_status)
        .Raw("baseline", SetJson(sa, ""))
        .Raw("candidate", SetJson(sb, ""));
    std::string d;
    JsonObjectWriter dw(&d);
    dw.Raw("success_rate", JsonNumber(delta))
        .Raw("success_ci", JsonCi(delta_ci))
        .String("success_ci_method", method)
        .Raw("duration_p50_ms", JsonNumber(Diff(sb.p50_ms, sa.p50_ms)))
        .Raw("duration_p95_ms", JsonNumber(Diff(sb.p95_ms, sa.p95_ms)))
        .Raw("tool_failure_rate", JsonNumber(Diff(sb.tool_failure_rate, sa.tool_failure_rate)))
        .Raw("cost_per_run", JsonNumber(Diff(CostPerRun(sb), CostPerRun(sa))))
        .Finish();
    w.Raw("delta", d);
    std::string success;
    std::string sdelta;
    JsonObjectWriter(&sdelta)
        .Raw("value", JsonNumber(delta))
        .Raw("ci_low", JsonNumber(delta_ci ? std::optional<double>(delta_ci->lo) : std::nullopt))
        .Raw("ci_high", JsonNumber(delta_ci ? std::optional<double>(delta_ci->hi) : std::nullopt))
        .Finish();
    JsonObjectWriter(&success)
        .Raw("baseline", JsonNumber(sa.success_rate))
        .Raw("candidate", JsonNumber(sb.success_rate))
        .Raw("delta", sdelta)
        .String("verdict", verdict)
        .Finish();
    w.Raw("success", success);
    std::string duration;
    JsonObjectWriter dur(&duration);
    for (const auto& [name, pa, pb] : {std::make_tuple("p50", sa.p50_ms, sb.p50_ms),
                                       std::make_tuple("p95", sa.p95_ms, sb.p95_ms)}) {
      std::string p;
      JsonObjectWriter(&p)
          .Raw("baseline", JsonNumber(pa))
          .Raw("candidate", JsonNumber(pb))
          .Raw("delta", JsonNumber(Diff(pb, pa)))
          .Raw("ratio", JsonNumber(Ratio(pb, pa)))
          .Finish();
      dur.Raw(name, p);
    }
    dur.Finish();
    w.Raw("duration", duration);
    if (paired) {
      std::string p;
      JsonObjectWriter pw(&p);
      pw.String("by", paired->key)
          .Uint("tasks", paired->tasks)
          .Uint("fixed", paired->fixed)
          .Uint("broke", paired->broke)
          .Uint("both_pass", paired->both)
          .Uint("both_fail", paired->neither)
          .Raw("mcnemar_p", JsonNumber(paired->mcnemar_p))
          .Raw("delta_ci", JsonCi(paired->delta_ci))
          .Uint("baseline_only", paired->unmatched_a)
          .Uint("candidate_only", paired->unmatched_b)
          .Uint("min_trials", paired->min_trials)
          .Uint("max_trials", paired->max_trials);
      if (paired->pass_at_k_a) {
        std::string k;
        JsonObjectWriter(&k)
            .Uint("k", paired->min_trials)
            .Raw("baseline_pass_at_k", JsonNumber(paired->pass_at_k_a))
            .Raw("candidate_pass_at_k", JsonNumber(paired->pass_at_k_b))
            .Raw("baseline_pass_hat_k", JsonNumber(paired->pass_hat_k_a))
            .Raw("candidate_pass_hat_k", JsonNumber(paired->pass_hat_k_b))
            .Finish();
        pw.Raw("trials", k);
      } else {
        pw.Null("trials");
      }
      std::string flipped = "[";
      for (size_t i = 0; i < paired->flipped.size(); ++i) {
        const internal::FlippedTask& f = paired->flipped[i];
        if (i) flipped.push_back(',');
        std::set<std::string> ra(f.baseline_runs.begin(), f.baseline_runs.end());
        std::set<std::string> rb(f.candidate_runs.begin(), f.candidate_runs.end());
        JsonObjectWriter(&flipped)
            .String("task", f.task)
            .String("change", f.regression ? "broke" : "fixed")
            .Raw("baseline_runs", JsonStrings(ra))
            .Raw("candidate_runs", JsonStrings(rb))
            .Finish();
      }
      flipped.push_back(']');
      pw.Raw("flipped", flipped).Finish();
      w.Raw("paired", p);
    } else {
      w.Null("paired");
    }
    w.Raw("tools", ToolsJson(rows, true));
    std::string n = "[";
    for (size_t i = 0; i < notes.size(); ++i) {
      if (i) n.push_back(',');
      AppendJsonString(&n, notes[i]);
    }
    n.push_back(']');
    w.Raw("notes", n).Finish();
  }
  json.push_back('\n');

  // ---- text ----
  std::string text = "traceframe compare\n";
  Append(&text, SetText(sa, "baseline"), SetText(sb, "candidate"));
  Append(&text, "  pairing    ",
         paired ? Cat("by ", Safe(paired->key), ": ", paired->tasks, " tasks")
                : std::string("independent"),
         "\n\n");
  Append(&text, "success      A ", Pct(sa.success_rate), " ", Ci(sa.success_ci), " (n=", sa.runs,
         ")   B ", Pct(sb.success_rate), " ", Ci(sb.success_ci), " (n=", sb.runs,
         ")\n             ", verdict, " (", method, ")\n");
  if (paired) {
    Append(&text, "             paired by ", Safe(paired->key), ": ", paired->tasks, " tasks, ",
           paired->fixed, " fixed, ", paired->broke,
           " broke, exact McNemar p = ", absl::StrFormat("%.4g", paired->mcnemar_p), "\n");
    if (paired->pass_at_k_a) {
      Append(&text, "             k=", paired->min_trials, ": pass@k A ", Pct(paired->pass_at_k_a),
             " B ", Pct(paired->pass_at_k_b), ", pass^k A ", Pct(paired->pass_hat_k_a), " B ",
             Pct(paired->pass_hat_k_b), "\n");
    }
  }
  auto change = [](const std::optional<double>& to, const std::optional<double>& from) {
    auto r = Ratio(to, from);
    return r ? absl::StrFormat(" (%+.1f%%)", (*r - 1) * 100) : std::string();
  };
  Append(&text, "duration     p50 A ", Ms(sa.p50_ms), " B ", Ms(sb.p50_ms),
         change(sb.p50_ms, sa.p50_ms), "   p95 A ", Ms(sa.p95_ms), " B ", Ms(sb.p95_ms),
         change(sb.p95_ms, sa.p95_ms), " (n=", sa.durations_ms.size(), "/", sb.durations_ms.size(),
         ")\n");
  Append(&text, "tokens/run   A ", UsageLine(sa), "\n             B ", UsageLine(sb), "\n");
  if (options.prices != nullptr) {
    Append(&text, "cost         A ", CostText(sa), "\n             B ", CostText(sb), "\n");
  }
  Append(&text, "tool fails   A ", Pct(sa.tool_failure_rate), " ", Ci(sa.tool_failure_ci),
         " (n=", sa.tool_calls, " calls)   B ", Pct(sb.tool_failure_rate), " ",
         Ci(sb.tool_failure_ci), " (n=", sb.tool_calls, " calls)\n");
  auto per_run_line = [&](std::string_view name, uint64_t va, uint64_t vb) {
    Append(&text, absl::StrFormat("  %-16s A %s  B %s\n", name, Num(PerRun(va, sa.runs)),
                                  Num(PerRun(vb, sb.runs))));
  };
  text += "per run\n";
  per_run_line("model calls", sa.model_calls, sb.model_calls);
  per_run_line("tool calls", sa.tool_calls, sb.tool_calls);
  per_run_line("errors", sa.errors, sb.errors);
  per_run_line("denies", sa.denies, sb.denies);
  per_run_line("deviations", sa.deviations, sb.deviations);
  per_run_line("compactions", sa.compactions, sb.compactions);
  text += ToolsText(rows, true);
  if (paired && !paired->flipped.empty()) {
    text += "\nflipped tasks (regressions first)\n";
    for (const internal::FlippedTask& f : paired->flipped) {
      Append(&text, "  ", f.regression ? "broke " : "fixed ", Safe(f.task),
             "  A: ", Safe(absl::StrJoin(f.baseline_runs, " ")),
             "  B: ", Safe(absl::StrJoin(f.candidate_runs, " ")), "\n");
    }
  }
  for (const std::string& n : notes) Append(&text, "note: ", Safe(n), "\n");

  // ---- HTML ----
  std::string html = kHtmlHead;
  Append(&html, "<h1>traceframe compare</h1>\n<p class=verdict id=verdict>", Esc(verdict),
         "</p>\n<h2>Success rate (95% Wilson interval)</h2>\n", RateBar("baseline", sa, "#7aa6d8"),
         RateBar("candidate", sb, "#e0a050"));
  if (paired) {
    Append(&html, "<p>Paired by ", Esc(paired->key), ": ", paired->tasks, " tasks, ", paired->fixed,
           " fixed, ", paired->broke,
           " broke, exact McNemar p = ", absl::StrFormat("%.4g", paired->mcnemar_p), "</p>\n");
  }
  const double max_duration = std::max({1.0, sa.durations_ms.empty() ? 0.0 : sa.durations_ms.back(),
                                        sb.durations_ms.empty() ? 0.0 : sb.durations_ms.back()});
  Append(&html, "<h2>Run duration</h2>\n", DurationStrip("baseline", sa, max_duration, "#2a64a8"),
         DurationStrip("candidate", sb, max_duration, "#b06a10"), "<p>axis 0 .. ",
         Esc(Ms(max_duration)), "</p>\n");
  Append(&html,
         "<h2>Per tool</h2>\n<table id=tools><tr><th>tool</th><th>baseline</th>"
         "<th>candidate</th><th>top error (baseline / candidate)</th></tr>\n");
  for (const ToolRow& r : rows) {
    auto fa = ToolFailureRate(r.a), fb = ToolFailureRate(r.b);
    // Coloured by the failure rate: red when the candidate fails more.
    std::string cls;
    if (fa && fb && *fb > *fa) cls = " class=worse";
    if (fa && fb && *fb < *fa) cls = " class=better";
    auto ta = TopError(r.a), tb = TopError(r.b);
    Append(&html, "<tr", cls, "><td>", Esc(r.tool), "</td><td>", ToolCell(r.a), "</td><td>",
           ToolCell(r.b), "</td><td>", ta ? Esc(ta->first) : "", " / ", tb ? Esc(tb->first) : "",
           "</td></tr>\n");
  }
  html += "</table>\n";
  if (paired && !paired->flipped.empty()) {
    html +=
        "<h2>Flipped tasks</h2>\n<table id=flipped><tr><th>change</th><th>task</th>"
        "<th>baseline runs</th><th>candidate runs</th></tr>\n";
    for (const internal::FlippedTask& f : paired->flipped) {
      Append(&html, "<tr class=", f.regression ? "worse" : "better", "><td>",
             f.regression ? "broke" : "fixed", "</td><td>", Esc(f.task), "</td><td>",
             Esc(absl::StrJoin(f.baseline_runs, " ")), "</td><td>",
             Esc(absl::StrJoin(f.candidate_runs, " ")), "</td></tr>\n");
    }
    html += "</table>\n";
  }
  Append(&html, "<h2>Figures</h2><pre>", Esc(text),
         "</pre>\n<footer id=end>Compared by traceframe</footer>\n</body></html>\n");
  return CompareReport{std::move(json), std::move(text), std::move(html)};
}

StatsReport BuildStatsReport(const std::vector<RunFacts>& runs, const StatsOptions& options) {
  std::vector<RunToolFacts> tool_facts;
  if (options.tools) {
    std::vector<std::string> paths;
    for (const RunFacts& r : runs) paths.push_back(r.trace_path);
    tool_facts = ReadToolFacts(paths, options.threads, nullptr, options.progress);
  }
  std::map<std::string, Gathered> groups;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string key;
    if (!options.group_by.empty()) {
      auto it = runs[i].labels.find(options.group_by);
      key = it == runs[i].labels.end() ? "(none)" : it->second;
    }
    Gathered& g = groups[key];
    g.runs.push_back(&runs[i]);
    if (options.tools) g.tools.push_back(&tool_facts[i]);
  }
  StatsReport report;
  std::string groups_json = "[";
  report.text = "traceframe stats\n";
  bool first = true;
  for (const auto& [key, g] : groups) {
    const SetStats s = ComputeSetStats(g.runs, g.tools, options.success_status, options.prices);
    const std::vector<ToolRow> rows = internal::BuildToolRows(g.tools, s.runs, {}, 0);
    if (!first) groups_json.push_back(',');
    first = false;
    JsonObjectWriter w(&groups_json);
    if (options.group_by.empty()) {
      w.Null("group");
    } else {
      w.String("group", key);
    }
    w.Raw("stats", SetJson(s, "")).Raw("tools", ToolsJson(rows, false)).Finish();
    const std::string name =
        options.group_by.empty() ? std::string("all") : Cat(options.group_by, "=", key);
    Append(&report.text, "\n", SetText(s, Safe(name)));
    Append(&report.text, "  success    ", Pct(s.success_rate), " ", Ci(s.success_ci),
           " (n=", s.runs, ")\n", "  duration   p50 ", Ms(s.p50_ms), " p95 ", Ms(s.p95_ms),
           s.p95_too_few ? " (too few runs for p95: the slowest run)" : "",
           " (n=", s.durations_ms.size(), ")\n", "  tokens/run ", UsageLine(s), "\n");
    if (options.prices != nullptr) Append(&report.text, "  cost       ", CostText(s), "\n");
    Append(&report.text, "  tool fails ", Pct(s.tool_failure_rate), " ", Ci(s.tool_failure_ci),
           " (n=", s.tool_calls, " calls)\n",
           absl::StrFormat("  per run    model calls %s, tool calls %s, errors %s, "
                           "denies %s, deviations %s, compactions %s\n",
                           Num(PerRun(s.model_calls, s.runs)), Num(PerRun(s.tool_calls, s.runs)),
                           Num(PerRun(s.errors, s.runs)), Num(PerRun(s.denies, s.runs)),
                           Num(PerRun(s.deviations, s.runs)), Num(PerRun(s.compactions, s.runs))));
    report.text += ToolsText(rows, false);
  }
  groups_json.push_back(']');
  JsonObjectWriter(&report.json)
      .String("schema", "traceframe.stats/1")
      .String("success_status", options.success_status)
      .Raw("group_by", options.group_by.empty() ? "null" : JsonString(options.group_by))
      .Raw("groups", groups_json)
      .Finish();
  report.json.push_back('\n');
  return report;
}

}  // namespace traceframe
