#include "traceframe/render.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "read/scan.h"
#include "traceframe/command.h"
#include "traceframe/policy.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/trace_reader.h"
#include "traceframe/usage.h"
#include "util/file_util.h"
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

struct ToolStats {
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

  explicit ToolTracker(size_t max_bars)
      : head_bars_(max_bars - max_bars * 3 / 8), slow_bars_(max_bars * 3 / 8) {}

  void Call(const EventView& e, element payload) {
    const std::string tool = ToolName(payload);
    ++Stats(tool).calls;
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
    if (it != pending_.end()) {
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
    ToolStats& s = Stats(tool);
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

  ToolStats& Stats(const std::string& tool) {
    auto it = tools_.find(tool);
    if (it != tools_.end()) return it->second;
    if (tools_.size() >= kMaxTools) return tools_[std::string(kOther)];
    return tools_[tool];
  }

  void Keep(Bar bar) {
    ++drawn_total_;
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
  std::vector<Bar> bars_;
  std::priority_queue<Bar, std::vector<Bar>, std::greater<Bar>> slow_;  // fastest on top
  PendingMap pending_;
  size_t pending_count_ = 0;
  uint64_t drawn_total_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ULL;
  std::unordered_map<std::string, ToolStats> tools_;
};

// ---------------------------------------------------------------- the page

// Deviations (agent.guess, plan.deviation) have their own accent: a pink
// that no other kind uses, so a guess stands out from warnings and errors.
constexpr std::string_view kDeviationCss =
    ":root{--dev:#db2777;--dev-bg:#fce7f3}.dev{--c:var(--dev);--c-bg:var(--dev-bg)}"
    ".badge.dev{background:var(--c-bg);color:var(--c)}.ev-dev{--accent:var(--dev)}\n";

constexpr std::string_view kCss = R"css(
:root{--bg:#f4f6fb;--card:#fff;--ink:#1f2933;--muted:#64748b;--line:#e2e8f0;
--ok:#16a34a;--ok-bg:#dcfce7;--bad:#dc2626;--bad-bg:#fee2e2;--warn:#d97706;--warn-bg:#fef3c7;
--tool:#2563eb;--tool-bg:#dbeafe;--model:#7c3aed;--model-bg:#ede9fe;--info:#475569;--info-bg:#e2e8f0;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 var(--sans)}
main{max-width:980px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:28px 0 10px}
code,pre,.mono{font-family:var(--mono);font-size:12.5px}
.hero{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px}
.hero .title{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.meta{color:var(--muted);margin:8px 0 0}
.meta code{color:var(--ink)}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;
background:var(--info-bg);color:var(--info)}
.badge.lg{font-size:14px;padding:3px 14px}
.ok{--c:var(--ok);--c-bg:var(--ok-bg)}.bad{--c:var(--bad);--c-bg:var(--bad-bg)}
.warn{--c:var(--warn);--c-bg:var(--warn-bg)}.tool{--c:var(--tool);--c-bg:var(--tool-bg)}
.model{--c:var(--model);--c-bg:var(--model-bg)}.info{--c:var(--info);--c-bg:var(--info-bg)}
.badge.ok,.badge.bad,.badge.warn,.badge.tool,.badge.model,.badge.info{background:var(--c-bg);color:var(--c)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(100px,1fr));gap:10px;margin-top:14px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px;
border-top:3px solid var(--c,var(--line))}
.stat .num{display:block;font-size:19px;font-weight:700;white-space:nowrap;color:var(--c,var(--ink))}
.stat .lbl{color:var(--muted);font-size:12px}
.note{background:var(--warn-bg);border:1px solid var(--warn);border-radius:8px;padding:8px 12px;margin:12px 0}
.callout{border-radius:6px;padding:4px 8px;background:var(--c-bg);color:var(--c);white-space:pre-wrap;
overflow-wrap:anywhere}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.bars{display:grid;grid-template-columns:minmax(0,260px) 1fr 90px;gap:4px 10px;align-items:center;
max-height:460px;overflow-y:auto}
.bar-label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:var(--mono);font-size:12px}
.track{position:relative;height:14px;background:var(--bg);border-radius:4px}
.bar{position:absolute;top:2px;height:10px;border-radius:3px;background:var(--tool);min-width:3px}
.bar.bad{background:var(--bad)}
.bar.open{background:repeating-linear-gradient(45deg,var(--warn),var(--warn) 4px,var(--warn-bg) 4px,var(--warn-bg) 8px)}
.bar-dur{text-align:right;color:var(--muted);font-size:12px;white-space:nowrap}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:11px;margin-top:6px}
table{width:100%;border-collapse:collapse;background:var(--card)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600;font-size:12px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.bad{color:var(--bad);font-weight:600}
.timeline{list-style:none;margin:0;padding:0 0 0 34px;position:relative}
.timeline:before{content:"";position:absolute;left:11px;top:4px;bottom:4px;width:2px;background:var(--line)}
.event{position:relative;margin:0 0 12px;--accent:var(--info)}
.ev-ok{--accent:var(--ok)}.ev-bad{--accent:var(--bad)}.ev-warn{--accent:var(--warn)}
.ev-tool{--accent:var(--tool)}.ev-model{--accent:var(--model)}.ev-info{--accent:var(--info)}
.marker{position:absolute;left:-34px;top:8px;width:30px;text-align:center}
.dot{display:block;width:12px;height:12px;margin:0 auto;border-radius:50%;background:var(--accent);
border:2px solid var(--card);box-shadow:0 0 0 1px var(--accent)}
.seq{display:block;font-size:10px;color:var(--muted);font-family:var(--mono)}
.card{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--accent);
border-radius:8px;padding:8px 12px}
.head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.rel{font-weight:600}.clock{color:var(--muted);font-family:var(--mono);font-size:12px;margin-left:auto}
.kv{display:grid;grid-template-columns:130px 1fr;gap:8px;margin-top:6px}
.k{color:var(--muted)}.v{overflow-wrap:anywhere;min-width:0}
.chip{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 5px;margin-right:4px}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
pre.cmd{background:#0f172a;color:#e2e8f0;border-radius:6px;padding:6px 8px}
details{margin-top:8px}
summary{cursor:pointer;color:var(--muted);font-size:12px}
details pre{max-height:320px;overflow:auto;background:var(--bg);border-radius:6px;padding:8px;margin-top:4px}
.gap{margin:0 0 12px;padding:8px 12px;border:1px dashed var(--warn);border-radius:8px;
background:var(--warn-bg);color:#78350f}
.more{color:var(--muted);font-size:12px;margin-top:4px}
footer{color:var(--muted);font-size:12px;margin-top:28px}
)css";

class PageRenderer {
 public:
  PageRenderer(std::string trace_path, const RenderOptions& options, const TraceSummary& summary)
      : path_(std::move(trace_path)),
        options_(options),
        summary_(summary),
        tools_(std::max<size_t>(options.max_timeline_bars, 1)) {}

  absl::Status Run(RenderStats* stats, std::string* page);

 private:
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
  void Output(std::string_view label, std::optional<std::string_view> text) {
    if (!text || text->empty()) return;
    Raw("<details class=\"out\"><summary>");
    Escaped(label);
    Raw(" (");
    Raw(Thousands(Utf8Chars(*text)));
    Raw(" chars)</summary><pre>");
    CutText(*text, options_.preview_bytes);
    Raw("</pre></details>");
  }

  void Hero(uint64_t events, uint64_t omitted);
  void Stats();
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
  EventParser render_parser_;
  std::string* out_ = nullptr;
  Gap gap_;
  uint64_t shown_ = 0;
};

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
  auto card = [&](std::string_view accent, const std::string& value, std::string_view label) {
    Raw("<div class=\"stat ");
    Raw(accent);
    Raw("\"><span class=\"num\">");
    Escaped(value);
    Raw("</span><span class=\"lbl\">");
    Raw(label);
    Raw("</span></div>");
  };
  Raw("<section class=\"stats\">");
  card("", Thousands(s.events), "events");
  card("model", Thousands(s.model_calls), "model calls");
  card("tool", Thousands(s.tool_calls), "tool calls");
  card("tool", Thousands(s.tool_results), "tool results");
  card(s.tool_failures > 0 ? "bad" : "", Thousands(s.tool_failures), "tool failures");
  card("info", Thousands(s.permission_decisions), "permissions");
  card(s.errors > 0 ? "bad" : "", Thousands(s.errors), "errors");
  if (s.deviations > 0) card("dev", Thousands(s.deviations), "deviations");
  if (s.usage.any()) {
    card("model", Thousands(s.usage.input_tokens), "input tokens");
    card("model", Thousands(s.usage.output_tokens), "output tokens");
  }
  card("", HumanDuration(s.duration_ms()), "duration");
  Raw("</section>\n");
}

void PageRenderer::ToolSections() {
  const std::vector<Bar>& bars = tools_.bars();
  if (bars.empty() && tools_.tools().empty()) return;
  const int64_t first = summary_.first_ts_ms;
  const int64_t span = std::max<int64_t>(1, SatSub(summary_.last_ts_ms, first));
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
    const std::string label = Cat("#", b.seq, " ", b.tool, b.command.empty() ? "" : " ", b.command);
    const std::string dur = b.state == 2 ? Cat(HumanDuration(b.duration_ms), " (no result)")
                            : b.timed    ? HumanDuration(b.duration_ms)
                                         : std::string("—");
    Raw("<span class=\"bar-label\" title=\"");
    Escaped(label);
    Raw("\">");
    Escaped(label);
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
    Raw("</code></td><td class=\"n\">");
    Raw(Thousands(s->calls));
    Raw("</td><td class=\"n\">");
    Raw(Thousands(s->results));
    Raw(s->failures > 0 ? "</td><td class=\"n bad\">" : "</td><td class=\"n\">");
    Raw(Thousands(s->failures));
    Raw("</td><td class=\"n\">");
    Raw(s->timed > 0 ? HumanDuration(s->total_ms) : "—");
    Raw("</td><td class=\"n\">");
    if (s->samples.empty()) {
      Raw("—");
    } else {
      std::vector<int64_t> v = s->samples;
      const size_t mid = v.size() / 2;
      std::nth_element(v.begin(), v.begin() + mid, v.end());
      int64_t median = v[mid];
      if (v.size() % 2 == 0) {
        const int64_t lower = *std::max_element(v.begin(), v.begin() + mid);
        median = lower + (median - lower) / 2;
      }
      if (s->timed > v.size()) Raw("≈ ");
      Raw(HumanDuration(median));
    }
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
      KvPre("command", StrField(p, "command"));
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
      if (auto tool = StrField(p, "tool")) KvBadge("tool", "tool", *tool);
      KvPre("command", StrField(p, "command"));
      if (code) {
        KvBadge("exit code", *code == 0 ? "ok" : "bad", Cat("exit ", *code));
      } else if (auto text = StrField(p, "exit_code")) {
        KvBadge("exit code", "warn", Cat("exit ", CutUtf8(*text, 32)));
      } else {
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
      Output("stdout", StrField(p, "stdout_preview"));
      Output("stderr", StrField(p, "stderr_preview"));
      Output("output", StrField(p, "output"));
      Output("stderr", StrField(p, "stderr"));
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
  switch (e.kind) {
    case EventKind::kRunStarted:
      break;
    case EventKind::kModelCall:
      accent = "ev-model";
      kind_css = "model";
      break;
    case EventKind::kToolCall:
      accent = "ev-tool";
      kind_css = "tool";
      break;
    case EventKind::kToolResult: {
      kind_css = "tool";
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
      break;
    }
    case EventKind::kError:
      accent = "ev-bad";
      kind_css = "bad";
      break;
    case EventKind::kAgentGuess:
    case EventKind::kPlanDeviation:
      accent = "ev-dev";
      kind_css = "dev";
      break;
    case EventKind::kRunFinished: {
      const std::string_view status = StrField(payload, "status").value_or("");
      accent = status == "success" ? "ev-ok" : status == "failed" ? "ev-bad" : "ev-warn";
      break;
    }
  }
  char seq[32];
  std::snprintf(seq, sizeof(seq), "#%03llu", static_cast<unsigned long long>(e.seq));
  Raw(Cat("<li class=\"event ", accent, "\" id=\"seq-", e.seq,
          "\"><div class=\"marker\"><span class=\"dot\"></span><span class=\"seq\">", seq,
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

  std::string events_html;
  out_ = &events_html;
  std::deque<RingEntry> ring;
  uint64_t head_shown = 0;
  uint64_t total = 0;
  int64_t last_ts = summary_.first_ts_ms;
  EventParser scan_parser;
  TraceReader::ScanResult scan = ScanRange(
      view, scan_parser, 0, view.size, 1,
      [&](const EventView& e) {
        ++total;
        last_ts = e.ts_ms;
        const element payload = scan_parser.payload();
        if (e.kind == EventKind::kToolCall) tools_.Call(e, payload);
        if (e.kind == EventKind::kToolResult) tools_.Result(e, payload);
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
  tools_.Finish(last_ts);

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
  Raw(kCss);
  // Only traces that use them get the newer rules, so the page of a trace
  // without deviations or tokens stays byte-identical (docs/format.md).
  if (summary_.deviations > 0) Raw(kDeviationCss);
  Raw("</style></head>\n<body><main>\n");
  Hero(total, omitted);
  Stats();
  ToolSections();
  Raw("<section class=\"timeline-wrap\"><h2>Timeline</h2>\n");
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
