// Hook payload mapping (engine/src/hook_mapping.cc): the reference's mapping
// unit tests (H1-H10) adapted, every fix of reference §11 items 17-21, and
// the real payload shapes of Claude Code, Codex and Cursor.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"

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
  EXPECT_LT(p.size(), 6000u);
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
  EXPECT_LT(n.events[0].payload_json.size(), 6000u);
  EXPECT_EQ(Field(n.events[0].payload_json, "input_bytes"), std::to_string(array.size()));
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
      EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
          << "byte " << static_cast<int>(c) << " in " << safe;
    }
  }
  // Different unsafe ids never collide, even when they sanitize alike.
  EXPECT_NE(SafeRunId("run-a/b"), SafeRunId("run-a\\b"));
  EXPECT_NE(SafeRunId("run-a b"), SafeRunId("run-a_b"));
  EXPECT_NE(SafeRunId(std::string(200, 'a') + "1"), SafeRunId(std::string(200, 'a') + "2"));
}

TEST(HookMapping, FnvVectorsMatchTheReference) {
  EXPECT_EQ(Fnv1a64("\x1f\x1f\x1f"), 0x8f3e7418d31fe7b4ULL);
}

TEST(HookMapping, ReferenceQuirksKept) {
  // Rule 2 before rule 3: a PostToolUse carrying an error is a result.
  EXPECT_EQ(Map(R"({"hook_event_name":"PostToolUse","error":"x"})").events[0].kind,
            EventKind::kToolResult);
  EXPECT_EQ(Map(R"({"failure":true})").events[0].kind, EventKind::kError);
  EXPECT_EQ(Map(R"({"name":42,"tool_name":"Bash"})").hook_event, "42");
}

}  // namespace
}  // namespace traceframe
