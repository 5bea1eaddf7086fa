#include "traceframe/render.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <queue>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "read/scan.h"
#include "report/render_style.h"
#include "traceframe/command.h"
#include "traceframe/policy.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"
#include "traceframe/usage.h"
#include "util/file_util.h"
#include "util/progress.h"
#include "util/shell_quote.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace traceframe {
using internal::ShellQuote;
using internal::Utf8Chars;

namespace {

// ts_ms and durations come from the file and may be anything: differences
// and sums saturate instead of overflowing (undefined behaviour).
int64_t SatSub(int64_t a, int64_t b) {
  int64_t d;
  if (__builtin_sub_overflow(a, b, &d)) return a > b ? INT64_MAX : INT64_MIN;
  return d;
}
int64_t SatAdd(int64_t a, int64_t b) {
  int64_t d;
  if (__builtin_add_overflow(a, b, &d)) return b > 0 ? INT64_MAX : INT64_MIN;
  return d;
}

using simdjson::dom::element;

// ---------------------------------------------------------------- vocabulary

// The decision vocabulary is policy-check's (ClassifyDecision, reference
// §11.25): a word colours the report exactly as it counts for the gate.
std::string_view DecisionCss(DecisionClass c) {
  return c == DecisionClass::kAllow ? "ok" : c == DecisionClass::kDeny ? "bad" : "warn";
}

std::string_view StatusCss(std::string_view status) {
  if (status == "success") return "ok";
  if (status == "failed" || status == "error") return "bad";
  if (status == "open" || status == "started" || status == "running") return "warn";
  return "info";
}

// ---------------------------------------------------------------- text helpers

// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
std::string_view CutUtf8(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

std::string Thousands(uint64_t n) {
  std::string digits = Cat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string ByteSize(uint64_t n) {
  if (n < 1024) return Cat(n, " B");
  char buf[32];
  if (n < (1u << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f KB", n / 1024.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f MB", n / 1048576.0);
  }
  return buf;
}

// "2026-11-25 08:58:34.123Z": the date and the UTC time (reference §11.36).
std::string Clock(int64_t ts_ms) { return internal::UtcTime(ts_ms, true); }

// Re-indents already-validated compact JSON (2 spaces, ": " after keys) from
// its stored text, so numbers and key order stay exactly as written. Stops
// once `max` bytes are produced and sets *truncated.
std::string PrettyJson(std::string_view json, size_t max, bool* truncated) {
  std::string out;
  int depth = 0;
  bool in_string = false;
  *truncated = false;
  auto newline = [&](int d) {
    out.push_back('\n');
    out.append(static_cast<size_t>(std::max(d, 0)) * 2, ' ');
  };
  for (size_t i = 0; i < json.size(); ++i) {
    if (out.size() >= max) {
      *truncated = true;
      break;
    }
    const char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[': {
        out.push_back(c);
        const char close = c == '{' ? '}' : ']';
        size_t j = i + 1;
        while (j < json.size() &&
               (json[j] == ' ' || json[j] == '\t' || json[j] == '\r' || json[j] == '\n')) {
          ++j;
        }
        if (j < json.size() && json[j] == close) {  // {} and [] stay on one line
          out.push_back(close);
          i = j;
        } else {
          newline(++depth);
        }
        break;
      }
      case '}':
      case ']':
        newline(--depth);
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline(depth);
        break;
      case ':':
        out.append(": ");
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        break;
      default:
        out.push_back(c);
    }
  }
  // The cut may fall inside a multi-byte character.
  if (*truncated) out.resize(CutUtf8(out, out.size()).size());
  return out;
}

// ---------------------------------------------------------------- payload access

using Field = simdjson::simdjson_result<element>;

std::optional<std::string_view> StrField(Field payload, const char* key) {
  std::string_view v;
  if (payload[key].get_string().get(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> IntField(Field payload, const char* key) {
  int64_t v;
  if (payload[key].get_int64().get(v)) return std::nullopt;
  return v;
}

std::optional<bool> BoolField(Field payload, const char* key) {
  bool v;
  if (payload[key].get_bool().get(v)) return std::nullopt;
  return v;
}

// The same on a plain element (a simdjson_result is built only from an rvalue).
std::optional<std::string_view> StrField(element payload, const char* key) {
  return StrField(Field(std::move(payload)), key);
}
std::optional<int64_t> IntField(element payload, const char* key) {
  return IntField(Field(std::move(payload)), key);
}
std::optional<bool> BoolField(element payload, const char* key) {
  return BoolField(Field(std::move(payload)), key);
}

// ---------------------------------------------------------------- tool timeline

struct Bar {
  uint64_t seq = 0;
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  int state = 0;      // 0 ok, 1 failed, 2 no result (still open)
  bool timed = true;  // false: a result without a duration or a call to pair it with
  std::string tool;
  std::string command;  // cut to a label
  bool operator>(const Bar& o) const { return duration_ms > o.duration_ms; }
};

// The other half of a paired tool call or result (the card of each links to
// the other and shows the result's state).
struct PairLink {
  uint64_t partner = 0;  // seq of the result (for a call) or of the call (for a result)
  int state = 0;         // the result's: 0 ok, 1 failed
  bool timed = false;
  int64_t duration_ms = 0;
};

struct ToolStats {
  uint64_t first_seq = 0;  // the tool's first call or result: its table row links there
  uint64_t calls = 0;
  uint64_t results = 0;
  uint64_t failures = 0;
  uint64_t timed = 0;  // results with a known duration
  int64_t total_ms = 0;
  std::vector<int64_t> samples;  // reservoir of durations for the median
};

// Pairs tool.call with tool.result and aggregates per tool, in bounded memory:
// at most max_bars bars are kept (the first ones, then the slowest), pending
// calls and distinct tools are capped, and medians come from a reservoir.
class ToolTracker {
 public:
  static constexpr size_t kMaxPending = 1 << 14;  // calls awaiting a result
  static constexpr size_t kMaxScanPending = 64;   // an unnamed result scans at most this many
  static constexpr size_t kMaxTools = 256;
  static constexpr size_t kReservoir = 2048;
  static constexpr size_t kLabelBytes = 96;
  static constexpr size_t kMaxLinks = 1 << 17;  // paired seqs remembered for the cards

  ToolTracker(size_t max_bars, size_t table_rows)
      : head_bars_(max_bars - max_bars * 3 / 8),
        slow_bars_(max_bars * 3 / 8),
        table_rows_(table_rows) {}

  void Call(const EventView& e, element payload) {
    const std::string tool = ToolName(payload);
    ++Stats(tool, e.seq).calls;
    if (pending_count_ >= kMaxPending) return;  // drawn as nothing; counted in the table
    Pending p;
    p.bar.seq = e.seq;
    p.bar.start_ms = e.ts_ms;
    p.bar.state = 2;
    p.bar.tool = tool;
    p.bar.command = std::string(CutUtf8(StrField(payload, "command").value_or(""), kLabelBytes));
    pending_[PairKey(payload, tool)].push_back(std::move(p));
    ++pending_count_;
  }

  void Result(const EventView& e, element payload) {
    std::string tool = ToolName(payload);
    std::optional<int64_t> duration = IntField(payload, "duration_ms");
    std::optional<Bar> bar;
    auto it = pending_.find(PairKey(payload, tool));
    if (it == pending_.end() && tool == kUnnamed && pending_count_ <= kMaxScanPending) {
      it = FindAnyPending();
    }
    const bool paired = it != pending_.end();
    if (paired) {
      bar = std::move(it->second.front().bar);
      it->second.pop_front();
      if (it->second.empty()) pending_.erase(it);
      --pending_count_;
      if (tool == kUnnamed) tool = bar->tool;
      if (!duration) duration = SatSub(e.ts_ms, bar->start_ms);
    } else {
      // A result without its call (PostToolUse-only hook wiring): draw it
      // ending at its own time when its duration is known.
      bar = Bar();
      bar->seq = e.seq;
      bar->tool = tool;
      bar->command = std::string(CutUtf8(StrField(payload, "command").value_or(""), kLabelBytes));
      bar->start_ms = SatSub(e.ts_ms, duration.value_or(0));
    }
    bar->duration_ms = std::max<int64_t>(0, duration.value_or(0));
    bar->timed = duration.has_value();
    bar->state = e.tool_failed ? 1 : 0;
    if (paired && links_.size() + 2 <= kMaxLinks) {
      const PairLink link{e.seq, bar->state, bar->timed, bar->duration_ms};
      links_[bar->seq] = link;
      links_[e.seq] = PairLink{bar->seq, link.state, link.timed, link.duration_ms};
    }
    ToolStats& s = Stats(tool, bar->seq);
    ++s.results;
    s.failures += e.tool_failed;
    if (duration) {
      ++s.timed;
      s.total_ms = SatAdd(s.total_ms, *duration);
      if (s.samples.size() < kReservoir) {
        s.samples.push_back(*duration);
      } else {
        rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL;
        const uint64_t slot = (rng_ >> 11) % s.timed;
        if (slot < kReservoir) s.samples[slot] = *duration;
      }
    }
    Keep(std::move(*bar));
  }

  // Calls still without a result at the end are drawn up to the last event.
  void Finish(int64_t last_ts_ms) {
    for (auto& [key, queue] : pending_) {
      for (Pending& p : queue) {
        p.bar.duration_ms = std::max<int64_t>(0, SatSub(last_ts_ms, p.bar.start_ms));
        Keep(std::move(p.bar));
      }
    }
    pending_.clear();
    while (!slow_.empty()) {
      bars_.push_back(slow_.top());
      slow_.pop();
    }
    std::sort(bars_.begin(), bars_.end(), [](const Bar& a, const Bar& b) {
      return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.seq < b.seq;
    });
  }

  const std::vector<Bar>& bars() const { return bars_; }
  uint64_t drawn_total() const { return drawn_total_; }
  // The slowest calls, slowest first, and the first failed ones (at most
  // table_rows each), for the table that replaces the bars of a long run.
  std::vector<Bar> Slowest() const {
    auto heap = slowest_;
    std::vector<Bar> out;
    while (!heap.empty()) {
      out.push_back(heap.top());
      heap.pop();
    }
    std::sort(out.begin(), out.end(), [](const Bar& a, const Bar& b) {
      return a.duration_ms != b.duration_ms ? a.duration_ms > b.duration_ms : a.seq < b.seq;
    });
    return out;
  }
  const std::vector<Bar>& failed() const { return failed_; }
  uint64_t failed_total() const { return failed_total_; }
  const PairLink* Link(uint64_t seq) const {
    auto it = links_.find(seq);
    return it == links_.end() ? nullptr : &it->second;
  }
  const std::unordered_map<std::string, ToolStats>& tools() const { return tools_; }

 private:
  static constexpr std::string_view kUnnamed = "(unnamed)";
  static constexpr std::string_view kOther = "(other tools)";

  struct Pending {
    Bar bar;
  };
  using PendingMap = std::unordered_map<uint64_t, std::deque<Pending>>;

  static std::string ToolName(element payload) {
    std::optional<std::string_view> tool = StrField(payload, "tool");
    if (!tool || StripWhitespace(*tool).empty()) return std::string(kUnnamed);
    return std::string(CutUtf8(*tool, 64));
  }

  // A host's tool-use id pairs exactly; otherwise the same tool and command.
  // Only a hash is kept: a collision merely pairs two calls differently.
  static uint64_t PairKey(element payload, const std::string& tool) {
    std::optional<std::string_view> id = StrField(payload, "tool_use_id");
    if (!id) id = StrField(payload["host"], "tool_use_id");
    const std::string key =
        id ? Cat("id\x1f", *id)
           : Cat("tc\x1f", tool, "\x1f", StrField(payload, "command").value_or(""));
    return std::hash<std::string>()(key);
  }

  PendingMap::iterator FindAnyPending() {
    PendingMap::iterator best = pending_.end();
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (best == pending_.end() || it->second.front().bar.seq < best->second.front().bar.seq) {
        best = it;
      }
    }
    return best;
  }

  ToolStats& Stats(const std::string& tool, uint64_t seq) {
    auto it = tools_.find(tool);
    if (it != tools_.end()) return it->second;
    const bool other = tools_.size() >= kMaxTools;
    auto [added, fresh] = tools_.try_emplace(other ? std::string(kOther) : tool);
    if (fresh) added->second.first_seq = seq;
    return added->second;
  }

  void Keep(Bar bar) {
    ++drawn_total_;
    if (bar.state == 1) {
      ++failed_total_;
      if (failed_.size() < table_rows_) failed_.push_back(bar);
    }
    if (table_rows_ > 0 && (bar.timed || bar.state == 2)) {
      slowest_.push(bar);
      if (slowest_.size() > table_rows_) slowest_.pop();
    }
    if (bars_.size() < head_bars_) {
      bars_.push_back(std::move(bar));
      return;
    }
    if (slow_bars_ == 0) return;
    slow_.push(std::move(bar));
    if (slow_.size() > slow_bars_) slow_.pop();
  }

  const size_t head_bars_;
  const size_t slow_bars_;
  const size_t table_rows_;
  std::vector<Bar> bars_;
  std::priority_queue<Bar, std::vector<Bar>, std::greater<Bar>> slowest_;  // fastest on top
  std::vector<Bar> failed_;
  uint64_t failed_total_ = 0;
  std::unordered_map<uint64_t, PairLink> links_;
  std::priority_queue<Bar, std::vector<Bar>, std::greater<Bar>> slow_;  // fastest on top
  PendingMap pending_;
  size_t pending_count_ = 0;
  uint64_t drawn_total_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  std::unordered_map<std::string, ToolStats> tools_;
};

// ---------------------------------------------------------------- models and host

// One model's calls and tokens (model.call events with that `model`).
struct ModelStats {
  uint64_t first_seq = 0;
  uint64_t calls = 0;
  uint64_t with_usage = 0;  // calls that carry a usage object
  TokenUsage usage;
  uint64_t timed = 0;            // calls with a latency (duration_ms or latency_ms)
  std::vector<int64_t> samples;  // their latencies (the first kMaxSamples)
};

// The median of `v` (reordered), the mean of the two middle values when even.
int64_t Median(std::vector<int64_t> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  int64_t median = v[mid];
  if (v.size() % 2 == 0) {
    const int64_t lower = *std::max_element(v.begin(), v.begin() + mid);
    median = lower + (median - lower) / 2;
  }
  return median;
}

// Per-model figures, in bounded memory: kMaxRunModels models by name (the
// rest as one row), latencies from the first kMaxSamples calls of each.
class ModelTracker {
 public:
  static constexpr size_t kMaxSamples = 4096;

  void Call(const EventView& e, element payload) {
    std::string name = "(no model)";
    if (e.model && !StripWhitespace(*e.model).empty()) {
      name = std::string(CutUtf8(*e.model, kMaxModelNameBytes));
    }
    auto it = models_.find(name);
    if (it == models_.end()) {
      if (models_.size() >= kMaxRunModels) name = "(other models)";
      it = models_.try_emplace(name).first;
      if (it->second.calls == 0) {
        it->second.first_seq = e.seq;
        order_.push_back(name);
      }
    }
    ModelStats& m = it->second;
    ++m.calls;
    if (e.usage) {
      ++m.with_usage;
      m.usage += *e.usage;
    }
    std::optional<int64_t> latency = IntField(payload, "duration_ms");
    if (!latency) latency = IntField(payload, "latency_ms");
    if (latency && *latency >= 0) {
      ++m.timed;
      if (m.samples.size() < kMaxSamples) m.samples.push_back(*latency);
    }
  }

  // Models in the order first seen.
  std::vector<std::pair<std::string, const ModelStats*>> Rows() const {
    std::vector<std::pair<std::string, const ModelStats*>> rows;
    for (const std::string& name : order_) rows.emplace_back(name, &models_.at(name));
    return rows;
  }

 private:
  std::unordered_map<std::string, ModelStats> models_;
  std::vector<std::string> order_;
};

// Who recorded a hook session: the host (payload.source), its model, session
// id and working directory, from run.started or the first event naming them.
struct HostContext {
  bool hook = false;  // some event came from `hook ingest` (has hook_event)
  std::string host, model, session, cwd;

  void Observe(const EventView& e, element p) {
    if (StrField(p, "hook_event")) hook = true;
    auto take = [](std::string* field, std::optional<std::string_view> v) {
      if (field->empty() && v && !StripWhitespace(*v).empty()) {
        *field = std::string(CutUtf8(*v, kMaxModelNameBytes));
      }
    };
    if (e.kind == EventKind::kRunStarted) take(&host, StrField(p, "source"));
    take(&model, StrField(p, "model"));
    take(&model, StrField(p["host"], "model"));
    take(&session, StrField(p, "session_id"));
    take(&session, StrField(p["host"], "session_id"));
    take(&session, StrField(p["host"], "conversation_id"));
    take(&cwd, StrField(p, "cwd"));
    take(&cwd, StrField(p["host"], "cwd"));
  }
};

// File tools take a path, not a shell command: shown as a path.
bool IsPathTool(std::string_view tool) {
  static constexpr std::string_view kTools[] = {
      "read",      "write",      "edit",      "multiedit", "notebookedit", "notebookread",
      "read_file", "write_file", "edit_file", "view",      "create",       "str_replace_editor"};
  std::string lower(StripWhitespace(tool));
  for (char& c : lower) c = static_cast<char>(absl::ascii_tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kTools), std::end(kTools), lower) != std::end(kTools);
}

// "1,234" up to a million, then "12.3 M" / "4.56 B" (the exact figure goes
// in the card's title), so a stat card fits any count.
std::string Compact(uint64_t n) {
  if (n < 1000000) return Thousands(n);
  static constexpr const char* kUnits[] = {"M", "B", "T"};
  size_t unit = 0;
  double v = static_cast<double>(n) / 1e6;
  // 999,999,999 reads "1.00 B", not "1000 M".
  while (v >= 999.5 && unit + 1 < std::size(kUnits)) {
    v /= 1000;
    ++unit;
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf),
                v < 9.995   ? "%.2f %s"
                : v < 99.95 ? "%.1f %s"
                            : "%.0f %s",
                v, kUnits[unit]);
  return buf;
}

// ---------------------------------------------------------------- the page

class PageRenderer {
 public:
  PageRenderer(std::string trace_path, const RenderOptions& options, const TraceSummary& summary)
      : path_(std::move(trace_path)),
        options_(options),
        summary_(summary),
        tools_(std::max<size_t>(options.max_timeline_bars, 1), options.long_run_rows) {}

  absl::Status Run(RenderStats* stats, std::string* page);

 private:
  // The three passes over the trace, reported as one (RenderOptions::progress).
  static constexpr uint64_t kPasses = 3;
  void ReportProgress(uint64_t pass, uint64_t offset, uint64_t size) {
    if (!options_.progress) return;
    const uint64_t done = (pass * size + std::min(offset, size)) / kPasses;
    if (done < reported_ + internal::kProgressStep && done != size) return;
    reported_ = done;
    options_.progress(done, size);
  }

  struct RingEntry {
    uint64_t offset;
    uint64_t line_number;
    uint64_t seq;
    bool notable;
  };

  // Events left out between two shown ones.
  struct Gap {
    uint64_t count = 0;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    void Add(uint64_t seq) {
      if (count++ == 0) first_seq = seq;
      last_seq = seq;
    }
  };

  void Escaped(std::string_view text) { AppendHtmlEscaped(out_, text); }
  void Raw(std::string_view text) { out_->append(text); }

  // A field value cut to `max` bytes, with its full size noted when cut.
  void CutText(std::string_view text, size_t max) {
    std::string_view shown = CutUtf8(text, max);
    Escaped(shown);
    if (shown.size() < text.size()) {
      Raw("<span class=\"more\"> … (");
      Raw(ByteSize(text.size()));
      Raw(" in all; the full text: <code>traceframe inspect</code>)</span>");
    }
  }

  void KvOpen(std::string_view key) {
    Raw("<div class=\"kv\"><span class=\"k\">");
    Escaped(key);
    Raw("</span><span class=\"v\">");
  }
  void KvClose() { Raw("</span></div>"); }

  void KvText(std::string_view key, std::optional<std::string_view> value) {
    if (!value) return;
    KvOpen(key);
    CutText(*value, options_.field_bytes);
    KvClose();
  }
  void KvBadge(std::string_view key, std::string_view css, std::string_view text) {
    KvOpen(key);
    Badge(css, text);
    KvClose();
  }
  void KvChip(std::string_view key, std::optional<std::string_view> value) {
    if (!value) return;
    KvOpen(key);
    Raw("<code class=\"chip\">");
    CutText(*value, options_.field_bytes);
    Raw("</code>");
    KvClose();
  }
  void KvPre(std::string_view key, std::optional<std::string_view> value,
             std::string_view css = "cmd") {
    if (!value) return;
    KvOpen(key);
    Raw("<pre class=\"");
    Raw(css);
    Raw("\">");
    CutText(*value, options_.field_bytes);
    Raw("</pre>");
    KvClose();
  }
  void KvCallout(std::string_view key, std::optional<std::string_view> value,
                 std::string_view css = "bad") {
    if (!value) return;
    KvOpen(key);
    Raw("<div class=\"callout ");
    Raw(css);
    Raw("\">");
    CutText(*value, options_.field_bytes);
    Raw("</div>");
    KvClose();
  }
  void Badge(std::string_view css, std::string_view text) {
    Raw("<span class=\"badge ");
    Raw(css);
    Raw("\">");
    Escaped(text);
    Raw("</span>");
  }
  // A failure's output is open: the stderr that says why is on the page.
  void Output(std::string_view label, std::optional<std::string_view> text, bool open = false) {
    if (!text || text->empty()) return;
    Raw(open ? "<details class=\"out\" open><summary>" : "<details class=\"out\"><summary>");
    Escaped(label);
    Raw(" (");
    Raw(Thousands(Utf8Chars(*text)));
    Raw(" chars)</summary><pre>");
    CutText(*text, options_.preview_bytes);
    Raw("</pre></details>");
  }

  // The median of `samples` ("≈" when they are some of `timed` values).
  void MedianText(const std::vector<int64_t>& samples, uint64_t timed) {
    if (samples.empty()) {
      Raw("—");
      return;
    }
    if (timed > samples.size()) Raw("≈ ");
    Raw(HumanDuration(Median(samples)));
  }
  // `#123` linking to the event's card when the page shows it.
  void SeqLink(uint64_t seq) {
    const bool shown = shown_seqs_.count(seq) > 0;
    Raw(shown ? Cat("<a class=\"seq-link\" href=\"#seq-", seq, "\">#", seq, "</a>")
              : Cat("<span class=\"seq-link\">#", seq, "</span>"));
  }
  void KvPath(std::string_view key, std::optional<std::string_view> value) {
    if (!value) return;
    KvOpen(key);
    Raw("<code class=\"path\">");
    CutText(*value, options_.field_bytes);
    Raw("</code>");
    KvClose();
  }
  // A tool's command, or its path for a file tool.
  void KvCommand(element p) {
    const std::optional<std::string_view> command = StrField(p, "command");
    if (!command) return;
    const std::optional<std::string_view> file_path = StrField(p, "file_path");
    if (IsPathTool(StrField(p, "tool").value_or("")) || (file_path && *file_path == *command)) {
      KvPath("path", command);
    } else {
      KvPre("command", command);
    }
  }

  void Prepass(const MappedView& view, TraceReader::ScanResult* scan);
  void Hero(uint64_t events, uint64_t omitted);
  void HostSection();
  void Stats();
  void PolicySection();
  void UsageSection();
  void SlowTable();
  void Filters();
  void ToolSections();
  void RenderEvent(const EventView& e, element payload);
  void EventBody(const EventView& e, element payload);
  void FlushGap();
  bool RenderAt(const MappedView& view, const RingEntry& entry);
  bool Notable(const EventView& e, element payload) const;
  std::string InspectCommand(const Gap& gap) const;

  const std::string path_;
  const RenderOptions& options_;
  const TraceSummary& summary_;
  ToolTracker tools_;
  ModelTracker models_;
  HostContext host_;
  bool any_exit_code_ = false;  // some tool.result has an exit_code
  std::optional<absl::StatusOr<PolicyReport>> policy_;
  EventParser render_parser_;
  std::string* out_ = nullptr;
  Gap gap_;
  uint64_t shown_ = 0;
  std::unordered_set<uint64_t> shown_seqs_;
  uint64_t reported_ = 0;  // progress: bytes last reported
};

void PageRenderer::Prepass(const MappedView& view, TraceReader::ScanResult* scan) {
  EventParser parser;
  int64_t last_ts = summary_.first_ts_ms;
  *scan = ScanRange(
      view, parser, 0, view.size, 1,
      [&](const EventView& e) {
        last_ts = e.ts_ms;
        ReportProgress(0, e.byte_offset, view.size);
        const element payload = parser.payload();
        switch (e.kind) {
          case EventKind::kToolCall:
            tools_.Call(e, payload);
            break;
          case EventKind::kToolResult:
            tools_.Result(e, payload);
            if (IntField(payload, "exit_code") || StrField(payload, "exit_code")) {
              any_exit_code_ = true;
            }
            break;
          case EventKind::kModelCall:
            models_.Call(e, payload);
            break;
          default:
            break;
        }
        host_.Observe(e, payload);
        return true;
      },
      [](const LineError&) { return false; });
  tools_.Finish(last_ts);
}

void PageRenderer::HostSection() {
  if (!host_.hook && host_.session.empty()) return;
  auto row = [&](std::string_view key, const std::string& value, std::string_view css) {
    Raw("<dt>");
    Raw(key);
    Raw("</dt><dd>");
    if (value.empty()) {
      Raw("<span class=\"more\">not sent by the host</span>");
    } else {
      Raw(Cat("<code class=\"", css, "\">"));
      Escaped(value);
      Raw("</code>");
    }
    Raw("</dd>");
  };
  std::string model = host_.model;
  if (model.empty()) {
    for (const std::string& m : summary_.models) model = model.empty() ? m : Cat(model, ", ", m);
  }
  Raw("<section class=\"host\"><h2>Session</h2><div class=\"panel\"><dl>");
  row("host", host_.host, "chip");
  row("model", model, "chip");
  row("session", host_.session, "chip");
  row("cwd", host_.cwd, "path");
  Raw("</dl></div></section>\n");
}

void PageRenderer::PolicySection() {
  if (!policy_) return;
  constexpr size_t kMaxListed = 50;
  Raw("<section class=\"policy\"><h2>Policy check</h2>");
  if (!policy_->ok()) {
    Raw("<div class=\"panel verdict warn\"><span class=\"badge lg warn\">not checked</span>"
        "<p>policy-check cannot judge this trace: ");
    const auto message = policy_->status().message();
    Escaped(std::string_view(message.data(), message.size()));
    Raw("</p></div></section>\n");
    return;
  }
  const PolicyReport& r = **policy_;
  const bool clean = r.violations.empty();
  Raw(clean ? "<div class=\"panel verdict ok\"><span class=\"badge lg ok\">clean</span> "
              "no violation of the policy rules"
            : "<div class=\"panel verdict bad\"><span class=\"badge lg bad\">");
  if (!clean) {
    Raw(Cat(Thousands(r.violations.size()), " violation(s)</span>"));
    Raw("<ul>");
    for (size_t i = 0; i < r.violations.size() && i < kMaxListed; ++i) {
      const PolicyViolation& v = r.violations[i];
      Raw("<li>");
      SeqLink(v.seq);
      Raw(" <code>");
      Escaped(PolicyRuleName(v.rule));
      Raw("</code> ");
      CutText(v.message, options_.field_bytes);
      Raw("</li>");
    }
    if (r.violations.size() > kMaxListed) {
      Raw(Cat("<li class=\"more\">… ", Thousands(r.violations.size() - kMaxListed), " more</li>"));
    }
    Raw("</ul>");
  }
  if (!r.host_approvals.empty()) {
    Raw(Cat("<p>", Thousands(r.host_approvals.size()),
            " call(s) approved by the host (asked, then ran):</p><ul>"));
    for (size_t i = 0; i < r.host_approvals.size() && i < kMaxListed; ++i) {
      const HostApproval& a = r.host_approvals[i];
      Raw("<li>");
      SeqLink(a.call_seq);
      Raw(" ");
      CutText(a.message, options_.field_bytes);
      Raw("</li>");
    }
    if (r.host_approvals.size() > kMaxListed) {
      Raw(Cat("<li class=\"more\">… ", Thousands(r.host_approvals.size() - kMaxListed),
              " more</li>"));
    }
    Raw("</ul>");
  }
  if (r.open) Raw("<p class=\"more\">The trace is open (no run.finished): checked as it is.</p>");
  Raw("<p class=\"more\">The verdict of <code>traceframe policy-check --file ");
  Escaped(ShellQuote(path_));
  Raw("</code> (rules: docs/hooks.md, \"Policy rules\").</p></div></section>\n");
}

void PageRenderer::UsageSection() {
  const std::vector<std::pair<std::string, const ModelStats*>> rows = models_.Rows();
  if (rows.empty() && !summary_.usage.any()) return;
  const TokenUsage& u = summary_.usage;
  Raw("<section class=\"usage\"><h2>Token usage</h2><div class=\"panel\">");
  if (u.any()) {
    Raw("<table><thead><tr><th class=\"n\">input</th><th class=\"n\">cached input</th>"
        "<th class=\"n\">cache writes</th><th class=\"n\">output</th>"
        "<th class=\"n\">reasoning output</th></tr></thead><tbody><tr><td class=\"n\">");
    Raw(Thousands(u.input_tokens));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(u.cache_read_input_tokens));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(u.cache_creation_input_tokens));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(u.output_tokens));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(u.reasoning_output_tokens));
    Raw("</td></tr></tbody></table>");
    TokenUsage per_call;
    for (const auto& [name, m] : rows) per_call += m->usage;
    Raw(per_call == u ? "<p class=\"more\">The run's total: the sum over its model calls.</p>"
                      : "<p class=\"more\">The run's total as run.finished gives it (the host "
                        "reports totals, not each call).</p>");
  } else {
    Raw("<p class=\"more\">No token counts in this trace (no <code>usage</code> on its model "
        "calls).</p>");
  }
  if (!rows.empty()) {
    Raw("<table><thead><tr><th>model</th><th class=\"n\">calls</th><th class=\"n\">input "
        "tokens</th><th class=\"n\">output tokens</th><th class=\"n\">median latency</th></tr>"
        "</thead><tbody>\n");
    for (const auto& [name, m] : rows) {
      Raw("<tr><td><code>");
      Escaped(name);
      Raw("</code> ");
      SeqLink(m->first_seq);
      Raw("</td><td class=\"n\">");
      Raw(Thousands(m->calls));
      Raw("</td><td class=\"n\">");
      Raw(m->with_usage > 0 ? Thousands(m->usage.input_tokens) : "—");
      Raw("</td><td class=\"n\">");
      Raw(m->with_usage > 0 ? Thousands(m->usage.output_tokens) : "—");
      Raw("</td><td class=\"n\">");
      MedianText(m->samples, m->timed);
      Raw("</td></tr>\n");
    }
    Raw("</tbody></table><p class=\"more\">Latency: <code>duration_ms</code> or "
        "<code>latency_ms</code> on model.call payloads; tokens: each call's <code>usage</code> "
        "(docs/format.md, \"Token usage\").</p>");
  }
  Raw("</div></section>\n");
}

void PageRenderer::SlowTable() {
  auto table = [&](const std::vector<Bar>& rows) {
    Raw("<table><thead><tr><th>call</th><th>tool</th><th>command</th>"
        "<th class=\"n\">duration</th><th>result</th></tr></thead><tbody>\n");
    for (const Bar& b : rows) {
      Raw("<tr><td>");
      SeqLink(b.seq);
      Raw("</td><td><code>");
      Escaped(b.tool);
      Raw(IsPathTool(b.tool) ? "</code></td><td><code class=\"path\">" : "</code></td><td><code>");
      Escaped(b.command);
      Raw("</code></td><td class=\"n\">");
      Escaped(b.timed || b.state == 2 ? HumanDuration(b.duration_ms) : std::string("—"));
      Raw("</td><td>");
      Badge(b.state == 0   ? "ok"
            : b.state == 1 ? "bad"
                           : "warn",
            b.state == 0   ? "success"
            : b.state == 1 ? "failed"
                           : "no result");
      Raw("</td></tr>\n");
    }
    Raw("</tbody></table>");
  };
  Raw("<section class=\"tool-timeline\"><h2>Tool calls</h2><div class=\"panel\">"
      "<p class=\"more\">");
  Raw(Thousands(tools_.drawn_total()));
  Raw(" tool calls: too many for a bar each. The slowest and the failed ones, each linked to "
      "its event:</p><h3>Slowest</h3>");
  table(tools_.Slowest());
  Raw("<h3>Failed</h3>");
  if (tools_.failed_total() == 0) {
    Raw("<p class=\"more\">None failed.</p>");
  } else {
    if (tools_.failed_total() > tools_.failed().size()) {
      Raw(Cat("<p class=\"more\">The first ", Thousands(tools_.failed().size()), " of ",
              Thousands(tools_.failed_total()), " failed calls.</p>"));
    }
    table(tools_.failed());
  }
  Raw("</div></section>\n");
}

void PageRenderer::Filters() {
  struct Group {
    std::string_view id, label;
    uint64_t count;
  };
  const TraceSummary& s = summary_;
  const Group groups[] = {{"all", "all", 1},
                          {"problem", "errors only", 1},
                          {"run", "run", 1},
                          {"model", "model calls", s.model_calls},
                          {"tool", "tools", s.tool_calls + s.tool_results},
                          {"perm", "permissions", s.permission_decisions},
                          {"error", "error events", s.errors},
                          {"dev", "deviations", s.deviations}};
  // Radio inputs before the section: CSS hides what the checked one leaves
  // out (render_style.h); no script.
  for (const Group& g : groups) {
    if (g.count == 0) continue;
    Raw(Cat("<input type=\"radio\" name=\"filter\" class=\"fl\" id=\"f-", g.id, "\"",
            g.id == "all" ? " checked" : "", " aria-label=\"show ", g.label, "\">"));
  }
  Raw("\n<section class=\"timeline-wrap\"><h2>Timeline</h2>\n<div class=\"filters\">"
      "<span class=\"k\">show</span>");
  for (const Group& g : groups) {
    if (g.count == 0) continue;
    Raw(Cat("<label for=\"f-", g.id, "\">", g.label, "</label>"));
  }
  Raw("</div>\n");
}

std::string PageRenderer::InspectCommand(const Gap& gap) const {
  return Cat("traceframe inspect --file ", ShellQuote(path_), " --from-seq ", gap.first_seq,
             " --limit ", gap.count);
}

void PageRenderer::FlushGap() {
  if (gap_.count == 0) return;
  Raw("<li class=\"gap\">… ");
  Raw(Thousands(gap_.count));
  Raw(gap_.count == 1 ? " event" : " events");
  Raw(" left out here (seq ");
  Raw(Cat(gap_.first_seq));
  if (gap_.last_seq != gap_.first_seq) Raw(Cat("–", gap_.last_seq));
  Raw("). List them with <code>");
  Escaped(InspectCommand(gap_));
  Raw("</code></li>\n");
  gap_ = Gap();
}

bool PageRenderer::Notable(const EventView& e, element payload) const {
  switch (e.kind) {
    case EventKind::kError:
      return true;
    case EventKind::kToolResult:
      return e.tool_failed;
    case EventKind::kPermissionDecision:
      return ClassifyDecision(StrField(payload, "decision").value_or("")) == DecisionClass::kDeny;
    default:
      return false;
  }
}

void PageRenderer::Hero(uint64_t events, uint64_t omitted) {
  const TraceSummary& s = summary_;
  Raw("<header class=\"hero\"><div class=\"title\"><h1>traceframe report</h1><span class=\"badge "
      "lg ");
  Raw(StatusCss(s.status));
  Raw("\">");
  Escaped(s.status);
  Raw("</span></div>\n<p class=\"meta\"><code class=\"mono\">");
  Escaped(s.run_id);
  Raw("</code> · ");
  Raw(Cat(events));
  Raw(" events · ");
  Escaped(HumanDuration(s.duration_ms()));
  Raw(" · started <time>");
  Raw(Clock(s.first_ts_ms));
  Raw("</time>");
  if (s.finished_ts_ms) {
    Raw(" · finished <time>");
    Raw(Clock(*s.finished_ts_ms));
    Raw("</time>");
  }
  Raw("</p>\n<p class=\"meta\">trace <code>");
  Escaped(path_);
  Raw("</code></p>\n");
  if (s.torn_tail) {
    Raw("<p class=\"note\">The trace ends in a torn line at byte ");
    Raw(Cat(s.torn_tail->offset));
    Raw(" (");
    Raw(Cat(s.torn_tail->length));
    Raw(" bytes; what a crash mid-write leaves). This report shows the readable events before it. "
        "Move it aside with <code>traceframe repair --file ");
    Escaped(ShellQuote(path_));
    Raw("</code>.</p>\n");
  }
  if (omitted > 0) {
    Raw("<p class=\"note\">This trace is long: the report shows ");
    Raw(Thousands(events - omitted));
    Raw(" of its ");
    Raw(Thousands(events));
    Raw(" events (the first and the last, and every error, failed tool result and deny in "
        "between, as room allows). <strong>");
    Raw(Thousands(omitted));
    Raw(" events are left out</strong>; list them with <code>traceframe inspect --file ");
    Escaped(ShellQuote(path_));
    Raw("</code>.</p>\n");
  }
  Raw("</header>\n");
}

void PageRenderer::Stats() {
  const TraceSummary& s = summary_;
  auto card = [&](std::string_view accent, const std::string& value, std::string_view label,
                  const std::string& exact = std::string()) {
    Raw("<div class=\"stat ");
    Raw(accent);
    if (!exact.empty() && exact != value) {  // a compacted count keeps its exact figure
      Raw("\" title=\"");
      Escaped(Cat(exact, " ", label));
    }
    Raw("\"><span class=\"num\">");
    Escaped(value);
    Raw("</span><span class=\"lbl\">");
    Raw(label);
    Raw("</span></div>");
  };
  auto count = [&](std::string_view accent, uint64_t n, std::string_view label) {
    card(accent, Compact(n), label, Thousands(n));
  };
  Raw("<section class=\"stats\">");
  count("", s.events, "events");
  count("model", s.model_calls, "model calls");
  count("tool", s.tool_calls, "tool calls");
  count("tool", s.tool_results, "tool results");
  count(s.tool_failures > 0 ? "bad" : "", s.tool_failures, "tool failures");
  count("info", s.permission_decisions, "permissions");
  count(s.errors > 0 ? "bad" : "", s.errors, "errors");
  if (s.deviations > 0) count("dev", s.deviations, "deviations");
  if (s.usage.any()) {
    count("model", s.usage.input_tokens, "input tokens");
    count("model", s.usage.output_tokens, "output tokens");
  }
  card("", HumanDuration(s.duration_ms()), "duration");
  Raw("</section>\n");
}

void PageRenderer::ToolSections() {
  const std::vector<Bar>& bars = tools_.bars();
  if (bars.empty() && tools_.tools().empty()) return;
  const int64_t first = summary_.first_ts_ms;
  const int64_t span = std::max<int64_t>(1, SatSub(summary_.last_ts_ms, first));
  if (tools_.drawn_total() > options_.long_run_bars) {
    SlowTable();
  } else {
    Raw("<section class=\"tool-timeline\"><h2>Tool calls</h2><div class=\"panel\">");
    if (tools_.drawn_total() > bars.size()) {
      Raw("<p class=\"more\">");
      Raw(Thousands(bars.size()));
      Raw(" of ");
      Raw(Thousands(tools_.drawn_total()));
      Raw(" tool calls drawn: the first ones and the slowest of the rest.</p>");
    }
    Raw("<div class=\"bars\">");
    for (const Bar& b : bars) {
      const double left = std::clamp(
          static_cast<double>(SatSub(b.start_ms, first)) * 100.0 / static_cast<double>(span), 0.0,
          100.0);
      const double width =
          std::clamp(static_cast<double>(b.duration_ms) * 100.0 / span, 0.0, 100.0 - left);
      const char* css = b.state == 0 ? "bar ok" : b.state == 1 ? "bar bad" : "bar open";
      const std::string label =
          Cat("#", b.seq, " ", b.tool, b.command.empty() ? "" : " ", b.command);
      const std::string dur = b.state == 2 ? Cat(HumanDuration(b.duration_ms), " (no result)")
                              : b.timed    ? HumanDuration(b.duration_ms)
                                           : std::string("—");
      Raw("<span class=\"bar-label\" title=\"");
      Escaped(label);
      Raw("\">");
      const bool linked = shown_seqs_.count(b.seq) > 0;
      if (linked) Raw(Cat("<a href=\"#seq-", b.seq, "\">"));
      Escaped(label);
      if (linked) Raw("</a>");
      Raw("</span><div class=\"track\"><div class=\"");
      Raw(css);
      char style[96];
      std::snprintf(style, sizeof(style), "\" style=\"left:%.3f%%;width:%.3f%%\" title=\"", left,
                    width);
      Raw(style);
      Escaped(Cat(label, " · ", dur));
      Raw("\"></div></div><span class=\"bar-dur\">");
      Escaped(dur);
      Raw("</span>\n");
    }
    Raw("</div><div class=\"axis\"><span>+0 ms</span><span>+");
    Escaped(HumanDuration(span));
    Raw("</span></div></div></section>\n");
  }

  // Per-tool table, slowest total first: where a harness author's time went.
  std::vector<std::pair<std::string, const ToolStats*>> rows;
  for (const auto& [name, stats] : tools_.tools()) rows.emplace_back(name, &stats);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.second->total_ms != b.second->total_ms) return a.second->total_ms > b.second->total_ms;
    return a.first < b.first;
  });
  Raw("<section class=\"tools\"><h2>Tools</h2><table><thead><tr><th>tool</th>"
      "<th class=\"n\">calls</th><th class=\"n\">results</th><th class=\"n\">failures</th>"
      "<th class=\"n\">total duration</th><th class=\"n\">median duration</th></tr></thead>"
      "<tbody>\n");
  for (const auto& [name, s] : rows) {
    Raw("<tr><td><code>");
    Escaped(name);
    Raw("</code>");
    if (shown_seqs_.count(s->first_seq) > 0) {
      Raw(Cat(" <a class=\"seq-link\" href=\"#seq-", s->first_seq, "\">first</a>"));
    }
    Raw("</td><td class=\"n\">");
    Raw(Thousands(s->calls));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(s->results));
    Raw(s->failures > 0 ? "</td><td class=\"n bad\">" : "</td><td class=\"n\">");
    Raw(Thousands(s->failures));
    Raw("</td><td class=\"n\">");
    Raw(s->timed > 0 ? HumanDuration(s->total_ms) : "—");
    Raw("</td><td class=\"n\">");
    MedianText(s->samples, s->timed);
    Raw("</td></tr>\n");
  }
  Raw("</tbody></table></section>\n");
}

void PageRenderer::EventBody(const EventView& e, element p) {
  switch (e.kind) {
    case EventKind::kRunStarted:
      if (auto status = StrField(p, "status")) KvBadge("status", "info", *status);
      KvText("created by", StrField(p, "created_by"));
      if (auto cwd = StrField(p["host"], "cwd")) KvChip("cwd", cwd);
      if (auto branch = StrField(p["host"]["git"], "branch")) KvChip("git branch", branch);
      if (auto commit = StrField(p["host"]["git"], "commit")) KvChip("git commit", commit);
      break;
    case EventKind::kModelCall:
      if (auto provider = StrField(p, "provider")) KvBadge("provider", "model", *provider);
      KvChip("model", StrField(p, "model"));
      KvText("purpose", StrField(p, "purpose"));
      if (e.usage) KvText("tokens", UsageText(*e.usage));
      break;
    case EventKind::kAgentGuess:
      KvCallout("assumption", StrField(p, "assumption"), "dev");
      KvText("why", StrField(p, "why"));
      KvText("prevention", StrField(p, "prevention"));
      break;
    case EventKind::kPlanDeviation:
      KvText("plan", StrField(p, "plan"));
      KvCallout("deviation", StrField(p, "deviation"), "dev");
      KvText("why", StrField(p, "why"));
      break;
    case EventKind::kToolCall: {
      if (auto tool = StrField(p, "tool")) KvBadge("tool", "tool", *tool);
      KvCommand(p);
      simdjson::dom::array argv;
      if (!p["argv"].get_array().get(argv) && argv.size() > 0) {
        KvOpen("argv");
        size_t shown_bytes = 0;
        size_t index = 0;
        for (element item : argv) {
          if (shown_bytes > options_.field_bytes) {
            Raw(Cat("<span class=\"more\"> … ", argv.size() - index, " more</span>"));
            break;
          }
          std::string_view text;
          std::string json;
          if (item.get_string().get(text)) {
            json = simdjson::minify(item);
            text = json;
          }
          Raw("<code class=\"chip\">");
          CutText(text, options_.field_bytes);
          Raw("</code>");
          shown_bytes += text.size();
          ++index;
        }
        KvClose();
      }
      if (const PairLink* link = tools_.Link(e.seq)) {
        KvOpen("result");
        Raw("<span class=\"pair\">");
        Raw(Cat("<a class=\"seq-link\" href=\"#seq-", link->partner, "\">#", link->partner,
                "</a>"));
        Badge(link->state == 1 ? "bad" : "ok", link->state == 1 ? "failed" : "success");
        if (link->timed) Escaped(HumanDuration(link->duration_ms));
        Raw("</span>");
        KvClose();
      }
      break;
    }
    case EventKind::kToolResult: {
      std::optional<bool> success = BoolField(p, "success");
      std::optional<int64_t> code = IntField(p, "exit_code");
      if (success.value_or(false) || (!success && code && *code == 0)) {
        KvBadge("result", "ok", "success");
      } else if (e.tool_failed) {
        KvBadge("result", "bad", "failed");
      } else {
        KvBadge("result", "warn", "unknown");
      }
      if (const PairLink* link = tools_.Link(e.seq)) {
        KvOpen("call");
        Raw(Cat("<a class=\"seq-link\" href=\"#seq-", link->partner, "\">#", link->partner,
                "</a>"));
        KvClose();
      }
      if (auto tool = StrField(p, "tool")) KvBadge("tool", "tool", *tool);
      KvCommand(p);
      if (code) {
        KvBadge("exit code", *code == 0 ? "ok" : "bad", Cat("exit ", *code));
      } else if (auto text = StrField(p, "exit_code")) {
        KvBadge("exit code", "warn", Cat("exit ", CutUtf8(*text, 32)));
      } else if (any_exit_code_) {
        // Only where the trace has exit codes elsewhere: a host that never
        // sends one (most hooks) gets no badge saying so on every result.
        KvBadge("exit code", "warn", "exit —");
      }
      if (auto ms = IntField(p, "duration_ms")) KvText("duration", HumanDuration(*ms));
      auto out_bytes = IntField(p, "stdout_bytes");
      auto err_bytes = IntField(p, "stderr_bytes");
      if (out_bytes || err_bytes) {
        KvText("output",
               Cat("stdout ", out_bytes.value_or(0), " B · stderr ", err_bytes.value_or(0), " B"));
      }
      if (auto error = StrField(p, "error")) {
        KvCallout("error", error);
      } else if (auto message = StrField(p["error"], "message")) {
        KvCallout("error", message);
      }
      const bool failed = e.tool_failed;
      Output("stdout", StrField(p, "stdout_preview"));
      Output("stderr", StrField(p, "stderr_preview"), failed);
      Output("output", StrField(p, "output"), failed);
      Output("stderr", StrField(p, "stderr"), failed);
      break;
    }
    case EventKind::kPermissionDecision: {
      KvChip("capability", StrField(p, "capability"));
      if (auto decision = StrField(p, "decision")) {
        KvBadge("decision", DecisionCss(ClassifyDecision(*decision)), *decision);
      }
      KvText("reason", StrField(p, "reason"));
      KvText("source", StrField(p, "source"));
      KvPre("command", StrField(p, "command"));
      break;
    }
    case EventKind::kError:
      KvCallout("message", StrField(p, "message"));
      KvPre("command", StrField(p, "command"));
      KvCallout("detail", StrField(p, "error"));
      KvText("action", StrField(p, "action"));
      break;
    case EventKind::kRunFinished:
      if (auto status = StrField(p, "status")) KvBadge("status", StatusCss(*status), *status);
      KvText("summary", StrField(p, "summary"));
      if (e.usage) KvText("tokens", UsageText(*e.usage));
      break;
  }
  const std::string_view raw = RawPayload(e.line);
  std::string minified;
  std::string_view payload_text = raw;
  if (payload_text.empty()) {  // an escaped "payload" key: re-serialize the parsed value
    minified = simdjson::minify(p);
    payload_text = minified;
  }
  bool truncated = false;
  const std::string pretty = PrettyJson(payload_text, options_.payload_bytes, &truncated);
  Raw("<details class=\"raw\"><summary>raw payload");
  if (truncated) {
    Raw(Cat(" (", ByteSize(payload_text.size()), "; the first ", ByteSize(pretty.size()),
            " shown)"));
  }
  Raw("</summary><pre>");
  Escaped(pretty);
  if (truncated) Raw("\n…");
  Raw("</pre></details>");
}

void PageRenderer::RenderEvent(const EventView& e, element payload) {
  FlushGap();
  std::string_view accent = "ev-info";
  std::string_view kind_css = "info";
  std::string_view group = "k-run";  // the CSS filter group (render_style.h)
  switch (e.kind) {
    case EventKind::kRunStarted:
      break;
    case EventKind::kModelCall:
      accent = "ev-model";
      kind_css = "model";
      group = "k-model";
      break;
    case EventKind::kToolCall:
      accent = "ev-tool";
      kind_css = "tool";
      group = "k-tool";
      break;
    case EventKind::kToolResult: {
      kind_css = "tool";
      group = "k-tool";
      std::optional<bool> success = BoolField(payload, "success");
      std::optional<int64_t> code = IntField(payload, "exit_code");
      const bool ok = success.value_or(false) || (!success && code && *code == 0);
      accent = ok ? "ev-ok" : e.tool_failed ? "ev-bad" : "ev-warn";
      break;
    }
    case EventKind::kPermissionDecision: {
      const DecisionClass c = ClassifyDecision(StrField(payload, "decision").value_or(""));
      accent = c == DecisionClass::kAllow  ? "ev-ok"
               : c == DecisionClass::kDeny ? "ev-bad"
                                           : "ev-warn";
      group = "k-perm";
      break;
    }
    case EventKind::kError:
      accent = "ev-bad";
      kind_css = "bad";
      group = "k-error";
      break;
    case EventKind::kAgentGuess:
    case EventKind::kPlanDeviation:
      accent = "ev-dev";
      kind_css = "dev";
      group = "k-dev";
      break;
    case EventKind::kRunFinished: {
      const std::string_view status = StrField(payload, "status").value_or("");
      accent = status == "success" ? "ev-ok" : status == "failed" ? "ev-bad" : "ev-warn";
      break;
    }
  }
  char seq[32];
  std::snprintf(seq, sizeof(seq), "#%03llu", static_cast<unsigned long long>(e.seq));
  const bool problem =
      Notable(e, payload) || (e.kind == EventKind::kRunFinished && accent == "ev-bad");
  shown_seqs_.insert(e.seq);
  Raw(Cat("<li class=\"event ", accent, " ", group, problem ? " problem" : "", "\" id=\"seq-",
          e.seq, "\"><div class=\"marker\"><span class=\"dot\"></span><span class=\"seq\">", seq,
          "</span></div><div class=\"card\"><div class=\"head\"><span class=\"badge ", kind_css,
          "\">", EventKindName(e.kind), "</span><span class=\"rel\">+"));
  Escaped(HumanDuration(SatSub(e.ts_ms, summary_.first_ts_ms)));
  Raw("</span><time class=\"clock\">");
  Raw(Clock(e.ts_ms));
  Raw("</time></div>");
  EventBody(e, payload);
  Raw("</div></li>\n");
  ++shown_;
}

bool PageRenderer::RenderAt(const MappedView& view, const RingEntry& entry) {
  bool rendered = false;
  ScanRange(
      view, render_parser_, entry.offset, NextLineStart(view, entry.offset), entry.line_number,
      [&](const EventView& e) {
        RenderEvent(e, render_parser_.payload());
        rendered = true;
        return false;
      },
      [](const LineError&) { return false; });
  return rendered;
}

absl::Status PageRenderer::Run(RenderStats* stats, std::string* page) {
  absl::StatusOr<std::unique_ptr<TraceReader>> opened = TraceReader::Open(path_);
  if (!opened.ok()) return opened.status();
  const MappedView view = ViewOf(**opened);

  // Budgets for the three parts of the event list; the rest of the page (CSS,
  // header, tool sections) fits in what is left of max_page_bytes.
  const size_t head_budget = options_.max_page_bytes * 38 / 100;
  const size_t middle_budget = options_.max_page_bytes * 20 / 100;
  const size_t tail_budget = options_.max_page_bytes * 32 / 100;

  // The figures the cards need before they are drawn (a call's card shows
  // its result, which comes later in the trace).
  TraceReader::ScanResult scan;
  Prepass(view, &scan);
  if (scan.error) {
    return absl::DataLossError(Cat(DescribeLineError(*scan.error), " in ", path_));
  }
  // The verdict is policy-check's own (same function, same rules).
  PolicyOptions policy_options;
  if (options_.progress) {
    policy_options.progress = [this, &view](uint64_t done, uint64_t total) {
      ReportProgress(1, total == 0 ? view.size : done * view.size / total, view.size);
    };
  }
  policy_ = CheckPolicy(path_, policy_options);

  std::string events_html;
  out_ = &events_html;
  std::deque<RingEntry> ring;
  uint64_t head_shown = 0;
  uint64_t total = 0;
  EventParser scan_parser;
  scan = ScanRange(
      view, scan_parser, 0, view.size, 1,
      [&](const EventView& e) {
        ++total;
        ReportProgress(2, e.byte_offset, view.size);
        const element payload = scan_parser.payload();
        if (head_shown < options_.head_events && events_html.size() < head_budget) {
          RenderEvent(e, payload);
          ++head_shown;
          return true;
        }
        ring.push_back({e.byte_offset, e.line_number, e.seq, Notable(e, payload)});
        if (ring.size() > options_.tail_events) {
          const RingEntry old = ring.front();
          ring.pop_front();
          if (old.notable && events_html.size() < head_budget + middle_budget) {
            RenderAt(view, old);
          } else {
            gap_.Add(old.seq);
          }
        }
        return true;
      },
      [](const LineError&) { return false; });
  if (scan.error) {
    return absl::DataLossError(Cat(DescribeLineError(*scan.error), " in ", path_));
  }
  ReportProgress(kPasses, 0, view.size);

  // The tail, newest first until its budget is spent, then in trace order.
  // The gap before it is set aside so that rendering a tail event does not
  // place it (RenderEvent flushes the gap in front of what it renders).
  const Gap gap_before_tail = gap_;
  gap_ = Gap();
  std::vector<std::string> tail;
  size_t tail_bytes = 0;
  size_t keep_from = ring.size();
  while (keep_from > 0) {
    std::string html;
    out_ = &html;
    const uint64_t before = shown_;
    RenderAt(view, ring[keep_from - 1]);
    if (tail_bytes + html.size() > tail_budget) {
      shown_ = before;
      shown_seqs_.erase(ring[keep_from - 1].seq);
      break;
    }
    tail_bytes += html.size();
    tail.push_back(std::move(html));
    --keep_from;
  }
  out_ = &events_html;
  gap_ = gap_before_tail;
  for (size_t i = 0; i < keep_from; ++i) gap_.Add(ring[i].seq);
  FlushGap();
  for (auto it = tail.rbegin(); it != tail.rend(); ++it) events_html.append(*it);
  std::vector<std::string>().swap(tail);

  const uint64_t omitted = total - shown_;
  page->reserve(events_html.size() + (1 << 16));
  out_ = page;
  Raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>traceframe report - ");
  Escaped(summary_.run_id);
  Raw("</title><style>");
  Raw(internal::kRenderCss);
  // Only traces with deviations get their accent (a pink no other kind uses).
  if (summary_.deviations > 0) Raw(internal::kDeviationCss);
  Raw("</style></head>\n<body><main>\n");
  Hero(total, omitted);
  HostSection();
  Stats();
  PolicySection();
  UsageSection();
  ToolSections();
  Filters();
  if (omitted > 0) {
    Raw("<p class=\"more\">");
    Raw(Thousands(omitted));
    Raw(" events left out; the gaps below say where and how to list them.</p>\n");
  }
  Raw("<ol class=\"timeline\">\n");
  page->append(events_html);
  std::string().swap(events_html);
  Raw("</ol></section>\n<footer>Rendered by traceframe from <code>");
  Escaped(path_);
  Raw("</code>. The trace file is the record; this page is derived from it.</footer>\n"
      "</main></body></html>\n");
  stats->events = total;
  stats->shown = shown_;
  stats->omitted = omitted;
  stats->bytes = page->size();
  return absl::OkStatus();
}

}  // namespace

namespace {

// The length of an invisible character at text[i] that can make text read
// as something else (issue 11 item 17), or 0: C0 controls other than tab
// and newline, DEL, C1 controls (U+0080-U+009F), and the bidi controls
// U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069 (a U+202E makes
// "rm -rf /tmp/x" read as another command).
size_t DeceptiveLength(std::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) return 1;
  if (i + 1 < text.size()) {
    const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
    if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) return 2;
    if (c == 0xD8 && c1 == 0x9C) return 2;
  }
  if (c == 0xE2 && i + 2 < text.size()) {
    const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
    const unsigned char c2 = static_cast<unsigned char>(text[i + 2]);
    if (c1 == 0x80 && (c2 == 0x8E || c2 == 0x8F || (c2 >= 0xAA && c2 <= 0xAE))) return 3;
    if (c1 == 0x81 && c2 >= 0xA6 && c2 <= 0xA9) return 3;
  }
  return 0;
}

// The code point of the UTF-8 sequence of `len` bytes at text[i].
uint32_t CodePointAt(std::string_view text, size_t i, size_t len) {
  const auto b = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(text[k]));
  };
  if (len == 1) return b(i);
  if (len == 2) return ((b(i) & 0x1F) << 6) | (b(i + 1) & 0x3F);
  return ((b(i) & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
}

}  // namespace

void AppendHtmlEscaped(std::string* out, std::string_view text) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* entity = nullptr;
    if (const size_t len = DeceptiveLength(text, i); len > 0) {
      // Shown as a visible escape ("\u202E"), in text and attributes alike.
      out->append(text.data() + start, i - start);
      char buf[16];
      std::snprintf(buf, sizeof(buf), "\\u%04X", CodePointAt(text, i, len));
      out->append(buf);
      i += len - 1;
      start = i + 1;
      continue;
    }
    switch (text[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&#39;";
        break;
      default:
        continue;
    }
    out->append(text.data() + start, i - start);
    out->append(entity);
    start = i + 1;
  }
  out->append(text.data() + start, text.size() - start);
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  AppendHtmlEscaped(&out, text);
  return out;
}

absl::StatusOr<std::string> RenderTraceHtml(const std::string& trace_path,
                                            const RenderOptions& options, RenderStats* stats) {
  absl::StatusOr<TraceSummary> summary = SummarizeTrace(trace_path);
  if (!summary.ok()) return summary.status();
  PageRenderer renderer(trace_path, options, *summary);
  std::string page;
  RenderStats local;
  absl::Status status = renderer.Run(stats != nullptr ? stats : &local, &page);
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<RenderStats> RenderTraceToFile(const std::string& trace_path,
                                              const std::string& html_path,
                                              const RenderOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(html_path, ec) &&
      std::filesystem::equivalent(trace_path, html_path, ec)) {
    return absl::InvalidArgumentError(Cat("refusing to write the report over its own trace: ",
                                          html_path, "; pass another --html path"));
  }
  RenderStats stats;
  absl::StatusOr<std::string> page = RenderTraceHtml(trace_path, options, &stats);
  if (!page.ok()) return page.status();
  absl::Status written = WriteFileAtomically(html_path, *page);
  if (!written.ok()) return written;
  return stats;
}

}  // namespace traceframe
