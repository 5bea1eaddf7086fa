// CLI conventions shared by every command: `help <command>`, `-V`, an example
// in each --help, closest-match hints for unknown commands and options, and
// usage errors that exit 2 except in the `hook` group (hosts read 2 as "block
// the tool call"), which exits 1.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using ::testing::HasSubstr;
using testing::RunCli;
using ::testing::StartsWith;

TEST(CliConventions, HelpCommandEqualsDashDashHelp) {
  for (const std::vector<std::string>& path :
       std::vector<std::vector<std::string>>{{"verify"}, {"hook", "ingest"}, {"ledger", "list"}}) {
    std::vector<std::string> help = {"help"};
    help.insert(help.end(), path.begin(), path.end());
    std::vector<std::string> flag = path;
    flag.push_back("--help");
    const CliResult a = RunCli(help);
    const CliResult b = RunCli(flag);
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_THAT(a.out, HasSubstr("Usage: traceframe " + path.front()));
  }
  const CliResult top = RunCli({"help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("Subcommands:"));
}

TEST(CliConventions, DashCapitalVPrintsTheVersion) {
  const CliResult v = RunCli({"-V"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, RunCli({"--version"}).out);
  EXPECT_THAT(v.out, StartsWith("traceframe "));
}

TEST(CliConventions, EveryCommandHelpShowsAnExample) {
  for (const std::vector<std::string>& path :
       std::vector<std::vector<std::string>>{{"init"},
                                             {"record"},
                                             {"finish"},
                                             {"verify"},
                                             {"summary"},
                                             {"inspect"},
                                             {"repair"},
                                             {"exec"},
                                             {"run"},
                                             {"hook"},
                                             {"hook", "ingest"},
                                             {"hook", "install"},
                                             {"policy-check"},
                                             {"render"},
                                             {"index"},
                                             {"index", "rebuild"},
                                             {"index", "check"},
                                             {"ledger"},
                                             {"ledger", "rebuild"},
                                             {"ledger", "list"},
                                             {"ledger", "show"}}) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    const CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << path.front();
    EXPECT_THAT(r.out, HasSubstr("Example:\n  traceframe ")) << path.back();
  }
}

TEST(CliConventions, UnknownCommandSuggestsTheClosest) {
  const CliResult r = RunCli({"verfy", "--file", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("Error: unknown command \"verfy\" (did you mean \"verify\"?)\n"));
  const CliResult sub = RunCli({"index", "chek", "--file", "x"});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_THAT(sub.err, HasSubstr("Error: unknown command \"chek\" (did you mean \"check\"?)"));
  const CliResult far = RunCli({"zzzzzzzz"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_THAT(far.err, StartsWith("Error: unknown command \"zzzzzzzz\"\n"));
}

TEST(CliConventions, UnknownOptionSuggestsTheClosest) {
  const CliResult r = RunCli({"verify", "--file", "x", "--jsn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("Error: unknown option \"--jsn\" (did you mean \"--json\"?)"));
}

// Every usage error CLI11 finds reads like ours: `Error: ...`, the hint,
// exit 2. A bare word where a required option was left out is named.
TEST(CliConventions, AStrayFileIsNamedWithTheOptionItWasMeantFor) {
  const CliResult r = RunCli({"verify", "run.traceframe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "Error: --file is required (did you mean --file run.traceframe?)\n"
            "Run with --help for more information.\n");
  const CliResult plain = RunCli({"summary"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_THAT(plain.err, StartsWith("Error: --file is required\n"));
}

TEST(CliConventions, NegativeCountsAreUsageErrorsNotWrapped) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"inspect", "--file", "x", "--from-seq", "-1"},
                                             {"inspect", "--file", "x", "--limit", "-1"},
                                             {"inspect", "--file", "x", "--tail", "-2"},
                                             {"verify", "--file", "x", "--max-errors", "-1"},
                                             {"verify", "--file", "x", "--threads", "-1"},
                                             {"policy-check", "--file", "x", "--max-errors", "-5"},
                                             {"ledger", "rebuild", "--dir", ".", "--threads", "-1"},
                                             {"stats", "--dir", ".", "--threads", "-1"}}) {
    const CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[args.size() - 2];
    EXPECT_THAT(r.err, HasSubstr("Error: " + args[args.size() - 2] +
                                 ": must not be negative: " + args.back()))
        << r.err;
  }
}

TEST(CliConventions, HookGroupUsageErrorsExitOne) {
  const CliResult install = RunCli({"hook", "install", "--bogus"});
  EXPECT_EQ(install.exit_code, 1);
  EXPECT_THAT(install.err, HasSubstr("Error: unknown option \"--bogus\""));
  const CliResult typo = RunCli({"hook", "ingst"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("(did you mean \"ingest\"?)"));
  EXPECT_EQ(RunCli({"hook", "ingest", "--sorce", "x"}, "", "{}").exit_code, 1);
}

}  // namespace
}  // namespace traceframe
