// Shared by the import tests (import_test.cc, import_real_test.cc).
#ifndef TRACEFRAME_TESTS_IMPORT_TEST_UTIL_H_
#define TRACEFRAME_TESTS_IMPORT_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>

#include "traceframe/import.h"
#include "traceframe/verify.h"

namespace traceframe::testing {

// Imports one transcript file to `out` and checks that the trace verifies;
// the session's report, or an empty one (after a test failure).
inline ImportedSession ImportFile(const std::string& input, const std::string& out,
                                  ImportOptions options = {}) {
  options.out_file = out;
  absl::StatusOr<ImportReport> report = ImportTranscripts(input, options);
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok() || report->sessions.size() != 1) return {};
  absl::StatusOr<VerifyReport> verify = VerifyTrace(out, VerifyOptions{});
  EXPECT_TRUE(verify.ok() && verify->valid) << input;
  return report->sessions[0];
}

}  // namespace traceframe::testing

#endif  // TRACEFRAME_TESTS_IMPORT_TEST_UTIL_H_
