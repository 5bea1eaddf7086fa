// gen_trace_tool: writes a deterministic, realistic trace of any size.
//
//   gen_trace_tool --out FILE (--bytes N[K|M|G] | --events N) [--seed S] [--open]
//
// The same seed and size always give the same bytes, so benchmark figures can
// be reproduced and compared across machines. The mix of kinds and payload
// shapes imitates a coding agent's run: model calls with prompts, tool calls
// and results (a few with multi-KB outputs), permission decisions and errors;
// strings carry JSON escapes (quotes, backslashes, newlines, tabs, \u00XX
// control characters) and raw non-ASCII UTF-8. Lines average about 500 bytes.
// Output is streamed through an 8 MB buffer with large write(2) calls, so
// tens of GB need no memory. The trace ends with run.finished unless --open.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "traceframe/event.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace {

using traceframe::Append;
using traceframe::AppendJsonString;
using traceframe::EventKind;

// splitmix64: tiny, fast and fully determined by the seed on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Percent(int p) { return Below(100) < static_cast<uint64_t>(p); }

 private:
  uint64_t state_;
};

constexpr std::string_view kWords[] = {
    "the",
    "agent",
    "reads",
    "file",
    "src/main.cc",
    "and",
    "runs",
    "tests",
    "error:",
    "expected",
    "token",
    "value",
    "café",
    "naïve",
    "日本語",
    "テスト",
    "données",
    "Ωmega",
    "emoji🚀",
    "résumé",
    "ünïcødé",
    "\"quoted\"",
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "C:\\path\\to",
    "{json}",
    "[array]",
    "null",
    "ok",
    "compile",
    "warning",
    "unused",
    "variable",
    "retry",
    "timeout",
    "ctrl\x01"
    "char",
    "bell\x07",
    "crlf\r\n",
    "</script>",
    "<b>html</b>",
    "&amp;",
    "SELECT",
    "*",
    "FROM",
    "users;",
    "git",
    "diff",
};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

constexpr std::string_view kTools[] = {"bash", "read_file", "write_file", "grep",
                                       "edit", "web_fetch", "list_dir",   "python"};
constexpr std::string_view kModels[] = {"gpt-4o", "claude-sonnet-4", "gemini-2.5-pro",
                                        "llama-3.1-70b"};
constexpr std::string_view kProviders[] = {"openai", "anthropic", "google", "local"};

void AppendText(Rng& rng, std::string* out, size_t target_bytes) {
  std::string text;
  while (text.size() < target_bytes) {
    if (!text.empty()) text.push_back(' ');
    text.append(kWords[rng.Below(kWordCount)]);
  }
  AppendJsonString(out, text);
}

void AppendNumber(Rng& rng, std::string* out) {
  switch (rng.Below(4)) {
    case 0:
      Append(out, rng.Below(100000));
      break;
    case 1:
      Append(out, "-", rng.Below(1000), ".", rng.Below(1000));
      break;
    case 2:
      Append(out, rng.Below(10), ".", rng.Below(100), "e", rng.Percent(50) ? "-" : "+",
             rng.Below(30));
      break;
    default:
      Append(out, rng.Next() >> 1);
      break;
  }
}

std::string Payload(Rng& rng, EventKind kind, uint64_t seq) {
  std::string p;
  const std::string_view tool = kTools[rng.Below(8)];
  const uint64_t call = seq - (kind == EventKind::kToolResult ? 1 : 0);
  switch (kind) {
    case EventKind::kModelCall: {
      const size_t m = rng.Below(4);
      Append(&p, "{\"provider\":\"", kProviders[m], "\",\"model\":\"", kModels[m],
             "\",\"input_tokens\":", rng.Below(200000), ",\"output_tokens\":", rng.Below(8000),
             ",\"latency_ms\":", rng.Below(30000), ",\"temperature\":");
      AppendNumber(rng, &p);
      p.append(",\"prompt\":");
      AppendText(rng, &p, 60 + rng.Below(300));
      p.append(",\"stop\":[\"\\n\\n\",\"</end>\"],\"cached\":");
      p.append(rng.Percent(30) ? "true" : "false");
      p.push_back('}');
      break;
    }
    case EventKind::kToolCall: {
      Append(&p, "{\"tool\":\"", tool, "\",\"call_id\":\"call_", call, "\",\"input\":{");
      p.append("\"command\":");
      AppendText(rng, &p, 20 + rng.Below(200));
      p.append(",\"cwd\":\"/home/agent/project\",\"args\":[");
      for (uint64_t i = 0, n = rng.Below(5); i < n; ++i) {
        if (i) p.push_back(',');
        AppendText(rng, &p, 3 + rng.Below(20));
      }
      p.append("],\"limits\":{\"timeout_s\":");
      AppendNumber(rng, &p);
      p.append(",\"sandbox\":null}}}");
      break;
    }
    case EventKind::kToolResult: {
      const bool success = rng.Percent(85);
      // A few outputs are multi-KB (compiler logs, file contents).
      const size_t output = rng.Percent(3) ? 2048 + rng.Below(10240) : rng.Below(300);
      Append(&p, "{\"tool\":\"", tool, "\",\"call_id\":\"call_", call,
             "\",\"success\":", success ? "true" : "false",
             ",\"exit_code\":", success ? 0 : 1 + rng.Below(127),
             ",\"duration_ms\":", rng.Below(60000), ",\"output\":");
      AppendText(rng, &p, output);
      p.push_back('}');
      break;
    }
    case EventKind::kPermissionDecision: {
      Append(&p, "{\"tool\":\"", tool, "\",\"decision\":\"", rng.Percent(80) ? "allow" : "deny",
             "\",\"reason\":");
      AppendText(rng, &p, 10 + rng.Below(120));
      Append(&p, ",\"rule_ids\":[", rng.Below(50), ",", rng.Below(50), "]}");
      break;
    }
    case EventKind::kError: {
      p.append("{\"message\":");
      AppendText(rng, &p, 20 + rng.Below(300));
      Append(&p, ",\"code\":\"E", rng.Below(1000),
             "\",\"retryable\":", rng.Percent(50) ? "true" : "false",
             ",\"context\":{\"attempt\":", rng.Below(5),
             ",\"nested\":[[1,[2,[3,{\"deep\":[]}]]]]}}");
      break;
    }
    default:
      p = "{}";
      break;
  }
  return p;
}

EventKind PickKind(Rng& rng, EventKind previous) {
  // A tool.call is usually followed by its result.
  if (previous == EventKind::kToolCall && rng.Percent(90)) return EventKind::kToolResult;
  const uint64_t r = rng.Below(100);
  if (r < 30) return EventKind::kModelCall;
  if (r < 70) return EventKind::kToolCall;
  if (r < 80) return EventKind::kToolResult;
  if (r < 94) return EventKind::kPermissionDecision;
  return EventKind::kError;
}

std::string EventId(Rng& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t hi = rng.Next(), lo = rng.Next();
  std::string id;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
    uint64_t nibble = (i < 16 ? hi >> (60 - 4 * i) : lo >> (60 - 4 * (i - 16))) & 0xF;
    if (i == 12) nibble = 4;
    if (i == 16) nibble = 8 | (nibble & 3);
    id.push_back(kHex[nibble]);
  }
  return id;
}

uint64_t ParseSize(const char* text) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  uint64_t scale = 1;
  if (end && *end) {
    switch (*end) {
      case 'k':
      case 'K':
        scale = 1ull << 10;
        break;
      case 'm':
      case 'M':
        scale = 1ull << 20;
        break;
      case 'g':
      case 'G':
        scale = 1ull << 30;
        break;
      default:
        std::fprintf(stderr, "bad size: %s\n", text);
        std::exit(2);
    }
  }
  return static_cast<uint64_t>(value * static_cast<double>(scale));
}

int Usage() {
  std::fprintf(stderr,
               "usage: gen_trace_tool --out FILE (--bytes N[K|M|G] | --events N) "
               "[--seed S] [--open]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path;
  uint64_t max_bytes = 0, max_events = 0, seed = 1;
  bool open = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) std::exit(Usage());
      return argv[++i];
    };
    if (arg == "--out") {
      out_path = value();
    } else if (arg == "--bytes") {
      max_bytes = ParseSize(value());
    } else if (arg == "--events") {
      max_events = std::strtoull(value(), nullptr, 10);
    } else if (arg == "--seed") {
      seed = std::strtoull(value(), nullptr, 10);
    } else if (arg == "--open") {
      open = true;
    } else {
      return Usage();
    }
  }
  if (out_path.empty() || (max_bytes == 0) == (max_events == 0)) return Usage();

  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "cannot create %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  constexpr size_t kFlushAt = 8u << 20;
  std::string buffer;
  buffer.reserve(kFlushAt + (64u << 10));
  uint64_t written = 0;
  auto flush = [&] {
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::fprintf(stderr, "write %s: %s\n", out_path.c_str(), std::strerror(errno));
        std::exit(1);
      }
      done += static_cast<size_t>(n);
    }
    written += buffer.size();
    buffer.clear();
  };

  Rng rng(seed);
  traceframe::Event event;
  event.run_id = traceframe::Cat("bench-run-", seed);
  event.ts_ms = 1700000000000;
  event.kind = EventKind::kRunStarted;
  event.event_id = EventId(rng);
  event.payload_json =
      "{\"created_by\":\"gen_trace_tool\",\"host\":{\"cwd\":\"/home/agent/project\","
      "\"git_branch\":\"main\"},\"status\":\"started\"}";
  traceframe::AppendEventLine(&buffer, event);
  uint64_t events = 1;
  // Leave room for run.finished inside --bytes.
  const uint64_t finish_reserve = open ? 0 : 256;
  EventKind previous = EventKind::kRunStarted;
  for (;;) {
    if (max_events != 0 && events + (open ? 0 : 1) >= max_events) break;
    if (max_bytes != 0 && written + buffer.size() + finish_reserve >= max_bytes) break;
    ++event.seq;
    event.ts_ms += static_cast<int64_t>(rng.Below(50));
    event.kind = PickKind(rng, previous);
    previous = event.kind;
    event.event_id = EventId(rng);
    event.payload_json = Payload(rng, event.kind, event.seq);
    const size_t before = buffer.size();
    traceframe::AppendEventLine(&buffer, event);
    if (max_bytes != 0 && written + buffer.size() + finish_reserve > max_bytes && events > 1) {
      buffer.resize(before);  // this event would overshoot --bytes
      --event.seq;
      break;
    }
    ++events;
    if (buffer.size() >= kFlushAt) flush();
  }
  if (!open) {
    ++event.seq;
    event.ts_ms += 1;
    event.kind = EventKind::kRunFinished;
    event.event_id = EventId(rng);
    event.payload_json = "{\"status\":\"success\",\"summary\":\"generated by gen_trace_tool\"}";
    traceframe::AppendEventLine(&buffer, event);
    ++events;
  }
  flush();
  if (::close(fd) != 0) {
    std::fprintf(stderr, "close %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "gen_trace_tool: wrote %llu events, %llu bytes to %s\n",
               static_cast<unsigned long long>(events), static_cast<unsigned long long>(written),
               out_path.c_str());
  return 0;
}
