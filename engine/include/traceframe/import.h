// Importing host transcripts (Claude Code, Codex CLI) as traces
// (docs/import.md).
//
// One trace per session, derived deterministically: the same input gives the
// same bytes (event ids are hashes of the run id and the source line, time
// comes only from the transcript). Tolerant: a line that cannot be parsed or
// is not understood is counted, never fatal; a cut-off last line (a live
// session) is left for the next import. Input that is not a transcript at
// all fails with InvalidArgument and writes nothing. Thread-safe; a
// directory is imported on all cores.
#ifndef TRACEFRAME_IMPORT_H_
#define TRACEFRAME_IMPORT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/usage.h"

namespace traceframe {

enum class ImportFormat { kAuto, kClaudeCode, kCodex };

// "auto", "claude-code", "codex"; InvalidArgument for anything else.
absl::StatusOr<ImportFormat> ParseImportFormat(std::string_view name);
std::string_view ImportFormatName(ImportFormat format);

// Bump when the mapping changes: traces written by an older importer are
// then re-imported instead of skipped as current.
inline constexpr int kImporterVersion = 1;

struct ImportOptions {
  ImportFormat format = ImportFormat::kAuto;
  // A single input file's trace goes here when set (only for a file input).
  std::string out_file;
  // Otherwise <out_dir>/<run id>.traceframe.
  std::string out_dir = ".traceframe/runs";
  // Overrides the run id (only for a file input).
  std::string run_id;
  // run.started's `source`; empty: the format name.
  std::string source;
  // run.started's `labels`, in the order given.
  std::vector<std::pair<std::string, std::string>> labels;
  // Re-import even when the trace is current, and replace a trace that is
  // not an import of the same input.
  bool force = false;
  // Worker threads for a directory; 0: all cores.
  int threads = 0;
  // Called after each session (from worker threads, serialized).
  std::function<void(size_t done, size_t total)> progress;
};

// A line the importer skipped, with why ("invalid JSON", "unknown type
// `foo`", ...). Lines are 1-based.
struct SkippedLine {
  uint64_t line = 0;
  std::string reason;
};

struct ImportedSession {
  std::string input;
  std::string trace_path;
  std::string run_id;
  std::string format;         // "claude-code" or "codex"
  std::string state;          // "imported", "skipped" (current), "failed"
  std::string error;          // why it failed
  std::string parent_run_id;  // a sub-agent's parent run
  uint64_t lines = 0;         // lines read (a cut-off last line not counted)
  uint64_t events = 0;
  uint64_t model_calls = 0;
  uint64_t compactions = 0;
  uint64_t tool_calls = 0;
  uint64_t tool_results = 0;
  uint64_t tool_failures = 0;
  uint64_t errors = 0;
  // The run's usage: run.finished's when the host gives a total, else the
  // sum over model.calls.
  TokenUsage usage;
  uint64_t skipped_line_count = 0;
  std::vector<SkippedLine> skipped_lines;  // the first kMaxListedSkippedLines
  bool cut_off_tail = false;               // an incomplete last line was left out
};

inline constexpr size_t kMaxListedSkippedLines = 100;

struct ImportReport {
  std::vector<ImportedSession> sessions;  // input order (sorted paths)
  size_t imported = 0;
  size_t skipped = 0;
  size_t failed = 0;
};

// Imports `input` (a transcript file, or a directory walked recursively for
// *.jsonl files). For a file that is not a transcript: InvalidArgument,
// nothing written. For a directory, per-session failures are reported in
// the result; NotFound when it holds no transcript at all.
absl::StatusOr<ImportReport> ImportTranscripts(const std::string& input,
                                               const ImportOptions& options);

// The trace text for one transcript given as bytes (tests, fuzzing): the
// same mapping as ImportTranscripts without any file access. `name` stands
// for the input path (it names the sub-agent for agent-*.jsonl).
absl::StatusOr<std::string> ImportTranscriptText(std::string_view bytes, std::string_view name,
                                                 const ImportOptions& options,
                                                 ImportedSession* session = nullptr);

}  // namespace traceframe

#endif  // TRACEFRAME_IMPORT_H_
