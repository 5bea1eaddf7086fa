// CLI tests for the wording of messages: they name the file the user gave,
// read as sentences, and refuse or warn about values that would hurt later.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::traceframe::testing::CliResult;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::RunCli;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

class CliMessagesTest : public ::testing::Test {
 protected:
  CliResult Run(const std::vector<std::string>& args) { return RunCli(args, dir_.path()); }
  TempDir dir_;
};

TEST_F(CliMessagesTest, FinishWarnsAboutAStatusOutsideTheVocabularyButRecordsIt) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  CliResult typo = Run({"finish", "--file", "t.traceframe", "--status", "sucess"});
  EXPECT_EQ(typo.exit_code, 0) << typo.err;
  EXPECT_THAT(typo.out, HasSubstr("status      sucess"));
  EXPECT_THAT(typo.err, HasSubstr("warning: status \"sucess\" is not one of success, failed,"));
  EXPECT_THAT(ReadFileOrDie(dir_.File("t.traceframe")), HasSubstr("\"status\":\"sucess\""));

  for (const char* status : {"success", "failed", "interrupted", "cancelled", "timeout"}) {
    const std::string file = std::string(status) + ".traceframe";
    ASSERT_EQ(Run({"init", "--file", file, "--run-id", "r"}).exit_code, 0);
    CliResult known = Run({"finish", "--file", file, "--status", status});
    EXPECT_EQ(known.exit_code, 0) << known.err;
    EXPECT_EQ(known.err, "") << status;
  }
  // The vocabulary is in --help.
  EXPECT_THAT(Run({"finish", "--help"}).out, HasSubstr("success, failed, error, interrupted"));
}

TEST_F(CliMessagesTest, InitRefusesABlankRunIdAsAUsageError) {
  for (const char* id : {"", "   "}) {
    CliResult r = Run({"init", "--file", "t.traceframe", "--run-id", id});
    EXPECT_EQ(r.exit_code, 2) << "run id '" << id << "'";
    EXPECT_THAT(r.err, HasSubstr("--run-id"));
    EXPECT_THAT(r.err, HasSubstr("must not be empty"));
    EXPECT_FALSE(testing::FileExists(dir_.File("t.traceframe")));
  }
}

TEST_F(CliMessagesTest, ADirectoryAsPayloadFileIsNamedAsSuch) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  CliResult r =
      Run({"record", "--file", "t.traceframe", "--kind", "error", "--payload-file", dir_.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--payload-file " + dir_.path() + " is a directory"));
  EXPECT_THAT(r.err, Not(HasSubstr("invalid JSON")));
}

TEST_F(CliMessagesTest, AnUnknownKindListsEveryKind) {
  ASSERT_EQ(Run({"init", "--file", "t.traceframe", "--run-id", "r"}).exit_code, 0);
  CliResult r = Run({"record", "--file", "t.traceframe", "--kind", "tool.cal", "--payload", "{}"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown event kind: tool.cal (expected one of run.started,"));
  EXPECT_THAT(r.err, HasSubstr("agent.guess, plan.deviation)"));
}

TEST_F(CliMessagesTest, AJsonTypeTakesItsArticle) {
  WriteFileOrDie(dir_.File("hooks.json"), "{\"hooks\":[]}\n");
  CliResult r = Run({"hook", "install", "--file", "hooks.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\"hooks\" in hooks.json is an array, not an object"));
  EXPECT_THAT(r.err, Not(HasSubstr("a array")));
}

TEST_F(CliMessagesTest, AFailedWriteNamesTheTargetNotItsTemporaryCopy) {
  // A name the file system takes (245 bytes) whose temporary copy's name
  // (".<name>.tmp-<pid>-<hex>") is over its 255-byte limit: the write fails
  // on the copy, and the message must name the file the user asked for.
  const std::string name = std::string(235, 'a') + ".traceframe";
  CliResult r = Run({"init", "--file", name, "--run-id", "r"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("failed to write " + name + ": File name too long"));
  EXPECT_THAT(r.err, Not(HasSubstr(".tmp-")));
  EXPECT_THAT(r.err, Not(HasSubstr(": :")));
}

}  // namespace
}  // namespace traceframe
