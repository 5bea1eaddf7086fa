// `hook ingest`: one host hook payload in, its events appended to a trace.
//
// The hot path of every agent tool call, so it does only what it must: one
// stdin read, one simdjson parse, one locked O(1) append (writer.h). The
// host context for run.started (cwd, git facts) is computed only when the
// trace is about to be created.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/file_util.h"

namespace traceframe {
namespace {

// How many continuation traces ("-2" ... ) a session may have.
constexpr int kMaxContinuations = 1000;

bool IsFinishedError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         StartsWith(ToStd(status.message()), "cannot append after run.finished");
}

// "runs/run-s.traceframe" -> "runs/run-s-2.traceframe".
std::string ContinuationPath(const std::string& path, int n) {
  constexpr std::string_view kExt = ".traceframe";
  if (EndsWith(path, kExt) && path.size() > kExt.size()) {
    return Cat(std::string_view(path).substr(0, path.size() - kExt.size()), "-", n, kExt);
  }
  return Cat(path, "-", n);
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return Cat(dir, name);
  return Cat(dir, "/", name);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::StatusOr<std::string> ReadHookInput(int fd, size_t max_bytes) {
  if (::isatty(fd)) {
    return absl::InvalidArgumentError(
        "missing hook JSON on stdin (stdin is a terminal; hosts pipe the payload in)");
  }
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    data.reserve(std::min<size_t>(static_cast<size_t>(st.st_size), max_bytes) + 1);
  }
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "failed to read hook payload from", "stdin");
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::InvalidArgumentError(
          Cat("hook payload on stdin is larger than ", max_bytes >> 20, " MiB; refusing it"));
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  if (StripWhitespace(data).empty()) {
    return absl::InvalidArgumentError("missing hook JSON on stdin");
  }
  return data;
}

absl::StatusOr<HookIngestResult> IngestHookPayload(std::string_view json,
                                                   const HookIngestOptions& options) {
  HookMapOptions map_options;
  map_options.source = NormalizeSource(options.source);
  map_options.strict = options.strict;
  // A bad payload is reported before anything else and creates nothing.
  absl::StatusOr<HookMapping> mapping = MapHookPayload(json, map_options);
  if (!mapping.ok()) return mapping.status();

  if (options.file && options.dir) {
    return absl::InvalidArgumentError("pass exactly one of --file or --dir, not both");
  }
  if (!options.file && !options.dir) {
    return absl::InvalidArgumentError("pass exactly one of --file or --dir");
  }

  HookIngestResult result;
  result.hook_event = mapping->hook_event;
  if (mapping->ignored) {
    result.ignored = true;
    result.ignored_reason = mapping->ignored_reason;
    return result;
  }

  std::string run_id = mapping->run_id;
  if (options.run_id) {
    run_id = SafeRunId(*options.run_id);
    if (run_id != *options.run_id) {
      result.notes.push_back(
          Cat("--run-id ", JsonString(*options.run_id), " is not filename-safe; using ", run_id));
    }
  }

  std::string path;
  bool may_create;
  if (options.dir) {
    absl::Status status = CreateDirectories(*options.dir);
    if (!status.ok()) return status;
    // run_id is filename-safe (no '/', no leading '.'), so this names a file
    // directly inside the directory.
    path = JoinPath(*options.dir, Cat(run_id, ".traceframe"));
    may_create = true;
  } else {
    path = *options.file;
    may_create = options.init_if_missing;
  }

  std::string previous;
  std::string base_run_id = run_id;  // continuations are "<base>-2", "<base>-3", ...
  for (int n = 1; n <= kMaxContinuations; ++n) {
    const std::string target = n == 1 ? path : ContinuationPath(path, n);
    const std::string target_run_id = n == 1 ? run_id : Cat(base_run_id, "-", n);
    absl::StatusOr<AppendResult> appended;
    if (Exists(target)) {
      appended = AppendEvents(target, mapping->events, options.write);
    } else if (!may_create && n == 1) {
      return absl::NotFoundError(Cat("trace does not exist: ", target,
                                     "; pass --init-if-missing to create it (or use --dir)"));
    } else {
      std::string fields = mapping->started_fields_json;
      if (!options.labels.empty()) {
        Append(&fields, fields.empty() ? "" : ",", "\"labels\":", LabelsJson(options.labels));
      }
      if (!previous.empty()) Append(&fields, ",\"resumed_from\":", JsonString(previous));
      appended = AppendEventsCreating(target, target_run_id, DefaultStartedPayload(fields),
                                      mapping->events, options.write);
    }
    if (!appended.ok()) {
      if (absl::IsNotFound(appended.status()) && !may_create && n == 1) {
        return absl::NotFoundError(Cat("trace does not exist: ", target,
                                       "; pass --init-if-missing to create it (or use --dir)"));
      }
      if (IsFinishedError(appended.status())) {
        // The session was resumed after its trace was finished: continue it
        // in the next trace; nothing is dropped.
        previous = BaseName(target);
        if (n == 1) {
          // Continue the finished trace's own run id (it may differ from the
          // derived one when --file names an existing trace).
          UniqueFd fd(::open(target.c_str(), O_RDONLY | O_CLOEXEC));
          if (fd.valid()) {
            absl::StatusOr<TailState> tail = ReadTailState(fd.get(), target);
            if (tail.ok() && !tail->run_id.empty()) base_run_id = SafeRunId(tail->run_id);
          }
        }
        continue;
      }
      return appended.status();
    }
    result.path = target;
    result.run_id = appended->run_id;
    result.created = appended->created;
    result.events = std::move(appended->events);
    if (!previous.empty()) result.resumed_from = previous;
    if (options.run_id && options.file && !result.created && result.run_id != run_id) {
      result.notes.push_back(Cat("--run-id ", run_id, " not applied: ", target,
                                 " already has run id ", result.run_id));
    }
    return result;
  }
  return absl::ResourceExhaustedError(
      Cat("trace ", path, " and ", kMaxContinuations - 1, " continuations are all finished"));
}

}  // namespace traceframe
