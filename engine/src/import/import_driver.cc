// The import driver: finds transcripts, tells formats apart, decides what is
// current, runs a format's line mapper over each session on all cores and
// writes each trace atomically (docs/import.md).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <thread>

#include "import/mapper.h"
#include "traceframe/hook.h"
#include "traceframe/import.h"
#include "traceframe/index.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/file_util.h"

namespace traceframe {
namespace internal {
namespace {

// A read-only mapping of a whole file: transcripts are read in place, so
// the heap holds one line's parse at a time, not the file.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
  }
  absl::Status Open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "cannot open", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError(errno, "cannot stat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(Cat("not a regular file: ", path));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return absl::OkStatus();
    void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (addr == MAP_FAILED) return ErrnoError(errno, "cannot map", path);
    addr_ = addr;
    ::madvise(addr_, size_, MADV_SEQUENTIAL);
    return absl::OkStatus();
  }
  std::string_view bytes() const {
    return addr_ == nullptr ? std::string_view()
                            : std::string_view(static_cast<char*>(addr_), size_);
  }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// The bytes up to and including the last '\n': a live session's last line
// may still be being written.
std::string_view CompleteLines(std::string_view bytes, bool* cut_off) {
  const size_t last = bytes.rfind('\n');
  const size_t keep = last == std::string_view::npos ? 0 : last + 1;
  *cut_off = keep < bytes.size();
  return bytes.substr(0, keep);
}

std::string StemOf(std::string_view path) {
  std::string base = BaseName(path);
  if (EndsWith(base, ".jsonl")) base.resize(base.size() - 6);
  return base;
}

// Claude Code sub-agent files: agent-<id>.jsonl (compaction runs:
// agent-acompact-<id>.jsonl).
bool SubagentFile(std::string_view path, std::string* agent_id) {
  const std::string stem = StemOf(path);
  if (!StartsWith(stem, "agent-") || stem.size() == 6) return false;
  *agent_id = stem.substr(6);
  return true;
}

// Fills the context from the first lines; InvalidArgument when they are not
// a transcript of the requested format.
absl::Status Detect(std::string_view bytes, ImportFormat requested, std::string_view name,
                    ImportContext* c) {
  if (requested != ImportFormat::kClaudeCode) {
    ImportContext probe = *c;
    if (ScanCodexHeader(bytes, &probe)) {
      *c = std::move(probe);
      c->format = ImportFormat::kCodex;
      return absl::OkStatus();
    }
  }
  if (requested != ImportFormat::kCodex) {
    ImportContext probe = *c;
    if (ScanClaudeHeader(bytes, &probe)) {
      *c = std::move(probe);
      c->format = ImportFormat::kClaudeCode;
      return absl::OkStatus();
    }
  }
  if (bytes.empty()) {
    return absl::InvalidArgumentError(Cat("not a transcript: ", name, " has no complete line"));
  }
  return absl::InvalidArgumentError(Cat(
      "not a ",
      requested == ImportFormat::kAuto ? std::string("Claude Code or Codex")
                                       : std::string(ImportFormatName(requested)),
      " transcript: ", name, " (no line in its first lines looks like one; see docs/import.md)"));
}

// Sets run id, source, labels and the sub-agent links. `parent_bytes`: the
// parent session's transcript for a sub-agent, when found.
void Identify(std::string_view name, const ImportOptions& options, std::string_view bytes,
              bool read_parent, ImportContext* c) {
  c->input = std::string(name);
  c->source = options.source.empty() ? std::string(ImportFormatName(c->format)) : options.source;
  c->labels = options.labels;
  if (c->session_id.empty()) c->session_id = StemOf(name);
  std::string agent;
  if (c->format == ImportFormat::kClaudeCode && SubagentFile(name, &agent)) {
    // Sub-agent lines carry the parent's sessionId; the directory layout
    // <session>/subagents/agent-<id>.jsonl names it too.
    const std::string dir = DirName(name);
    std::string parent_session = c->session_id;
    if (BaseName(dir) == "subagents") parent_session = BaseName(DirName(dir));
    c->agent_id = agent;
    c->compaction_run = StartsWith(agent, "acompact");
    c->parent_run_id = SafeRunId(Cat("run-", parent_session));
    c->run_id = SafeRunId(Cat("run-", parent_session, "-agent-", agent));
    // The parent's tool call that started this agent.
    std::vector<std::string> candidates;
    if (BaseName(dir) == "subagents") {
      candidates.push_back(Cat(DirName(dir), ".jsonl"));
    }
    candidates.push_back(Cat(dir, "/", parent_session, ".jsonl"));
    if (!read_parent) candidates.clear();
    for (const std::string& parent : candidates) {
      MappedFile file;
      if (!file.Open(parent).ok()) continue;
      absl::flat_hash_map<std::string, std::string> agents;
      ScanClaudeSubagents(file.bytes(), &agents);
      std::string best;
      for (const auto& [tool_use, id] : agents) {
        if (id == agent && (best.empty() || tool_use < best)) best = tool_use;
      }
      if (!best.empty()) {
        c->parent_tool_use_id = best;
        break;
      }
    }
  } else {
    c->agent_id.clear();
    c->run_id = SafeRunId(Cat("run-", c->session_id));
  }
  if (!options.run_id.empty()) c->run_id = options.run_id;
  if (c->format == ImportFormat::kClaudeCode) {
    absl::flat_hash_map<std::string, std::string> agents;
    ScanClaudeSubagents(bytes, &agents);
    for (const auto& [tool_use, id] : agents) {
      c->subagent_runs[tool_use] = SafeRunId(Cat("run-", c->session_id, "-agent-", id));
    }
  }
}

// Maps the complete lines of a transcript, writing trace text to `writer`.
absl::Status MapLines(std::string_view bytes, const ImportContext& c, ImportedSession* s,
                      EventSink::Writer writer) {
  EventSink sink(c, std::move(writer), s);
  if (absl::Status st = sink.Start(); !st.ok()) return st;
  std::unique_ptr<LineMapper> mapper =
      c.format == ImportFormat::kCodex ? NewCodexMapper(c, &sink) : NewClaudeMapper(c, &sink);
  size_t pos = 0;
  uint64_t number = 0;
  // A UTF-8 byte order mark before the first line.
  if (StartsWith(bytes, "\xEF\xBB\xBF")) pos = 3;
  while (pos < bytes.size()) {
    size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) nl = bytes.size();
    std::string_view line = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (StripWhitespace(line).empty()) continue;
    mapper->MapLine(number, line);
    if (!sink.status().ok()) return sink.status();
  }
  s->lines = number;
  std::string finished = mapper->Finish();
  s->usage = mapper->RunUsage().value_or(sink.model_usage());
  return sink.Finish(std::move(finished));
}

// What the existing trace's run.started says about the import that wrote
// it: "" when it is not an import, else "<path>\n<bytes>\n<hash>\n<importer>".
std::string ImportSignature(std::string_view started_line) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(started_line.data(), started_line.size()).get(root) != simdjson::SUCCESS) {
    return {};
  }
  std::optional<element> payload = Field(root, "payload");
  if (!payload || StringField(*payload, "created_by").value_or("") != "traceframe import") {
    return {};
  }
  std::optional<element> input = Field(*payload, "input");
  if (!input) return {};
  return Cat(StringField(*input, "path").value_or(""), "\n", IntField(*input, "bytes").value_or(-1),
             "\n", StringField(*input, "hash").value_or(""), "\n",
             IntField(*input, "importer").value_or(0));
}

std::string SignatureOf(const ImportContext& c) {
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(c.input_hash));
  return Cat(c.input, "\n", c.input_bytes, "\n", std::string_view(hash, 16), "\n",
             kImporterVersion);
}

// Streams trace text to the temp file.
class FileWriter {
 public:
  FileWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  absl::Status operator()(std::string_view chunk) { return WriteAll(fd_, chunk, path_); }

 private:
  int fd_;
  std::string path_;
};

ImportedSession ImportOne(const std::string& path, const ImportOptions& options,
                          absl::Status* failure = nullptr) {
  ImportedSession s;
  s.input = path;
  auto fail = [&s, failure](const absl::Status& status) {
    s.state = "failed";
    s.error = std::string(status.message());
    if (failure != nullptr) *failure = status;
    return s;
  };
  MappedFile file;
  if (absl::Status st = file.Open(path); !st.ok()) return fail(st);
  ImportContext c;
  const std::string_view bytes = CompleteLines(file.bytes(), &s.cut_off_tail);
  if (absl::Status st = Detect(bytes, options.format, path, &c); !st.ok()) return fail(st);
  c.input_bytes = bytes.size();
  c.input_hash = InputHash(bytes);
  Identify(path, options, bytes, /*read_parent=*/true, &c);
  s.run_id = c.run_id;
  s.format = std::string(ImportFormatName(c.format));
  s.parent_run_id = c.parent_run_id;
  s.trace_path = options.out_file.empty() ? Cat(options.out_dir, "/", c.run_id, ".traceframe")
                                          : options.out_file;
  // Current? The run.started of an earlier import names its input.
  if (!options.force) {
    UniqueFd existing(::open(s.trace_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (existing.valid()) {
      absl::StatusOr<std::string> head = ReadAt(existing.get(), 0, 64 * 1024, s.trace_path);
      if (head.ok() && !head->empty()) {
        const std::string_view first(head->data(), std::min(head->find('\n'), head->size()));
        const std::string signature = ImportSignature(first);
        if (signature.empty() || signature.substr(0, signature.find('\n')) != c.input) {
          return fail(absl::AlreadyExistsError(Cat(s.trace_path, " exists and is not an import of ",
                                                   path, " (use --force to replace it)")));
        }
        if (signature == SignatureOf(c)) {
          s.state = "skipped";
          return s;
        }
      }
    }
  }
  if (absl::Status st = CreateDirectories(DirName(s.trace_path)); !st.ok()) return fail(st);
  const std::string temp = TempPathBeside(s.trace_path);
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out.valid()) return fail(ErrnoError(errno, "cannot write", s.trace_path));
  FileWriter writer(out.get(), s.trace_path);
  absl::Status st = MapLines(bytes, c, &s, std::ref(writer));
  if (st.ok() && ::fsync(out.get()) != 0) st = ErrnoError(errno, "cannot sync", s.trace_path);
  out.reset();
  if (st.ok() && ::rename(temp.c_str(), s.trace_path.c_str()) != 0) {
    st = ErrnoError(errno, "cannot rename to", s.trace_path);
  }
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return fail(st);
  }
  (void)SyncDirectory(DirName(s.trace_path));
  // The sidecar index described the replaced trace (derived: rebuilt on
  // demand).
  ::unlink(IndexPathFor(s.trace_path).c_str());
  s.state = "imported";
  return s;
}

absl::Status Walk(const std::string& dir, std::vector<std::string>* files, int depth) {
  if (depth > 64) return absl::OkStatus();
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(errno, "cannot read directory", dir);
  std::vector<std::string> subdirs;
  while (struct dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = Cat(dir, "/", name);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      subdirs.push_back(path);
    } else if (S_ISREG(st.st_mode) && EndsWith(name, ".jsonl")) {
      files->push_back(path);
    }
  }
  ::closedir(d);
  for (const std::string& sub : subdirs) {
    if (absl::Status st = Walk(sub, files, depth + 1); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace internal

absl::StatusOr<ImportFormat> ParseImportFormat(std::string_view name) {
  if (name == "auto") return ImportFormat::kAuto;
  if (name == "claude-code" || name == "claude") return ImportFormat::kClaudeCode;
  if (name == "codex") return ImportFormat::kCodex;
  return absl::InvalidArgumentError(
      Cat("unknown import format: ", name, " (expected auto, claude-code or codex)"));
}

std::string_view ImportFormatName(ImportFormat format) {
  switch (format) {
    case ImportFormat::kClaudeCode:
      return "claude-code";
    case ImportFormat::kCodex:
      return "codex";
    default:
      return "auto";
  }
}

absl::StatusOr<std::string> ImportTranscriptText(std::string_view bytes, std::string_view name,
                                                 const ImportOptions& options,
                                                 ImportedSession* session) {
  ImportedSession local;
  ImportedSession* s = session != nullptr ? session : &local;
  s->input = std::string(name);
  internal::ImportContext c;
  const std::string_view complete = internal::CompleteLines(bytes, &s->cut_off_tail);
  if (absl::Status st = internal::Detect(complete, options.format, name, &c); !st.ok()) return st;
  c.input_bytes = complete.size();
  c.input_hash = internal::InputHash(complete);
  internal::Identify(name, options, complete, /*read_parent=*/false, &c);
  s->run_id = c.run_id;
  s->format = std::string(ImportFormatName(c.format));
  s->parent_run_id = c.parent_run_id;
  std::string out;
  absl::Status st = internal::MapLines(complete, c, s, [&out](std::string_view chunk) {
    out.append(chunk);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  s->state = "imported";
  return out;
}

absl::StatusOr<ImportReport> ImportTranscripts(const std::string& input,
                                               const ImportOptions& options) {
  struct stat st;
  if (::stat(input.c_str(), &st) != 0) return ErrnoError(errno, "cannot read", input);
  ImportReport report;
  if (!S_ISDIR(st.st_mode)) {
    absl::Status failure;
    ImportedSession s = internal::ImportOne(input, options, &failure);
    // A single input that is not a transcript, or a trace that is not ours
    // to replace: the command fails as a whole.
    if (absl::IsInvalidArgument(failure) || absl::IsAlreadyExists(failure)) return failure;
    (s.state == "imported"  ? report.imported
     : s.state == "skipped" ? report.skipped
                            : report.failed)++;
    report.sessions.push_back(std::move(s));
    return report;
  }
  if (!options.out_file.empty()) {
    return absl::InvalidArgumentError(
        "--file takes a single transcript; use --dir for a directory");
  }
  if (!options.run_id.empty()) {
    return absl::InvalidArgumentError("--run-id takes a single transcript, not a directory");
  }
  std::vector<std::string> files;
  std::string root = input;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (absl::Status s = internal::Walk(root, &files, 0); !s.ok()) return s;
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::NotFoundError(Cat("no transcripts (*.jsonl) under ", input));
  }
  report.sessions.resize(files.size());
  size_t workers = options.threads > 0 ? static_cast<size_t>(options.threads)
                                       : std::max(1u, std::thread::hardware_concurrency());
  workers = std::min(workers, files.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex progress_mu;
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      report.sessions[i] = internal::ImportOne(files[i], options);
      const size_t finished = ++done;
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        options.progress(finished, files.size());
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  for (const ImportedSession& s : report.sessions) {
    (s.state == "imported"  ? report.imported
     : s.state == "skipped" ? report.skipped
                            : report.failed)++;
  }
  return report;
}

}  // namespace traceframe
