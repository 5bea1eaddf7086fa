#include "traceframe/command.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "traceframe/event.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/file_util.h"

extern char** environ;

namespace traceframe {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Reads per stream per poll wake-up while the child runs, so a chatty stdout
// cannot starve stderr or signal forwarding.
constexpr int kReadsPerWakeup = 16;
constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP};

std::string OsErrorText(int err) { return Cat(std::strerror(err), " (os error ", err, ")"); }

// ---- Signal capture -------------------------------------------------------
//
// A self-pipe: the handler writes one byte per signal (the number, with the
// high bit set when the kernel generated it for the terminal's foreground
// process group, which the child belongs to and so already received it).

std::atomic<int> g_signal_write_fd{-1};
std::atomic<bool> g_capture_active{false};

constexpr unsigned char kFromTerminal = 0x80;

void OnCapturedSignal(int sig, siginfo_t* info, void* /*context*/) {
  const int saved_errno = errno;
  unsigned char byte = static_cast<unsigned char>(sig & 0x7f);
  if (info != nullptr && info->si_code == SI_KERNEL) byte |= kFromTerminal;
  const int fd = g_signal_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    ssize_t ignored = ::write(fd, &byte, 1);
    (void)ignored;  // a full pipe already holds enough wake-ups
  }
  errno = saved_errno;
}

struct CaughtSignal {
  int signal;
  bool from_terminal;
};

class SignalCapture {
 public:
  // nullptr when another capture is active (handlers are process-wide) or
  // the pipe cannot be made; the caller then runs without forwarding.
  static std::unique_ptr<SignalCapture> Install() {
    if (g_capture_active.exchange(true)) return nullptr;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      g_capture_active.store(false);
      return nullptr;
    }
    std::unique_ptr<SignalCapture> capture(new SignalCapture(fds[0], fds[1]));
    g_signal_write_fd.store(fds[1]);
    for (int sig : kForwardedSignals) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      // Ignored stays ignored, for us and (through exec) for the child.
      if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;
      struct sigaction action {};
      action.sa_sigaction = OnCapturedSignal;
      action.sa_flags = SA_SIGINFO;  // no SA_RESTART: blocking calls return EINTR
      sigemptyset(&action.sa_mask);
      if (::sigaction(sig, &action, nullptr) == 0) capture->saved_.emplace_back(sig, old);
    }
    return capture;
  }

  ~SignalCapture() {
    for (const auto& [sig, old] : saved_) ::sigaction(sig, &old, nullptr);
    g_signal_write_fd.store(-1);
    read_fd_.reset();
    write_fd_.reset();
    g_capture_active.store(false);
  }

  int fd() const { return read_fd_.get(); }

  std::vector<CaughtSignal> Drain() {
    std::vector<CaughtSignal> caught;
    unsigned char buf[64];
    for (;;) {
      const ssize_t n = ::read(read_fd_.get(), buf, sizeof(buf));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      for (ssize_t i = 0; i < n; ++i) {
        caught.push_back({buf[i] & 0x7f, (buf[i] & kFromTerminal) != 0});
      }
    }
    return caught;
  }

 private:
  SignalCapture(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}
  UniqueFd read_fd_;
  UniqueFd write_fd_;
  std::vector<std::pair<int, struct sigaction>> saved_;
};

// ---- Output streams -------------------------------------------------------

struct Stream {
  const char* name;
  UniqueFd read_fd;
  int forward_fd;
  OutputPreview preview;
  bool open = true;
};

// Writes all of `data` to `fd`. Waits out a non-blocking descriptor and calls
// `on_interrupt` when a signal interrupts a blocked write, so forwarding keeps
// working while a slow reader holds us up. Returns 0 or the errno.
template <typename OnInterrupt>
int WriteFully(int fd, const char* data, size_t len, OnInterrupt on_interrupt) {
  while (len > 0) {
    const ssize_t n = ::write(fd, data, len);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      on_interrupt();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno == EINTR) on_interrupt();
      continue;
    }
    return n < 0 ? errno : EIO;
  }
  return 0;
}

absl::StatusOr<CommandOutcome> RunCommandWith(const std::vector<std::string>& argv,
                                              const CommandOptions& options,
                                              SignalCapture* capture) {
  if (argv.empty()) return absl::InvalidArgumentError("missing the command to run");
  CommandOutcome outcome;
  // A signal that arrived while the call was being recorded: the user wants
  // out, so the command is not started at all.
  if (capture != nullptr) {
    for (const CaughtSignal& c : capture->Drain()) {
      if (!outcome.received_signal) outcome.received_signal = c.signal;
    }
    if (outcome.received_signal) {
      outcome.spawn_error =
          Cat("interrupted by ", SignalName(*outcome.received_signal), " before it started");
      return outcome;
    }
  }

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "failed to create", "a pipe for the command's stdout");
  }
  Stream streams[2] = {
      {"stdout", UniqueFd(out_pipe[0]), options.forward_stdout_fd,
       OutputPreview(options.preview_chars)},
      {"stderr", UniqueFd(), options.forward_stderr_fd, OutputPreview(options.preview_chars)},
  };
  UniqueFd out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "failed to create", "a pipe for the command's stderr");
  }
  streams[1].read_fd.reset(err_pipe[0]);
  UniqueFd err_write(err_pipe[1]);
  for (Stream& s : streams) {
    ::fcntl(s.read_fd.get(), F_SETFL, ::fcntl(s.read_fd.get(), F_GETFL) | O_NONBLOCK);
  }

  // A closed output must not kill us with SIGPIPE (a library cannot assume
  // the caller ignores it): block it in this thread, consume it afterwards.
  sigset_t pipe_set;
  sigset_t old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool pipe_signal_was_pending = sigismember(&pending, SIGPIPE) == 1;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child gets the caller's signal mask and a default SIGPIPE (the CLI
  // ignores it, and an ignored disposition would survive exec).
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &old_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [&start] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  };
  pid_t pid = -1;
  const int spawn_rc = ::posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_write.reset();
  err_write.reset();
  if (spawn_rc != 0) {
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    outcome.duration_ms = elapsed_ms();
    outcome.spawn_errno = spawn_rc;
    outcome.spawn_error = OsErrorText(spawn_rc);
    return outcome;
  }
  outcome.spawned = true;
  if (options.on_spawned) options.on_spawned(pid);

  // pidfd (Linux 5.3+) makes the child's exit pollable; without it we poll
  // waitpid on a short timer.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool exited = false;
  int wait_status = 0;
  bool status_known = false;
  auto reap = [&] {
    if (exited) return;
    pid_t r;
    do {
      r = ::waitpid(pid, &wait_status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) {
      exited = true;
      status_known = true;
    } else if (r < 0) {
      exited = true;  // reaped elsewhere (SIGCHLD ignored): the status is lost
    }
    if (exited) outcome.duration_ms = elapsed_ms();
  };
  auto handle_signals = [&] {
    if (capture == nullptr) return;
    for (const CaughtSignal& c : capture->Drain()) {
      if (!outcome.received_signal) outcome.received_signal = c.signal;
      if (!c.from_terminal && !exited) ::kill(pid, c.signal);
    }
  };

  std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  bool saw_epipe = false;
  // Reads what is available from `s` (at most `max_reads` chunks and
  // `max_bytes` bytes), forwards it and counts it; closes the stream at EOF.
  auto pump = [&](Stream& s, int max_reads, size_t max_bytes) {
    for (int i = 0; s.open && i < max_reads && max_bytes > 0; ++i) {
      const ssize_t n =
          ::read(s.read_fd.get(), buffer.get(), max_bytes < kReadChunk ? max_bytes : kReadChunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      }
      if (n <= 0) {
        s.open = false;
        s.read_fd.reset();
        return;
      }
      const size_t len = static_cast<size_t>(n);
      max_bytes -= len;
      s.preview.Add(std::string_view(buffer.get(), len));
      if (s.forward_fd >= 0) {
        const int err = WriteFully(s.forward_fd, buffer.get(), len, handle_signals);
        if (err != 0) {
          // Stop copying, keep draining: the child must not block or die on
          // a full pipe, and the counts must stay true.
          if (err == EPIPE) saw_epipe = true;
          if (outcome.forward_error.empty()) {
            outcome.forward_error = Cat(s.name, ": ", OsErrorText(err));
          }
          s.forward_fd = -1;
        }
      }
    }
  };

  handle_signals();
  for (;;) {
    if (!pidfd.valid()) reap();
    if (exited) {
      // Everything the child wrote is in the pipes by now: take exactly
      // that. Waiting for EOF (or for the pipe to run dry) could take
      // forever when a background process it left behind holds the pipes
      // open and keeps writing.
      for (Stream& s : streams) {
        int available = 0;
        if (!s.open) continue;
        if (::ioctl(s.read_fd.get(), FIONREAD, &available) == 0) {
          pump(s, INT32_MAX, static_cast<size_t>(available));
        } else {
          pump(s, kReadsPerWakeup, SIZE_MAX);  // cannot happen on a pipe
        }
      }
      break;
    }
    struct pollfd fds[4];
    int n = 0;
    int index[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
      if (streams[i].open) {
        index[i] = n;
        fds[n++] = {streams[i].read_fd.get(), POLLIN, 0};
      }
    }
    int signal_index = -1;
    if (capture != nullptr) {
      signal_index = n;
      fds[n++] = {capture->fd(), POLLIN, 0};
    }
    int pid_index = -1;
    if (pidfd.valid()) {
      pid_index = n;
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }
    const int ready = ::poll(fds, static_cast<nfds_t>(n), pidfd.valid() ? -1 : 20);
    if (ready < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      // Cannot happen with valid descriptors; fall back to timed polling.
      pidfd.reset();
      continue;
    }
    if (signal_index >= 0 && fds[signal_index].revents != 0) handle_signals();
    for (int i = 0; i < 2; ++i) {
      if (index[i] >= 0 && fds[index[i]].revents != 0) pump(streams[i], kReadsPerWakeup, SIZE_MAX);
    }
    if (pid_index >= 0 && fds[pid_index].revents != 0) reap();
  }
  handle_signals();  // record a signal that came in during the last drain

  if (saw_epipe && !pipe_signal_was_pending) {
    const struct timespec zero = {0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  if (status_known) {
    if (WIFEXITED(wait_status)) {
      outcome.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
      outcome.signal = WTERMSIG(wait_status);
    }
  }
  outcome.stdout_bytes = streams[0].preview.bytes();
  outcome.stderr_bytes = streams[1].preview.bytes();
  outcome.stdout_preview = streams[0].preview.Preview();
  outcome.stderr_preview = streams[1].preview.Preview();
  return outcome;
}

std::string ArgvJson(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, argv[i]);
  }
  out.push_back(']');
  return out;
}

// How the command ended, for messages: "exited with 3".
std::string DescribeEnd(const CommandOutcome& o) {
  if (!o.spawned) return Cat("could not be started (", o.spawn_error, ")");
  if (o.signal) return Cat("was killed by ", SignalName(*o.signal));
  if (o.exit_code) return Cat("exited with ", *o.exit_code);
  return "ended with an unknown status";
}

absl::StatusOr<ExecRecord> ExecTraceWith(const std::string& path,
                                         const std::vector<std::string>& argv,
                                         const CommandOptions& options,
                                         const WriteOptions& write_options,
                                         SignalCapture* capture) {
  if (argv.empty()) return absl::InvalidArgumentError("missing the command to run");
  ExecRecord record;
  record.command = ShellQuote(argv);
  // Durable before the child starts: a crash mid-command still leaves the
  // call on record.
  absl::StatusOr<AppendedEvent> call =
      AppendEvent(path, EventKind::kToolCall, ToolCallPayload(argv, record.command), write_options);
  if (!call.ok()) return call.status();
  record.call_seq = call->seq;

  absl::StatusOr<CommandOutcome> outcome = RunCommandWith(argv, options, capture);
  if (outcome.ok()) {
    record.outcome = *std::move(outcome);
  } else {
    // The machinery failed before the child could start (no pipes): record it
    // like a spawn failure so the call is never left without its result.
    record.outcome.spawn_error = std::string(ToStd(outcome.status().message()));
  }
  const CommandOutcome& o = record.outcome;
  std::vector<PendingEvent> events;
  events.push_back({EventKind::kToolResult, ToolResultPayload(argv, record.command, o)});
  if (!o.spawned) {
    std::string error;
    JsonObjectWriter w(&error);
    w.String("command", record.command)
        .String("error", o.spawn_error)
        .String("message", "failed to execute command");
    w.Finish();
    events.push_back({EventKind::kError, std::move(error)});
  }
  absl::StatusOr<AppendResult> appended = AppendEvents(path, events, write_options);
  if (!appended.ok()) {
    return absl::Status(
        appended.status().code(),
        Cat("the command ", DescribeEnd(o),
            " but its tool.result could not be recorded: ", ToStd(appended.status().message())));
  }
  record.result_seq = appended->events[0].seq;
  if (appended->events.size() > 1) record.error_seq = appended->events[1].seq;
  record.exit_code = o.WrapperExitCode();
  return record;
}

}  // namespace

// ---- OutputPreview --------------------------------------------------------

OutputPreview::OutputPreview(size_t max_chars) : max_chars_(max_chars), cap_bytes_(max_chars * 4) {}

void OutputPreview::Add(std::string_view data) {
  bytes_ += data.size();
  if (head_.size() < cap_bytes_) {
    head_.append(data.substr(0, cap_bytes_ - head_.size()));
  }
}

std::string OutputPreview::Preview() const {
  // Any max_chars characters take at most 4 * max_chars bytes, so the first
  // max_chars characters of the stream lie wholly inside head_ and decode
  // exactly as they would from the whole stream.
  bool truncated = false;
  std::string out = TruncateUtf8Chars(head_, max_chars_, &truncated);
  if (truncated || bytes_ > head_.size()) out.append(kTruncatedMarker);
  return out;
}

// ---- CommandOutcome / RunCommand -----------------------------------------

int CommandOutcome::WrapperExitCode() const {
  if (signal) return 128 + *signal;
  if (exit_code) return *exit_code;
  if (!spawned && received_signal) return 128 + *received_signal;
  return 1;
}

absl::StatusOr<CommandOutcome> RunCommand(const std::vector<std::string>& argv,
                                          const CommandOptions& options) {
  std::unique_ptr<SignalCapture> capture =
      options.forward_signals ? SignalCapture::Install() : nullptr;
  return RunCommandWith(argv, options, capture.get());
}

// ---- Text helpers ---------------------------------------------------------

std::string ShellQuote(std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c != '\0' && std::strchr("_@%+=:,./-", c) != nullptr);
    if (!ok) {
      safe = false;
      break;
    }
  }
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string ShellQuote(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(' ');
    const std::string word = ShellQuote(std::string_view(argv[i]));
    // A bare first word with '=' would be read as an assignment by sh.
    const bool assignment = i == 0 && word.front() != '\'' && Contains(word, "=");
    out.append(assignment ? "'" + word + "'" : word);
  }
  return out;
}

std::string SignalName(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  if (abbrev == nullptr) return Cat("signal ", signal);
  return Cat("SIG", abbrev);
}

std::string RunIdSlug(std::string_view argv0) {
  constexpr size_t kMaxSlug = 40;
  std::string slug;
  bool pending_dash = false;
  for (char c : argv0) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      pending_dash = true;
      continue;
    }
    if (pending_dash && !slug.empty()) slug.push_back('-');
    pending_dash = false;
    slug.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (slug.size() > kMaxSlug) {
    slug.resize(kMaxSlug);
    while (!slug.empty() && slug.back() == '-') slug.pop_back();
  }
  return slug.empty() ? "command" : slug;
}

std::string DefaultRunId(std::string_view argv0, absl::Time now) {
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  thread_local absl::BitGen gen;
  std::string suffix(6, '0');
  for (char& c : suffix) c = kAlphabet[absl::Uniform(gen, 0, 36)];
  return Cat(ToStd(absl::FormatTime("%Y%m%dT%H%M%E3SZ", now, absl::UTCTimeZone())), "-", suffix,
             "-", RunIdSlug(argv0));
}

std::string DefaultRunPath(std::string_view run_id) {
  return Cat(".traceframe/runs/", run_id, ".traceframe");
}

std::string ToolCallPayload(const std::vector<std::string>& argv, std::string_view command) {
  std::string out;
  JsonObjectWriter w(&out);
  w.Raw("argv", ArgvJson(argv)).String("command", command).String("tool", "shell");
  w.Finish();
  return out;
}

std::string ToolResultPayload(const std::vector<std::string>& argv, std::string_view command,
                              const CommandOutcome& o) {
  // Keys in byte order, as the reference tool wrote them.
  std::string out;
  JsonObjectWriter w(&out);
  w.Raw("argv", ArgvJson(argv)).String("command", command).Uint("duration_ms", o.duration_ms);
  if (!o.spawned) {
    w.String("error", o.spawn_error).Null("exit_code");
    if (o.received_signal) w.Int("interrupted_by_signal", *o.received_signal);
    w.Bool("success", false).String("tool", "shell");
    w.Finish();
    return out;
  }
  if (o.exit_code) {
    w.Int("exit_code", *o.exit_code);
  } else {
    w.Null("exit_code");
  }
  if (!o.forward_error.empty()) w.String("forward_error", o.forward_error);
  if (o.received_signal) w.Int("interrupted_by_signal", *o.received_signal);
  if (o.signal) w.Int("signal", *o.signal);
  w.Uint("stderr_bytes", o.stderr_bytes).String("stderr_preview", o.stderr_preview);
  w.Uint("stdout_bytes", o.stdout_bytes).String("stdout_preview", o.stdout_preview);
  w.Bool("success", o.success()).String("tool", "shell");
  w.Finish();
  return out;
}

// ---- ExecTrace / RunTrace -------------------------------------------------

absl::StatusOr<ExecRecord> ExecTrace(const std::string& path, const std::vector<std::string>& argv,
                                     const CommandOptions& options,
                                     const WriteOptions& write_options) {
  // Installed before tool.call is written, so a Ctrl-C from here on is
  // recorded instead of killing us between the call and its result.
  std::unique_ptr<SignalCapture> capture =
      options.forward_signals ? SignalCapture::Install() : nullptr;
  return ExecTraceWith(path, argv, options, write_options, capture.get());
}

absl::StatusOr<RunRecord> RunTrace(const std::vector<std::string>& argv,
                                   const RunOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("missing the command to run");
  std::unique_ptr<SignalCapture> capture =
      options.command.forward_signals ? SignalCapture::Install() : nullptr;
  RunRecord record;
  record.command = ShellQuote(argv);
  const bool generated = options.run_id.empty() && options.path.empty();
  const std::string started_payload = DefaultStartedPayload(
      options.labels.empty() ? std::string() : Cat("\"labels\":", LabelsJson(options.labels)));
  for (int attempt = 0;; ++attempt) {
    record.run_id = options.run_id.empty() ? DefaultRunId(argv[0]) : options.run_id;
    record.path = options.path.empty() ? DefaultRunPath(record.run_id) : options.path;
    // A generated name never replaces anything: on the (rare) collision with
    // an existing trace, draw another id.
    absl::StatusOr<AppendResult> init = InitTrace(record.path, record.run_id, started_payload,
                                                  options.force && !generated, options.write);
    if (init.ok()) break;
    if (generated && absl::IsAlreadyExists(init.status()) && attempt < 16) continue;
    return init.status();
  }
  if (options.on_started) options.on_started(record.path, record.run_id, record.command);

  absl::StatusOr<ExecRecord> exec =
      ExecTraceWith(record.path, argv, options.command, options.write, capture.get());
  std::string summary;
  if (!exec.ok()) {
    record.exec_status = exec.status();
    record.finish_status = "failed";
    summary = "command execution failed";
    record.exit_code = 1;
  } else {
    const CommandOutcome& o = exec->outcome;
    if (o.received_signal) {
      record.finish_status = "interrupted";
      summary = Cat("interrupted by ", SignalName(*o.received_signal));
    } else if (!o.spawned) {
      record.finish_status = "failed";
      summary = "command execution failed";
    } else {
      record.finish_status = o.success() ? "success" : "failed";
      summary = "traceframe run completed";
    }
    record.exit_code = exec->exit_code;
    record.exec = *std::move(exec);
  }
  std::string payload;
  JsonObjectWriter w(&payload);
  w.String("status", record.finish_status).String("summary", summary);
  w.Finish();
  absl::StatusOr<AppendedEvent> finished =
      AppendEvent(record.path, EventKind::kRunFinished, payload, options.write);
  if (finished.ok()) {
    record.finish_seq = finished->seq;
  } else {
    record.finish_error = finished.status();
    if (record.exit_code == 0) record.exit_code = 1;
  }
  return record;
}

}  // namespace traceframe
