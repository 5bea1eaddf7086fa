// The import event sink and helpers shared by the mappers (import/mapper.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "format/bounded_json.h"
#include "import/mapper.h"
#include "traceframe/command.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/hash.h"

namespace traceframe::internal {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::optional<int64_t> ParseRfc3339Ms(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om)) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

uint64_t InputHash(std::string_view bytes) {
  uint64_t h = Mix(bytes.size());
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = Mix(h ^ word);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return Mix(h ^ tail ^ 0xff);
}

std::string DeterministicEventId(std::string_view run_id, uint64_t line, uint32_t sub) {
  return DeterministicEventId(Fnv1a64(run_id), line, sub);
}

void AppendDeterministicEventId(std::string* out, uint64_t run_hash, uint64_t line, uint32_t sub) {
  const uint64_t hi = Mix(run_hash ^ Mix(line * 0x100000001b3ULL + sub));
  const uint64_t lo = Mix(hi ^ Mix(line) ^ (static_cast<uint64_t>(sub) << 32) ^ 0x5bd1e995ULL);
  // "%08x-%04x-4%03x-%04x-%012llx" by hand: this runs once per event, and
  // snprintf's format parsing cost more than the hashing.
  const size_t at = out->size();
  out->resize(at + 36, '-');
  char* p = out->data() + at;
  auto hex = [&p](uint64_t v, int digits) {
    constexpr char kHex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) {
      p[i] = kHex[v & 0xf];
      v >>= 4;
    }
    p += digits + 1;  // and the '-' after it
  };
  hex(hi >> 32, 8);
  hex((hi >> 16) & 0xffff, 4);
  hex(0x4000 | (hi & 0xfff), 4);
  hex(0x8000 | ((lo >> 48) & 0x3fff), 4);
  hex(lo & 0xffffffffffffULL, 12);
}

std::string DeterministicEventId(uint64_t run_hash, uint64_t line, uint32_t sub) {
  std::string out;
  AppendDeterministicEventId(&out, run_hash, line, sub);
  return out;
}

// ---- EventSink

EventSink::EventSink(const ImportContext& context, Writer writer, ImportedSession* stats)
    : context_(context), writer_(std::move(writer)), stats_(stats) {
  current_ts_ = context.first_ts_ms.value_or(0);
  max_ts_ = current_ts_;
  run_hash_ = Fnv1a64(context.run_id);
  // Every event line starts the same way up to its id (AppendEventLine's
  // layout, event.h); kept once instead of escaping the run id per event.
  Event probe;
  probe.run_id = context.run_id;
  probe.event_id = "@";
  probe.payload_json = "{}";
  std::string line;
  AppendEventLine(&line, probe);
  line_prefix_ = line.substr(0, line.rfind("\"@\"") + 1);
}

void EventSink::BeginLine(uint64_t line, std::optional<int64_t> ts_ms) {
  line_ = line;
  sub_ = 0;
  line_ts_ = ts_ms;
  if (ts_ms) {
    current_ts_ = *ts_ms;
    if (*ts_ms > max_ts_) max_ts_ = *ts_ms;
  }
}

void EventSink::Push(EventKind kind, std::string payload, bool ready) {
  pending_.push_back(
      Pending{kind, line_, sub_++, current_ts_, std::move(payload), ready, next_handle_++});
  Drain();
}

void EventSink::Emit(EventKind kind, std::string payload) { Push(kind, std::move(payload), true); }

size_t EventSink::EmitDeferred() {
  const size_t handle = next_handle_;
  Push(EventKind::kModelCall, {}, false);
  return handle;
}

void EventSink::Resolve(size_t handle, std::string payload) {
  for (Pending& p : pending_) {
    if (p.handle == handle) {
      p.payload = std::move(payload);
      p.ready = true;
      break;
    }
  }
  Drain();
}

void EventSink::Drain() {
  while (!pending_.empty() && pending_.front().ready) {
    const Pending& p = pending_.front();
    WriteEvent(p.kind, p.line, p.sub, p.ts_ms, p.payload);
    pending_.pop_front();
  }
  if (buffer_.size() >= (1u << 20) && status_.ok()) {
    status_ = writer_(buffer_);
    buffer_.clear();
  }
}

void EventSink::WriteEvent(EventKind kind, uint64_t line, uint32_t sub, int64_t ts_ms,
                           std::string_view payload) {
  // The layout of AppendEventLine (event.h), written straight into the
  // buffer: the payload is copied once, the run id is not escaped again, and
  // the id needs no escaping (hex and '-').
  buffer_.append(line_prefix_);
  AppendDeterministicEventId(&buffer_, run_hash_, line, sub);
  Append(&buffer_, "\",\"kind\":\"", EventKindName(kind), "\",\"ts_ms\":", ts_ms,
         ",\"seq\":", seq_++, ",\"payload\":");
  buffer_.append(payload);
  buffer_.append("}\n");
  ++stats_->events;
  // Counted here, from payloads the mappers built (their top-level keys are
  // written unescaped, so a match inside a string value is impossible).
  switch (kind) {
    case EventKind::kModelCall:
      ++(Contains(payload, "\"operation\":\"compaction\"") ? stats_->compactions
                                                           : stats_->model_calls);
      break;
    case EventKind::kToolCall:
      ++stats_->tool_calls;
      break;
    case EventKind::kToolResult:
      ++stats_->tool_results;
      if (Contains(payload, "\"success\":false")) ++stats_->tool_failures;
      break;
    case EventKind::kError:
      ++stats_->errors;
      break;
    default:
      break;
  }
}

absl::Status EventSink::Start() {
  WriteEvent(EventKind::kRunStarted, 0, 0, current_ts_, StartedPayload(context_));
  return absl::OkStatus();
}

absl::Status EventSink::Finish(std::string finished_payload) {
  for (Pending& p : pending_) p.ready = true;  // a mapper bug must not lose events
  Drain();
  WriteEvent(EventKind::kRunFinished, line_ + 1, 0, max_ts_, finished_payload);
  if (status_.ok()) status_ = writer_(buffer_);
  buffer_.clear();
  return status_;
}

void EventSink::Skip(uint64_t line, std::string reason) {
  ++stats_->skipped_line_count;
  if (stats_->skipped_lines.size() < kMaxListedSkippedLines) {
    stats_->skipped_lines.push_back(SkippedLine{line, std::move(reason)});
  }
}

// ---- JSON accessors

std::optional<element> Field(element object, std::string_view key) {
  simdjson::dom::object o;
  if (object.get_object().get(o) != simdjson::SUCCESS) return std::nullopt;
  element value;
  if (o.at_key(key).get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

std::optional<std::string_view> StringField(element object, std::string_view key) {
  std::optional<element> v = Field(object, key);
  std::string_view s;
  if (!v || v->get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

std::optional<bool> BoolField(element object, std::string_view key) {
  std::optional<element> v = Field(object, key);
  bool b;
  if (!v || v->get_bool().get(b) != simdjson::SUCCESS) return std::nullopt;
  return b;
}

std::optional<double> NumberOf(element value) {
  double d;
  if (value.get_double().get(d) == simdjson::SUCCESS) return d;  // int, uint or double
  std::string_view s;
  if (value.get_string().get(s) == simdjson::SUCCESS) {
    s = StripWhitespace(s);
    if (s.empty() || s.size() > 30) return std::nullopt;
    char buf[32];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = 0;
    char* end = nullptr;
    const double v = std::strtod(buf, &end);
    if (end != buf + s.size()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<int64_t> IntOf(element value) {
  int64_t i;
  if (value.get_int64().get(i) == simdjson::SUCCESS) return i;
  std::optional<double> d = NumberOf(value);
  if (!d || *d != *d || *d > 9.2e18 || *d < -9.2e18) return std::nullopt;
  return static_cast<int64_t>(*d);
}

std::optional<int64_t> IntField(element object, std::string_view key) {
  std::optional<element> v = Field(object, key);
  if (!v) return std::nullopt;
  return IntOf(*v);
}

// ---- payloads

std::string StartedPayload(const ImportContext& c) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("created_by", "traceframe import").String("format", ImportFormatName(c.format));
  w.String("source", c.source).String("status", "started");
  std::string input;
  JsonObjectWriter iw(&input);
  iw.String("path", c.input).Uint("bytes", c.input_bytes);
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(c.input_hash));
  iw.String("hash", std::string_view(hash, 16)).Int("importer", kImporterVersion);
  iw.Finish();
  w.Raw("input", input);
  if (!c.session_id.empty()) w.String("session_id", c.session_id);
  if (!c.cwd.empty() || !c.git_branch.empty()) {
    std::string host;
    JsonObjectWriter hw(&host);
    if (!c.cwd.empty()) hw.String("cwd", c.cwd);
    if (!c.git_branch.empty()) {
      std::string git;
      JsonObjectWriter gw(&git);
      gw.String("branch", c.git_branch);
      gw.Finish();
      hw.Raw("git", git);
    }
    hw.Finish();
    w.Raw("host", host);
  }
  if (!c.host_version.empty()) w.String("host_version", c.host_version);
  if (!c.agent_id.empty()) w.String("agent_id", c.agent_id);
  if (c.compaction_run) w.Bool("compaction", true);
  if (!c.parent_run_id.empty()) w.String("parent_run_id", c.parent_run_id);
  if (!c.parent_tool_use_id.empty()) w.String("parent_tool_use_id", c.parent_tool_use_id);
  if (!c.labels.empty()) {
    std::string labels;
    JsonObjectWriter lw(&labels);
    for (const auto& [k, v] : c.labels) lw.String(k, v);
    lw.Finish();
    w.Raw("labels", labels);
  }
  w.Finish();
  return out;
}

}  // namespace traceframe::internal

namespace traceframe::internal {

std::string OutputPreview(std::string_view text) {
  // Only what the preview keeps is scanned for secrets (with room for one
  // straddling the cut): outputs can be megabytes.
  constexpr size_t kScanBytes = kPreviewChars * 4 + 8192;
  if (text.size() > kScanBytes) text = text.substr(0, kScanBytes);
  bool redacted = false;
  std::string owned;
  if (MayHoldSecret(text)) {
    owned = RedactSecretsInText(text, &redacted);
    text = owned;
  }
  bool cut = false;
  return TruncateUtf8Chars(text, kPreviewChars, &cut);
}

std::string FirstLine(std::string_view text, size_t max_chars) {
  text = StripWhitespace(text);
  const size_t nl = text.find('\n');
  if (nl != std::string_view::npos) text = text.substr(0, nl);
  bool cut = false;
  std::string out = TruncateUtf8Chars(text, max_chars, &cut);
  bool redacted = false;
  return MayHoldSecret(out) ? RedactSecretsInText(out, &redacted) : out;
}

std::string BoundedInput(element value) {
  std::string out;
  bool truncated = false;
  AppendBounded(&out, value, &truncated);
  if (out.size() > kHookValueMaxBytes) {
    bool cut = false;
    std::string preview = TruncateUtf8Chars(out, kHookStringMaxChars, &cut);
    preview.append(kHookTruncatedMarker);
    return JsonString(preview);
  }
  return out;
}

}  // namespace traceframe::internal
