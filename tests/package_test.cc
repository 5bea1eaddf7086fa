// The installed package works for an outside project: `cmake --install` of
// this build into a temp prefix, then a tiny CMake project that does
// find_package(traceframe) and links traceframe::traceframe is configured,
// built and run. The outside project sets no C++ standard and its compiler
// starts at C++14: C++17 must come from the exported target.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace traceframe {
namespace {

using testing::CliResult;
using ::testing::HasSubstr;
using testing::RunProgram;
using testing::TempDir;
using testing::WriteFileOrDie;

constexpr char kOutsideCMake[] = R"(cmake_minimum_required(VERSION 3.20)
project(outside LANGUAGES CXX)
find_package(traceframe 0.2 REQUIRED)
add_executable(outside main.cc)
target_link_libraries(outside PRIVATE traceframe::traceframe)
)";

constexpr char kOutsideMain[] = R"(#include <cstdio>
#include <thread>
#include <vector>

#include "traceframe/recorder.h"
#include "traceframe/summary.h"
#include "traceframe/verify.h"
#include "traceframe/version.h"

#if __cplusplus < 201703L
#error "traceframe::traceframe did not bring C++17"
#endif
static_assert(TRACEFRAME_VERSION_MAJOR >= 0, "generated version header");

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto rec = traceframe::TraceRecorder::Start(argv[1], "run-outside", true);
  if (!rec.ok()) {
    std::fprintf(stderr, "start: %s\n", rec.status().ToString().c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) (void)(*rec)->ModelCall("local", "m");
    });
  }
  for (auto& th : threads) th.join();
  if (!(*rec)->ToolCall("shell", "true", {"true"}).ok()) return 1;
  if (!(*rec)->ToolResult("shell", "true", true, 0, 1).ok()) return 1;
  if (!(*rec)->Finish("success").ok()) return 1;
  rec->reset();
  traceframe::VerifyOptions options;
  auto report = traceframe::VerifyTrace(argv[1], options);
  if (!report.ok() || !report->valid) return 1;
  auto summary = traceframe::SummarizeTrace(argv[1]);
  if (!summary.ok()) return 1;
  std::fputs(traceframe::FormatSummaryText(*summary).c_str(), stdout);
  return 0;
}
)";

TEST(PackageTest, OutsideProjectBuildsAgainstTheInstalledPackage) {
  TempDir dir;
  const std::string prefix = dir.File("prefix");
  CliResult install = RunProgram({"cmake", "--install", TRACEFRAME_BINARY_DIR, "--prefix", prefix});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;

  const std::string src = dir.File("outside");
  const std::string build = dir.File("outside-build");
  CliResult mk = RunProgram({"mkdir", "-p", src});
  ASSERT_EQ(mk.exit_code, 0);
  WriteFileOrDie(src + "/CMakeLists.txt", kOutsideCMake);
  WriteFileOrDie(src + "/main.cc", kOutsideMain);
  CliResult configure =
      RunProgram({"cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                  "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_CXX_FLAGS=-std=c++14"});
  ASSERT_EQ(configure.exit_code, 0) << configure.out << configure.err;
  CliResult compile = RunProgram({"cmake", "--build", build, "-j", "1"});
  ASSERT_EQ(compile.exit_code, 0) << compile.out << compile.err;

  const std::string trace = dir.File("runs/outside.traceframe");
  CliResult run = RunProgram({build + "/outside", trace});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("run_id: run-outside\nstatus: success\nevents: 204\n"));
  EXPECT_THAT(run.out, HasSubstr("model_calls: 200\n"));

  // The installed CLI reads what the outside program wrote.
  CliResult verify = RunProgram({prefix + "/bin/traceframe", "verify", "--file", trace});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace traceframe
