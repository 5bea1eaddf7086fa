// Hook payload mapping (engine/src/hook_mapping.cc): the reference's mapping
// unit tests (H1-H10) adapted, every fix of reference §11 items 17-21, and
// the real payload shapes of Claude Code, Codex and Cursor.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "util/hash.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

HookMapping Map(const std::string& json, const std::string& source = "generic") {
  HookMapOptions options;
  options.source = source;
  absl::StatusOr<HookMapping> m = MapHookPayload(json, options);
  EXPECT_TRUE(m.ok()) << m.status() << " for " << json;
  return m.ok() ? *m : HookMapping{};
}

// Parses a payload and returns the compact JSON of `key` ("" when missing).
std::string Field(const std::string& payload, const std::string& key) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(payload).get(root) != simdjson::SUCCESS) return "<bad json>";
  simdjson::dom::element value;
  if (root.at_key(key).get(value) != simdjson::SUCCESS) return "";
  return simdjson::to_string(value);
}

TEST(HookMapping, H1NormalizeSource) {
  EXPECT_EQ(NormalizeSource("acme"), "acme");
  EXPECT_EQ(NormalizeSource("  acme  "), "acme");
  EXPECT_EQ(NormalizeSource(""), "generic");
  EXPECT_EQ(NormalizeSource("   "), "generic");
  EXPECT_EQ(NormalizeSource("my-harness"), "my-harness");
}

TEST(HookMapping, H2PreToolUseIsToolCall) {
  HookMapping m =
      Map(R"({"hook_event_name":"PreToolUse","session_id":"host-session","tool_name":"Bash",)"
          R"("tool_input":{"command":"cargo test"}})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kToolCall);
  const std::string& p = m.events[0].payload_json;
  EXPECT_EQ(Field(p, "source"), "\"generic\"");
  EXPECT_EQ(Field(p, "tool"), "\"Bash\"");
  EXPECT_EQ(Field(p, "command"), "\"cargo test\"");
  EXPECT_THAT(Field(p, "host"), HasSubstr("\"session_id\":\"host-session\""));
  EXPECT_EQ(Field(p, "input"), R"({"command":"cargo test"})");
  EXPECT_EQ(m.run_id, "run-host-session");
  EXPECT_TRUE(ValidateJson(p).ok());
}

TEST(HookMapping, H3SourceStoredVerbatim) {
  HookMapping m = Map(R"({"hook_event_name":"PreToolUse","tool_name":"Bash"})", "my-harness");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(Field(m.events[0].payload_json, "source"), "\"my-harness\"");
}

TEST(HookMapping, H4PostToolUseIsToolResult) {
  HookMapping m =
      Map(R"({"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},)"
          R"("tool_response":{"success":true,"exit_code":0,"stdout":"ok"}})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kToolResult);
  const std::string& p = m.events[0].payload_json;
  EXPECT_EQ(Field(p, "success"), "true");
  EXPECT_EQ(Field(p, "exit_code"), "0");
  EXPECT_EQ(Field(p, "output"), "\"ok\"");
}

// Found by the hook_mapping fuzzer: a host key repeated at the top level
// ("model" twice) was copied twice into payload.host, so the writer refused
// the event and it was lost. The first value is kept, as in payload.raw.
TEST(HookMapping, RepeatedHostKeyKeepsTheFirstAndTheEventIsWritable) {
  HookMapping m = Map(R"({"session_id":"c","hook_event_name":"PostToolUse","model":"first",)"
                      R"("tool_name":"Bash","tool_input":{"command":"x"},"model":"second"})");
  ASSERT_EQ(m.events.size(), 1u);
  const std::string& p = m.events[0].payload_json;
  EXPECT_TRUE(ValidateEventPayload(m.events[0].kind, p).ok()) << p;
  EXPECT_THAT(Field(p, "host"), HasSubstr("\"model\":\"first\""));
  EXPECT_THAT(Field(p, "host"), Not(HasSubstr("second")));
}

TEST(HookMapping, H5DecisionIsRecordedThenTheToolCall) {
  // Fix (reference §11 item 20): the decision no longer swallows the call.
  HookMapping m = Map(R"({"hook_event_name":"PreToolUse","tool_name":"Write",)"
                      R"("tool_input":{"command":"edit README.md"},"decision":"allow"})");
  ASSERT_EQ(m.events.size(), 2u);
  EXPECT_EQ(m.events[0].kind, EventKind::kPermissionDecision);
  EXPECT_EQ(Field(m.events[0].payload_json, "capability"), "\"tool:Write:edit README.md\"");
  EXPECT_EQ(Field(m.events[0].payload_json, "decision"), "\"allow\"");
  EXPECT_EQ(m.events[1].kind, EventKind::kToolCall);
  EXPECT_EQ(Field(m.events[1].payload_json, "tool"), "\"Write\"");
}

TEST(HookMapping, DecisionInClaudeHookSpecificOutputShape) {
  HookMapping m = Map(
      R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /"},)"
      R"("hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny",)"
      R"("permissionDecisionReason":"destructive"}})");
  ASSERT_EQ(m.events.size(), 2u);
  EXPECT_EQ(Field(m.events[0].payload_json, "decision"), "\"deny\"");
  EXPECT_EQ(Field(m.events[0].payload_json, "reason"), "\"destructive\"");
  EXPECT_EQ(m.events[1].kind, EventKind::kToolCall);
}

TEST(HookMapping, NonStringDecisionIsNotADecision) {
  HookMapping m = Map(R"({"hook_event_name":"PreToolUse","tool_name":"Bash","decision":true})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kToolCall);
}

TEST(HookMapping, H6HookErrorIsError) {
  HookMapping m =
      Map(R"({"hook_event_name":"HookError","error":{"message":"permission hook failed"}})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kError);
  EXPECT_EQ(Field(m.events[0].payload_json, "message"), "\"permission hook failed\"");
}

TEST(HookMapping, H7SessionIdPaths) {
  EXPECT_EQ(Map(R"({"tool_name":"Bash","session_id":"a"})").session_id, "a");
  EXPECT_EQ(Map(R"({"tool_name":"Bash","sessionId":"b"})").session_id, "b");
  EXPECT_EQ(Map(R"({"tool_name":"Bash","conversation_id":"c"})").session_id, "c");
  EXPECT_FALSE(Map(R"({"tool_name":"Bash"})").session_id.has_value());
  EXPECT_FALSE(Map(R"({"tool_name":"Bash","session_id":"   "})").session_id.has_value());
  EXPECT_EQ(Map(R"({"tool_name":"Bash","session_id":123})").run_id, "run-123");
  EXPECT_EQ(Map(R"({"tool_name":"Bash","session_id":{"name":"n"}})").run_id, "run-n");
}

TEST(HookMapping, H8RunIdFromSession) {
  EXPECT_EQ(Map(R"({"tool_name":"Bash","session_id":"host-session"})").run_id, "run-host-session");
}

TEST(HookMapping, H9FallbackIdIsStableAndIgnoresEventAndCommand) {
  const std::string a =
      Map(R"({"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"a"},"cwd":"/w"})")
          .run_id;
  const std::string b =
      Map(R"({"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"b"},"cwd":"/w"})")
          .run_id;
  const std::string c =
      Map(R"({"hook_event_name":"PreToolUse","tool_name":"Bash","cwd":"/x"})").run_id;
  EXPECT_THAT(a, StartsWith("run-"));
  EXPECT_EQ(a.size(), 4u + 16u);
  // Fix (reference §11 item 18): Pre and Post of one context share a trace.
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Cursor: the first workspace root is the context.
  EXPECT_EQ(Map(R"({"hook_event_name":"beforeShellExecution","command":"ls",)"
                R"("workspace_roots":["/w"]})")
                .run_id,
            a);
}

TEST(HookMapping, H10BadPayloadsAreRejected) {
  HookMapOptions options;
  EXPECT_THAT(std::string(MapHookPayload("{}", options).status().message()),
              HasSubstr("must not be empty"));
  EXPECT_THAT(std::string(MapHookPayload("\"text\"", options).status().message()),
              HasSubstr("must be a JSON object"));
  EXPECT_THAT(std::string(MapHookPayload("{bad", options).status().message()),
              HasSubstr("invalid JSON payload"));
  EXPECT_THAT(std::string(MapHookPayload("[1,2]", options).status().message()),
              HasSubstr("must be a JSON object"));
}

TEST(HookMapping, EventsWithNoTraceMeaningAreIgnoredUnlessStrict) {
  for (const char* payload :
       {R"({"event":"UserPromptSubmit"})",
        R"({"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"hi"})",
        R"({"hook_event_name":"Notification","message":"m","notification_type":"idle_prompt"})",
        R"({"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"x"})",
        R"({"hook_event_name":"Stop","stop_reason":"end_turn","tool_uses":[]})",
        R"({"hook_event_name":"PreCompact","trigger":"auto","custom_instructions":""})",
        R"({"hook_event_name":"SubagentStop","agent_id":"a","agent_type":"t"})",
        R"({"hook_event_name":"beforeSubmitPrompt","prompt":"p","conversation_id":"c"})",
        R"({"hook_event_name":"stop","status":"completed","loop_count":1})",
        R"({"something":"else"})"}) {
    HookMapping m = Map(payload);
    EXPECT_TRUE(m.ignored) << payload;
    EXPECT_TRUE(m.events.empty()) << payload;
    HookMapOptions strict;
    strict.strict = true;
    absl::StatusOr<HookMapping> s = MapHookPayload(payload, strict);
    ASSERT_FALSE(s.ok()) << payload;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("unsupported hook payload"));
  }
}

TEST(HookMapping, ValueRuleNullNoLongerShadowsLaterPaths) {
  // Reference §5.4: these mapped to tool.call and lost exit_code.
  HookMapping a = Map(R"({"tool_name":"Bash","tool_response":null,"success":true})");
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].kind, EventKind::kToolResult);
  HookMapping b = Map(R"({"tool_name":"Bash","exit_code":null,"tool_response":{"exit_code":0}})");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(Field(b.events[0].payload_json, "exit_code"), "0");
  EXPECT_EQ(Field(b.events[0].payload_json, "success"), "true");
}

TEST(HookMapping, ToolResultSuccessRules) {
  EXPECT_EQ(Field(Map(R"({"tool_name":"Bash","exit_code":3})").events[0].payload_json, "success"),
            "false");
  EXPECT_EQ(Field(Map(R"({"tool_name":"Bash","exit_code":"0"})").events[0].payload_json, "success"),
            "true");
  EXPECT_EQ(Field(Map(R"({"hook_event_name":"PostToolUse","error":"boom"})").events[0].payload_json,
                  "success"),
            "false");
  EXPECT_EQ(
      Field(Map(R"({"tool_name":"Bash","success":"denied"})").events[0].payload_json, "success"),
      "false");
}

TEST(HookMapping, ClaudePostToolUseFailure) {
  HookMapping m = Map(
      R"({"session_id":"s","transcript_path":"/t.jsonl","cwd":"/w","permission_mode":"default",)"
      R"("hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"false"},)"
      R"("tool_use_id":"toolu_1","error":"Command exited with non-zero status code 1","is_interrupt":false})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kToolResult);
  const std::string& p = m.events[0].payload_json;
  EXPECT_EQ(Field(p, "success"), "false");
  EXPECT_EQ(Field(p, "error"), "\"Command exited with non-zero status code 1\"");
  EXPECT_THAT(Field(p, "host"), HasSubstr("\"tool_use_id\":\"toolu_1\""));
}

TEST(HookMapping, ClaudePermissionRequestAndDenied) {
  HookMapping ask =
      Map(R"({"session_id":"s","hook_event_name":"PermissionRequest","tool_name":"Bash",)"
          R"("tool_input":{"command":"git push"},"permission_suggestions":[]})");
  ASSERT_EQ(ask.events.size(), 1u);
  EXPECT_EQ(ask.events[0].kind, EventKind::kPermissionDecision);
  EXPECT_EQ(Field(ask.events[0].payload_json, "decision"), "\"ask\"");
  EXPECT_EQ(Field(ask.events[0].payload_json, "capability"), "\"tool:Bash:git push\"");
  HookMapping deny =
      Map(R"({"session_id":"s","hook_event_name":"PermissionDenied","tool_name":"Bash",)"
          R"("tool_input":{"command":"rm -rf /"},"reason":"auto-mode classifier"})");
  ASSERT_EQ(deny.events.size(), 1u);
  EXPECT_EQ(Field(deny.events[0].payload_json, "decision"), "\"deny\"");
  EXPECT_EQ(Field(deny.events[0].payload_json, "reason"), "\"auto-mode classifier\"");
}

TEST(HookMapping, ClaudeStopFailureIsError) {
  HookMapping m = Map(R"({"session_id":"s","hook_event_name":"StopFailure","error":"rate_limit",)"
                      R"("error_details":"429 from API"})");
  ASSERT_EQ(m.events.size(), 1u);
  EXPECT_EQ(m.events[0].kind, EventKind::kError);
  EXPECT_EQ(Field(m.events[0].payload_json, "message"), "\"rate_limit\"");
  EXPECT_EQ(Field(m.events[0].payload_json, "details"), "\"429 from API\"");
}

TEST(HookMapping, SessionStartCreatesOnlyAndCarriesModelAndCwd) {
  HookMapping m =
      Map(R"({"session_id":"s","transcript_path":"/t","cwd":"/w","hook_event_name":"SessionStart",)"
          R"("source":"startup","model":"claude-sonnet-4-5"})",
          "claude-code");
  EXPECT_FALSE(m.ignored);
  EXPECT_TRUE(m.events.empty());
  const std::string started = "{" + m.started_fields_json + "}";
  EXPECT_TRUE(ValidateJson(started).ok()) << started;
  EXPECT_EQ(Field(started, "source"), "\"claude-code\"");
  EXPECT_EQ(Field(started, "session_source"), "\"startup\"");
  EXPECT_EQ(Field(started, "model"), "\"claude-sonnet-4-5\"");
  EXPECT_EQ(Field(started, "cwd"), "\"/w\"");
}

TEST(HookMapping, SessionEndFinishesWithReason) {
  for (const char* payload :
       {R"({"session_id":"s","hook_event_name":"SessionEnd","reason":"logout"})",
        R"({"session_id":"s","hook_event_name":"SessionEnd","end_reason":"logout"})"}) {
    HookMapping m = Map(payload);
    ASSERT_EQ(m.events.size(), 1u);
    EXPECT_EQ(m.events[0].kind, EventKind::kRunFinished);
    EXPECT_EQ(Field(m.events[0].payload_json, "status"), "\"ended\"");
    EXPECT_EQ(Field(m.events[0].payload_json, "reason"), "\"logout\"");
  }
}

TEST(HookMapping, CodexShapes) {
  HookMapping pre =
      Map(R"({"session_id":"019a-codex","turn_id":"t1","transcript_path":null,"cwd":"/w",)"
          R"("hook_event_name":"PreToolUse","model":"gpt-5-codex","permission_mode":"default",)"
          R"("tool_name":"Bash","tool_input":{"command":"cargo build"},"tool_use_id":"call_1"})");
  ASSERT_EQ(pre.events.size(), 1u);
  EXPECT_EQ(pre.events[0].kind, EventKind::kToolCall);
  EXPECT_EQ(pre.run_id, "run-019a-codex");
  EXPECT_THAT(Field(pre.events[0].payload_json, "host"), HasSubstr("\"model\":\"gpt-5-codex\""));
  // A null transcript_path is not copied.
  EXPECT_THAT(Field(pre.events[0].payload_json, "host"), Not(HasSubstr("transcript_path")));
  HookMapping post =
      Map(R"({"session_id":"019a-codex","turn_id":"t1","cwd":"/w","hook_event_name":"PostToolUse",)"
          R"("model":"gpt-5-codex","tool_name":"Bash","tool_input":{"command":"cargo build"},)"
          R"("tool_response":{"exit_code":101,"output":"error[E0425]"},"tool_use_id":"call_1"})");
  ASSERT_EQ(post.events.size(), 1u);
  EXPECT_EQ(Field(post.events[0].payload_json, "success"), "false");
  EXPECT_EQ(Field(post.events[0].payload_json, "exit_code"), "101");
  EXPECT_EQ(Field(post.events[0].payload_json, "output"), "\"error[E0425]\"");
}

TEST(HookMapping, CursorShapes) {
  HookMapping before =
      Map(R"({"hook_event_name":"beforeShellExecution","conversation_id":"conv-1",)"
          R"("generation_id":"gen-1","workspace_roots":["/w"],"command":"npm test","cwd":"/w"})");
  ASSERT_EQ(before.events.size(), 1u);
  EXPECT_EQ(before.events[0].kind, EventKind::kToolCall);
  EXPECT_EQ(before.run_id, "run-conv-1");
  EXPECT_EQ(Field(before.events[0].payload_json, "tool"), "\"Shell\"");
  EXPECT_EQ(Field(before.events[0].payload_json, "command"), "\"npm test\"");
  HookMapping after =
      Map(R"({"hook_event_name":"afterShellExecution","conversation_id":"conv-1",)"
          R"("workspace_roots":["/w"],"command":"npm test","output":"2 passing","duration":1234})");
  ASSERT_EQ(after.events.size(), 1u);
  EXPECT_EQ(after.events[0].kind, EventKind::kToolResult);
  EXPECT_EQ(Field(after.events[0].payload_json, "output"), "\"2 passing\"");
  EXPECT_EQ(Field(after.events[0].payload_json, "duration_ms"), "1234");
  HookMapping mcp = Map(
      R"({"hook_event_name":"afterMCPExecution","conversation_id":"conv-1","tool_name":"fetch",)"
      R"("tool_input":"{\"url\":\"x\"}","result_json":"{\"ok\":true}","duration":5})");
  ASSERT_EQ(mcp.events.size(), 1u);
  EXPECT_EQ(Field(mcp.events[0].payload_json, "tool"), "\"fetch\"");
  EXPECT_EQ(Field(mcp.events[0].payload_json, "output"), R"("{\"ok\":true}")");
  HookMapping edit =
      Map(R"({"hook_event_name":"afterFileEdit","conversation_id":"conv-1","file_path":"/w/a.c",)"
          R"("edits":[{"old_string":"a","new_string":"b"}]})");
  ASSERT_EQ(edit.events.size(), 1u);
  EXPECT_EQ(Field(edit.events[0].payload_json, "tool"), "\"Edit\"");
  EXPECT_EQ(Field(edit.events[0].payload_json, "command"), "\"/w/a.c\"");
  HookMapping start = Map(
      R"({"hook_event_name":"sessionStart","conversation_id":"conv-1","workspace_roots":["/w"]})");
  EXPECT_FALSE(start.ignored);
  EXPECT_TRUE(start.events.empty());
}

TEST(HookMapping, LongHostStringsAreBoundedWithMarkerAndByteLength) {
  const std::string big(50000, 'x');
  HookMapping m = Map(R"({"hook_event_name":"PostToolUse","tool_name":"Bash",)"
                      R"("tool_response":{"stdout":")" +
                      big + R"("}})");
  ASSERT_EQ(m.events.size(), 1u);
  const std::string& p = m.events[0].payload_json;
  // output and raw.tool_response.stdout: 4000 characters each.
  EXPECT_LT(p.size(), 9000u);
  EXPECT_EQ(Field(p, "output"), "\"" + std::string(4000, 'x') + "\\n[truncated]\"");
  EXPECT_EQ(Field(p, "output_bytes"), "50000");
  // Exactly 4000 characters (multibyte) are kept whole, with no marker.
  std::string euro;
  for (int i = 0; i < 4000; ++i) euro += "\xE2\x82\xAC";
  HookMapping e = Map(R"({"hook_event_name":"PostToolUse","output":")" + euro + "\"}");
  EXPECT_EQ(Field(e.events[0].payload_json, "output"), "\"" + euro + "\"");
  EXPECT_EQ(Field(e.events[0].payload_json, "output_bytes"), "");
}

TEST(HookMapping, NestedInputStringsAndHugeValuesAreBounded) {
  const std::string big(10000, 'y');
  HookMapping m = Map(R"({"hook_event_name":"PreToolUse","tool_name":"Write",)"
                      R"("tool_input":{"file_path":"/a","content":")" +
                      big + R"("}})");
  const std::string& p = m.events[0].payload_json;
  EXPECT_THAT(Field(p, "input"), HasSubstr("[truncated]"));
  EXPECT_THAT(Field(p, "input"), HasSubstr("\"file_path\":\"/a\""));
  EXPECT_EQ(Field(p, "input_bytes"), std::to_string(big.size() + 31));
  // Many small values: the JSON text itself is cut.
  std::string array = "[";
  for (int i = 0; i < 40000; ++i) array += (i ? ",1" : "1");
  array += "]";
  HookMapping n =
      Map(R"({"hook_event_name":"PreToolUse","tool_name":"X","tool_input":)" + array + "}");
  EXPECT_LT(Field(n.events[0].payload_json, "input").size(), 4100u);
  EXPECT_EQ(Field(n.events[0].payload_json, "input_bytes"), std::to_string(array.size()));
  // raw holds what fits of it (payload.raw tests below).
  EXPECT_LT(n.events[0].payload_json.size(), 4100u + kHookRawMaxBytes);
}

TEST(HookMapping, SafeRunIds) {
  EXPECT_EQ(SafeRunId("run-sess-A"), "run-sess-A");
  EXPECT_EQ(SafeRunId("run-a.b_c-1"), "run-a.b_c-1");
  for (const std::string& raw :
       {std::string("run-x/../../escaped"), std::string("run-a\0b", 7), std::string("../x"),
        std::string(".hidden"), std::string(".."), std::string("run-\x01\x1b[31m"),
        std::string(500, 'a'), std::string("run-\xC3\xA9t\xC3\xA9"), std::string(""),
        std::string("run-a b"), std::string("run-a\\b"), std::string("run-."),
        std::string("run-x.")}) {
    const std::string safe = SafeRunId(raw);
    EXPECT_FALSE(safe.empty());
    EXPECT_LE(safe.size(), kRunIdMaxBytes) << raw;
    EXPECT_NE(safe[0], '.') << raw;
    EXPECT_EQ(safe.find('/'), std::string::npos);
    EXPECT_EQ(safe.find(".."), std::string::npos) << safe;
    for (char c : safe) {
      EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                  c == '~')
          << "byte " << static_cast<int>(c) << " in " << safe;
    }
  }
  // Different unsafe ids never collide, even when they sanitize alike.
  EXPECT_NE(SafeRunId("run-a/b"), SafeRunId("run-a\\b"));
  EXPECT_NE(SafeRunId("run-a b"), SafeRunId("run-a_b"));
  EXPECT_NE(SafeRunId(std::string(200, 'a') + "1"), SafeRunId(std::string(200, 'a') + "2"));
  // An altered id never equals a literal (unaltered) one (issue 11 item 8):
  // the literal copy of an altered id is itself altered.
  const std::string altered = SafeRunId("run-a/b");
  EXPECT_NE(altered.find('~'), std::string::npos);
  EXPECT_NE(SafeRunId(altered), altered);
  // The safe set has no '~', so no unaltered id can look like a
  // continuation ("<base>~2").
  EXPECT_NE(SafeRunId("run-s~2"), "run-s~2");
}

TEST(HookMapping, FnvVectorsMatchTheReference) {
  EXPECT_EQ(internal::Fnv1a64("\x1f\x1f\x1f"), 0x8f3e7418d31fe7b4ULL);
}

TEST(HookMapping, ReferenceQuirksKept) {
  // Rule 2 before rule 3: a PostToolUse carrying an error is a result.
  EXPECT_EQ(Map(R"({"hook_event_name":"PostToolUse","error":"x"})").events[0].kind,
            EventKind::kToolResult);
  EXPECT_EQ(Map(R"({"failure":true})").events[0].kind, EventKind::kError);
  EXPECT_EQ(Map(R"({"name":42,"tool_name":"Bash"})").hook_event, "42");
}

// ---- payload.raw

// The keys of a JSON object, in order.
std::vector<std::string> Keys(const std::string& json) {
  std::vector<std::string> keys;
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(json).get_object().get(object) != simdjson::SUCCESS) return keys;
  for (auto field : object) keys.emplace_back(field.key);
  return keys;
}

TEST(HookMappingRaw, EveryEventKeepsTheWholePayloadInHostOrder) {
  // Fields traceframe does not map (prompt_id, effort, a new host field)
  // survive in raw, key order and all.
  const std::string payload =
      R"({"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash",)"
      R"("tool_input":{"command":"ls","description":"list"},"prompt_id":"p-1",)"
      R"("effort":{"level":"high"},"zz_new_field":[1,2.5,null,true],"decision":"allow"})";
  HookMapping m = Map(payload);
  ASSERT_EQ(m.events.size(), 2u);
  for (const PendingEvent& e : m.events) {
    EXPECT_EQ(Field(e.payload_json, "raw"), payload);
    EXPECT_EQ(Field(e.payload_json, "raw_bytes"), "");  // nothing was cut
    // The payload's own keys stay sorted; raw is one of them.
    const std::vector<std::string> keys = Keys(e.payload_json);
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << e.payload_json;
    EXPECT_NE(std::find(keys.begin(), keys.end(), "raw"), keys.end());
  }
  // Whitespace in the payload as received is not kept (compact JSON).
  HookMapping spaced = Map("{ \"hook_event_name\" : \"PostToolUse\",\n  \"output\" : \"ok\" }");
  EXPECT_EQ(Field(spaced.events[0].payload_json, "raw"),
            R"({"hook_event_name":"PostToolUse","output":"ok"})");
}

TEST(HookMappingRaw, EveryKindCarriesRaw) {
  for (const char* payload :
       {R"({"hook_event_name":"PostToolUseFailure","tool_name":"Bash","error":"e"})",
        R"({"hook_event_name":"PermissionRequest","tool_name":"Bash"})",
        R"({"hook_event_name":"StopFailure","error":"rate_limit"})",
        R"({"hook_event_name":"SessionEnd","reason":"logout"})",
        R"({"hook_event_name":"afterFileEdit","file_path":"/a","edits":[]})",
        R"({"decision":"deny","capability":"git.push"})"}) {
    HookMapping m = Map(payload);
    ASSERT_FALSE(m.events.empty()) << payload;
    for (const PendingEvent& e : m.events) EXPECT_EQ(Field(e.payload_json, "raw"), payload);
  }
  // SessionStart only creates the trace: run.started keeps the payload.
  const std::string start =
      R"({"hook_event_name":"sessionStart","conversation_id":"c","workspace_roots":["/w"],)"
      R"("cursor_version":"2.0.77","user_email":"u@example.com"})";
  HookMapping m = Map(start);
  EXPECT_TRUE(m.events.empty());
  EXPECT_EQ(Field("{" + m.started_fields_json + "}", "raw"), start);
  // Other payloads do not put raw into run.started (their event has it).
  EXPECT_THAT(Map(R"({"hook_event_name":"PreToolUse","tool_name":"Bash"})").started_fields_json,
              Not(HasSubstr("\"raw\"")));
}

TEST(HookMappingRaw, SecretsAreRedactedInRawAndInCopiedValues) {
  const std::string payload =
      R"({"hook_event_name":"beforeMCPExecution","tool_name":"github",)"
      R"("tool_input":{"repo":"a/b","api_key":"sk-live-123","headers":{"Authorization":"Bearer abc"}},)"
      R"("env":{"GITHUB_TOKEN":"ghp_secret","PATH":"/usr/bin"},"password":4242,)"
      R"("credentials":{"user":"alice","pass":"hunter2"},"Set-Cookie":["sid=xyz"],)"
      R"("has_token":true,"refresh_token":null,"command":"npx github-mcp",)"
      R"("usage":{"input_tokens":1234,"session_token":"tok-987"}})";
  HookMapping m = Map(payload);
  ASSERT_EQ(m.events.size(), 1u);
  const std::string& p = m.events[0].payload_json;
  for (const char* secret : {"sk-live-123", "Bearer abc", "ghp_secret", "4242", "alice", "hunter2",
                             "sid=xyz", "tok-987"}) {
    EXPECT_THAT(p, Not(HasSubstr(secret)));
  }
  const std::string raw = Field(p, "raw");
  EXPECT_THAT(raw, HasSubstr(R"("api_key":"[redacted]")"));
  EXPECT_THAT(raw, HasSubstr(R"("headers":{"Authorization":"[redacted]"})"));
  EXPECT_THAT(raw, HasSubstr(R"("env":{"GITHUB_TOKEN":"[redacted]","PATH":"/usr/bin"})"));
  EXPECT_THAT(raw, HasSubstr(R"("password":"[redacted]")"));
  EXPECT_THAT(raw, HasSubstr(R"("credentials":"[redacted]")"));
  EXPECT_THAT(raw, HasSubstr(R"("Set-Cookie":"[redacted]")"));
  // A bool or null under such a key says nothing secret and is kept.
  EXPECT_THAT(raw, HasSubstr(R"("has_token":true)"));
  EXPECT_THAT(raw, HasSubstr(R"("refresh_token":null)"));
  // A token count is a number, not a secret: usage figures survive.
  EXPECT_THAT(raw, HasSubstr(R"("usage":{"input_tokens":1234,"session_token":"[redacted]"})"));
  // Unrelated values are untouched.
  EXPECT_THAT(raw, HasSubstr(R"("command":"npx github-mcp")"));
  // The mapped input is redacted the same way.
  EXPECT_EQ(Field(p, "input"),
            R"({"repo":"a/b","api_key":"[redacted]","headers":{"Authorization":"[redacted]"}})");
  // Redaction alone cuts nothing.
  EXPECT_EQ(Field(p, "raw_bytes"), "");
}

TEST(HookMappingRaw, SecretKeyRule) {
  for (const char* key : {"token",
                          "GITHUB_TOKEN",
                          "access_token",
                          "x-api-key",
                          "apiKey",
                          "API_KEY",
                          "Set-Cookie",
                          "cookie",
                          "client_secret",
                          "PASSWORD",
                          "db.password",
                          "passwd",
                          "private_key",
                          "privateKey",
                          "aws_secret_access_key",
                          "AccessKey",
                          "credentials",
                          "Authorization",
                          "proxy-authorization",
                          "max_tokens"}) {
    EXPECT_TRUE(LooksLikeSecretKey(key)) << key;
  }
  // Token counts are numbers and stay; a number under any other secret word
  // (a numeric PIN or password) does not.
  for (const char* key : {"max_tokens", "input_tokens", "usage.output_tokens", "tokenCount"}) {
    EXPECT_FALSE(LooksLikeSecretKey(key, /*value_is_number=*/true)) << key;
  }
  for (const char* key : {"password", "api_key", "secret_token", "access_key"}) {
    EXPECT_TRUE(LooksLikeSecretKey(key, /*value_is_number=*/true)) << key;
  }
  for (const char* key : {"command", "file_path", "session_id", "cwd", "description", "author",
                          "keyword", "tool_use_id", "transcript_path", "pass", "key", ""}) {
    EXPECT_FALSE(LooksLikeSecretKey(key)) << key;
  }
}

TEST(HookMappingRaw, HugeStringsAreBoundedAndTheOriginalSizeRecorded) {
  const std::string big(50000, 'x');
  const std::string payload =
      R"({"hook_event_name":"PostToolUse","tool_name":"Bash","tool_response":{"stdout":")" + big +
      R"(","exit_code":0},"extra":"small"})";
  HookMapping m = Map(payload);
  ASSERT_EQ(m.events.size(), 1u);
  const std::string& p = m.events[0].payload_json;
  EXPECT_EQ(Field(p, "raw"), R"({"hook_event_name":"PostToolUse","tool_name":"Bash",)"
                             R"("tool_response":{"stdout":")" +
                                 std::string(4000, 'x') +
                                 R"(\n[truncated]","exit_code":0},"extra":"small"})");
  EXPECT_EQ(Field(p, "raw_bytes"), std::to_string(payload.size()));
  // The same cut as the mapped output (UTF-8 safe: 4000 characters).
  std::string euro;
  for (int i = 0; i < 4001; ++i) euro += "\xE2\x82\xAC";
  HookMapping e = Map(R"({"hook_event_name":"PostToolUse","note":")" + euro + "\"}");
  const std::string raw = Field(e.events[0].payload_json, "raw");
  EXPECT_THAT(raw, HasSubstr("\"" + euro.substr(0, 3 * 4000) + "\\n[truncated]\""));
  EXPECT_TRUE(ValidateJson(raw).ok());
  // Long keys are cut too.
  HookMapping k = Map(R"({"hook_event_name":"PostToolUse",")" + big + R"(":1})");
  EXPECT_LT(Field(k.events[0].payload_json, "raw").size(), 4100u);
}

TEST(HookMappingRaw, DeepNestingIsReplacedByAMarker) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";
  const std::string payload = R"({"hook_event_name":"PostToolUse","deep":)" + deep + "}";
  HookMapping m = Map(payload);
  const std::string& p = m.events[0].payload_json;
  const std::string raw = Field(p, "raw");
  EXPECT_TRUE(ValidateJson(raw).ok());
  // The payload is level 0; "deep" is level 1; containers from level 32 on
  // are replaced.
  std::string expected_prefix = R"({"hook_event_name":"PostToolUse","deep":)";
  for (int i = 1; i < 32; ++i) expected_prefix += R"({"a":)";
  EXPECT_THAT(raw, StartsWith(expected_prefix + R"("[omitted: nested deeper than 32 levels]"})"));
  EXPECT_EQ(Field(p, "raw_bytes"), std::to_string(payload.size()));
}

TEST(HookMappingRaw, TotalSizeIsBoundedWithMarkers) {
  // 3000 keys of 100-character values: ~330 KB even with no long string.
  std::string payload = R"({"hook_event_name":"PostToolUse","tool_name":"Bash","fields":{)";
  for (int i = 0; i < 3000; ++i) {
    if (i) payload += ",";
    payload += "\"k" + std::to_string(i) + "\":\"" + std::string(100, 'v') + "\"";
  }
  payload += R"(},"items":[)";
  for (int i = 0; i < 3000; ++i) payload += (i ? ",\"" : "\"") + std::string(100, 'i') + "\"";
  payload += R"(],"after":"kept?"})";
  HookMapping m = Map(payload);
  ASSERT_EQ(m.events.size(), 1u);
  const std::string& p = m.events[0].payload_json;
  const std::string raw = Field(p, "raw");
  EXPECT_TRUE(ValidateJson(raw).ok());
  EXPECT_LE(raw.size(), kHookRawMaxBytes);
  EXPECT_GT(raw.size(), kHookRawMaxBytes - 8192);  // what fits is kept
  EXPECT_EQ(Field(p, "raw_bytes"), std::to_string(payload.size()));
  // The first keys are kept in order; the rest of "fields" is counted, and
  // every later member of the payload is counted at the top level.
  EXPECT_THAT(raw, StartsWith(R"({"hook_event_name":"PostToolUse","tool_name":"Bash",)"
                              R"("fields":{"k0":")"));
  EXPECT_THAT(raw, ::testing::ContainsRegex(
                       R"(,"\[omitted[]]":"[0-9]+ keys over the size limit"[}],"\[omitted[]]":)"
                       R"("2 keys over the size limit"[}]$)"));
  EXPECT_THAT(raw, Not(HasSubstr("kept?")));
  // A long key that crosses the limit is dropped with its value, even when
  // the value is a container that would stop at the limit by itself.
  std::string long_key = R"({"hook_event_name":"PostToolUse","fields":{)";
  for (int i = 0; i < 520; ++i) {
    long_key += "\"k" + std::to_string(i) + "\":\"" + std::string(100, 'v') + "\",";
  }
  long_key += "\"";
  for (int i = 0; i < 4000; ++i) long_key += "\\u0001";  // 6 bytes each, escaped
  long_key += R"(":{"a":"b"}}})";
  const std::string long_key_raw = Field(Map(long_key).events[0].payload_json, "raw");
  EXPECT_LE(long_key_raw.size(), kHookRawMaxBytes);
  EXPECT_THAT(long_key_raw, ::testing::EndsWith(R"("k519":")" + std::string(100, 'v') +
                                                R"(","[omitted]":"1 key over the size limit"}})"));
  // An array over the limit ends with a counted item.
  std::string array_payload = R"({"hook_event_name":"PostToolUse","items":[)";
  for (int i = 0; i < 3000; ++i) array_payload += (i ? ",\"" : "\"") + std::string(100, 'i') + "\"";
  array_payload += "]}";
  const std::string array_raw = Field(Map(array_payload).events[0].payload_json, "raw");
  EXPECT_LE(array_raw.size(), kHookRawMaxBytes);
  EXPECT_THAT(array_raw, ::testing::ContainsRegex(
                             R"(,"\[omitted: [0-9]+ items over the size limit[]]"[]][}]$)"));
}

}  // namespace
}  // namespace traceframe
