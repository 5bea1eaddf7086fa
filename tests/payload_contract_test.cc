// The trace contract enforced by the library itself (event.h, writer.h):
// every entry point checks payloads and batch order, and refusals are told
// apart by type.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/event.h"
#include "traceframe/recorder.h"
#include "traceframe/verify.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::traceframe::testing::EventLine;
using ::traceframe::testing::ReadFileOrDie;
using ::traceframe::testing::SplitLines;
using ::traceframe::testing::TempDir;
using ::traceframe::testing::WriteFileOrDie;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::string NewTrace(const TempDir& dir) {
  const std::string path = dir.File("t.traceframe");
  auto init = InitTrace(path, "run-1", "{}", false);
  EXPECT_TRUE(init.ok()) << init.status();
  return path;
}

TEST(PayloadContractTest, ValidateEventPayloadRules) {
  EXPECT_TRUE(ValidateEventPayload(EventKind::kToolCall, "{\"a\":[1,{\"b\":2}]}").ok());
  EXPECT_TRUE(ValidateEventPayload(EventKind::kModelCall, "\"text\"").ok());
  EXPECT_TRUE(ValidateEventPayload(EventKind::kRunFinished, "{\"status\":\"success\"}").ok());
  // Not one JSON value.
  EXPECT_EQ(ValidateEventPayload(EventKind::kToolCall, "{").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ValidateEventPayload(EventKind::kToolCall, "{} {}").ok());
  // A repeated key, at the top and nested; the error says where.
  absl::Status dup = ValidateEventPayload(EventKind::kPermissionDecision,
                                          "{\"decision\":\"allow\",\"decision\":\"deny\"}");
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(dup), HasSubstr("duplicate key \"decision\""));
  absl::Status nested = ValidateEventPayload(EventKind::kToolCall, "{\"a\":[0,{\"x\":1,\"x\":2}]}");
  EXPECT_THAT(Msg(nested), HasSubstr("$.a[1]"));
  // A large object (sorted path) with a repeat.
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += "\"k7\":0}";
  EXPECT_THAT(Msg(ValidateEventPayload(EventKind::kToolCall, big)), HasSubstr("\"k7\""));
  // Same key in different objects is fine.
  EXPECT_TRUE(ValidateEventPayload(EventKind::kToolCall, "{\"a\":{\"x\":1},\"b\":{\"x\":1}}").ok());
  // run.finished: a string status at the top, not somewhere inside (issue 11
  // item 14: a substring check accepted this).
  EXPECT_FALSE(ValidateEventPayload(EventKind::kRunFinished, "{\"x\":{\"status\":\"n\"}}").ok());
  EXPECT_FALSE(ValidateEventPayload(EventKind::kRunFinished, "{\"status\":1}").ok());
  EXPECT_FALSE(ValidateEventPayload(EventKind::kRunFinished, "[\"status\"]").ok());
}

TEST(PayloadContractTest, CanonicalEventPayloadMinifies) {
  auto c = CanonicalEventPayload(EventKind::kToolCall, " { \"b\" : 1 , \"a\" : [ 2 ] } ");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*c, "{\"b\":1,\"a\":[2]}");
}

TEST(PayloadContractTest, AppendEventsEnforcesPayloadAndOrder) {
  TempDir dir;
  const std::string path = NewTrace(dir);
  const std::string before = ReadFileOrDie(path);
  EXPECT_EQ(AppendEvent(path, EventKind::kToolCall, "{not json").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendEvent(path, EventKind::kToolCall, "{\"a\":1,\"a\":2}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      AppendEvent(path, EventKind::kRunFinished, "{\"x\":{\"status\":\"n\"}}").status().code(),
      absl::StatusCode::kInvalidArgument);
  // run.started in the middle.
  auto started = AppendEvents(path, {{EventKind::kToolCall, "{}"}, {EventKind::kRunStarted, "{}"}});
  EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(started.status()), HasSubstr("event 2 of 2"));
  // Events after run.finished within one batch.
  auto after = AppendEvents(
      path, {{EventKind::kRunFinished, "{\"status\":\"success\"}"}, {EventKind::kToolCall, "{}"}});
  EXPECT_EQ(after.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(after.status()), HasSubstr("run.finished must be the last event"));
  // Nothing was written by any refused call.
  EXPECT_EQ(ReadFileOrDie(path), before);
  // The creating form checks before it creates.
  const std::string fresh = dir.File("fresh.traceframe");
  EXPECT_FALSE(
      AppendEventsCreating(fresh, "r", "{}", {{EventKind::kToolCall, "{\"a\":1,\"a\":1}"}}).ok());
  EXPECT_FALSE(testing::FileExists(fresh));
  EXPECT_FALSE(InitTrace(fresh, "r", "{\"a\":1,\"a\":1}", false).ok());
  EXPECT_FALSE(testing::FileExists(fresh));
}

TEST(PayloadContractTest, RunFinishedRefusalIsTyped) {
  TempDir dir;
  const std::string path = NewTrace(dir);
  ASSERT_TRUE(AppendEvent(path, EventKind::kRunFinished, "{\"status\":\"success\"}").ok());
  absl::Status refused = AppendEvent(path, EventKind::kToolCall, "{}").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsRunFinishedError(refused));
  // Another FailedPrecondition (a torn tail) is not "run finished", even with
  // the same words in its message.
  const std::string torn = dir.File("torn.traceframe");
  WriteFileOrDie(torn, EventLine("r", "e1", "run.started", 1, 0, "{}") +
                           "\n{\"cannot append after run.finished");
  absl::Status other = AppendEvent(torn, EventKind::kToolCall, "{}").status();
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsRunFinishedError(other));
  EXPECT_FALSE(IsRunFinishedError(
      absl::FailedPreconditionError("cannot append after run.finished: x is closed (seq 1)")));
}

TEST(PayloadContractTest, RecorderEnforcesTheSameContract) {
  TempDir dir;
  const std::string path = dir.File("rec.traceframe");
  auto recorder = TraceRecorder::Start(path, "run-r", false);
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  EXPECT_EQ((*recorder)->Record(EventKind::kToolCall, "{\"a\":1,\"a\":2}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      (*recorder)->Record(EventKind::kRunFinished, "{\"x\":{\"status\":\"n\"}}").status().code(),
      absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*recorder)->Finish("success").ok());
  EXPECT_TRUE(IsRunFinishedError((*recorder)->Record(EventKind::kToolCall, "{}").status()));
  RecorderOptions options;
  options.started_payload_json = "{\"a\":1,\"a\":2}";
  EXPECT_EQ(TraceRecorder::Start(dir.File("r2.traceframe"), "r2", false, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PayloadContractTest, VerifyFlagsDuplicateKeysAsWarningAndFailsStrict) {
  TempDir dir;
  const std::string path = dir.File("dup.traceframe");
  WriteFileOrDie(path, EventLine("r", "e0", "run.started", 1, 0, "{}") + "\n" +
                           EventLine("r", "e1", "permission.decision", 2, 1,
                                     "{\"decision\":\"allow\",\"decision\":\"deny\"}") +
                           "\n" +
                           EventLine("r", "e2", "run.finished", 3, 2, "{\"status\":\"success\"}") +
                           "\n");
  VerifyOptions options;
  auto report = VerifyTrace(path, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->valid);
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_EQ(report->warnings[0].code, VerifyIssueCode::kDuplicateKey);
  EXPECT_EQ(VerifyIssueCodeName(report->warnings[0].code), "duplicate_key");
  EXPECT_EQ(report->warnings[0].line_number, 2u);
  EXPECT_THAT(report->warnings[0].message, HasSubstr("\"decision\""));
  options.strict = true;
  report = VerifyTrace(path, options);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->valid);
}

}  // namespace
}  // namespace traceframe
