// traceframe import (docs/import.md) on real transcript fixtures
// (tests/data/import/README.md). Expected counts and token totals come from
// tests/data/import/expected.py, which reads the fixtures with Python's json
// module and the rules of transcripts.md, sharing nothing with the importer:
//
//   $ python3 tests/data/import/expected.py claude/*.jsonl claude/*/subagents/*.jsonl codex/*.jsonl
//   claude/0daf8cb5-...jsonl {"model_calls": 5, "tool_calls": 5, "tool_results": 5,
//     "tool_failures": 2, "errors": 3, "usage": {"input_tokens": 129634, "output_tokens": 1557,
//     "cache_read_input_tokens": 118272, "cache_creation_input_tokens": 11337}}
//   claude/0daf8cb5-.../subagents/agent-ad92ef969c5ba71db.jsonl {"model_calls": 3,
//     "tool_calls": 3, "tool_results": 3, "tool_failures": 0, "errors": 0, "usage":
//     {"input_tokens": 164045, "output_tokens": 276, "cache_read_input_tokens": 158722,
//     "cache_creation_input_tokens": 5310}}
//   codex/rollout-2025-08-20T13-20-47-...jsonl {"model_calls": 0, "tool_calls": 2,
//     "tool_results": 2, "tool_failures": 1, "errors": 0, "run_usage": null}
//   codex/rollout-2025-10-01T10-00-00-...jsonl {"model_calls": 3, "tool_calls": 11,
//     "tool_results": 11, "tool_failures": 6, "errors": 2, "run_usage": {"input_tokens":
//     40000, "output_tokens": 1000, "cache_read_input_tokens": 30000,
//     "reasoning_output_tokens": 400}}
//   codex/rollout-2026-04-22T11-13-12-...jsonl {"model_calls": 1, "tool_calls": 4,
//     "tool_results": 1, "tool_failures": 1, "errors": 0, "run_usage": {"input_tokens":
//     54962, "output_tokens": 1818, "cache_read_input_tokens": 44928,
//     "reasoning_output_tokens": 1113}}
#include "traceframe/import.h"

#include <gtest/gtest.h>

#include <string>

#include "format/bounded_json.h"
#include "import_test_util.h"
#include "test_util.h"
#include "traceframe/summary.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using testing::ImportFile;
using testing::ReadFileOrDie;
using testing::SplitLines;
using testing::TempDir;

const std::string kData = std::string(TRACEFRAME_SOURCE_DIR) + "/tests/data/import";
const std::string kClaudeSession = "0daf8cb5-f685-486f-a3f7-90858e84289f";
const std::string kClaudeParent = kData + "/claude/" + kClaudeSession + ".jsonl";
const std::string kClaudeAgent =
    kData + "/claude/" + kClaudeSession + "/subagents/agent-ad92ef969c5ba71db.jsonl";
const std::string kCodexEncodings =
    kData + "/codex/rollout-2025-10-01T10-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl";
const std::string kCodexExec =
    kData + "/codex/rollout-2026-04-22T11-13-12-019db2bf-92cb-7771-b828-7eb85da11efe.jsonl";
const std::string kCodexLegacy =
    kData + "/codex/rollout-2025-08-20T13-20-47-5e3c7c4b-0d2e-4c36-9f1e-2b1f6e0e8a11.jsonl";

void Copy(const std::string& from, const std::string& to) {
  testing::CliResult r = testing::RunProgram({"cp", "-r", from, to});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(ImportTest, ClaudeSessionCountsMatchIndependentTally) {
  TempDir dir;
  const ImportedSession s = ImportFile(kClaudeParent, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "claude-code");
  EXPECT_EQ(s.run_id, "run-" + kClaudeSession);
  // One model.call per (message.id, requestId), not per line: 5 API calls in
  // 12 assistant lines.
  EXPECT_EQ(s.model_calls, 5u);
  EXPECT_EQ(s.compactions, 1u);
  EXPECT_EQ(s.tool_calls, 5u);
  EXPECT_EQ(s.tool_results, 5u);
  EXPECT_EQ(s.tool_failures, 2u);
  // API error (<synthetic>), interrupted turn, hook-blocked call.
  EXPECT_EQ(s.errors, 3u);
  // Last usage of each call; Claude's input_tokens plus both cache fields.
  EXPECT_EQ(s.usage.input_tokens, 129634u);
  EXPECT_EQ(s.usage.output_tokens, 1557u);
  EXPECT_EQ(s.usage.cache_read_input_tokens, 118272u);
  EXPECT_EQ(s.usage.cache_creation_input_tokens, 11337u);
  // The unknown type and the torn line in the middle are counted, not fatal.
  ASSERT_EQ(s.skipped_line_count, 2u);
  EXPECT_EQ(s.skipped_lines[0].reason, "unknown type `some-future-type`");
  EXPECT_EQ(s.skipped_lines[1].reason, "invalid JSON");

  absl::StatusOr<TraceSummary> summary = SummarizeTrace(dir.File("t.traceframe"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->status, "imported");
  EXPECT_EQ(summary->tool_failures, 2u);
  EXPECT_EQ(summary->errors, 3u);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  // run.started names the session and the host; ts from the transcript.
  const std::string first = SplitLines(trace)[0];
  EXPECT_NE(first.find("\"created_by\":\"traceframe import\""), std::string::npos) << first;
  EXPECT_NE(first.find("\"session_id\":\"" + kClaudeSession + "\""), std::string::npos);
  EXPECT_NE(first.find("\"host_version\":\"2.1.92\""), std::string::npos);
  EXPECT_NE(first.find("\"branch\":\"main\""), std::string::npos);
  EXPECT_NE(first.find("\"ts_ms\":1775418118095"), std::string::npos) << first;
  // Secrets in tool inputs are redacted; the hook-blocked call is an error.
  EXPECT_EQ(trace.find("sk-ant-api03-AAAA"), std::string::npos);
  EXPECT_NE(trace.find("Bearer [redacted]"), std::string::npos);
  EXPECT_NE(trace.find("\"source\":\"hook\""), std::string::npos);
  EXPECT_NE(trace.find("\"trigger\":\"auto\",\"pre_tokens\":167012"), std::string::npos);
  EXPECT_NE(trace.find("\"exit_code\":1"), std::string::npos);
  // The parent's Agent calls name the sub-agent runs (from toolUseResult and
  // from agent_progress lines).
  EXPECT_NE(trace.find("\"tool_use_id\":\"toolu_014Q2n4p5iTR2Ca5Htgw1Bam\",\"input\""),
            std::string::npos);
  EXPECT_NE(
      trace.find("\"subagent_run_id\":\"run-" + kClaudeSession + "-agent-ad92ef969c5ba71db\""),
      std::string::npos);
  EXPECT_NE(
      trace.find("\"subagent_run_id\":\"run-" + kClaudeSession + "-agent-af9476071037a5f04\""),
      std::string::npos);
}

TEST(ImportTest, ClaudeSubagentIsItsOwnTraceLinkedToParent) {
  TempDir dir;
  Copy(kData + "/claude", dir.File("projects"));
  ImportOptions options;
  options.out_dir = dir.File("runs");
  absl::StatusOr<ImportReport> report = ImportTranscripts(dir.File("projects"), options);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->sessions.size(), 2u);
  EXPECT_EQ(report->imported, 2u);
  const ImportedSession& agent = report->sessions[1];
  EXPECT_EQ(agent.run_id, "run-" + kClaudeSession + "-agent-ad92ef969c5ba71db");
  EXPECT_EQ(agent.parent_run_id, "run-" + kClaudeSession);
  EXPECT_EQ(agent.model_calls, 3u);
  EXPECT_EQ(agent.tool_calls, 3u);
  EXPECT_EQ(agent.tool_results, 3u);
  EXPECT_EQ(agent.tool_failures, 0u);
  EXPECT_EQ(agent.usage.input_tokens, 164045u);
  EXPECT_EQ(agent.usage.output_tokens, 276u);
  EXPECT_EQ(agent.usage.cache_read_input_tokens, 158722u);
  EXPECT_EQ(agent.usage.cache_creation_input_tokens, 5310u);
  const std::string first = SplitLines(ReadFileOrDie(agent.trace_path))[0];
  EXPECT_NE(first.find("\"parent_run_id\":\"run-" + kClaudeSession + "\""), std::string::npos);
  EXPECT_NE(first.find("\"parent_tool_use_id\":\"toolu_014Q2n4p5iTR2Ca5Htgw1Bam\""),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("\"agent_id\":\"ad92ef969c5ba71db\""), std::string::npos);
  for (const ImportedSession& s : report->sessions) {
    absl::StatusOr<VerifyReport> verify = VerifyTrace(s.trace_path, VerifyOptions{});
    ASSERT_TRUE(verify.ok());
    EXPECT_TRUE(verify->valid) << s.trace_path;
  }
}

TEST(ImportTest, CodexEveryFailureEncodingCounted) {
  TempDir dir;
  const ImportedSession s = ImportFile(kCodexEncodings, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "codex");
  EXPECT_EQ(s.run_id, "run-0199a213-81c0-7800-8aa1-bbab2a035a53");
  EXPECT_EQ(s.tool_calls, 11u);
  EXPECT_EQ(s.tool_results, 11u);
  // shell JSON exit_code, shell_command "Exit code:", exec_command "Process
  // exited with code", apply_patch verification text (custom and function
  // call), sandbox refusal. A running exec_command is not a failure.
  EXPECT_EQ(s.tool_failures, 6u);
  // The repeated token_count is one step; info:null is none.
  EXPECT_EQ(s.model_calls, 3u);
  EXPECT_EQ(s.compactions, 1u);  // `compacted` + context_compacted: one
  EXPECT_EQ(s.errors, 2u);       // turn_aborted, error
  // The run's usage is the last cumulative total_token_usage (fields given
  // as strings in the last one).
  EXPECT_EQ(s.usage.input_tokens, 40000u);
  EXPECT_EQ(s.usage.output_tokens, 1000u);
  EXPECT_EQ(s.usage.cache_read_input_tokens, 30000u);
  EXPECT_EQ(s.usage.reasoning_output_tokens, 400u);
  EXPECT_EQ(s.skipped_line_count, 2u);  // brand_new_event, "not json at all"
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  const std::vector<std::string> lines = SplitLines(trace);
  EXPECT_NE(lines.back().find("\"status\":\"imported\",\"usage\":{\"input_tokens\":40000"),
            std::string::npos)
      << lines.back();
  EXPECT_NE(trace.find("\"command\":\"cargo test\""), std::string::npos);
  EXPECT_NE(trace.find("\"exit_code\":101,\"duration_ms\":3250"), std::string::npos);
  EXPECT_NE(trace.find("\"running\":true"), std::string::npos);
  EXPECT_NE(trace.find("\"model\":\"gpt-5-codex\""), std::string::npos);
  EXPECT_NE(trace.find("\"command\":\"src/main.rs\""), std::string::npos);
}

TEST(ImportTest, CodexRealExecCommandLines) {
  TempDir dir;
  const ImportedSession s = ImportFile(kCodexExec, dir.File("t.traceframe"));
  EXPECT_EQ(s.tool_calls, 4u);
  EXPECT_EQ(s.tool_results, 1u);
  EXPECT_EQ(s.tool_failures, 1u);
  EXPECT_EQ(s.model_calls, 1u);
  EXPECT_EQ(s.usage.input_tokens, 54962u);
  EXPECT_EQ(s.usage.output_tokens, 1818u);
  EXPECT_EQ(s.usage.cache_read_input_tokens, 44928u);
  EXPECT_EQ(s.usage.reasoning_output_tokens, 1113u);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  // The one model step carries last_token_usage, in the convention.
  EXPECT_NE(trace.find("\"provider\":\"openai\",\"model\":\"gpt-5.4\",\"usage\":{\"input_tokens\":"
                       "21843,\"output_tokens\":453,\"cache_read_input_tokens\":17536,"
                       "\"cache_creation_input_tokens\":0,\"reasoning_output_tokens\":73}"),
            std::string::npos);
}

TEST(ImportTest, CodexLegacyFormat) {
  TempDir dir;
  const ImportedSession s = ImportFile(kCodexLegacy, dir.File("t.traceframe"));
  EXPECT_EQ(s.format, "codex");
  EXPECT_EQ(s.run_id, "run-5e3c7c4b-0d2e-4c36-9f1e-2b1f6e0e8a11");
  EXPECT_EQ(s.tool_calls, 2u);
  EXPECT_EQ(s.tool_results, 2u);
  EXPECT_EQ(s.tool_failures, 1u);
  EXPECT_EQ(s.model_calls, 0u);
  EXPECT_EQ(s.skipped_line_count, 0u);
  const std::string trace = ReadFileOrDie(dir.File("t.traceframe"));
  EXPECT_NE(trace.find("\"command\":\"pytest -q\""), std::string::npos);
  EXPECT_NE(trace.find("\"command\":\"ls -la\""), std::string::npos);
}

TEST(ImportTest, SameInputGivesByteIdenticalTrace) {
  TempDir dir;
  for (const std::string& input : {kClaudeParent, kClaudeAgent, kCodexEncodings, kCodexLegacy}) {
    std::remove(dir.File("a.traceframe").c_str());
    std::remove(dir.File("b.traceframe").c_str());
    ImportFile(input, dir.File("a.traceframe"));
    ImportOptions force;
    force.force = true;
    ImportFile(input, dir.File("b.traceframe"), force);
    EXPECT_EQ(ReadFileOrDie(dir.File("a.traceframe")), ReadFileOrDie(dir.File("b.traceframe")))
        << input;
    // And the in-memory mapping is the same bytes (it reads no other file,
    // so a sub-agent's link to the parent's tool call is not there).
    if (input == kClaudeAgent) continue;
    ImportOptions text_options;
    absl::StatusOr<std::string> text =
        ImportTranscriptText(ReadFileOrDie(input), input, text_options);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, ReadFileOrDie(dir.File("a.traceframe")));
  }
}

TEST(ImportTest, ParallelDirectoryImportSkipsCurrentAndReimportsGrown) {
  TempDir dir;
  Copy(kData + "/codex", dir.File("sessions"));
  Copy(kData + "/claude", dir.File("sessions/claude"));
  ImportOptions options;
  options.out_dir = dir.File("runs");
  options.threads = 4;
  absl::StatusOr<ImportReport> first = ImportTranscripts(dir.File("sessions"), options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->imported, 5u);
  EXPECT_EQ(first->failed, 0u);
  const std::string codex_trace =
      dir.File("runs/run-0199a213-81c0-7800-8aa1-bbab2a035a53.traceframe");
  const std::string before = ReadFileOrDie(codex_trace);

  absl::StatusOr<ImportReport> second = ImportTranscripts(dir.File("sessions"), options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->imported, 0u);
  EXPECT_EQ(second->skipped, 5u);

  // A live session: a cut-off last line changes nothing yet...
  const std::string grown =
      dir.File("sessions/rollout-2025-10-01T10-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl");
  testing::AppendFileOrDie(grown,
                           "{\"timestamp\":\"2025-10-01T10:01:00.000Z\",\"type\":\"response_item\","
                           "\"payload\":{\"type\":\"function_call\",\"name\":\"shell\"");
  absl::StatusOr<ImportReport> third = ImportTranscripts(dir.File("sessions"), options);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->skipped, 5u);
  // ...and once the line is complete, that session alone is re-imported.
  testing::AppendFileOrDie(grown,
                           ",\"arguments\":\"{\\\"command\\\":[\\\"true\\\"]}\","
                           "\"call_id\":\"c12\"}}\n");
  absl::StatusOr<ImportReport> fourth = ImportTranscripts(dir.File("sessions"), options);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->imported, 1u);
  EXPECT_EQ(fourth->skipped, 4u);
  const std::string after = ReadFileOrDie(codex_trace);
  EXPECT_NE(before, after);
  EXPECT_EQ(SplitLines(after).size(), SplitLines(before).size() + 1);
  absl::StatusOr<VerifyReport> verify = VerifyTrace(codex_trace, VerifyOptions{});
  ASSERT_TRUE(verify.ok());
  EXPECT_TRUE(verify->valid);
}

TEST(ImportTest, CorruptFileAmongGoodOnesFailsAlone) {
  TempDir dir;
  Copy(kData + "/codex", dir.File("sessions"));
  testing::WriteFileOrDie(dir.File("sessions/garbage.jsonl"),
                          std::string("\x00\x01garbage\n{\"a\":1}\n", 17));
  ImportOptions options;
  options.out_dir = dir.File("runs");
  absl::StatusOr<ImportReport> report = ImportTranscripts(dir.File("sessions"), options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->imported, 3u);
  EXPECT_EQ(report->failed, 1u);
  for (const ImportedSession& s : report->sessions) {
    if (s.state != "failed") continue;
    EXPECT_NE(s.input.find("garbage.jsonl"), std::string::npos);
    EXPECT_NE(s.error.find("not a Claude Code or Codex transcript"), std::string::npos) << s.error;
  }
}

TEST(ImportTest, NotATranscriptWritesNothing) {
  TempDir dir;
  testing::WriteFileOrDie(dir.File("notes.jsonl"), "{\"hello\":\"world\"}\n{\"x\":2}\n");
  ImportOptions options;
  options.out_file = dir.File("t.traceframe");
  absl::StatusOr<ImportReport> report = ImportTranscripts(dir.File("notes.jsonl"), options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(testing::FileExists(dir.File("t.traceframe")));
  // Asking for the wrong format is the same.
  options.format = ImportFormat::kCodex;
  EXPECT_EQ(ImportTranscripts(kClaudeParent, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(testing::FileExists(dir.File("t.traceframe")));
}

TEST(ImportTest, ForeignTraceIsNotReplacedWithoutForce) {
  TempDir dir;
  const std::string other = testing::EventLine("run-x", "e1", "run.started", 1, 0, "{}") + "\n";
  testing::WriteFileOrDie(dir.File("t.traceframe"), other);
  ImportOptions options;
  options.out_file = dir.File("t.traceframe");
  absl::StatusOr<ImportReport> report = ImportTranscripts(kCodexLegacy, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFileOrDie(dir.File("t.traceframe")), other);
  options.force = true;
  EXPECT_TRUE(ImportTranscripts(kCodexLegacy, options).ok());
}

TEST(ImportTest, LabelsRunIdAndSourceInRunStarted) {
  ImportOptions options;
  options.run_id = "run-custom";
  options.source = "ci-archive";
  options.labels = {{"task", "fix-parser"}, {"variant", "b"}};
  absl::StatusOr<std::string> text =
      ImportTranscriptText(ReadFileOrDie(kCodexLegacy), kCodexLegacy, options);
  ASSERT_TRUE(text.ok());
  const std::string first = SplitLines(*text)[0];
  EXPECT_NE(first.find("\"run_id\":\"run-custom\""), std::string::npos);
  EXPECT_NE(first.find("\"source\":\"ci-archive\""), std::string::npos);
  EXPECT_NE(first.find("\"labels\":{\"task\":\"fix-parser\",\"variant\":\"b\"}"), std::string::npos)
      << first;
}

TEST(ImportTest, RedactionFindsSecretsByShape) {
  using internal::RedactSecretsInText;
  bool redacted = false;
  EXPECT_EQ(RedactSecretsInText("key sk-proj-ABCDEFGHIJKLMNOPQRST done", &redacted),
            "key sk-[redacted] done");
  EXPECT_TRUE(redacted);
  EXPECT_EQ(RedactSecretsInText("git clone https://bob:hunter2hunter2@github.com/x", &redacted),
            "git clone https://bob:[redacted]@github.com/x");
  EXPECT_EQ(RedactSecretsInText("t=ghp_0123456789abcdefABCDEF0123", &redacted), "t=ghp_[redacted]");
  EXPECT_EQ(RedactSecretsInText("AKIAIOSFODNN7EXAMPLE1", &redacted), "AKIA[redacted]");
  EXPECT_EQ(
      RedactSecretsInText(
          "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\nz",
          &redacted),
      "a\n[redacted]\nz");
  // Words that merely contain a prefix, and short tokens, stay.
  redacted = false;
  EXPECT_EQ(RedactSecretsInText("task-runner ask-me sk-short https://host/path", &redacted),
            "task-runner ask-me sk-short https://host/path");
  EXPECT_FALSE(redacted);
}

}  // namespace
}  // namespace traceframe
