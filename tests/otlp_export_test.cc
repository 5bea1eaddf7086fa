// OTLP/JSON export (traceframe/export.h, docs/otel.md): id derivation, the
// GenAI span mapping, the OTLP/JSON encoding rules, bad traces and the caps
// that bound memory. The smoke (scripts/otlp-smoke.sh) decodes the same
// output with the official protobuf definitions.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ship/sha256.h"
#include "simdjson.h"
#include "test_util.h"
#include "traceframe/export.h"

namespace traceframe {
namespace {

using testing::EventLine;
using ::testing::HasSubstr;
using testing::TempDir;

// One exported line, parsed, with its spans by name.
struct Exported {
  std::string line;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::map<std::string, simdjson::dom::element> spans;  // by name
  std::vector<simdjson::dom::element> all;
};

std::string ExportString(const std::string& path, OtlpTraceStats* stats = nullptr) {
  std::string out;
  absl::StatusOr<OtlpTraceStats> s = ExportTraceOtlpJson(path, [&](std::string_view chunk) {
    out.append(chunk);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s.status();
  if (stats != nullptr && s.ok()) *stats = *s;
  return out;
}

using Result = simdjson::simdjson_result<simdjson::dom::element>;

int64_t Int(Result r) {
  int64_t v = -1;
  if (r.get_int64().get(v) != simdjson::SUCCESS) return -1;
  return v;
}
std::string_view SV(Result r) {
  std::string_view v;
  if (r.get_string().get(v) != simdjson::SUCCESS) return "<absent>";
  return v;
}
simdjson::dom::array Arr(Result r) {
  simdjson::dom::array a;
  EXPECT_EQ(r.get_array().get(a), simdjson::SUCCESS);
  return a;
}

void Parse(Exported* e) {
  ASSERT_FALSE(e->line.empty());
  ASSERT_EQ(e->line.back(), '\n');
  ASSERT_EQ(e->line.find('\n'), e->line.size() - 1) << "one line per trace";
  ASSERT_EQ(e->parser.parse(e->line).get(e->root), simdjson::SUCCESS);
  for (auto span : Arr(e->root["resourceSpans"].at(0)["scopeSpans"].at(0)["spans"])) {
    e->spans[std::string(SV(span["name"]))] = span;
    e->all.push_back(span);
  }
}

// The attribute `key` of a span (or event) as its AnyValue JSON, "" if absent.
std::string Attr(simdjson::dom::element holder, std::string_view key) {
  simdjson::dom::array attrs;
  if (holder["attributes"].get_array().get(attrs) != simdjson::SUCCESS) return "";
  for (auto kv : attrs) {
    simdjson::dom::element value;
    if (SV(kv["key"]) == key && kv["value"].get(value) == simdjson::SUCCESS) {
      return std::string(simdjson::minify(value));
    }
  }
  return "";
}

std::string Str(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  if (e[key].get_string().get(s) != simdjson::SUCCESS) return "<absent>";
  return std::string(s);
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST(OtlpIdsTest, Sha256KnownAnswers) {
  auto hex = [](std::string_view input) {
    internal::Sha256 sha;
    sha.Update(input);
    std::string out;
    for (uint8_t b : sha.Finish()) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
    return out;
  };
  // FIPS 180-2 appendix B vectors: one block, two blocks, and empty.
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(OtlpIdsTest, IdsAreStableLowercaseHexAndDistinct) {
  const std::string trace = OtlpTraceId("run-agent-demo");
  // Pinned: a change here changes every exported id (docs/otel.md, "Ids").
  EXPECT_EQ(trace, "20791fa734b89d5e58c4b7c8e116bf2b");
  EXPECT_EQ(OtlpTraceId("run-agent-demo"), trace);
  EXPECT_EQ(trace.size(), 32u);
  const std::string span = OtlpSpanId("run-agent-demo", "demo-000");
  EXPECT_EQ(span.size(), 16u);
  for (const std::string& id : {trace, span}) {
    EXPECT_TRUE(std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    })) << id;
    EXPECT_NE(id, std::string(id.size(), '0'));
  }
  EXPECT_NE(OtlpSpanId("run-agent-demo", "demo-001"), span);
  EXPECT_NE(OtlpSpanId("run-other", "demo-000"), span);
  // The separator keeps ("ab","c") and ("a","bc") apart.
  EXPECT_NE(OtlpSpanId("ab", "c"), OtlpSpanId("a", "bc"));
  EXPECT_NE(OtlpTraceId(""), std::string(32, '0'));
}

TEST(OtlpExportTest, MapsRunModelCallsToolsAndEventsToGenAiSpans) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path,
      Lines({
          EventLine(
              "r1", "e0", "run.started", 1000, 0,
              R"({"source":"claude-code","session_id":"sess-1","model":"opus",)"
              R"("labels":{"variant":"b","n":3},"host":{"git":{"branch":"main","commit":"abc"}}})"),
          EventLine(
              "r1", "e1", "model.call", 1500, 1,
              R"({"provider":"anthropic","model":"opus","duration_ms":400,)"
              R"("usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":80,)"
              R"("cache_creation_input_tokens":5,"reasoning_output_tokens":7}})"),
          EventLine("r1", "e2", "permission.decision", 1510, 2,
                    R"({"capability":"tool:Bash:make","decision":"allow","source":"policy"})"),
          EventLine("r1", "e3", "tool.call", 1600, 3, R"({"tool":"Bash","command":"make"})"),
          EventLine("r1", "e4", "tool.result", 1900, 4,
                    R"({"tool":"Bash","exit_code":2,"stderr":"no rule"})"),
          EventLine("r1", "e5", "error", 1950, 5, R"({"message":"build broke","type":"build"})"),
          EventLine("r1", "e6", "run.finished", 2000, 6, R"({"status":"failed","summary":"red"})"),
      }));
  Exported e;
  e.line = ExportString(path);
  Parse(&e);
  ASSERT_EQ(e.all.size(), 3u);
  const std::string trace_id = OtlpTraceId("r1");
  const std::string root_id = OtlpSpanId("r1", "e0");

  // The resource and the schema pinned by the export.
  simdjson::dom::element rs;
  ASSERT_EQ(e.root["resourceSpans"].at(0).get(rs), simdjson::SUCCESS);
  EXPECT_EQ(Str(rs, "schemaUrl"), std::string(kOtlpSchemaUrl));
  EXPECT_EQ(std::string(SV(rs["scopeSpans"].at(0)["schemaUrl"])), std::string(kOtlpSchemaUrl));
  EXPECT_EQ(Attr(rs["resource"].value_unsafe(), "service.name"),
            R"({"stringValue":"claude-code"})");
  EXPECT_EQ(Attr(rs["resource"].value_unsafe(), "vcs.ref.head.name"), R"({"stringValue":"main"})");

  // The run: invoke_agent, root, failed, events on it.
  ASSERT_TRUE(e.spans.count("invoke_agent claude-code"));
  auto run = e.spans["invoke_agent claude-code"];
  EXPECT_EQ(Str(run, "spanId"), root_id);
  EXPECT_EQ(Str(run, "traceId"), trace_id);
  EXPECT_EQ(Str(run, "parentSpanId"), "<absent>");
  EXPECT_EQ(Int(run["kind"]), 1);
  EXPECT_EQ(Str(run, "startTimeUnixNano"), "1000000000");
  EXPECT_EQ(Str(run, "endTimeUnixNano"), "2000000000");
  EXPECT_EQ(Attr(run, "gen_ai.operation.name"), R"({"stringValue":"invoke_agent"})");
  EXPECT_EQ(Attr(run, "gen_ai.conversation.id"), R"({"stringValue":"sess-1"})");
  EXPECT_EQ(Attr(run, "traceframe.label.variant"), R"({"stringValue":"b"})");
  EXPECT_EQ(Attr(run, "traceframe.label.n"), R"({"intValue":"3"})");
  EXPECT_EQ(Attr(run, "error.type"), R"({"stringValue":"failed"})");
  // No total on run.finished: the sum of the model calls.
  EXPECT_EQ(Attr(run, "gen_ai.usage.input_tokens"), R"({"intValue":"100"})");
  EXPECT_EQ(Int(run["status"]["code"]), 2);
  EXPECT_EQ(std::string(SV(run["status"]["message"])), "red");
  simdjson::dom::array events = Arr(run["events"]);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::string(SV(events.at(0)["name"])), "traceframe.permission.decision");
  EXPECT_EQ(std::string(SV(events.at(0)["timeUnixNano"])), "1510000000");
  EXPECT_EQ(Attr(events.at(0).value_unsafe(), "traceframe.permission.decision"),
            R"({"stringValue":"allow"})");
  EXPECT_EQ(std::string(SV(events.at(1)["name"])), "exception");
  EXPECT_EQ(Attr(events.at(1).value_unsafe(), "exception.message"),
            R"({"stringValue":"build broke"})");
  EXPECT_EQ(Attr(events.at(1).value_unsafe(), "exception.type"), R"({"stringValue":"build"})");

  // The model call: chat {model}, CLIENT, ends at the event, usage.
  ASSERT_TRUE(e.spans.count("chat opus"));
  auto chat = e.spans["chat opus"];
  EXPECT_EQ(Str(chat, "spanId"), OtlpSpanId("r1", "e1"));
  EXPECT_EQ(Str(chat, "parentSpanId"), root_id);
  EXPECT_EQ(Int(chat["kind"]), 3);
  EXPECT_EQ(Str(chat, "startTimeUnixNano"), "1100000000");
  EXPECT_EQ(Str(chat, "endTimeUnixNano"), "1500000000");
  EXPECT_EQ(Attr(chat, "gen_ai.provider.name"), R"({"stringValue":"anthropic"})");
  EXPECT_EQ(Attr(chat, "gen_ai.request.model"), R"({"stringValue":"opus"})");
  EXPECT_EQ(Attr(chat, "gen_ai.conversation.id"), R"({"stringValue":"sess-1"})");
  EXPECT_EQ(Attr(chat, "gen_ai.usage.output_tokens"), R"({"intValue":"20"})");
  EXPECT_EQ(Attr(chat, "gen_ai.usage.cache_read.input_tokens"), R"({"intValue":"80"})");
  EXPECT_EQ(Attr(chat, "gen_ai.usage.cache_creation.input_tokens"), R"({"intValue":"5"})");
  EXPECT_EQ(Attr(chat, "gen_ai.usage.reasoning.output_tokens"), R"({"intValue":"7"})");
  EXPECT_EQ(Str(chat, "status"), "<absent>");

  // The tool pair: execute_tool {tool}, from call to result, ERROR.
  ASSERT_TRUE(e.spans.count("execute_tool Bash"));
  auto tool = e.spans["execute_tool Bash"];
  EXPECT_EQ(Str(tool, "spanId"), OtlpSpanId("r1", "e3"));
  EXPECT_EQ(Int(tool["kind"]), 1);
  EXPECT_EQ(Str(tool, "startTimeUnixNano"), "1600000000");
  EXPECT_EQ(Str(tool, "endTimeUnixNano"), "1900000000");
  EXPECT_EQ(Attr(tool, "gen_ai.tool.name"), R"({"stringValue":"Bash"})");
  EXPECT_EQ(Attr(tool, "traceframe.tool.command"), R"({"stringValue":"make"})");
  EXPECT_EQ(Attr(tool, "process.exit.code"), R"({"intValue":"2"})");
  EXPECT_EQ(Attr(tool, "error.type"), R"({"stringValue":"2"})");
  EXPECT_EQ(Int(tool["status"]["code"]), 2);
  EXPECT_EQ(std::string(SV(tool["status"]["message"])), "no rule");
}

TEST(OtlpExportTest, RunTotalOnRunFinishedWinsAndSuccessIsUnset) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path,
      Lines(
          {EventLine("r", "a", "run.started", 10, 0, "{}"),
           EventLine("r", "b", "model.call", 20, 1,
                     R"({"model":"m","usage":{"input_tokens":1,"output_tokens":1}})"),
           EventLine("r", "c", "run.finished", 30, 2,
                     R"({"status":"success","usage":{"input_tokens":9000,"output_tokens":70}})")}));
  Exported e;
  e.line = ExportString(path);
  Parse(&e);
  auto run = e.spans["invoke_agent"];
  EXPECT_EQ(Attr(run, "gen_ai.usage.input_tokens"), R"({"intValue":"9000"})");
  EXPECT_EQ(Attr(run, "gen_ai.usage.output_tokens"), R"({"intValue":"70"})");
  EXPECT_EQ(Attr(run, "traceframe.run.status"), R"({"stringValue":"success"})");
  EXPECT_EQ(Str(run, "status"), "<absent>");
  EXPECT_EQ(Attr(run, "error.type"), "");
  EXPECT_EQ(Attr(run, "gen_ai.conversation.id"), "");  // no session: omitted, not empty
}

TEST(OtlpExportTest, ToolResultsPairByCallIdThenOldestMatchingTool) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path,
      Lines({EventLine("r", "s", "run.started", 0, 0, "{}"),
             EventLine("r", "c1", "tool.call", 100, 1, R"({"tool":"Read","tool_use_id":"x1"})"),
             EventLine("r", "c2", "tool.call", 200, 2, R"({"tool":"Read","tool_use_id":"x2"})"),
             EventLine("r", "c3", "tool.call", 300, 3, R"({"tool":"Grep"})"),
             // Out of order, by id.
             EventLine("r", "r2", "tool.result", 400, 4, R"({"tool_use_id":"x2","success":true})"),
             EventLine("r", "r1", "tool.result", 500, 5, R"({"tool_use_id":"x1","success":true})"),
             // No id: the oldest call of the same tool.
             EventLine("r", "r3", "tool.result", 600, 6, R"({"tool":"Grep","success":true})"),
             // No call at all: the result alone, duration_ms back from it.
             EventLine("r", "r4", "tool.result", 900, 7,
                       R"({"tool":"Edit","duration_ms":50,"success":false})"),
             // Never answered.
             EventLine("r", "c5", "tool.call", 950, 8, R"({"tool":"Bash"})")}));
  OtlpTraceStats stats;
  Exported e;
  e.line = ExportString(path, &stats);
  Parse(&e);
  std::map<std::string, std::pair<std::string, std::string>> by_id;  // span id -> start, end
  for (auto span : e.all)
    by_id[Str(span, "spanId")] = {Str(span, "startTimeUnixNano"), Str(span, "endTimeUnixNano")};
  EXPECT_EQ(by_id[OtlpSpanId("r", "c1")],
            std::make_pair(std::string("100000000"), std::string("500000000")));
  EXPECT_EQ(by_id[OtlpSpanId("r", "c2")],
            std::make_pair(std::string("200000000"), std::string("400000000")));
  EXPECT_EQ(by_id[OtlpSpanId("r", "c3")],
            std::make_pair(std::string("300000000"), std::string("600000000")));
  EXPECT_EQ(by_id[OtlpSpanId("r", "r4")],
            std::make_pair(std::string("850000000"), std::string("900000000")));
  EXPECT_EQ(by_id[OtlpSpanId("r", "c5")],
            std::make_pair(std::string("950000000"), std::string("950000000")));
  EXPECT_EQ(stats.unmatched_tool_calls, 1u);
  EXPECT_EQ(stats.spans, 6u);  // 5 tool spans + the run
  EXPECT_TRUE(stats.open);
  // Open: the run ends at its last event.
  EXPECT_EQ(Str(e.spans["invoke_agent"], "endTimeUnixNano"), "950000000");
  EXPECT_EQ(Attr(e.spans["invoke_agent"], "traceframe.run.status"), R"({"stringValue":"open"})");
  EXPECT_EQ(Attr(e.spans["execute_tool Bash"], "traceframe.tool.unmatched"),
            R"({"boolValue":true})");
  EXPECT_EQ(Int(e.spans["execute_tool Edit"]["status"]["code"]), 2);
  EXPECT_EQ(Attr(e.spans["execute_tool Edit"], "error.type"), R"({"stringValue":"_OTHER"})");
}

TEST(OtlpExportTest, RepeatedCallIdsPairOldestFirst) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path, Lines({EventLine("r", "s", "run.started", 0, 0, "{}"),
                   EventLine("r", "c1", "tool.call", 100, 1, R"({"tool":"t","call_id":"d"})"),
                   EventLine("r", "c2", "tool.call", 200, 2, R"({"tool":"t","call_id":"d"})"),
                   EventLine("r", "c3", "tool.call", 300, 3, R"({"tool":"t","call_id":"d"})"),
                   EventLine("r", "r1", "tool.result", 400, 4, R"({"call_id":"d"})"),
                   EventLine("r", "r2", "tool.result", 500, 5, R"({"call_id":"d"})"),
                   EventLine("r", "r3", "tool.result", 600, 6, R"({"call_id":"d"})"),
                   EventLine("r", "r4", "tool.result", 700, 7, R"({"call_id":"d"})")}));
  OtlpTraceStats stats;
  Exported e;
  e.line = ExportString(path, &stats);
  Parse(&e);
  std::map<std::string, std::string> end_of;  // span id -> end
  for (auto span : e.all) end_of[Str(span, "spanId")] = Str(span, "endTimeUnixNano");
  EXPECT_EQ(end_of[OtlpSpanId("r", "c1")], "400000000");
  EXPECT_EQ(end_of[OtlpSpanId("r", "c2")], "500000000");
  EXPECT_EQ(end_of[OtlpSpanId("r", "c3")], "600000000");
  EXPECT_EQ(end_of[OtlpSpanId("r", "r4")], "700000000");  // nothing left: a result alone
  EXPECT_EQ(stats.unmatched_tool_calls, 0u);
}

TEST(OtlpExportTest, EncodingFollowsOtlpJsonRules) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path, Lines({EventLine("r", "s", "run.started", -5, 0, R"({"labels":{"q":"a\"b\u0001"}})"),
                   EventLine("r", "m", "model.call", 1795596960059, 1,
                             R"({"model":"m","usage":{"input_tokens":18446744073709551615}})")}));
  Exported e;
  e.line = ExportString(path);
  Parse(&e);
  auto chat = e.spans["chat m"];
  // 64-bit integers are decimal strings; enums are integers.
  EXPECT_EQ(Str(chat, "startTimeUnixNano"), "1795596960059000000");
  EXPECT_EQ(Attr(chat, "gen_ai.usage.input_tokens"), R"({"intValue":"9223372036854775807"})");
  EXPECT_TRUE(chat["kind"].is_int64());
  // A negative time is not representable (fixed64): 0, "unknown".
  EXPECT_EQ(Str(e.spans["invoke_agent"], "startTimeUnixNano"), "0");
  EXPECT_EQ(Attr(e.spans["invoke_agent"], "traceframe.label.q"), R"({"stringValue":"a\"b\u0001"})");
  // Only lowerCamelCase proto field names: no snake_case key anywhere.
  EXPECT_THAT(e.line, ::testing::Not(HasSubstr("_unix_nano")));
  EXPECT_THAT(e.line, ::testing::Not(HasSubstr("\"trace_id\"")));
}

TEST(OtlpExportTest, ReExportIsByteIdentical) {
  const std::string path = std::string(TRACEFRAME_SOURCE_DIR) + "/examples/agent-run.traceframe";
  const std::string first = ExportString(path);
  EXPECT_EQ(ExportString(path), first);
  EXPECT_THAT(first, HasSubstr(OtlpTraceId("run-agent-demo")));
}

TEST(OtlpExportTest, BadTracesNameTheLineAndTheOthersAreStillExported) {
  TempDir dir;
  const std::string good = dir.File("good.traceframe");
  const std::string bad = dir.File("bad.traceframe");
  const std::string not_started = dir.File("ns.traceframe");
  const std::string empty = dir.File("empty.traceframe");
  testing::WriteFileOrDie(good, Lines({EventLine("g", "s", "run.started", 1, 0, "{}")}));
  testing::WriteFileOrDie(bad, Lines({EventLine("b", "s", "run.started", 1, 0, "{}"),
                                      R"({"version":1,"run_id":"b","kind":)"}));
  testing::WriteFileOrDie(not_started, Lines({EventLine("n", "s", "error", 1, 0, "{}")}));
  testing::WriteFileOrDie(empty, "");
  OtlpExportOptions options;
  options.files = {bad, good, not_started, empty};
  options.out = dir.File("out/otlp.jsonl");
  absl::StatusOr<OtlpExportResult> result = ExportOtlpJson(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->traces.size(), 1u);
  EXPECT_EQ(result->traces[0].run_id, "g");
  ASSERT_EQ(result->failed.size(), 3u);
  EXPECT_EQ(result->failed[0].path, bad);
  EXPECT_EQ(result->failed[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result->failed[0].status.message(), HasSubstr(bad + ": "));
  EXPECT_THAT(result->failed[0].status.message(), HasSubstr("line 2"));
  EXPECT_THAT(result->failed[1].status.message(),
              HasSubstr("line 1 (byte 0): first event must be run.started"));
  EXPECT_THAT(result->failed[2].status.message(), HasSubstr("trace is empty"));
  const std::string out = testing::ReadFileOrDie(options.out);
  EXPECT_EQ(testing::SplitLines(out).size(), 1u);
  EXPECT_THAT(out, HasSubstr(OtlpTraceId("g")));
}

// A bad line after megabytes of output: the partial line already written to
// --out is cut off, so the file holds only whole requests.
TEST(OtlpExportTest, BadLineAfterAFlushLeavesNoPartialLine) {
  TempDir dir;
  const std::string big = dir.File("big.traceframe");
  std::string text = EventLine("big", "s", "run.started", 1, 0, "{}") + "\n";
  for (int i = 1; i <= 12000; ++i) {
    text += EventLine("big", "m" + std::to_string(i), "model.call", 1 + i, i,
                      R"({"model":"m","usage":{"input_tokens":1}})") +
            "\n";
  }
  text += "{not json}\n";
  testing::WriteFileOrDie(big, text);
  const std::string good = dir.File("good.traceframe");
  testing::WriteFileOrDie(good, Lines({EventLine("g", "s", "run.started", 1, 0, "{}")}));
  OtlpExportOptions options;
  options.files = {good, big, good};
  options.out = dir.File("otlp.jsonl");
  absl::StatusOr<OtlpExportResult> result = ExportOtlpJson(options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->failed.size(), 1u);
  EXPECT_THAT(result->failed[0].status.message(), HasSubstr("line 12002"));
  const std::string out = testing::ReadFileOrDie(options.out);
  const std::vector<std::string> lines = testing::SplitLines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_LT(out.size(), 4096u);
}

TEST(OtlpExportTest, CapsBoundPendingCallsAndRunSpanEvents) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  std::string text = EventLine("r", "s", "run.started", 1, 0, "{}") + "\n";
  uint64_t seq = 1;
  const size_t calls = kOtlpMaxPendingToolCalls + 10;
  for (size_t i = 0; i < calls; ++i, ++seq) {
    text += EventLine("r", "c" + std::to_string(i), "tool.call", 2, seq, R"({"tool":"t"})") + "\n";
  }
  const size_t decisions = kOtlpMaxRunSpanEvents + 3;
  for (size_t i = 0; i < decisions; ++i, ++seq) {
    text += EventLine("r", "p" + std::to_string(i), "permission.decision", 3, seq,
                      R"({"decision":"allow"})") +
            "\n";
  }
  testing::WriteFileOrDie(path, text);
  OtlpTraceStats stats;
  Exported e;
  e.line = ExportString(path, &stats);
  Parse(&e);
  EXPECT_EQ(stats.unmatched_tool_calls, calls);
  EXPECT_EQ(stats.spans, calls + 1);
  EXPECT_EQ(stats.span_events, kOtlpMaxRunSpanEvents);
  EXPECT_EQ(stats.dropped_span_events, 3u);
  auto run = e.spans["invoke_agent"];
  EXPECT_EQ(Arr(run["events"]).size(), kOtlpMaxRunSpanEvents);
  EXPECT_EQ(Int(run["droppedEventsCount"]), 3);
}

TEST(OtlpExportTest, TornTailIsLeftOutAndReported) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(path, Lines({EventLine("r", "s", "run.started", 1, 0, "{}")}) +
                                    R"({"version":1,"run_id":"r")");
  OtlpTraceStats stats;
  Exported e;
  e.line = ExportString(path, &stats);
  Parse(&e);
  ASSERT_TRUE(stats.torn.has_value());
  EXPECT_EQ(stats.torn->line_number, 2u);
  EXPECT_EQ(stats.events, 1u);
}

TEST(OtlpExportTest, DirExportsEveryRunSortedAndSkipsLedgers) {
  TempDir dir;
  testing::WriteFileOrDie(dir.File("b.traceframe"),
                          Lines({EventLine("rb", "s", "run.started", 1, 0, "{}")}));
  testing::WriteFileOrDie(dir.File("a.traceframe"),
                          Lines({EventLine("ra", "s", "run.started", 1, 0, "{}")}));
  testing::WriteFileOrDie(dir.File("ledger.traceframe"),
                          R"({"trace_path":"/x/a.traceframe","run_id":"ra"})"
                          "\n");
  OtlpExportOptions options;
  options.dirs = {dir.path()};
  options.out = dir.File("otlp.jsonl");
  absl::StatusOr<OtlpExportResult> result = ExportOtlpJson(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->failed.empty());
  ASSERT_EQ(result->traces.size(), 2u);
  EXPECT_EQ(result->traces[0].run_id, "ra");
  EXPECT_EQ(result->traces[1].run_id, "rb");

  options.dirs = {dir.File("missing")};
  EXPECT_EQ(ExportOtlpJson(options).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace traceframe
