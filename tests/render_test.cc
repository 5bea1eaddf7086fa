// The HTML report (reference §8, §10 R1/R2, §11.25/§11.36 fixed, bounded pages).
#include "traceframe/render.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

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
  for (const char* banned : {"<script", "src=", "href=", "@import", "url(", "<link"}) {
    EXPECT_THAT(html, Not(HasSubstr(banned))) << banned;
  }
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
  EXPECT_EQ(count("<li class=\"event ev-ok\""), 3u);
  EXPECT_EQ(count("<li class=\"event ev-bad\""), 3u);
  EXPECT_EQ(count("<li class=\"event ev-warn\""), 1u);  // "ask"
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
  EXPECT_THAT(html, HasSubstr("<tr><td><code>shell</code></td><td class=\"n\">3</td>"
                              "<td class=\"n\">3</td><td class=\"n bad\">1</td>"
                              "<td class=\"n\">600 ms</td><td class=\"n\">200 ms</td></tr>"));
  // Read: no duration_ms, so the time from its call to its result.
  EXPECT_THAT(html, HasSubstr("<tr><td><code>Read</code></td><td class=\"n\">1</td>"
                              "<td class=\"n\">1</td><td class=\"n\">0</td>"
                              "<td class=\"n\">40 ms</td><td class=\"n\">40 ms</td></tr>"));
  // Edit: called, never answered.
  EXPECT_THAT(html, HasSubstr("<tr><td><code>Edit</code></td><td class=\"n\">1</td>"
                              "<td class=\"n\">0</td><td class=\"n\">0</td>"
                              "<td class=\"n\">—</td><td class=\"n\">—</td></tr>"));
  EXPECT_THAT(html, HasSubstr("class=\"bar bad\""));
  EXPECT_THAT(html, HasSubstr("class=\"bar open\""));
  EXPECT_THAT(html, HasSubstr("(no result)"));
  EXPECT_THAT(html, HasSubstr("#3 shell make test"));
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
  EXPECT_THAT(html, HasSubstr("tool calls drawn"));
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
