// The run ledger: a derived catalog of the traces under a directory, one
// NDJSON line per trace (docs/storage.md). The trace files stay the source of
// truth; the ledger can be deleted and rebuilt at any time with nothing lost.
//
// Line format (reference §7.1, fields in this order, plus fields an older
// reader ignores): version, run_id, trace_path, status, event_count,
// model_calls, tool_calls, tool_results, tool_failures, permission_decisions,
// errors, started_ms, finished_ms (null when open), duration_ms, torn_tail,
// usage, deviations, models, source, labels. `ledger export --jsonl` prints
// exactly these lines; docs/ledger.md is the stable reference of the shape.
//
// All functions are thread-safe (no shared state); RebuildLedger uses its own
// worker threads and returns once they have all finished.
#ifndef TRACEFRAME_LEDGER_H_
#define TRACEFRAME_LEDGER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/labels.h"
#include "traceframe/usage.h"

namespace traceframe {

struct LedgerEntry {
  std::string run_id;
  std::string trace_path;  // absolute, so the ledger reads the same from any cwd
  std::string status;      // the summary status: success, failed, open, ...
  uint64_t event_count = 0;
  uint64_t model_calls = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_results = 0;
  uint64_t tool_failures = 0;
  uint64_t permission_decisions = 0;
  uint64_t errors = 0;
  int64_t started_ms = 0;
  std::optional<int64_t> finished_ms;  // ts of run.finished; nullopt while open
  std::optional<int64_t> duration_ms;  // last ts - first ts
  bool torn_tail = false;  // the trace ends in a torn write (a crashed run); listed anyway
  // The run's token usage and the other facts of TraceSummary
  // (summary.h), as `ledger export --jsonl` writes them (docs/ledger.md).
  TokenUsage usage;
  uint64_t deviations = 0;
  std::vector<std::string> models;
  std::string source;
  Labels labels;
};

// The facts of one trace as a ledger entry. This is the single place where a
// trace is read for the ledger, so switching its source (the summary scan
// today, the sidecar index later) touches nothing else.
absl::StatusOr<LedgerEntry> LedgerEntryForTrace(const std::string& path);

struct LedgerRebuildOptions {
  std::string dir = ".traceframe/runs";
  std::string out = ".traceframe/ledger.traceframe";
  int threads = 0;  // 0: all cores
  // Called now and then with (bytes of the traces read, bytes of all the
  // traces), from one thread at a time (any of the workers). May be empty.
  std::function<void(uint64_t, uint64_t)> progress;
};

// A trace that could not be read; the rebuild goes on without it.
struct SkippedTrace {
  std::string path;
  std::string reason;
};

struct LedgerRebuildResult {
  std::vector<LedgerEntry> entries;  // sorted by trace path
  std::vector<SkippedTrace> skipped;
  std::vector<std::string> ledgers;  // files under dir that hold a ledger, left out
  uint64_t torn = 0;                 // entries whose trace has a torn tail
};

// Catalogs every `*.traceframe` file under options.dir (recursively; symlinked
// files are followed, symlinked directories are not) except the ledger itself
// (compared by canonical path) and files that hold a ledger rather than a run,
// then writes options.out atomically (temp file + rename). One unreadable trace
// never aborts the rebuild: it is returned in `skipped`. Errors: options.dir
// cannot be listed, or the ledger cannot be written.
absl::StatusOr<LedgerRebuildResult> RebuildLedger(const LedgerRebuildOptions& options);

// The *.traceframe files under `dir` (recursively, as RebuildLedger walks)
// that hold a run, not a ledger; sorted. NotFound when `dir` is not a
// directory. Used by every command that takes a runs directory.
absl::StatusOr<std::vector<std::string>> ListRunTraces(const std::string& dir);

// One entry as its compact ledger line (no newline).
std::string LedgerEntryJson(const LedgerEntry& entry);

// Reads a ledger. Blank lines are skipped; unknown fields are ignored.
// Errors: "failed to read ledger file F: ...", "invalid ledger entry at line N:
// ...", "unsupported ledger version V at line N".
absl::StatusOr<std::vector<LedgerEntry>> ReadLedger(const std::string& path);

// `ledger list --classic`: the earlier tool's table, a compatibility contract
// (reference §7.3: fixed widths, ledger order, trace_path as stored); a torn
// trace is marked after its path.
std::string FormatLedgerList(const std::vector<LedgerEntry>& entries);

// `ledger list`: newest run first, columns as wide as their widest value,
// the start time in UTC, a human duration, and trace paths relative to `cwd`
// when they are under it (absolute otherwise; empty cwd: as stored).
// "(no runs)" when there are none.
std::string FormatLedgerTable(const std::vector<LedgerEntry>& entries, const std::string& cwd);

// `trace_path` as `ledger list` shows it: relative to `cwd` when under it.
std::string ShownTracePath(const std::string& trace_path, const std::string& cwd);

// The JSON of `ledger list --json` ({"file","status","entries"}) and of
// `ledger show --json` ({"file","run_id","entries"}), each ending in '\n'.
// `status` is the --status filter (null when none).
std::string LedgerEntriesJson(const std::vector<LedgerEntry>& entries);
std::string FormatLedgerListJson(const std::string& file, const std::optional<std::string>& status,
                                 const std::vector<LedgerEntry>& entries);
std::string FormatLedgerShowJson(const std::string& file, const std::string& run_id,
                                 const std::vector<LedgerEntry>& entries);

// `ledger show`: the reference's lines for one entry, plus tool_failures and,
// for a torn trace, a torn_tail line; then `deviations:`, `tokens:` and
// `labels:` lines, each only when the run has any.
std::string FormatLedgerShow(const LedgerEntry& entry);

// Entries whose run_id equals `run_id`, in ledger order (several when traces
// share a run id).
std::vector<LedgerEntry> FindLedgerEntries(const std::vector<LedgerEntry>& entries,
                                           const std::string& run_id);

}  // namespace traceframe

#endif  // TRACEFRAME_LEDGER_H_
