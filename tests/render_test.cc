// The HTML report (reference §8, §10 R1/R2, §11.25/§11.36 fixed, bounded pages).
#include "traceframe/render.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using testing::EventLine;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::WriteFileOrDie;

constexpr long long kT0 = 1764057600000;  // 2025-11-25 08:00:00 UTC

std::string RichTrace() {
  const std::string r = "run-render";
  return EventLine(r, "e0", "run.started", kT0, 0,
                   R"({"created_by":"traceframe","status":"started"})") +
         "\n" +
         EventLine(r, "e1", "model.call", kT0 + 10, 1,
                   R"({"provider":"openai","model":"gpt-5.5"})") +
         "\n" +
         EventLine(r, "e2", "tool.call", kT0 + 20, 2,
                   R"({"tool":"shell","command":"cargo test","argv":["cargo","test"]})") +
         "\n" +
         EventLine(r, "e3", "tool.result", kT0 + 1520, 3,
                   R"({"tool":"shell","command":"cargo test","success":false,"exit_code":1,)"
                   R"("duration_ms":1500,"stdout_bytes":3,"stderr_bytes":15,)"
                   R"("stdout_preview":"ok\n","stderr_preview":"one test failed"})") +
         "\n" +
         EventLine(
             r, "e4", "permission.decision", kT0 + 1530, 4,
             R"({"capability":"git.push:main","decision":"deny","reason":"denied by policy"})") +
         "\n" + EventLine(r, "e5", "error", kT0 + 1540, 5, R"({"message":"push blocked"})") + "\n" +
         EventLine(r, "e6", "run.finished", kT0 + 1550, 6, R"({"status":"failed"})") + "\n";
}

std::string Render(const std::string& trace, RenderStats* stats = nullptr,
                   const RenderOptions& options = RenderOptions()) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"), trace);
  absl::StatusOr<std::string> html = RenderTraceHtml(dir.File("t.traceframe"), options, stats);
  EXPECT_TRUE(html.ok()) << html.status();
  return html.ok() ? *html : "";
}

TEST(RenderTest, RichTraceHasTheReferenceStructure) {  // R2 + RD1
  const std::string html = Render(RichTrace());
  for (const char* needle :
       {"<!doctype html>", "<title>traceframe report - run-render</title>", "traceframe report",
        "run-render", "Timeline", "cargo test", "exit 1", "+0 ms", "1.50 s", "ev-bad", "deny",
        "denied by policy", "push blocked", "tool failures", "class=\"badge lg bad\">failed",
        "one test failed", "gpt-5.5"}) {
    EXPECT_THAT(html, HasSubstr(needle)) << needle;
  }
}

// The three passes over the trace are reported as one: never backwards,
// never past the trace's size, and ending exactly at it.
TEST(RenderTest, ProgressEndsAtTheTraceSizeOnce) {
  const std::string trace = RichTrace();
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  RenderOptions options;
  options.progress = [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  EXPECT_FALSE(Render(trace, nullptr, options).empty());
  ASSERT_FALSE(calls.empty());
  uint64_t last = 0;
  for (const auto& [done, total] : calls) {
    EXPECT_EQ(total, trace.size());
    EXPECT_GE(done, last);
    EXPECT_LE(done, total);
    last = done;
  }
  EXPECT_EQ(calls.back().first, trace.size());
  EXPECT_EQ(std::count_if(calls.begin(), calls.end(),
                          [&](const auto& c) { return c.first == trace.size(); }),
            1);
}

TEST(RenderTest, ClockShowsTheDate) {  // §11.36
  const std::string html = Render(RichTrace());
  EXPECT_THAT(html, HasSubstr("2025-11-25 08:00:00.000Z"));
  EXPECT_THAT(html, HasSubstr("2025-11-25 08:00:01.520Z"));
}

TEST(RenderTest, EscapesEveryDynamicString) {  // R1
  const std::string trace = EventLine("<b>run</b>", "e0", "run.started", kT0, 0, "{}") + "\n" +
                            EventLine("<b>run</b>", "e1", "error", kT0 + 1, 1,
                                      R"({"message":"<script>alert('x')</script> & bad"})") +
                            "\n";
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("&amp; bad"));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;run&lt;/b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>run")));
}

TEST(RenderTest, HostilePayloadsStayText) {
  const std::string evil = "<img src=x onerror=alert(1)>";
  const std::string attr = R"(\" onmouseover=\"alert(2))";
  const std::string trace =
      EventLine(evil, "e0", "run.started", kT0, 0, "{}") + "\n" +
      EventLine(evil, "e1", "tool.call", kT0 + 1, 1,
                "{\"tool\":\"" + evil + attr + "\",\"command\":\"" + evil + "\",\"argv\":[\"" +
                    evil + "\"]}") +
      "\n" +
      EventLine(evil, "e2", "tool.result", kT0 + 2, 2,
                "{\"tool\":\"" + evil + attr + "\",\"command\":\"" + evil +
                    "\",\"success\":false,\"output\":\"" + evil + "\",\"error\":\"" + evil +
                    "\"}") +
      "\n" +
      EventLine(evil, "e3", "permission.decision", kT0 + 3, 3,
                "{\"capability\":\"" + evil + "\",\"decision\":\"" + evil + "\"}") +
      "\n" + EventLine(evil, "e4", "run.finished", kT0 + 4, 4, "{\"status\":\"" + evil + "\"}") +
      "\n";
  const std::string html = Render(trace);
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("\" onmouseover")));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
}

TEST(RenderTest, SelfContainedWithoutScripts) {
  const std::string html = Render(RichTrace());
  for (const char* banned : {"<script", "src=", "@import", "url(", "<link", "javascript:"}) {
    EXPECT_THAT(html, Not(HasSubstr(banned))) << banned;
  }
  // Links only to events on the page itself.
  size_t links = 0;
  for (size_t at = html.find("href="); at != std::string::npos; at = html.find("href=", at + 1)) {
    EXPECT_EQ(html.compare(at, 11, "href=\"#seq-"), 0) << html.substr(at, 40);
    ++links;
  }
  EXPECT_GT(links, 0u);
}

TEST(RenderTest, DecisionVocabularyIsShared) {  // §11.25
  const std::string r = "run-words";
  std::string trace = EventLine(r, "e0", "run.started", kT0, 0, "{}") + "\n";
  int seq = 1;
  for (const char* word : {"approve", "Permit", " allowed "}) {
    trace += EventLine(r, Cat("a", seq), "permission.decision", kT0 + seq, seq,
                       Cat(R"({"capability":"c","decision":")", word, R"("})")) +
             "\n";
    ++seq;
  }
  for (const char* word : {"reject", "BLOCKED", "denied"}) {
    trace += EventLine(r, Cat("d", seq), "permission.decision", kT0 + seq, seq,
                       Cat(R"({"capability":"c","decision":")", word, R"("})")) +
             "\n";
    ++seq;
  }
  trace += EventLine(r, "m", "permission.decision", kT0 + seq, seq,
                     R"({"capability":"c","decision":"ask"})") +
           "\n";
  const std::string html = Render(trace);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = html.find(needle); p != std::string::npos; p = html.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<li class=\"event ev-ok k-perm\""), 3u);
  EXPECT_EQ(count("<li class=\"event ev-bad k-perm problem\""), 3u);  // a deny is a problem
  EXPECT_EQ(count("<li class=\"event ev-warn k-perm\""), 1u);         // "ask"
}

TEST(RenderTest, ToolTimelineAndPerToolTable) {
  const std::string r = "run-tools";
  std::string trace = EventLine(r, "e0", "run.started", kT0, 0, "{}") + "\n";
  uint64_t seq = 1;
  long long ts = kT0;
  auto add = [&](const std::string& kind, const std::string& payload, long long advance) {
    ts += advance;
    trace += EventLine(r, Cat("e", seq), kind, ts, seq, payload) + "\n";
    ++seq;
  };
  add("tool.call", R"({"tool":"shell","command":"make"})", 10);
  add("tool.result", R"({"tool":"shell","command":"make","success":true,"duration_ms":100})", 100);
  add("tool.call", R"({"tool":"shell","command":"make test"})", 10);
  add("tool.result", R"({"tool":"shell","command":"make test","success":false,"duration_ms":300})",
      300);
  add("tool.call", R"({"tool":"shell","command":"ls"})", 10);
  add("tool.result", R"({"tool":"shell","command":"ls","success":true,"duration_ms":200})", 200);
  add("tool.call", R"({"tool":"Read","command":"a.txt"})", 10);
  add("tool.result", R"({"tool":"Read","command":"a.txt","success":true})", 40);  // ts pairing
  add("tool.call", R"({"tool":"Edit","command":"b.txt"})", 10);                   // never answered
  add("run.finished", R"({"status":"success"})", 10);
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("<h2>Tool calls</h2>"));
  EXPECT_THAT(html, HasSubstr("<h2>Tools</h2>"));
  // shell: 3 calls, 3 results, 1 failure, 600 ms in all, median 200 ms.
  EXPECT_THAT(html, HasSubstr("<tr><td><code>shell</code> <a class=\"seq-link\" "
                              "href=\"#seq-1\">first</a></td><td class=\"n\">3</td>"
                              "<td class=\"n\">3</td><td class=\"n bad\">1</td>"
                              "<td class=\"n\">600 ms</td><td class=\"n\">200 ms</td></tr>"));
  // Read: no duration_ms, so the time from its call to its result.
  EXPECT_THAT(html, HasSubstr("<tr><td><code>Read</code> <a class=\"seq-link\" "
                              "href=\"#seq-7\">first</a></td><td class=\"n\">1</td>"
                              "<td class=\"n\">1</td><td class=\"n\">0</td>"
                              "<td class=\"n\">40 ms</td><td class=\"n\">40 ms</td></tr>"));
  // Edit: called, never answered.
  EXPECT_THAT(html, HasSubstr("<tr><td><code>Edit</code> <a class=\"seq-link\" "
                              "href=\"#seq-9\">first</a></td><td class=\"n\">1</td>"
                              "<td class=\"n\">0</td><td class=\"n\">0</td>"
                              "<td class=\"n\">—</td><td class=\"n\">—</td></tr>"));
  EXPECT_THAT(html, HasSubstr("class=\"bar bad\""));
  EXPECT_THAT(html, HasSubstr("class=\"bar open\""));
  EXPECT_THAT(html, HasSubstr("(no result)"));
  EXPECT_THAT(html, HasSubstr("<a href=\"#seq-3\">#3 shell make test</a>"));
}

TEST(RenderTest, LargePayloadsAreCutWithTheirFullSize) {
  const std::string big(100000, 'x');
  const std::string trace =
      EventLine("run-big", "e0", "run.started", kT0, 0, "{}") + "\n" +
      EventLine("run-big", "e1", "tool.result", kT0 + 1, 1,
                "{\"tool\":\"shell\",\"success\":true,\"output\":\"" + big + "\"}") +
      "\n";
  RenderStats stats;
  const std::string html = Render(trace, &stats);
  EXPECT_LT(html.size(), 40000u);
  EXPECT_THAT(html, HasSubstr("97.7 KB"));  // the payload's full size is named
  EXPECT_THAT(html, HasSubstr("100,000 chars"));
  EXPECT_EQ(stats.omitted, 0u);
}

TEST(RenderTest, TornTailIsShownAsAWarning) {
  const std::string trace = EventLine("run-torn", "e0", "run.started", kT0, 0, "{}") + "\n" +
                            R"({"version":1,"run_id":"run-torn","ev)";
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("torn line at byte"));
  EXPECT_THAT(html, HasSubstr("traceframe repair --file"));
  EXPECT_THAT(html, HasSubstr("class=\"badge lg warn\">open"));
}

// A generated 200k-event trace: the page stays bounded, names what it left
// out and how to list it, and still shows the failures in the middle.
TEST(RenderTest, HugeTraceStaysBounded) {
  TempDir dir;
  const std::string path = dir.File("huge.traceframe");
  {
    std::string text = EventLine("run-huge", "e0", "run.started", kT0, 0, "{}") + "\n";
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string padding(300, 'p');
    for (uint64_t seq = 1; seq < 200000; ++seq) {
      const long long ts = kT0 + static_cast<long long>(seq);
      if (seq == 100000) {
        text += EventLine("run-huge", Cat("e", seq), "error", ts, seq,
                          R"({"message":"needle error in the middle"})");
      } else if (seq == 120000) {
        text += EventLine("run-huge", Cat("e", seq), "permission.decision", ts, seq,
                          R"({"capability":"needle.cap","decision":"deny"})");
      } else if (seq % 2 == 1) {
        text += EventLine("run-huge", Cat("e", seq), "tool.call", ts, seq,
                          Cat(R"({"tool":"shell","command":"step )", seq, " ", padding, "\"}"));
      } else {
        text += EventLine("run-huge", Cat("e", seq), "tool.result", ts, seq,
                          Cat(R"({"tool":"shell","command":"step )", seq - 1, " ", padding,
                              R"(","success":true,"duration_ms":1})"));
      }
      text += "\n";
      if (text.size() > (1 << 20)) {
        std::fwrite(text.data(), 1, text.size(), f);
        text.clear();
      }
    }
    text += EventLine("run-huge", "last", "run.finished", kT0 + 200000, 200000,
                      R"({"status":"success"})") +
            "\n";
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string html_path = dir.File("reports/huge.html");
  absl::StatusOr<RenderStats> stats = RenderTraceToFile(path, html_path);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const std::string html = testing::ReadFileOrDie(html_path);
  EXPECT_LT(html.size(), 10u << 20);
  EXPECT_EQ(stats->bytes, html.size());
  EXPECT_EQ(stats->events, 200001u);
  EXPECT_GT(stats->omitted, 190000u);
  EXPECT_EQ(stats->shown + stats->omitted, stats->events);
  EXPECT_THAT(html, HasSubstr("events are left out"));
  EXPECT_THAT(html, HasSubstr("traceframe inspect --file " + path));
  EXPECT_THAT(html, HasSubstr("--from-seq 1500 --limit"));
  EXPECT_THAT(html, HasSubstr("needle error in the middle"));
  EXPECT_THAT(html, HasSubstr("needle.cap"));
  EXPECT_THAT(html, HasSubstr("id=\"seq-200000\""));  // the last event
  EXPECT_THAT(html, HasSubstr("id=\"seq-0\""));       // the first
  // 100,000 calls: a table of the slowest and failed ones, not 400 slivers.
  EXPECT_THAT(html, HasSubstr("too many for a bar each"));
  EXPECT_THAT(html, Not(HasSubstr("class=\"bar ok\"")));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">100,000</td>"));  // every call counted
}

// Shown events and the gaps between them stay in trace order: head, gap,
// a notable event from the middle, gap, tail.
TEST(RenderTest, GapsSitWhereEventsWereLeftOut) {
  std::string trace = EventLine("run-gaps", "e0", "run.started", kT0, 0, "{}") + "\n";
  for (int seq = 1; seq < 50; ++seq) {
    trace += (seq == 20 ? EventLine("run-gaps", Cat("e", seq), "error", kT0 + seq, seq,
                                    R"({"message":"middle"})")
                        : EventLine("run-gaps", Cat("e", seq), "model.call", kT0 + seq, seq,
                                    R"({"provider":"p"})")) +
             "\n";
  }
  RenderOptions options;
  options.head_events = 5;
  options.tail_events = 5;
  RenderStats stats;
  const std::string html = Render(trace, &stats, options);
  EXPECT_EQ(stats.shown, 11u);
  EXPECT_EQ(stats.omitted, 39u);
  std::vector<size_t> positions;
  for (const char* needle :
       {"id=\"seq-4\"", "(seq 5–19)", "--from-seq 5 --limit 15", "id=\"seq-20\"", "(seq 21–44)",
        "--from-seq 21 --limit 24", "id=\"seq-45\"", "id=\"seq-49\""}) {
    positions.push_back(html.find(needle));
    EXPECT_NE(positions.back(), std::string::npos) << needle;
  }
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_THAT(html, Not(HasSubstr("id=\"seq-5\"")));
  EXPECT_THAT(html, Not(HasSubstr("id=\"seq-44\"")));
}

// ---------------------------------------------------------------- what a reviewer needs (issue 18)

std::string Line(const std::string& run, uint64_t seq, const std::string& kind,
                 const std::string& payload, long long dt = 0) {
  return EventLine(run, Cat("e", seq), kind, kT0 + static_cast<long long>(seq) * 10 + dt, seq,
                   payload) +
         "\n";
}

TEST(RenderTest, TokenUsageTotalsPerModelAndPerCall) {
  const std::string r = "run-usage";
  const std::string trace =
      Line(r, 0, "run.started", "{}") +
      Line(r, 1, "model.call",
           R"({"provider":"anthropic","model":"claude-opus","duration_ms":900,)"
           R"("usage":{"input_tokens":1200,"output_tokens":50,"cache_read_input_tokens":1000}})") +
      Line(r, 2, "model.call",
           R"({"provider":"anthropic","model":"claude-opus","duration_ms":300,)"
           R"("usage":{"input_tokens":800,"output_tokens":30}})") +
      Line(r, 3, "model.call",
           R"({"provider":"anthropic","model":"claude-opus","duration_ms":500,)"
           R"("usage":{"input_tokens":1000,"output_tokens":20,"reasoning_output_tokens":5}})") +
      Line(
          r, 4, "model.call",
          R"({"provider":"openai","model":"gpt-5.5","usage":{"input_tokens":7,"output_tokens":3}})") +
      Line(r, 5, "run.finished", R"({"status":"success"})");
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("<h2>Token usage</h2>"));
  // Totals: input 3,007 (1,000 cached), output 103 (5 reasoning).
  EXPECT_THAT(html, HasSubstr("<tbody><tr><td class=\"n\">3,007</td><td class=\"n\">1,000</td>"
                              "<td class=\"n\">0</td><td class=\"n\">103</td>"
                              "<td class=\"n\">5</td></tr></tbody>"));
  EXPECT_THAT(html, HasSubstr("the sum over its model calls"));
  // Per model: calls, tokens, the median latency (300, 500, 900 -> 500 ms).
  EXPECT_THAT(html, HasSubstr("<tr><td><code>claude-opus</code> <a class=\"seq-link\" "
                              "href=\"#seq-1\">#1</a></td><td class=\"n\">3</td>"
                              "<td class=\"n\">3,000</td><td class=\"n\">100</td>"
                              "<td class=\"n\">500 ms</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><td><code>gpt-5.5</code> <a class=\"seq-link\" "
                              "href=\"#seq-4\">#4</a></td><td class=\"n\">1</td>"
                              "<td class=\"n\">7</td><td class=\"n\">3</td>"
                              "<td class=\"n\">—</td></tr>"));
  // Each model call's card carries its own tokens.
  EXPECT_THAT(html, HasSubstr("1200 in (1000 cache read, 0 cache write), 50 out (0 reasoning)"));
  EXPECT_THAT(html, HasSubstr("7 in (0 cache read, 0 cache write), 3 out (0 reasoning)"));
}

TEST(RenderTest, RunTotalFromRunFinishedIsSaidSo) {
  const std::string r = "run-total";
  const std::string html =
      Render(Line(r, 0, "run.started", "{}") +
             Line(r, 1, "model.call", R"({"provider":"openai","model":"gpt-5.5"})") +
             Line(r, 2, "run.finished",
                  R"({"status":"success","usage":{"input_tokens":500,"output_tokens":40}})"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">500</td>"));
  EXPECT_THAT(html, HasSubstr("as run.finished gives it"));
  // The model's row has its call but no per-call tokens.
  EXPECT_THAT(html,
              HasSubstr("<td class=\"n\">1</td><td class=\"n\">—</td><td class=\"n\">—</td>"));
}

TEST(RenderTest, NoUsageSectionWithoutModelCallsOrTokens) {
  const std::string r = "run-plain";
  const std::string html = Render(Line(r, 0, "run.started", "{}") +
                                  Line(r, 1, "run.finished", R"({"status":"success"})"));
  EXPECT_THAT(html, Not(HasSubstr("Token usage")));
}

TEST(RenderTest, PolicyVerdictIsASection) {
  // RichTrace denies git.push:main and never allows it: policy-check fails.
  std::string html = Render(RichTrace());
  EXPECT_THAT(html, HasSubstr("<h2>Policy check</h2>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge lg bad\">1 violation(s)</span>"));
  EXPECT_THAT(html, HasSubstr("<li><a class=\"seq-link\" href=\"#seq-4\">#4</a> "
                              "<code>unresolved_deny</code> unresolved deny at seq 4"));
  // A later allow resolves it: clean.
  const std::string r = "run-clean";
  html =
      Render(Line(r, 0, "run.started", "{}") +
             Line(r, 1, "permission.decision", R"({"capability":"git.push","decision":"deny"})") +
             Line(r, 2, "permission.decision", R"({"capability":"git.push","decision":"allow"})") +
             Line(r, 3, "run.finished", R"({"status":"success"})"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge lg ok\">clean</span>"));
  EXPECT_THAT(html, Not(HasSubstr("violation(s)")));
}

TEST(RenderTest, PolicyApprovedByTheHostIsShown) {
  const std::string r = "run-asked";
  const std::string html = Render(
      Line(r, 0, "run.started", "{}") +
      Line(
          r, 1, "permission.decision",
          R"({"tool":"Bash","command":"git push origin main","decision":"ask","tool_use_id":"t1"})") +
      Line(r, 2, "tool.call",
           R"({"tool":"Bash","command":"git push origin main","tool_use_id":"t1"})") +
      Line(
          r, 3, "tool.result",
          R"({"tool":"Bash","command":"git push origin main","tool_use_id":"t1","success":true})") +
      Line(r, 4, "run.finished", R"({"status":"success"})"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge lg ok\">clean</span>"));
  EXPECT_THAT(html, HasSubstr("1 call(s) approved by the host (asked, then ran)"));
}

TEST(RenderTest, ToolCallAndResultArePairedAndLinked) {
  const std::string html = Render(RichTrace());
  // The call (seq 2) names its result (seq 3), failed after 1.50 s; the
  // result links back to its call.
  EXPECT_THAT(html, HasSubstr("<span class=\"k\">result</span><span class=\"v\"><span "
                              "class=\"pair\"><a class=\"seq-link\" href=\"#seq-3\">#3</a><span "
                              "class=\"badge bad\">failed</span>1.50 s</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"k\">call</span><span class=\"v\"><a "
                              "class=\"seq-link\" href=\"#seq-2\">#2</a>"));
  // The bar and the tool row link to the event.
  EXPECT_THAT(html, HasSubstr("<a href=\"#seq-2\">#2 shell cargo test</a>"));
  EXPECT_THAT(html,
              HasSubstr("<code>shell</code> <a class=\"seq-link\" href=\"#seq-2\">first</a>"));
}

TEST(RenderTest, PairingByHostToolUseId) {
  const std::string r = "run-ids";
  const std::string html =
      Render(Line(r, 0, "run.started", "{}") +
             Line(r, 1, "tool.call", R"({"tool":"Bash","command":"ls","tool_use_id":"a"})") +
             Line(r, 2, "tool.call", R"({"tool":"Bash","command":"ls","tool_use_id":"b"})") +
             Line(r, 3, "tool.result",
                  R"({"tool":"Bash","command":"ls","tool_use_id":"b","success":true})") +
             Line(r, 4, "tool.result",
                  R"({"tool":"Bash","command":"ls","tool_use_id":"a","success":false})"));
  EXPECT_THAT(html, HasSubstr("id=\"seq-1\"><div class=\"marker\">"));
  const size_t call1 = html.find("id=\"seq-1\"");
  const size_t call2 = html.find("id=\"seq-2\"");
  ASSERT_NE(call1, std::string::npos);
  ASSERT_NE(call2, std::string::npos);
  EXPECT_NE(html.find("href=\"#seq-4\">#4</a><span class=\"badge bad\">failed", call1),
            std::string::npos);
  EXPECT_LT(html.find("href=\"#seq-4\">#4</a><span class=\"badge bad\">failed", call1), call2);
  EXPECT_NE(html.find("href=\"#seq-3\">#3</a><span class=\"badge ok\">success", call2),
            std::string::npos);
}

TEST(RenderTest, FailuresOpenWithTheirStderr) {
  const std::string html = Render(RichTrace());
  EXPECT_THAT(html, HasSubstr("<details class=\"out\" open><summary>stderr (15 chars)</summary>"
                              "<pre>one test failed</pre></details>"));
  // Output of a failure's stdout and of a success stays folded.
  EXPECT_THAT(html, HasSubstr("<details class=\"out\"><summary>stdout"));
}

TEST(RenderTest, CssOnlyFilters) {
  const std::string html = Render(RichTrace());
  for (const char* needle :
       {"<input type=\"radio\" name=\"filter\" class=\"fl\" id=\"f-all\" checked",
        "id=\"f-problem\"", "id=\"f-tool\"", "id=\"f-perm\"", "id=\"f-error\"",
        "<label for=\"f-problem\">errors only</label>", "<label for=\"f-tool\">tools</label>",
        "#f-problem:checked~.timeline-wrap .event:not(.problem)",
        "#f-tool:checked~.timeline-wrap .event:not(.k-tool)",
        "class=\"event ev-bad k-tool problem\" id=\"seq-3\"",
        "class=\"event ev-bad k-perm problem\" id=\"seq-4\"",
        "class=\"event ev-bad k-error problem\" id=\"seq-5\"",
        "class=\"event ev-tool k-tool\" id=\"seq-2\""}) {
    EXPECT_THAT(html, HasSubstr(needle)) << needle;
  }
  // No deviations in this trace: no filter for them.
  EXPECT_THAT(html, Not(HasSubstr("id=\"f-dev\"")));
  // The inputs come before the section whose events they filter (~ selector).
  EXPECT_LT(html.find("id=\"f-all\""), html.find("<section class=\"timeline-wrap\">"));
}

std::string HookSession(const std::string& extra_result_fields) {
  const std::string r = "run-sess-1";
  return Line(r, 0, "run.started",
              R"({"created_by":"traceframe","source":"claude-code","hook_event":"SessionStart",)"
              R"("session_id":"sess-1","model":"claude-sonnet-4-5","cwd":"/home/dev/proj"})") +
         Line(r, 1, "tool.call",
              R"({"tool":"Read","command":"/home/dev/proj/src/main.cc","hook_event":"PreToolUse",)"
              R"("host":{"session_id":"sess-1","tool_use_id":"t1"}})") +
         Line(r, 2, "tool.result",
              R"({"tool":"Read","command":"/home/dev/proj/src/main.cc","hook_event":"PostToolUse",)"
              R"("host":{"session_id":"sess-1","tool_use_id":"t1"},"success":true)" +
                  extra_result_fields + "}") +
         Line(
             r, 3, "tool.call",
             R"({"tool":"Bash","command":"make","hook_event":"PreToolUse","host":{"tool_use_id":"t2"}})") +
         Line(
             r, 4, "tool.result",
             R"({"tool":"Bash","command":"make","hook_event":"PostToolUse","host":{"tool_use_id":"t2"},)"
             R"("success":true})") +
         Line(r, 5, "run.finished", R"({"status":"success","hook_event":"SessionEnd"})");
}

TEST(RenderTest, HostContextForHookSessions) {
  const std::string html = Render(HookSession(""));
  EXPECT_THAT(html, HasSubstr("<section class=\"host\"><h2>Session</h2><div class=\"panel\"><dl>"
                              "<dt>host</dt><dd><code class=\"chip\">claude-code</code></dd>"
                              "<dt>model</dt><dd><code class=\"chip\">claude-sonnet-4-5</code></dd>"
                              "<dt>session</dt><dd><code class=\"chip\">sess-1</code></dd>"
                              "<dt>cwd</dt><dd><code class=\"path\">/home/dev/proj</code></dd>"));
  // A run that no host recorded has no such section.
  EXPECT_THAT(Render(RichTrace()), Not(HasSubstr("<h2>Session</h2>")));
}

TEST(RenderTest, NoExitBadgeWhenTheHostNeverSendsExitCodes) {
  std::string html = Render(HookSession(""));
  EXPECT_THAT(html, Not(HasSubstr("exit —")));
  EXPECT_THAT(html, Not(HasSubstr("exit code")));
  // A trace with exit codes elsewhere still marks the result that lacks one.
  html = Render(HookSession(R"(,"exit_code":0)"));
  EXPECT_THAT(html, HasSubstr("exit 0"));
  EXPECT_THAT(html, HasSubstr("exit —"));
}

TEST(RenderTest, FilePathsShownAsPaths) {
  const std::string html = Render(HookSession(""));
  EXPECT_THAT(html, HasSubstr("<span class=\"k\">path</span><span class=\"v\"><code "
                              "class=\"path\">/home/dev/proj/src/main.cc</code>"));
  EXPECT_THAT(html, Not(HasSubstr("<pre class=\"cmd\">/home/dev/proj/src/main.cc")));
  // A shell command stays a command.
  EXPECT_THAT(html, HasSubstr("<span class=\"k\">command</span><span class=\"v\"><pre "
                              "class=\"cmd\">make</pre>"));
}

TEST(RenderTest, StatCardsFitLargeNumbers) {
  const std::string r = "run-big-usage";
  const std::string html =
      Render(Line(r, 0, "run.started", "{}") +
             Line(r, 1, "model.call",
                  R"({"model":"m","usage":{"input_tokens":12345678901,"output_tokens":2500000}})"));
  EXPECT_THAT(html, HasSubstr("<div class=\"stat model\" title=\"12,345,678,901 input tokens\">"
                              "<span class=\"num\">12.3 B</span>"));
  EXPECT_THAT(html, HasSubstr("<div class=\"stat model\" title=\"2,500,000 output tokens\">"
                              "<span class=\"num\">2.50 M</span>"));
  // Rounding up carries into the next unit.
  EXPECT_THAT(Render(Line(r, 0, "run.started", "{}") +
                     Line(r, 1, "model.call", R"({"usage":{"input_tokens":999999999}})")),
              HasSubstr("<span class=\"num\">1.00 B</span><span class=\"lbl\">input tokens"));
  // Small counts stay exact, without a title.
  EXPECT_THAT(html, HasSubstr("<div class=\"stat model\"><span class=\"num\">1</span>"
                              "<span class=\"lbl\">model calls</span>"));
}

TEST(RenderTest, LongRunGetsATableOfSlowestAndFailedCalls) {
  const std::string r = "run-long";
  std::string trace = Line(r, 0, "run.started", "{}");
  uint64_t seq = 1;
  for (int i = 0; i < 500; ++i) {
    const std::string command = Cat("step ", i);
    const int duration = i == 123 ? 90000 : i == 321 ? 80000 : 10 + i % 7;
    trace += Line(r, seq++, "tool.call", Cat(R"({"tool":"shell","command":")", command, "\"}"));
    trace += Line(r, seq++, "tool.result",
                  Cat(R"({"tool":"shell","command":")", command, R"(","success":)",
                      i % 100 == 7 ? "false" : "true", R"(,"duration_ms":)", duration, "}"));
  }
  trace += Line(r, seq, "run.finished", R"({"status":"success"})");
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("500 tool calls: too many for a bar each"));
  EXPECT_THAT(html, Not(HasSubstr("class=\"bar ")));  // no slivers
  // Slowest first, each linked to its call.
  const size_t slowest = html.find("<h3>Slowest</h3>");
  const size_t failed = html.find("<h3>Failed</h3>");
  ASSERT_NE(slowest, std::string::npos);
  ASSERT_NE(failed, std::string::npos);
  const size_t first = html.find(
      "href=\"#seq-247\">#247</a></td><td><code>shell</code></td>"
      "<td><code>step 123</code></td><td class=\"n\">1m 30s</td>",
      slowest);
  const size_t second = html.find("href=\"#seq-643\">#643</a>", slowest);
  EXPECT_LT(first, second);
  EXPECT_LT(second, failed);
  // The 5 failed calls (i = 7, 107, ..., 407), in trace order.
  EXPECT_NE(html.find("href=\"#seq-15\">#15</a></td><td><code>shell</code></td><td><code>step "
                      "7</code>",
                      failed),
            std::string::npos);
  EXPECT_NE(html.find("<code>step 407</code>", failed), std::string::npos);
  // A short run keeps its bars.
  EXPECT_THAT(Render(RichTrace()), HasSubstr("class=\"bar bad\""));
}

TEST(RenderTest, NewSectionsEscapeHostileNames) {
  const std::string evil = "<img src=x onerror=alert(1)>";
  const std::string attr = R"(\"><img src=y onerror=alert(2)>)";
  const std::string r = "run-evil";
  std::string trace =
      Line(r, 0, "run.started",
           "{\"source\":\"" + evil + "\",\"hook_event\":\"x\",\"session_id\":\"" + evil + attr +
               "\",\"model\":\"" + evil + "\",\"cwd\":\"" + evil + "\"}") +
      Line(r, 1, "model.call",
           "{\"model\":\"" + evil + attr + "\",\"usage\":{\"input_tokens\":1}}") +
      Line(r, 2, "permission.decision",
           "{\"capability\":\"" + evil + attr + "\",\"decision\":\"deny\"}");
  uint64_t seq = 3;
  for (int i = 0; i < 80; ++i) {  // a long run: the slowest/failed table
    trace += Line(r, seq++, "tool.call",
                  "{\"tool\":\"" + evil + attr + "\",\"command\":\"" + evil + attr + "\"}");
    trace += Line(r, seq++, "tool.result",
                  "{\"tool\":\"" + evil + attr + "\",\"command\":\"" + evil + attr +
                      "\",\"success\":false,\"duration_ms\":5}");
  }
  trace += Line(r, seq++, "tool.call", "{\"tool\":\"Read\",\"command\":\"" + evil + "\"}");
  const std::string html = Render(trace);
  EXPECT_THAT(html, HasSubstr("<h3>Failed</h3>"));
  EXPECT_THAT(html, HasSubstr("<h2>Session</h2>"));
  EXPECT_THAT(html, HasSubstr("violation(s)"));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<img src=y")));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;img src=y"));
}

TEST(RenderTest, WritesAtomicallyAndNeverOverTheTrace) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"), RichTrace());
  absl::StatusOr<RenderStats> refused =
      RenderTraceToFile(dir.File("t.traceframe"), dir.File("./t.traceframe"));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(ToStd(refused.status().message())), HasSubstr("refusing"));
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("t.traceframe")), RichTrace());
  ASSERT_TRUE(RenderTraceToFile(dir.File("t.traceframe"), dir.File("out/r.html")).ok());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.File("out"))) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"r.html"});
}

TEST(RenderTest, InvalidTraceIsAnError) {
  TempDir dir;
  WriteFileOrDie(dir.File("t.traceframe"), "{bad}\n");
  absl::StatusOr<std::string> html = RenderTraceHtml(dir.File("t.traceframe"), {}, nullptr);
  ASSERT_FALSE(html.ok());
  EXPECT_THAT(std::string(ToStd(html.status().message())), HasSubstr("invalid trace event"));
  EXPECT_EQ(HtmlEscape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
}

}  // namespace
}  // namespace traceframe
