// traceframe import on real public transcripts of host versions the first
// fixtures did not cover (tests/data/import/README.md "real/": origin, and
// what was cut). Expected figures are computed independently of the
// importer, by tests/data/import/expected.py (Python's json module and the
// rules of transcripts.md):
//
//   $ cd tests/data/import
//   $ python3 expected.py real/claude/*.jsonl real/claude/*/subagents/*.jsonl real/codex/*.jsonl
//   real/claude/ab522dff-...jsonl {"model_calls": 2, "tool_calls": 2, "tool_results": 1,
//     "tool_failures": 0, "errors": 0, "usage": {"input_tokens": 145734, "output_tokens": 4,
//     "cache_read_input_tokens": 144614, "cache_creation_input_tokens": 1116}}
//   real/claude/2b9d8116-.../subagents/agent-a7b1cd4effbcbdebe.jsonl {"model_calls": 1,
//     "tool_calls": 2, "tool_results": 1, "tool_failures": 0, "errors": 0, "usage":
//     {"input_tokens": 28558, "output_tokens": 187, "cache_read_input_tokens": 0,
//     "cache_creation_input_tokens": 28556}}
//   real/codex/rollout-2025-04-30T21-42-44-...jsonl {"model_calls": 0, "tool_calls": 4,
//     "tool_results": 4, "tool_failures": 1, "errors": 0, "run_usage": null}
//
// By hand, for the 1.0.34 file: two API calls of two lines each, usage
// (2 + 978 + 71818, out 1) and (2 + 138 + 72796, out 3): input 72798 + 72936 =
// 145734, output 4. For the 2.1.220 file: its three assistant lines are one API
// call (one message.id and requestId); the last line's usage is the call's:
// input 2 + cache creation 28556 + cache read 0 = 28558, output 187 (the
// earlier lines say 1: the response was still streaming).
#include <gtest/gtest.h>

#include <string>

#include "import_test_util.h"
#include "test_util.h"
#include "traceframe/import.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using testing::ReadFileOrDie;
using testing::SplitLines;
using testing::TempDir;

const std::string kReal = std::string(TRACEFRAME_SOURCE_DIR) + "/tests/data/import/real";
const std::string kClaude2220Session = "2b9d8116-e1de-4038-a101-5fd575fdcb0e";
const std::string kClaude2220Agent =
    kReal + "/claude/" + kClaude2220Session + "/subagents/agent-a7b1cd4effbcbdebe.jsonl";
const std::string kClaude1034 = kReal + "/claude/ab522dff-59fa-4c3c-a042-af545e871e28.jsonl";
const std::string kCodexItems2025 =
    kReal + "/codex/rollout-2025-04-30T21-42-44-68129956-8b38-4191-b109-da7a52b2dfe4.jsonl";

// Imports with --force (the idempotence test imports twice to one file).
ImportedSession ImportTo(const std::string& input, const std::string& out, bool force = false) {
  ImportOptions options;
  options.force = force;
  return testing::ImportFile(input, out, options);
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Claude Code 2.1.220 (August 2026): `attachment` lines, `caller`,
// `stop_details`, `diagnostics`, `iterations` in usage, `attributionAgent`.
TEST(ImportRealTest, ClaudeCode2_1_220SubagentLines) {
  TempDir dir;
  const ImportedSession s = ImportTo(kClaude2220Agent, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "claude-code");
  EXPECT_EQ(s.run_id, "run-" + kClaude2220Session + "-agent-a7b1cd4effbcbdebe");
  EXPECT_EQ(s.parent_run_id, "run-" + kClaude2220Session);
  EXPECT_EQ(s.model_calls, 1u);
  EXPECT_EQ(s.tool_calls, 2u);
  EXPECT_EQ(s.tool_results, 1u);
  EXPECT_EQ(s.tool_failures, 0u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.usage.input_tokens, 28558u);
  EXPECT_EQ(s.usage.output_tokens, 187u);
  EXPECT_EQ(s.usage.cache_read_input_tokens, 0u);
  EXPECT_EQ(s.usage.cache_creation_input_tokens, 28556u);
  // The two `attachment` lines are bookkeeping, understood and skipped.
  EXPECT_EQ(s.skipped_line_count, 0u);
  EXPECT_EQ(s.lines, 7u);

  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  const std::vector<std::string> lines = SplitLines(trace);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(Has(lines[0], "\"host_version\":\"2.1.220\"")) << lines[0];
  EXPECT_TRUE(Has(lines[0], "\"session_id\":\"" + kClaude2220Session + "\"")) << lines[0];
  EXPECT_TRUE(Has(lines[0], "\"agent_id\":\"a7b1cd4effbcbdebe\"")) << lines[0];
  // run.started at the first line's timestamp (2026-08-01T04:50:25.687Z).
  EXPECT_TRUE(Has(lines[0], "\"ts_ms\":1785559825687")) << lines[0];
  // One model.call, placed at the first line of the response, with the
  // last line's stop_reason and usage.
  EXPECT_TRUE(Has(trace,
                  "\"provider\":\"anthropic\",\"model\":\"claude-opus-5\",\"stop_reason\":"
                  "\"tool_use\",\"usage\":{\"input_tokens\":28558,\"output_tokens\":187,"
                  "\"cache_read_input_tokens\":0,\"cache_creation_input_tokens\":28556"))
      << trace;
  EXPECT_TRUE(Has(trace,
                  "\"tool\":\"Read\",\"command\":\"/scratch/code/bitcoin_tax/design/"
                  "no-testimony/BRIEF-spec-review-r2.md\""));
  EXPECT_TRUE(Has(trace, "\"tool_use_id\":\"toolu_01U765ghegbhPps2nU7Z2Sv1\",\"success\":true"));
  // The result came 8 ms after its call (04:50:28.109 -> 04:50:28.117).
  EXPECT_TRUE(Has(trace, "\"success\":true,\"duration_ms\":8"));
}

// Claude Code 1.0.34 (July 2025): no gitBranch, key order of the time,
// `toolUseResult` of a Grep as an object without stdout.
TEST(ImportRealTest, ClaudeCode1_0_34SessionLines) {
  TempDir dir;
  const ImportedSession s = ImportTo(kClaude1034, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "claude-code");
  EXPECT_EQ(s.run_id, "run-ab522dff-59fa-4c3c-a042-af545e871e28");
  EXPECT_EQ(s.parent_run_id, "");
  EXPECT_EQ(s.model_calls, 2u);
  EXPECT_EQ(s.tool_calls, 2u);
  EXPECT_EQ(s.tool_results, 1u);
  EXPECT_EQ(s.tool_failures, 0u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.usage.input_tokens, 145734u);
  EXPECT_EQ(s.usage.output_tokens, 4u);
  EXPECT_EQ(s.usage.cache_read_input_tokens, 144614u);
  EXPECT_EQ(s.usage.cache_creation_input_tokens, 1116u);
  EXPECT_EQ(s.skipped_line_count, 0u);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  const std::string first = SplitLines(trace)[0];
  EXPECT_TRUE(Has(first, "\"host_version\":\"1.0.34\"")) << first;
  EXPECT_TRUE(Has(first, "\"ts_ms\":1752556048884")) << first;
  EXPECT_FALSE(Has(first, "\"git\"")) << first;
  EXPECT_TRUE(Has(trace, "\"tool\":\"Grep\",\"command\":\"serve_dashboard|app\\\\.route|@app\""))
      << trace;
  EXPECT_TRUE(Has(trace, "\"output_preview\":\"No files found\"")) << trace;
}

// Items of the Codex CLI of April 2025 (shell calls whose output is JSON
// with metadata.exit_code), in the legacy rollout layout.
TEST(ImportRealTest, CodexApril2025ShellItems) {
  TempDir dir;
  const ImportedSession s = ImportTo(kCodexItems2025, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "codex");
  EXPECT_EQ(s.run_id, "run-68129956-8b38-4191-b109-da7a52b2dfe4");
  EXPECT_EQ(s.tool_calls, 4u);
  EXPECT_EQ(s.tool_results, 4u);
  // `grep -i install readme.md` found nothing: exit code 1.
  EXPECT_EQ(s.tool_failures, 1u);
  EXPECT_EQ(s.model_calls, 0u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.skipped_line_count, 0u);
  EXPECT_EQ(s.usage.input_tokens, 0u);
  EXPECT_EQ(s.usage.output_tokens, 0u);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  EXPECT_TRUE(Has(trace, "\"exit_code\":1")) << trace;
  EXPECT_TRUE(Has(trace, "\"call_VofLYAYbcFQHmVuO6jcpnRSl\"")) << trace;
  // Only the header has a timestamp; every event takes it.
  EXPECT_TRUE(Has(SplitLines(trace)[0], "\"ts_ms\":1746049364780")) << trace;
}

TEST(ImportRealTest, SameInputGivesByteIdenticalTrace) {
  TempDir dir;
  for (const std::string& input : {kClaude1034, kClaude2220Agent, kCodexItems2025}) {
    ImportTo(input, dir.File("a.traceframe"), /*force=*/true);
    ImportTo(input, dir.File("b.traceframe"), /*force=*/true);
    EXPECT_EQ(ReadFileOrDie(dir.File("a.traceframe")), ReadFileOrDie(dir.File("b.traceframe")))
        << input;
  }
}

}  // namespace
}  // namespace traceframe
