// `traceframe export --format otlp-json` (docs/otel.md): arguments, output
// to stdout or --out, exit codes, and the error for a bad trace.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/export.h"

namespace traceframe {
namespace {

using testing::CliResult;
using testing::EventLine;
using ::testing::HasSubstr;
using testing::RunCli;
using testing::TempDir;

const std::string kExample = std::string(TRACEFRAME_SOURCE_DIR) + "/examples/agent-run.traceframe";

TEST(CliExportTest, StdoutAndOutHoldTheSameBytes) {
  TempDir dir;
  CliResult to_stdout = RunCli({"export", "--format", "otlp-json", "--file", kExample});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(testing::SplitLines(to_stdout.out).size(), 1u);
  EXPECT_THAT(to_stdout.out, HasSubstr(OtlpTraceId("run-agent-demo")));

  const std::string out = dir.File("sub/otlp.jsonl");
  CliResult to_file = RunCli({"export", "--format", "otlp-json", "--file", kExample, "--out", out});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(testing::ReadFileOrDie(out), to_stdout.out);
  EXPECT_THAT(to_file.out, HasSubstr("traces      1"));
  EXPECT_THAT(to_file.out, HasSubstr(std::string(kOtlpSchemaUrl)));
}

TEST(CliExportTest, BadTraceIsNamedOthersExportedExitOne) {
  TempDir dir;
  const std::string bad = dir.File("bad.traceframe");
  testing::WriteFileOrDie(bad, EventLine("b", "s", "run.started", 1, 0, "{}") + "\n{oops}\n");
  const std::string out = dir.File("otlp.jsonl");
  CliResult r =
      RunCli({"export", "--format", "otlp-json", "--file", bad, "--file", kExample, "--out", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("Error: failed to export " + bad + ": invalid trace event at line 2"));
  EXPECT_THAT(r.out, HasSubstr("failed      1"));
  EXPECT_EQ(testing::SplitLines(testing::ReadFileOrDie(out)).size(), 1u);
}

TEST(CliExportTest, ClosedStdoutStopsQuietly) {
  // Many traces so the export outlives `head`; EPIPE ends it with exit 0.
  TempDir dir;
  std::string args;
  for (int i = 0; i < 400; ++i) args += " --file " + kExample;
  CliResult r = testing::RunProgram({"bash", "-c",
                                     testing::CliPath() + " export --format otlp-json" + args +
                                         " | head -c 10 >/dev/null; exit ${PIPESTATUS[0]}"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(CliExportTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({"export", "--format", "otlp-json"}).exit_code, 2);
  EXPECT_EQ(RunCli({"export", "--format", "zipkin", "--file", kExample}).exit_code, 2);
  EXPECT_EQ(RunCli({"export", "--file", kExample}).exit_code, 2);
  TempDir dir;
  EXPECT_EQ(RunCli({"export", "--format", "otlp-json", "--file", kExample, "--dir", dir.path()})
                .exit_code,
            2);
}

TEST(CliExportTest, MissingInputsFailClearly) {
  TempDir dir;
  CliResult r = RunCli({"export", "--format", "otlp-json", "--dir", dir.File("nope")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: failed to read trace dir"));
  CliResult f = RunCli({"export", "--format", "otlp-json", "--file", dir.File("nope.traceframe")});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_THAT(f.err, HasSubstr("nope.traceframe"));
  EXPECT_TRUE(f.out.empty());
}

}  // namespace
}  // namespace traceframe
