#include "traceframe/ledger.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "format/payload_facts.h"
#include "report/report_json.h"
#include "simdjson.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "util/file_util.h"
#include "util/parallel.h"
#include "util/progress.h"
#include "util/simdjson_errors.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace traceframe {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTraceExtension = ".traceframe";

// An absolute path, without touching the file system beyond getcwd for a
// relative one.
std::string AbsolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// True when the first line of `path` is a ledger entry rather than an event:
// a ledger saved under another name inside the runs dir must not count as a
// broken run (reference §11.31).
bool LooksLikeLedger(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return false;
  std::string line;
  char buf[4096];
  while (line.find('\n') == std::string::npos && line.size() < (1u << 20)) {
    const size_t n = std::fread(buf, 1, sizeof(buf), in);
    if (n == 0) break;
    line.append(buf, n);
  }
  std::fclose(in);
  line = line.substr(0, line.find('\n'));
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(line).get_object().get(object)) return false;
  return !object["trace_path"].error() && object["kind"].error() && object["event_id"].error();
}

// The `*.traceframe` files under `dir`, as absolute paths under its canonical
// form (one canonicalization for the whole walk, not one per file), sorted,
// without `out` (the ledger itself, compared by device and inode).
std::vector<std::string> ListTraceFiles(const std::string& dir, const std::string& out,
                                        absl::Status* status) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *status = absl::NotFoundError(Cat("failed to read trace dir ", dir, ": ",
                                      ec ? ec.message() : "not a directory",
                                      "; pass --dir with the directory holding the traces"));
    return files;
  }
  const fs::path base = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) {
    *status = absl::UnavailableError(Cat("failed to read trace dir ", dir, ": ", ec.message()));
    return files;
  }
  struct stat out_stat;
  const bool out_exists = ::stat(out.c_str(), &out_stat) == 0;
  const std::string out_name = fs::path(out).filename().string();
  fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    *status = absl::UnavailableError(Cat("failed to read trace dir ", dir, ": ", ec.message()));
    return files;
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      *status = absl::UnavailableError(Cat("failed to read entry in ", dir, ": ", ec.message()));
      return files;
    }
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (!EndsWith(name, kTraceExtension)) continue;
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;  // follows symlinks to files
    if (out_exists && name == out_name) {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && st.st_dev == out_stat.st_dev &&
          st.st_ino == out_stat.st_ino) {
        continue;
      }
    }
    files.push_back(path.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void AppendOptionalInt(JsonObjectWriter& w, std::string_view key, std::optional<int64_t> v) {
  if (v) {
    w.Int(key, *v);
  } else {
    w.Null(key);
  }
}

std::string Padded(std::string_view text, size_t width, bool right) {
  // Widths count characters, not bytes (reference §7.3).
  const size_t chars = internal::Utf8Chars(text);
  std::string out;
  if (right && chars < width) out.append(width - chars, ' ');
  out.append(text);
  if (!right && chars < width) out.append(width - chars, ' ');
  return out;
}

std::string ListRow(std::string_view run_id, std::string_view status, std::string_view events,
                    std::string_view errors, std::string_view duration, std::string_view path) {
  return Cat(Padded(run_id, 28, false), " ", Padded(status, 10, false), " ",
             Padded(events, 6, true), " ", Padded(errors, 6, true), " ", Padded(duration, 11, true),
             " ", path, "\n");
}

}  // namespace

absl::StatusOr<LedgerEntry> LedgerEntryForTrace(const std::string& path) {
  // SummarizeTrace is served by the sidecar index: O(1) for a closed, indexed
  // trace, a scan (which writes the index back) otherwise.
  absl::StatusOr<TraceSummary> summary = SummarizeTrace(path);
  if (!summary.ok()) return summary.status();
  LedgerEntry e;
  e.run_id = summary->run_id;
  e.trace_path = AbsolutePath(path);
  e.status = summary->status;
  e.event_count = summary->events;
  e.model_calls = summary->model_calls;
  e.tool_calls = summary->tool_calls;
  e.tool_results = summary->tool_results;
  e.tool_failures = summary->tool_failures;
  e.permission_decisions = summary->permission_decisions;
  e.errors = summary->errors;
  e.started_ms = summary->first_ts_ms;
  e.finished_ms = summary->finished_ts_ms;
  e.duration_ms = summary->duration_ms();
  e.torn_tail = summary->torn_tail.has_value();
  e.usage = summary->usage;
  e.deviations = summary->deviations;
  e.models = summary->models;
  e.source = summary->source;
  e.labels = summary->labels;
  return e;
}

absl::StatusOr<LedgerRebuildResult> RebuildLedger(const LedgerRebuildOptions& options) {
  absl::Status status;
  std::vector<std::string> files = ListTraceFiles(options.dir, options.out, &status);
  if (!status.ok()) return status;

  // Each worker takes the next file by index and writes only its own slot.
  std::vector<std::optional<absl::StatusOr<LedgerEntry>>> slots(files.size());
  // Progress is by bytes: one big trace takes longer than many small ones.
  std::vector<uint64_t> sizes(options.progress ? files.size() : 0);
  uint64_t total_bytes = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    struct stat st;
    sizes[i] = ::stat(files[i].c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    total_bytes += sizes[i];
  }
  internal::ProgressMeter meter(options.progress, total_bytes);
  internal::WorkQueue queue(files.size());
  internal::RunOnWorkers(internal::WorkerCount(options.threads, files.size()), [&] {
    for (size_t i; queue.Next(&i);) {
      slots[i] = LedgerEntryForTrace(files[i]);
      if (meter.active()) meter.Add(sizes[i]);  // sizes is empty without progress
    }
  });

  LedgerRebuildResult result;
  std::string text;
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StatusOr<LedgerEntry>& entry = *slots[i];
    if (!entry.ok()) {
      if (LooksLikeLedger(files[i])) {
        result.ledgers.push_back(files[i]);
      } else {
        result.skipped.push_back({files[i], std::string(ToStd(entry.status().message()))});
      }
      continue;
    }
    result.torn += entry->torn_tail;
    Append(&text, LedgerEntryJson(*entry), "\n");
    result.entries.push_back(std::move(*entry));
  }
  status = WriteFileAtomically(options.out, text);
  if (!status.ok()) return status;
  return result;
}

std::string LedgerEntryJson(const LedgerEntry& e) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Int("version", kFormatVersion)
      .String("run_id", e.run_id)
      .String("trace_path", e.trace_path)
      .String("status", e.status)
      .Uint("event_count", e.event_count)
      .Uint("model_calls", e.model_calls)
      .Uint("tool_calls", e.tool_calls)
      .Uint("tool_results", e.tool_results)
      .Uint("tool_failures", e.tool_failures)
      .Uint("permission_decisions", e.permission_decisions)
      .Uint("errors", e.errors)
      .Int("started_ms", e.started_ms);
  AppendOptionalInt(w, "finished_ms", e.finished_ms);
  AppendOptionalInt(w, "duration_ms", e.duration_ms);
  w.Bool("torn_tail", e.torn_tail);
  w.Raw("usage", UsageJson(e.usage))
      .Uint("deviations", e.deviations)
      .Raw("models", JsonStringArray(e.models))
      .String("source", e.source)
      .Raw("labels", LabelsJson(e.labels));
  w.Finish();
  return out;
}

absl::StatusOr<std::vector<LedgerEntry>> ReadLedger(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    // ReadFile says "failed to read <path>: <reason>"; keep only the reason.
    std::string_view reason = ToStd(text.status().message());
    const std::string prefix = Cat("failed to read ", path, ": ");
    if (StartsWith(reason, prefix)) reason.remove_prefix(prefix.size());
    return absl::NotFoundError(Cat("failed to read ledger file ", path, ": ", reason,
                                   "; run `traceframe ledger rebuild` to create it"));
  }
  std::vector<LedgerEntry> entries;
  simdjson::dom::parser parser;
  uint64_t line_number = 0;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    std::string_view line = StripWhitespace(std::string_view(*text).substr(pos, nl - pos));
    pos = nl + 1;
    ++line_number;
    if (line.empty()) continue;
    auto invalid = [&](std::string_view reason) {
      return absl::DataLossError(Cat("invalid ledger entry at line ", line_number, " of ", path,
                                     ": ", reason,
                                     "; rebuild it with `traceframe ledger rebuild`"));
    };
    simdjson::dom::object object;
    simdjson::error_code error = parser.parse(line).get_object().get(object);
    if (error) return invalid(internal::SimdjsonErrorText(error, "line"));
    LedgerEntry e;
    uint64_t version = 0;
    if (object["version"].get_uint64().get(version)) return invalid("missing field `version`");
    if (version != 1) {
      return absl::DataLossError(
          Cat("unsupported ledger version ", version, " at line ", line_number, " of ", path));
    }
    auto get_string = [&](const char* key, std::string* out) -> bool {
      std::string_view v;
      if (object[key].get_string().get(v)) return false;
      out->assign(v);
      return true;
    };
    auto get_uint = [&](const char* key, uint64_t* out, bool required) -> bool {
      auto field = object[key];
      if (field.error()) return !required;
      return !field.get_uint64().get(*out);
    };
    auto get_opt_int = [&](const char* key, std::optional<int64_t>* out) -> bool {
      auto field = object[key];
      if (field.error() || field.is_null()) return true;
      int64_t v;
      if (field.get_int64().get(v)) return false;
      *out = v;
      return true;
    };
    if (!get_string("run_id", &e.run_id)) return invalid("missing or non-string `run_id`");
    if (!get_string("trace_path", &e.trace_path)) return invalid("missing `trace_path`");
    if (!get_string("status", &e.status)) return invalid("missing or non-string `status`");
    if (!get_uint("event_count", &e.event_count, true) ||
        !get_uint("model_calls", &e.model_calls, true) ||
        !get_uint("tool_calls", &e.tool_calls, true) ||
        !get_uint("tool_results", &e.tool_results, true) ||
        !get_uint("tool_failures", &e.tool_failures, false) ||
        !get_uint("permission_decisions", &e.permission_decisions, true) ||
        !get_uint("errors", &e.errors, true)) {
      return invalid("missing or non-integer count");
    }
    if (object["started_ms"].get_int64().get(e.started_ms)) return invalid("missing `started_ms`");
    if (!get_opt_int("finished_ms", &e.finished_ms) ||
        !get_opt_int("duration_ms", &e.duration_ms)) {
      return invalid("non-integer `finished_ms` or `duration_ms`");
    }
    bool torn = false;
    if (!object["torn_tail"].get_bool().get(torn)) e.torn_tail = torn;
    // Fields added with token usage (docs/ledger.md); a ledger written
    // before them reads as zeros and empties.
    auto usage = object["usage"];
    if (!usage.error() && !usage.is_null()) {
      if (!CheckUsageElement(usage.value_unsafe()).ok()) return invalid("malformed `usage`");
      UsageFromElement(usage.value_unsafe(), &e.usage);
    }
    if (!get_uint("deviations", &e.deviations, false)) return invalid("non-integer `deviations`");
    simdjson::dom::array models;
    if (!object["models"].get_array().get(models)) {
      for (simdjson::dom::element m : models) {
        std::string_view name;
        if (m.get_string().get(name)) return invalid("non-string in `models`");
        e.models.emplace_back(name);
      }
    }
    get_string("source", &e.source);
    e.labels = LabelsFromObject(object);
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string FormatLedgerList(const std::vector<LedgerEntry>& entries) {
  std::string out = ListRow("run_id", "status", "events", "errors", "duration_ms", "trace_path");
  if (entries.empty()) {
    out.append("(no runs)\n");
    return out;
  }
  for (const LedgerEntry& e : entries) {
    const std::string path =
        e.torn_tail ? Cat(e.trace_path, "  [torn tail: run `traceframe repair`]") : e.trace_path;
    out.append(ListRow(e.run_id, e.status, Cat(e.event_count), Cat(e.errors),
                       e.duration_ms ? Cat(*e.duration_ms) : "unknown", path));
  }
  return out;
}

std::string ShownTracePath(const std::string& trace_path, const std::string& cwd) {
  if (cwd.empty() || trace_path.empty() || trace_path[0] != '/') return trace_path;
  const fs::path relative = fs::path(trace_path).lexically_relative(fs::path(cwd));
  const std::string text = relative.string();
  // Outside the current directory a relative path is a puzzle of "../":
  // the absolute one reads better.
  if (text.empty() || text == "." || text.rfind("..", 0) == 0) return trace_path;
  return text;
}

std::string FormatLedgerTable(const std::vector<LedgerEntry>& entries, const std::string& cwd) {
  if (entries.empty()) return "(no runs)\n";
  std::vector<const LedgerEntry*> order;
  order.reserve(entries.size());
  for (const LedgerEntry& e : entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const LedgerEntry* a, const LedgerEntry* b) {
    return a->started_ms > b->started_ms;
  });
  constexpr size_t kColumns = 7;
  constexpr bool kRight[kColumns] = {false, false, false, true, true, true, false};
  std::vector<std::array<std::string, kColumns>> rows;
  rows.push_back({"run_id", "status", "started (UTC)", "duration", "events", "errors", "trace"});
  for (const LedgerEntry* e : order) {
    std::string path = ShownTracePath(e->trace_path, cwd);
    if (e->torn_tail) path.append("  [torn tail: run `traceframe repair`]");
    rows.push_back({e->run_id, e->status, internal::UtcTime(e->started_ms, false),
                    e->duration_ms ? HumanDuration(*e->duration_ms) : "unknown",
                    Cat(e->event_count), Cat(e->errors), std::move(path)});
  }
  size_t width[kColumns] = {};
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < kColumns; ++c) {
      width[c] = std::max(width[c], internal::Utf8Chars(row[c]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < kColumns; ++c) {
      Append(&out, Padded(row[c], width[c], kRight[c]), "  ");
    }
    Append(&out, row[kColumns - 1], "\n");
  }
  return out;
}

std::string LedgerEntriesJson(const std::vector<LedgerEntry>& entries) {
  return internal::JsonArrayOf(entries, LedgerEntryJson);
}

std::string FormatLedgerListJson(const std::string& file, const std::optional<std::string>& status,
                                 const std::vector<LedgerEntry>& entries) {
  std::string out = "{\"file\":";
  Append(&out, JsonString(file), ",\"status\":", status ? JsonString(*status) : "null",
         ",\"entries\":", LedgerEntriesJson(entries), "}\n");
  return out;
}

std::string FormatLedgerShowJson(const std::string& file, const std::string& run_id,
                                 const std::vector<LedgerEntry>& entries) {
  std::string out = "{\"file\":";
  Append(&out, JsonString(file), ",\"run_id\":", JsonString(run_id),
         ",\"entries\":", LedgerEntriesJson(entries), "}\n");
  return out;
}

std::string FormatLedgerShow(const LedgerEntry& e) {
  std::string out =
      Cat("run_id: ", e.run_id, "\nstatus: ", e.status, "\ntrace_path: ", e.trace_path,
          "\nevents: ", e.event_count, "\nmodel_calls: ", e.model_calls,
          "\ntool_calls: ", e.tool_calls, "\ntool_results: ", e.tool_results,
          "\ntool_failures: ", e.tool_failures, "\npermission_decisions: ", e.permission_decisions,
          "\nerrors: ", e.errors, "\nstarted_ms: ", e.started_ms,
          "\nfinished_ms: ", e.finished_ms ? Cat(*e.finished_ms) : "open",
          "\nduration_ms: ", e.duration_ms ? Cat(*e.duration_ms) : "unknown", "\n");
  if (e.torn_tail) {
    Append(&out, "torn_tail: yes (run `traceframe repair --file ", e.trace_path, "`)\n");
  }
  // Only when there is something to say, so entries of older traces print
  // as before.
  if (e.deviations > 0) Append(&out, "deviations: ", e.deviations, "\n");
  if (e.usage.any()) Append(&out, "tokens: ", UsageText(e.usage), "\n");
  if (!e.labels.empty()) {
    out.append("labels:");
    for (const auto& [key, value] : e.labels) Append(&out, " ", key, "=", value);
    out.append("\n");
  }
  return out;
}

std::vector<LedgerEntry> FindLedgerEntries(const std::vector<LedgerEntry>& entries,
                                           const std::string& run_id) {
  std::vector<LedgerEntry> found;
  for (const LedgerEntry& e : entries) {
    if (e.run_id == run_id) found.push_back(e);
  }
  return found;
}

absl::StatusOr<std::vector<std::string>> ListRunTraces(const std::string& dir) {
  absl::Status status;
  std::vector<std::string> files = ListTraceFiles(dir, "", &status);
  if (!status.ok()) return status;
  files.erase(std::remove_if(files.begin(), files.end(), LooksLikeLedger), files.end());
  return files;
}

}  // namespace traceframe
