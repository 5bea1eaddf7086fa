// `traceframe import` through the built binary (docs/import.md): exit codes,
// output, and that what it writes passes `traceframe verify`.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace traceframe::testing {
namespace {

const std::string kData = std::string(TRACEFRAME_SOURCE_DIR) + "/tests/data/import";

TEST(CliImportTest, NotATranscriptExitsOneAndWritesNothing) {
  TempDir dir;
  WriteFileOrDie(dir.File("x.jsonl"), "{\"name\":\"not a transcript\"}\n");
  CliResult r = RunCli({"import", "--input", dir.File("x.jsonl"), "--dir", dir.File("runs")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error: not a Claude Code or Codex transcript: "), std::string::npos)
      << r.err;
  EXPECT_FALSE(FileExists(dir.File("runs")));
  r = RunCli({"import", "--input", dir.File("missing.jsonl")});
  EXPECT_EQ(r.exit_code, 1);
  r = RunCli({"import", "--input", dir.File("x.jsonl"), "--format", "cursor"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown import format: cursor"), std::string::npos) << r.err;
}

TEST(CliImportTest, DirectoryImportVerifiesAndReportsJson) {
  TempDir dir;
  ASSERT_EQ(RunProgram({"cp", "-r", kData, dir.File("in")}).exit_code, 0);
  WriteFileOrDie(dir.File("in/broken.jsonl"), "garbage\n");
  CliResult r = RunCli({"import", "--input", dir.File("in"), "--dir", dir.File("runs"), "--json",
                        "--label", "task=t1"});
  // One file is not a transcript: reported, the others (the five of claude/
  // and codex/, the three of real/) imported.
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("\"imported\":8,\"skipped\":0,\"failed\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("{\"line\":23,\"reason\":\"unknown type `some-future-type`\"}"),
            std::string::npos)
      << r.out;
  for (const char* run :
       {"run-0daf8cb5-f685-486f-a3f7-90858e84289f",
        "run-0daf8cb5-f685-486f-a3f7-90858e84289f-agent-ad92ef969c5ba71db",
        "run-0199a213-81c0-7800-8aa1-bbab2a035a53", "run-019db2bf-92cb-7771-b828-7eb85da11efe",
        "run-5e3c7c4b-0d2e-4c36-9f1e-2b1f6e0e8a11",
        "run-2b9d8116-e1de-4038-a101-5fd575fdcb0e-agent-a7b1cd4effbcbdebe",
        "run-68129956-8b38-4191-b109-da7a52b2dfe4", "run-ab522dff-59fa-4c3c-a042-af545e871e28"}) {
    const std::string trace = dir.File(std::string("runs/") + run + ".traceframe");
    CliResult v = RunCli({"verify", "--file", trace});
    EXPECT_EQ(v.exit_code, 0) << run << ": " << v.out << v.err;
    EXPECT_NE(ReadFileOrDie(trace).find("\"labels\":{\"task\":\"t1\"}"), std::string::npos);
  }
  // Second run: everything current.
  r = RunCli({"import", "--input", dir.File("in"), "--dir", dir.File("runs")});
  EXPECT_NE(r.out.find("skipped     8 (current)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("failed: "), std::string::npos);
}

TEST(CliImportTest, SingleFileSummaryAndSummaryCommand) {
  TempDir dir;
  const std::string input =
      kData + "/codex/rollout-2025-10-01T10-00-00-0199a213-81c0-7800-8aa1-bbab2a035a53.jsonl";
  CliResult r = RunCli({"import", "--input", input, "--file", dir.File("t.traceframe")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tool_calls  11 (6 failed)"), std::string::npos) << r.out;
  CliResult s = RunCli({"summary", "--file", dir.File("t.traceframe")});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("status: imported"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("tool_failures: 6"), std::string::npos) << s.out;
  // --file and --dir together is a usage error.
  r = RunCli({"import", "--input", input, "--file", dir.File("a"), "--dir", dir.File("b")});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace traceframe::testing
