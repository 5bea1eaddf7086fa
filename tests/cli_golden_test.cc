// The output of every read command on the example traces is byte-identical to
// tests/golden/ (made with the binary before the engine moved into layer
// folders). An intended output change regenerates the files:
//   TRACEFRAME_UPDATE_GOLDEN=1 ctest --test-dir build/release -R CliGolden
// (TRACEFRAME_GOLDEN_BIN=<binary> regenerates them with another binary.)
#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliPath;
using testing::CliResult;
using testing::FileExists;
using testing::ReadFileOrDie;
using testing::RunProgram;
using testing::TempDir;
using testing::WriteFileOrDie;

struct GoldenCase {
  const char* name;
  std::vector<std::string> args;  // "TRACE" stands for the example file
};

const std::vector<GoldenCase>& Cases() {
  static const auto* cases = new std::vector<GoldenCase>{
      {"verify", {"verify", "--file", "TRACE"}},
      {"verify_json", {"verify", "--file", "TRACE", "--json"}},
      {"verify_strict_json", {"verify", "--file", "TRACE", "--strict", "--json"}},
      {"summary", {"summary", "--file", "TRACE"}},
      {"summary_json", {"summary", "--file", "TRACE", "--json"}},
      // --classic: the earlier tool's lines, a compatibility contract
      // (these files are unchanged since they were made).
      {"inspect", {"inspect", "--file", "TRACE", "--classic"}},
      {"inspect_json", {"inspect", "--file", "TRACE", "--json"}},
      {"inspect_tail", {"inspect", "--file", "TRACE", "--tail", "2", "--classic"}},
      {"inspect_from_seq",
       {"inspect", "--file", "TRACE", "--from-seq", "3", "--limit", "2", "--classic"}},
      {"inspect_kind", {"inspect", "--file", "TRACE", "--kind", "tool.call", "--classic"}},
      {"inspect_rows", {"inspect", "--file", "TRACE"}},
      {"inspect_wide", {"inspect", "--file", "TRACE", "--wide"}},
      {"policy_check", {"policy-check", "--file", "TRACE"}},
      {"policy_check_json", {"policy-check", "--file", "TRACE", "--json"}},
      {"index_check_json", {"index", "check", "--file", "TRACE", "--json"}},
      {"render", {"render", "--file", "TRACE", "--html", "page.html"}},
  };
  return *cases;
}

std::string Transcript(const CliResult& r) {
  return "exit: " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

class CliGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CliGoldenTest, ReadCommandsMatchGoldenOutput) {
  const std::string example = GetParam();
  const char* update = std::getenv("TRACEFRAME_UPDATE_GOLDEN");
  const char* other_bin = std::getenv("TRACEFRAME_GOLDEN_BIN");
  const std::string bin = other_bin != nullptr ? other_bin : CliPath();
  int compared = 0;
  for (const GoldenCase& c : Cases()) {
    // A fresh copy per command: a read command may refresh the derived index,
    // which must neither touch examples/ nor leak into the next command.
    TempDir dir;
    const std::string src = std::string(TRACEFRAME_SOURCE_DIR) + "/examples/" + example;
    WriteFileOrDie(dir.File(example), ReadFileOrDie(src));
    if (FileExists(src + ".idx"))
      WriteFileOrDie(dir.File(example + ".idx"), ReadFileOrDie(src + ".idx"));
    std::vector<std::string> argv = {bin};
    for (const std::string& a : c.args) argv.push_back(a == "TRACE" ? example : a);
    CliResult r = RunProgram(argv, dir.path());
    std::string got = Transcript(r);
    if (std::string(c.name) == "render" && FileExists(dir.File("page.html"))) {
      got += "--- page.html\n" + ReadFileOrDie(dir.File("page.html"));
    }
    const std::string golden =
        std::string(TRACEFRAME_SOURCE_DIR) + "/tests/golden/" + example + "." + c.name + ".txt";
    if (update != nullptr && std::string(update) == "1") {
      WriteFileOrDie(golden, got);
      continue;
    }
    ASSERT_TRUE(FileExists(golden)) << golden << " is missing (see the top of this file)";
    EXPECT_EQ(got, ReadFileOrDie(golden)) << example << " " << c.name;
    ++compared;
  }
  if (update == nullptr) {
    EXPECT_EQ(compared, static_cast<int>(Cases().size()));
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, CliGoldenTest,
                         ::testing::Values("agent-run.traceframe", "agent-session.traceframe"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(0, param.param.find('.'));
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace traceframe
