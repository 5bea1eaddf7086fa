// Host hooks: turning an agent host's hook payload (Claude Code, Codex CLI,
// Cursor; docs/hooks.md) into trace events, appending them, and wiring the
// `traceframe hook ingest` command into a host's hooks file.
//
// Three layers, each usable on its own from C++:
//  - MapHookPayload: pure. JSON text in, the events to append (or "ignored")
//    out. No I/O, no clock. Thread-safe.
//  - IngestHookPayload: maps, resolves the target trace (never outside the
//    directory it is given), creates it race-free on first use and appends all
//    events of one payload with one locked write. Thread- and process-safe.
//  - MergeHooksJson / InstallHooks: an idempotent, order-preserving merge of
//    the traceframe entry into a hooks/settings JSON file, written atomically.
#ifndef TRACEFRAME_HOOK_H_
#define TRACEFRAME_HOOK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/labels.h"
#include "traceframe/writer.h"

namespace traceframe {

// Host strings longer than this many characters are cut and marked, like
// exec's output previews.
inline constexpr size_t kHookStringMaxChars = 4000;
inline constexpr std::string_view kHookTruncatedMarker = "\n[truncated]";
// A copied JSON value (tool input, output) larger than this after string
// truncation is stored as a truncated string of its JSON text instead.
inline constexpr size_t kHookValueMaxBytes = 64 * 1024;
// payload.raw (the host payload as received, bounded and redacted) is at
// most this many bytes of JSON; content past it is replaced by markers.
inline constexpr size_t kHookRawMaxBytes = kHookValueMaxBytes;
// Copied JSON values (payload.raw, input, response, ...) nested deeper than
// this are replaced by a marker string.
inline constexpr size_t kHookMaxDepth = 32;
// Replaces the value under a key that looks like a secret (token, password,
// api_key, ...; see LooksLikeSecretKey) in every copied JSON value.
inline constexpr std::string_view kHookRedacted = "[redacted]";
// hook ingest refuses larger stdin payloads.
inline constexpr size_t kHookMaxPayloadBytes = size_t{256} << 20;
// Run ids (and so file names) are bounded to this many bytes.
inline constexpr size_t kRunIdMaxBytes = 128;

// --source: trimmed; empty becomes "generic". Stored verbatim otherwise.
std::string NormalizeSource(std::string_view label);

// A run id safe to use as a file name stem: only [A-Za-z0-9._-], no leading
// '.', at most kRunIdMaxBytes. An id that had to be altered gets the 64-bit
// hash of the original appended ("~h<16 hex>"); '~' is never in an unaltered
// id, so an altered id cannot equal a literal one. Safe ids are returned
// unchanged.
std::string SafeRunId(std::string_view raw);

// True for an object key whose value must not be stored: ASCII
// case-insensitive, ignoring '_', '-', '.' and ' ', the key contains token,
// secret, password, passwd, apikey, authorization, cookie, credential,
// privatekey or accesskey ("GITHUB_TOKEN", "x-api-key", "Set-Cookie").
// `value_is_number`: a number under a key whose only such word is "token"
// is a count ("max_tokens": 4096, "input_tokens"), kept; a secret token is a
// string.
bool LooksLikeSecretKey(std::string_view key, bool value_is_number = false);

struct HookMapOptions {
  std::string source = "generic";  // already normalized
  bool strict = false;             // events with no trace meaning are errors
};

// The result of mapping one payload.
struct HookMapping {
  // The event has no trace meaning (UserPromptSubmit, Notification, Stop,
  // ...): nothing to append. `ignored_reason` says why.
  bool ignored = false;
  std::string ignored_reason;
  std::string hook_event;  // as the host named it ("hook.event" if unnamed)
  // The session id as found (unsanitized), if any.
  std::optional<std::string> session_id;
  // "run-<session>" or "run-<16 hex>" from stable context (cwd,
  // transcript_path), already passed through SafeRunId.
  std::string run_id;
  // Events to append, in order. Empty for SessionStart (which only creates
  // the trace) and for ignored events.
  std::vector<PendingEvent> events;
  // Compact "key":value pairs for run.started when this payload creates the
  // trace: source, session, model, cwd as the host reported them.
  std::string started_fields_json;
};

// Maps one hook payload. Errors (InvalidArgument): not JSON, not an object,
// an empty object, and (with options.strict) an event with no trace meaning.
absl::StatusOr<HookMapping> MapHookPayload(std::string_view json, const HookMapOptions& options);

// ---- hook ingest

struct HookIngestOptions {
  std::optional<std::string> file;  // exactly one of file and dir
  std::optional<std::string> dir;
  bool init_if_missing = false;  // --file only; --dir always creates
  std::string source = "generic";
  std::optional<std::string> run_id;  // overrides the derived id (made safe)
  bool strict = false;
  WriteOptions write;
  Labels labels;  // stored in run.started when this call creates the trace
};

struct HookIngestResult {
  bool ignored = false;
  std::string ignored_reason;
  std::string hook_event;
  std::string path;    // the trace written
  std::string run_id;  // the trace's run id
  bool created = false;
  std::optional<std::string> resumed_from;  // the finished trace this one continues
  std::vector<AppendedEvent> events;
  std::vector<std::string> notes;  // things the user should know (ignored --run-id, ...)
};

// Reads all of `fd` (stdin), refusing more than `max_bytes`, a terminal, and
// empty or whitespace-only input ("missing hook JSON on stdin").
absl::StatusOr<std::string> ReadHookInput(int fd, size_t max_bytes = kHookMaxPayloadBytes);

// The whole `hook ingest` operation on one payload. Nothing is created for a
// payload that fails to map. A trace that is already finished is continued in
// "<stem>-2.traceframe" (then -3, ...) whose run.started names the previous
// file.
absl::StatusOr<HookIngestResult> IngestHookPayload(std::string_view json,
                                                   const HookIngestOptions& options);

// ---- hook install

// The shape of a hooks file.
enum class HookFileFormat {
  // kCursor when the file is in a `.cursor` directory, or the existing file
  // has a top-level "version" or only flat {"command":...} entries; else
  // kClaude.
  kAuto,
  // Claude Code / Codex: {"hooks":{"<Event>":[{"matcher":...,
  // "hooks":[{"type":"command","command":...}]}]}}.
  kClaude,
  // Cursor: {"version":1,"hooks":{"<event>":[{"command":...}]}}.
  kCursor,
};

// "auto", "claude", "cursor".
std::string_view HookFileFormatName(HookFileFormat format);
// The inverse of HookFileFormatName; nullopt for anything else.
std::optional<HookFileFormat> ParseHookFileFormat(std::string_view name);
// PreToolUse,PostToolUse (Claude Code / Codex) or
// beforeShellExecution,afterShellExecution (Cursor).
std::vector<std::string> DefaultHookEvents(HookFileFormat format);

// The agent hosts `hook install --host` wires (docs/hooks.md).
enum class HookHost { kClaudeCode, kCodex, kCursor };

// "claude-code", "codex", "cursor".
std::string_view HookHostName(HookHost host);
// "Claude Code", "Codex", "Cursor".
std::string_view HookHostDisplayName(HookHost host);
// The inverse of HookHostName; nullopt for anything else.
std::optional<HookHost> ParseHookHost(std::string_view name);
// The project file the host reads: .claude/settings.json, .codex/hooks.json,
// .cursor/hooks.json.
std::string_view HookHostFile(HookHost host);
// The host whose project directory (.claude, .codex, .cursor) holds `path`.
std::optional<HookHost> HookHostOfFile(std::string_view path);
// What a whole session needs, in the host's event names: session start and
// end, every tool call and result, tool failures and permission requests
// and denials where the host has them.
std::vector<std::string> HostDefaultHookEvents(HookHost host);
// Every event name the host documents (docs/hooks.md).
const std::vector<std::string>& HostKnownHookEvents(HookHost host);

struct HookInstallOptions {
  std::string file = ".agent/hooks.json";
  HookFileFormat format = HookFileFormat::kAuto;
  std::optional<HookHost> host;  // sets the file, shape and default events
  std::string source = "generic";
  std::optional<std::string> run_id;
  std::string matcher = "*";        // Claude Code / Codex tool events only
  std::vector<std::string> events;  // empty: the host's defaults, else DefaultHookEvents(format)
  std::string dir = ".traceframe/runs";
  // When set, the wired --dir is "$<dir_var>"/<dir> (e.g. CLAUDE_PROJECT_DIR).
  std::string dir_var;
  // The program the host runs; ResolveHookInstall makes it the absolute path
  // of the running binary, since `traceframe` is often not on the host's PATH.
  std::string binary = "traceframe";
  bool print = false;  // compute and return the snippet; read and write nothing
  Labels labels;       // passed on as `--label K=V` in the wired command
};

// Completes `options` as `hook install` does: without a host and without an
// explicit file (`file_given` false) the host is detected from the
// directories in `project_dir` (.claude/, .codex/, .cursor/; none or several
// is InvalidArgument; an explicit file without a host keeps the generic
// defaults); a host sets the file (unless given), the shape, the
// source label and the default events, and event names the host does not
// know are InvalidArgument; the binary becomes the running executable's
// absolute path and a relative --dir becomes absolute (for Claude Code,
// relative to $CLAUDE_PROJECT_DIR) so a session that changes directory
// stays one trace.
absl::StatusOr<HookInstallOptions> ResolveHookInstall(HookInstallOptions options, bool file_given,
                                                      const std::string& project_dir);

// The absolute path of the running executable (/proc/self/exe).
absl::StatusOr<std::string> RunningExecutablePath();

// Which host reads `options.file`, said plainly for the user.
std::string HookHostNote(const HookInstallOptions& options);

struct HookInstallResult {
  std::string command;  // the wired, shell-quoted command
  std::string result;   // "wired PreToolUse and PostToolUse", "already wired", ...
  HookFileFormat format = HookFileFormat::kClaude;  // as resolved, never kAuto
  bool written = false;
  std::vector<std::string> wired, updated, present;
  std::string json;  // the new file contents, or the --print snippet
};

// options.format with kAuto resolved against options.file and the file's
// text (`existing`, empty when missing or not read). Text that is not a JSON
// object counts as no evidence.
HookFileFormat ResolveHookFileFormat(const HookInstallOptions& options, std::string_view existing);

// "traceframe hook ingest --source S --dir D [--run-id ID]", shell-quoted.
std::string HookIngestCommand(const HookInstallOptions& options);

// Merges the traceframe entries into `existing` (a hooks/settings file's
// text; empty or blank means {}) and returns the new text in
// result.json. Keys keep their order; the file's indent unit is kept.
// An existing traceframe entry with different flags or matcher is updated;
// duplicates, and traceframe entries in the other format's shape, are
// removed. The Cursor format adds "version": 1 when the file has none.
absl::StatusOr<HookInstallResult> MergeHooksJson(std::string_view existing,
                                                 const HookInstallOptions& options);

// The --print snippet: {"hooks":{<event>:[entry], ...}} pretty-printed
// ({"version":1,"hooks":...} for Cursor). kAuto is resolved from the path
// alone (the file is not read).
std::string HookSnippetJson(const HookInstallOptions& options);

// Reads options.file, merges, writes it atomically if anything changed.
// With options.print, touches no file.
absl::StatusOr<HookInstallResult> InstallHooks(const HookInstallOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_HOOK_H_
