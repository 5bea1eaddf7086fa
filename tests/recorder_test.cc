#include "traceframe/recorder.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "test_util.h"
#include "traceframe/index.h"
#include "traceframe/json.h"
#include "traceframe/repair.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/usage.h"
#include "traceframe/verify.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::SplitLines;
using testing::TempDir;

std::string Msg(const absl::Status& s) { return std::string(ToStd(s.message())); }

VerifyReport VerifyOrDie(const std::string& path, bool allow_open) {
  VerifyOptions options;
  options.allow_open = allow_open;
  options.strict = true;  // seq gaps and ts going backwards are failures too
  absl::StatusOr<VerifyReport> report = VerifyTrace(path, options);
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return {};
  for (const VerifyIssue& issue : report->errors) ADD_FAILURE() << DescribeIssue(issue);
  for (const VerifyIssue& issue : report->warnings) ADD_FAILURE() << DescribeIssue(issue);
  return *report;
}

// The recorder serializes lines itself (constant parts cached); they must be
// exactly what AppendEventLine, the CLI's serializer, writes for the same event.
void ExpectSameBytesAsAppendEventLine(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(line).get(doc)) << line;
  Event event;
  event.version = static_cast<int>(doc["version"].get_int64().value());
  event.run_id = std::string(doc["run_id"].get_string().value());
  event.event_id = std::string(doc["event_id"].get_string().value());
  event.kind = *ParseEventKind(doc["kind"].get_string().value());
  event.ts_ms = doc["ts_ms"].get_int64().value();
  event.seq = doc["seq"].get_uint64().value();
  const size_t at = line.find(",\"payload\":");
  ASSERT_NE(at, std::string::npos);
  event.payload_json = line.substr(at + 11, line.size() - at - 12);
  EXPECT_EQ(SerializeEventLine(event), line + "\n");
}

// The stored sidecar index equals a fresh scan of the trace.
void ExpectIndexCurrent(const std::string& path) {
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
}

RecorderOptions Fast(SyncPolicy sync = SyncPolicy::kBatch) {
  RecorderOptions options;
  options.sync = sync;
  options.lock_timeout = absl::Milliseconds(200);
  options.started_payload_json = "{\"created_by\":\"recorder_test\",\"status\":\"started\"}";
  return options;
}

TEST(RecorderTest, HelpersWriteTheReferencePayloads) {
  TempDir dir;
  const std::string path = dir.File("runs/h.traceframe");
  // A run id that needs escaping.
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-\"h\"\\\xff", false);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE((*rec)->ModelCall("openai", "gpt-5.5").ok());
  ASSERT_TRUE((*rec)->PermissionDecision("fs.write:README.md", "allow").ok());
  ASSERT_TRUE((*rec)->ToolCall("shell", "cargo test", {"cargo", "test"}).ok());
  ASSERT_TRUE((*rec)->ToolResult("shell", "cargo test", true, 0, 320).ok());
  ASSERT_TRUE((*rec)->ToolResult("shell", "sleep", false, std::nullopt, std::nullopt).ok());
  ASSERT_TRUE((*rec)->Error("bad \"thing\"\n").ok());
  absl::StatusOr<uint64_t> seq =
      (*rec)->Record(EventKind::kModelCall, " { \"b\" : 1 , \"a\" : [ 2 ] } ");
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_EQ(*seq, 7u);
  EXPECT_EQ((*rec)->last_seq(), 7u);
  ASSERT_TRUE((*rec)->Finish("success", "harness completed").ok());
  EXPECT_EQ((*rec)->run_id(), "run-\"h\"\\\xEF\xBF\xBD");
  rec->reset();

  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 9u);
  for (const std::string& line : lines) ExpectSameBytesAsAppendEventLine(line);
  EXPECT_THAT(lines[0], HasSubstr("\"kind\":\"run.started\",\"ts_ms\":"));
  EXPECT_THAT(lines[0], HasSubstr("\"created_by\":\"traceframe\""));
  EXPECT_THAT(lines[1],
              HasSubstr("\"seq\":1,\"payload\":{\"model\":\"gpt-5.5\",\"provider\":\"openai\"}}"));
  EXPECT_THAT(
      lines[2],
      HasSubstr("\"payload\":{\"capability\":\"fs.write:README.md\",\"decision\":\"allow\"}}"));
  EXPECT_THAT(lines[3], HasSubstr("\"payload\":{\"argv\":[\"cargo\",\"test\"],\"command\":\"cargo "
                                  "test\",\"tool\":\"shell\"}}"));
  EXPECT_THAT(
      lines[4],
      HasSubstr(
          "\"payload\":{\"command\":\"cargo "
          "test\",\"duration_ms\":320,\"exit_code\":0,\"success\":true,\"tool\":\"shell\"}}"));
  EXPECT_THAT(lines[5], HasSubstr("\"payload\":{\"command\":\"sleep\",\"duration_ms\":null,\"exit_"
                                  "code\":null,\"success\":false,\"tool\":\"shell\"}}"));
  EXPECT_THAT(lines[6], HasSubstr("\"payload\":{\"message\":\"bad \\\"thing\\\"\\n\"}}"));
  EXPECT_THAT(lines[7], HasSubstr("\"seq\":7,\"payload\":{\"b\":1,\"a\":[2]}}"));
  EXPECT_THAT(lines[8], HasSubstr("\"kind\":\"run.finished\""));
  EXPECT_THAT(lines[8],
              HasSubstr("\"payload\":{\"status\":\"success\",\"summary\":\"harness completed\"}}"));

  const VerifyReport report = VerifyOrDie(path, false);
  EXPECT_TRUE(report.valid);
  ExpectIndexCurrent(path);
  absl::StatusOr<TraceSummary> summary = SummarizeTrace(path);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status, "success");
  EXPECT_EQ(summary->tool_failures, 1u);
}

// Every event exactly once, seq contiguous, and a strict verify (no seq gap,
// no ts going backwards) with many producers racing through a small ring.
void HammerAndCheck(SyncPolicy sync, size_t ring, int threads, int per_thread) {
  TempDir dir;
  const std::string path = dir.File("hammer.traceframe");
  RecorderOptions options = Fast(sync);
  options.ring_capacity = ring;
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-hammer", false, options);
  ASSERT_TRUE(rec.ok()) << rec.status();
  std::vector<std::thread> workers;
  std::vector<int> failures(threads, 0);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string provider = Cat("t", t);
      for (int i = 0; i < per_thread; ++i) {
        if (!(*rec)->ModelCall(provider, Cat(i)).ok()) ++failures[t];
      }
    });
  }
  for (std::thread& w : workers) w.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  ASSERT_TRUE((*rec)->Finish("success").ok());
  const uint64_t total = static_cast<uint64_t>(threads) * per_thread;
  EXPECT_EQ((*rec)->last_seq(), total + 1);
  EXPECT_EQ((*rec)->stats().events_written, total + 1);
  rec->reset();

  const VerifyReport report = VerifyOrDie(path, false);
  EXPECT_TRUE(report.valid);
  EXPECT_EQ(report.events, total + 2);
  ExpectIndexCurrent(path);

  // Read it back: seq = line number - 1, and each (thread, i) exactly once.
  std::vector<std::vector<bool>> seen(threads, std::vector<bool>(per_thread, false));
  simdjson::dom::parser parser;
  simdjson::padded_string text = simdjson::padded_string::load(path);
  uint64_t expected_seq = 0;
  uint64_t model_calls = 0;
  for (simdjson::dom::element doc : parser.parse_many(text)) {
    uint64_t seq = doc["seq"].get_uint64().value();
    ASSERT_EQ(seq, expected_seq);
    ++expected_seq;
    std::string_view kind = doc["kind"].get_string().value();
    if (kind != "model.call") continue;
    std::string_view provider = doc["payload"]["provider"].get_string().value();
    std::string_view model = doc["payload"]["model"].get_string().value();
    const int t = std::atoi(std::string(provider.substr(1)).c_str());
    const int i = std::atoi(std::string(model).c_str());
    ASSERT_GE(t, 0);
    ASSERT_LT(t, threads);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, per_thread);
    ASSERT_FALSE(seen[t][i]) << "duplicate t" << t << " " << i;
    seen[t][i] = true;
    ++model_calls;
  }
  EXPECT_EQ(model_calls, total);
  EXPECT_EQ(expected_seq, total + 2);
}

// The helpers write their payloads straight into the line with literal keys;
// on strings that need every kind of escaping (and on plain ones, long and
// short, which take the fast path) they equal what JsonObjectWriter writes.
TEST(RecorderTest, HelperPayloadsEqualJsonObjectWriterOnTrickyStrings) {
  const std::vector<std::string> strings = {
      "",
      "plain",
      "exactly sixteen!",
      "a plain ascii string longer than sixteen bytes, taking the SIMD path",
      "quote \" and backslash \\ and slash /",
      std::string("nul \0 in the middle", 19),
      "controls \x01\x1f\b\f\n\r\t end",
      "0123456789abcde\"",  // the first escape right after a 16-byte block
      "0123456789abcdef\n",
      "utf-8 \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 ok",
      "invalid \xff\xfe and truncated \xE2\x82",
      "\xED\xA0\x80 surrogate, then a long tail of ascii text after it"};
  TempDir dir;
  const std::string path = dir.File("tricky.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-tricky", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  std::vector<std::string> expected;
  for (const std::string& s : strings) {
    ASSERT_TRUE((*rec)->Error(s).ok());
    std::string payload;
    JsonObjectWriter(&payload).String("message", s).Finish();
    expected.push_back(payload);

    ASSERT_TRUE((*rec)->ModelCall(s, s + "x").ok());
    payload.clear();
    JsonObjectWriter(&payload).String("model", s + "x").String("provider", s).Finish();
    expected.push_back(payload);

    TokenUsage usage;
    usage.input_tokens = 12;
    usage.output_tokens = 34;
    ASSERT_TRUE((*rec)->ModelCall(s, s, usage).ok());
    payload.clear();
    JsonObjectWriter(&payload)
        .String("model", s)
        .String("provider", s)
        .Raw("usage", UsageJson(usage))
        .Finish();
    expected.push_back(payload);

    ASSERT_TRUE((*rec)->PermissionDecision(s, "allow").ok());
    payload.clear();
    JsonObjectWriter(&payload).String("capability", s).String("decision", "allow").Finish();
    expected.push_back(payload);

    ASSERT_TRUE((*rec)->ToolCall(s, s, {s, "b", ""}).ok());
    payload = "{\"argv\":[" + JsonString(s) + ",\"b\",\"\"],\"command\":" + JsonString(s) +
              ",\"tool\":" + JsonString(s) + "}";
    expected.push_back(payload);

    ASSERT_TRUE((*rec)->ToolResult(s, s, false, -3, std::nullopt).ok());
    payload.clear();
    JsonObjectWriter(&payload)
        .String("command", s)
        .Null("duration_ms")
        .Int("exit_code", -3)
        .Bool("success", false)
        .String("tool", s)
        .Finish();
    expected.push_back(payload);
  }
  rec->reset();
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), expected.size() + 1);
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& line = lines[i + 1];
    ExpectSameBytesAsAppendEventLine(line);
    const size_t at = line.find(",\"payload\":");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(line.substr(at + 11, line.size() - at - 12), expected[i]) << "event " << i + 1;
  }
  EXPECT_TRUE(VerifyOrDie(path, true).valid);
}

TEST(RecorderTest, EightThreadsHundredThousandEventsEachExactlyOnce) {
  HammerAndCheck(SyncPolicy::kBatch, 8192, 8, 100000);
}

TEST(RecorderTest, TinyRingBackpressureNeverDrops) {
  HammerAndCheck(SyncPolicy::kNone, 2, 4, 5000);
}

TEST(RecorderTest, EverySyncPolicyGroupCommits) { HammerAndCheck(SyncPolicy::kEvery, 64, 4, 300); }

// durable_seq()/WaitDurableSeq (the acks of record --stream): the watermark
// starts at the trace's last seq, only moves forward, reaches every recorded
// seq without a Flush() (the policy's own pace), and a waiter that asks for
// more than was recorded times out with the current value.
TEST(RecorderTest, DurableSeqWatermarkFollowsConcurrentProducersWithoutFlush) {
  for (SyncPolicy sync : {SyncPolicy::kNone, SyncPolicy::kBatch, SyncPolicy::kEvery}) {
    TempDir dir;
    const std::string path = dir.File("wm.traceframe");
    absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
        TraceRecorder::Start(path, "run-wm", false, Fast(sync));
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_EQ((*rec)->durable_seq(), 0u);
    absl::StatusOr<uint64_t> idle = (*rec)->WaitDurableSeq(0, absl::Milliseconds(20));
    ASSERT_TRUE(idle.ok());
    EXPECT_EQ(*idle, 0u);
    constexpr int kThreads = 3;
    constexpr int kPerThread = 2000;
    constexpr uint64_t kTotal = kThreads * kPerThread;
    std::atomic<bool> watcher_ok{true};
    std::thread watcher([&] {
      uint64_t seen = 0;
      while (seen < kTotal) {
        absl::StatusOr<uint64_t> now = (*rec)->WaitDurableSeq(seen, absl::Seconds(10));
        if (!now.ok() || *now < seen || *now == seen) {
          watcher_ok = false;  // went back, or no progress within 10 s
          return;
        }
        // Whatever is durable is in the file already.
        seen = *now;
      }
    });
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
      producers.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i)
          ASSERT_TRUE((*rec)->ModelCall(Cat("t", t), Cat(i)).ok());
      });
    }
    for (std::thread& p : producers) p.join();
    watcher.join();
    EXPECT_TRUE(watcher_ok) << SyncPolicyName(sync);
    EXPECT_EQ((*rec)->durable_seq(), kTotal);
    EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), kTotal + 1);
    rec->reset();

    // Open: the watermark starts at the trace's last seq.
    absl::StatusOr<std::unique_ptr<TraceRecorder>> again = TraceRecorder::Open(path, Fast(sync));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->durable_seq(), kTotal);
    absl::StatusOr<uint64_t> seq = (*again)->Record(EventKind::kError, "{}", 4102444800000);
    ASSERT_TRUE(seq.ok());
    absl::StatusOr<uint64_t> after = (*again)->WaitDurableSeq(kTotal, absl::Seconds(10));
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(*after, kTotal + 1);
    EXPECT_FALSE((*again)->Record(EventKind::kError, "{}", -1).ok());
    EXPECT_FALSE((*again)->Record(EventKind::kError, "{bad", 1).ok());
    EXPECT_FALSE((*again)->Record(EventKind::kRunStarted, "{}", 1).ok());
    again->reset();
    EXPECT_THAT(SplitLines(ReadFileOrDie(path)).back(), HasSubstr("\"ts_ms\":4102444800000,"));
  }
}

TEST(RecorderTest, FinishTwiceIsAnErrorAndEventsAfterFinishAreRefused) {
  TempDir dir;
  const std::string path = dir.File("f.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-f", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE((*rec)->Error("boom").ok());
  ASSERT_TRUE((*rec)->Finish("failed").ok());
  absl::Status again = (*rec)->Finish("success");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(again), HasSubstr("cannot append after run.finished"));
  EXPECT_EQ((*rec)->ModelCall("p", "m").code(), absl::StatusCode::kFailedPrecondition);
  // A valid run.finished payload (the contract is checked first: "{}" has
  // no status) is refused because the run is finished.
  EXPECT_EQ((*rec)->Record(EventKind::kRunFinished, "{\"status\":\"x\"}").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*rec)->Flush().ok());
  EXPECT_EQ((*rec)->last_seq(), 2u);
  rec->reset();
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("{\"status\":\"failed\"}"));
  EXPECT_TRUE(VerifyOrDie(path, false).valid);

  // A finished trace cannot be continued.
  absl::StatusOr<std::unique_ptr<TraceRecorder>> reopened = TraceRecorder::Open(path, Fast());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(reopened.status()), HasSubstr("cannot append after run.finished"));
}

TEST(RecorderTest, RecordValidatesAndRefusesRunStarted) {
  TempDir dir;
  const std::string path = dir.File("r.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-r", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  absl::StatusOr<uint64_t> started = (*rec)->Record(EventKind::kRunStarted, "{}");
  EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(started.status()), HasSubstr("run.started"));
  absl::StatusOr<uint64_t> bad = (*rec)->Record(EventKind::kToolCall, "{\"a\":");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("invalid JSON payload"));
  absl::StatusOr<uint64_t> two = (*rec)->Record(EventKind::kToolCall, "{} {}");
  EXPECT_FALSE(two.ok());
  // A bad payload consumes no seq.
  absl::StatusOr<uint64_t> ok = (*rec)->Record(EventKind::kToolCall, "null");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, 1u);
  // run.finished through Record closes the run like Finish.
  absl::StatusOr<uint64_t> fin =
      (*rec)->Record(EventKind::kRunFinished, "{\"status\":\"success\"}");
  ASSERT_TRUE(fin.ok()) << fin.status();
  EXPECT_EQ(*fin, 2u);
  EXPECT_EQ((*rec)->Finish("success").code(), absl::StatusCode::kFailedPrecondition);
  rec->reset();
  EXPECT_TRUE(VerifyOrDie(path, false).valid);
}

// Record with and without a caller's ts_ms applies the same payload contract
// (it once skipped the duplicate-key, status and usage checks with ts_ms) and
// writes the payload minified with key order kept, straight into the line.
TEST(RecorderTest, RecordWithTimestampKeepsThePayloadContractAndMinifies) {
  TempDir dir;
  const std::string path = dir.File("ts.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-ts", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  for (const bool with_ts : {false, true}) {
    auto record = [&](EventKind kind, std::string_view payload) {
      return with_ts ? (*rec)->Record(kind, payload, 4102444800000) : (*rec)->Record(kind, payload);
    };
    absl::StatusOr<uint64_t> dup = record(EventKind::kToolCall, "{\"a\":1,\"a\":2}");
    EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument) << with_ts;
    EXPECT_THAT(Msg(dup.status()), HasSubstr("duplicate key")) << with_ts;
    absl::StatusOr<uint64_t> no_status = record(EventKind::kRunFinished, "{\"summary\":\"x\"}");
    EXPECT_EQ(no_status.status().code(), absl::StatusCode::kInvalidArgument) << with_ts;
    absl::StatusOr<uint64_t> usage =
        record(EventKind::kModelCall, "{\"usage\":{\"input_tokens\":-1}}");
    EXPECT_EQ(usage.status().code(), absl::StatusCode::kInvalidArgument) << with_ts;
    absl::StatusOr<uint64_t> bad = record(EventKind::kError, "{\"a\":");
    EXPECT_THAT(Msg(bad.status()), HasSubstr("invalid JSON payload for error")) << with_ts;
    absl::StatusOr<uint64_t> ok =
        record(EventKind::kToolCall, " {\n \"z\" : [ 1 , \"a b\" ] ,\t\"y\" : { } } ");
    ASSERT_TRUE(ok.ok()) << ok.status();
  }
  EXPECT_EQ((*rec)->last_seq(), 2u);  // refused payloads claim no seq
  rec->reset();
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 1; i < lines.size(); ++i) {
    ExpectSameBytesAsAppendEventLine(lines[i]);
    EXPECT_THAT(lines[i], HasSubstr(",\"payload\":{\"z\":[1,\"a b\"],\"y\":{}}}"));
  }
  EXPECT_THAT(lines[2], HasSubstr("\"ts_ms\":4102444800000,"));
  EXPECT_TRUE(VerifyOrDie(path, true).valid);
}

TEST(RecorderTest, StartRefusesAnExistingTraceUnlessForced) {
  TempDir dir;
  const std::string path = dir.File("s.traceframe");
  {
    absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
        TraceRecorder::Start(path, "run-1", false, Fast());
    ASSERT_TRUE(rec.ok()) << rec.status();
    // While it is held, even a forced Start waits for the lock and fails.
    absl::StatusOr<std::unique_ptr<TraceRecorder>> forced =
        TraceRecorder::Start(path, "run-2", true, Fast());
    EXPECT_EQ(forced.status().code(), absl::StatusCode::kUnavailable) << forced.status();
  }
  absl::StatusOr<std::unique_ptr<TraceRecorder>> again =
      TraceRecorder::Start(path, "run-2", false, Fast());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<std::unique_ptr<TraceRecorder>> forced =
      TraceRecorder::Start(path, "run-2", true, Fast());
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ((*forced)->run_id(), "run-2");
  EXPECT_EQ((*forced)->last_seq(), 0u);
  forced->reset();
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 1u);
}

TEST(RecorderTest, OpenContinuesAnOpenTrace) {
  TempDir dir;
  const std::string path = dir.File("o.traceframe");
  {
    absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
        TraceRecorder::Start(path, "run-o", false, Fast());
    ASSERT_TRUE(rec.ok()) << rec.status();
    ASSERT_TRUE((*rec)->ModelCall("p", "m").ok());
    // The destructor flushes; the run stays open.
  }
  // A complete last line without its '\n' gets one before the next event.
  std::string text = ReadFileOrDie(path);
  text.pop_back();
  testing::WriteFileOrDie(path, text);
  EXPECT_EQ(TraceRecorder::Open(dir.File("missing.traceframe")).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Open(path, Fast(SyncPolicy::kNone));
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ((*rec)->run_id(), "run-o");
  EXPECT_EQ((*rec)->last_seq(), 1u);
  ASSERT_TRUE((*rec)->ToolCall("shell", "ls", {"ls"}).ok());
  ASSERT_TRUE((*rec)->Finish("success").ok());
  rec->reset();
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr("\"seq\":2,"));
  EXPECT_TRUE(VerifyOrDie(path, false).valid);
  ExpectIndexCurrent(path);

  // A torn tail is refused, pointing to repair.
  const std::string torn = dir.File("torn.traceframe");
  {
    absl::StatusOr<std::unique_ptr<TraceRecorder>> t =
        TraceRecorder::Start(torn, "run-t", false, Fast());
    ASSERT_TRUE(t.ok());
  }
  testing::AppendFileOrDie(torn, "{\"version\":1,\"ru");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> refused = TraceRecorder::Open(torn, Fast());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(refused.status()), HasSubstr("traceframe repair"));
}

// The writer thread keeps <trace>.idx current after every write, under the
// lock: while the recorder is still open, the stored index equals a fresh
// scan (entries across several 1 MiB blocks, per-kind counts, tool failures
// both from the typed helper and from a parsed Record payload).
TEST(RecorderTest, RecorderKeepsTheIndexCurrentWhileOpen) {
  TempDir dir;
  const std::string path = dir.File("idx.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-idx", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  const std::string filler(200, 'x');
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 8000; ++i) {
        if (i % 100 == 0) {
          EXPECT_TRUE((*rec)->ToolResult("shell", filler, i % 200 == 0, 1, 5).ok());
        } else if (i % 100 == 1) {
          EXPECT_TRUE((*rec)->Record(EventKind::kToolResult, "{\"exit_code\":2}").ok());
        } else {
          EXPECT_TRUE((*rec)->ModelCall(Cat("t", t), filler).ok());
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  ASSERT_TRUE((*rec)->Flush().ok());

  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  ASSERT_TRUE(check->stored.has_value());
  const IndexFacts& facts = check->stored->facts;
  EXPECT_EQ(facts.events, 16001u);
  EXPECT_EQ(facts.covered_bytes, static_cast<uint64_t>(ReadFileOrDie(path).size()));
  EXPECT_EQ(facts.count(EventKind::kToolResult), 320u);
  // 80 helper results fail (success=false on odd hundreds) + 160 parsed ones.
  EXPECT_EQ(facts.tool_failures, 80u + 160u);
  EXPECT_GE(check->stored->entries.size(), 3u);
  EXPECT_FALSE(facts.finished);

  ASSERT_TRUE((*rec)->Finish("success").ok());
  check = CheckIndex(path);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  EXPECT_TRUE(check->stored->facts.finished);
  EXPECT_EQ(check->stored->facts.finished_status, "success");
}

TEST(RecorderTest, CliRecordOnAHeldTraceFailsNamingTheHolder) {
  TempDir dir;
  const std::string path = dir.File("held.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-held", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  const std::vector<std::string> args = {"record",     "--file",    path, "--kind",
                                         "model.call", "--payload", "{}"};
  testing::CliResult held = testing::RunCli(args, "", "", {"TRACEFRAME_LOCK_TIMEOUT_MS=200"});
  EXPECT_EQ(held.exit_code, 1);
  EXPECT_THAT(held.err, HasSubstr("locked by another writer"));
  EXPECT_THAT(held.err, HasSubstr(Cat("pid ", ::getpid())));
  EXPECT_THAT(held.err, HasSubstr("TraceRecorder"));
  ASSERT_TRUE((*rec)->ModelCall("p", "m").ok());
  rec->reset();  // releases the lock
  testing::CliResult free = testing::RunCli(args, "", "", {"TRACEFRAME_LOCK_TIMEOUT_MS=200"});
  EXPECT_EQ(free.exit_code, 0) << free.err;
  EXPECT_EQ(SplitLines(ReadFileOrDie(path)).size(), 3u);
  EXPECT_TRUE(VerifyOrDie(path, true).valid);
}

// Makes write(2) fail with EFBIG beyond `limit` bytes (RLIMIT_FSIZE, with
// SIGXFSZ ignored): an unprivileged fault injection on the real write path.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit lim = saved_;
    lim.rlim_cur = limit;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST(RecorderTest, WriteFailureIsStickyAndLeavesNoPartialLine) {
  TempDir dir;
  const std::string path = dir.File("sticky.traceframe");
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
      TraceRecorder::Start(path, "run-sticky", false, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*rec)->ModelCall("p", Cat("acked-", i)).ok());
  ASSERT_TRUE((*rec)->Flush().ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const uint64_t acked_size = static_cast<uint64_t>(st.st_size);
  absl::Status flushed;
  {
    // Room for a few more lines, then the limit cuts a write in the middle.
    FileSizeLimit limit(acked_size + 1000);
    const std::string big(300, 'x');
    for (int i = 0; i < 50; ++i) {
      if (!(*rec)->ModelCall("p", big).ok()) break;
    }
    flushed = (*rec)->Flush();
  }
  ASSERT_FALSE(flushed.ok());
  EXPECT_THAT(Msg(flushed), HasSubstr("File too large"));
  EXPECT_THAT(Msg(flushed), HasSubstr(path));
  // Sticky: every later call reports the same error.
  EXPECT_EQ((*rec)->ModelCall("p", "m"), flushed);
  EXPECT_EQ((*rec)->Record(EventKind::kError, "{}").status(), flushed);
  EXPECT_EQ((*rec)->Flush(), flushed);
  EXPECT_EQ((*rec)->Finish("success"), flushed);
  EXPECT_EQ((*rec)->status(), flushed);
  rec->reset();

  // What was acknowledged is intact and the file ends on a line boundary.
  const std::string text = ReadFileOrDie(path);
  ASSERT_GE(text.size(), acked_size);
  EXPECT_LE(text.size(), acked_size + 1000);
  EXPECT_EQ(text.back(), '\n');
  const VerifyReport report = VerifyOrDie(path, true);
  EXPECT_TRUE(report.valid);
  EXPECT_FALSE(report.torn_tail.has_value());
  EXPECT_THAT(text, HasSubstr("\"acked-9\""));
}

TEST(RecorderTest, FlushedEventsSurviveSigkill) {
  TempDir dir;
  const std::string path = dir.File("kill.traceframe");
  constexpr int kFlushed = 5000;
  int marker[2];
  ASSERT_EQ(::pipe(marker), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(marker[0]);
    absl::StatusOr<std::unique_ptr<TraceRecorder>> rec =
        TraceRecorder::Start(path, "run-kill", false, Fast());
    if (!rec.ok()) ::_exit(2);
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < kFlushed / 2; ++i) {
          if (!(*rec)->ModelCall(Cat("t", t), Cat(i)).ok()) ::_exit(3);
        }
      });
    }
    for (std::thread& w : workers) w.join();
    if (!(*rec)->Flush().ok()) ::_exit(4);
    if (::write(marker[1], "F", 1) != 1) ::_exit(5);
    // Keep recording until killed.
    for (uint64_t i = 0;; ++i) {
      if (!(*rec)->ModelCall("after", Cat(i)).ok()) ::_exit(6);
    }
  }
  ::close(marker[1]);
  char c = 0;
  ASSERT_EQ(::read(marker[0], &c, 1), 1) << "the child failed before flushing";
  ::close(marker[0]);
  ::kill(child, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  ASSERT_EQ(WTERMSIG(wstatus), SIGKILL);

  // A kill in the middle of a write may tear the last line; the flushed
  // events come before it. Repair moves a torn tail aside.
  absl::StatusOr<RepairReport> repaired = RepairTrace(path);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  const VerifyReport report = VerifyOrDie(path, true);
  EXPECT_TRUE(report.valid);
  EXPECT_TRUE(report.open);
  EXPECT_GE(report.events, static_cast<uint64_t>(kFlushed) + 1);
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  int flushed_seen = 0;
  for (const std::string& line : lines) {
    if (line.find("\"provider\":\"t") != std::string::npos) ++flushed_seen;
  }
  EXPECT_EQ(flushed_seen, kFlushed);

  // The lock died with the process: the trace can be continued and closed.
  absl::StatusOr<std::unique_ptr<TraceRecorder>> rec = TraceRecorder::Open(path, Fast());
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ((*rec)->last_seq(), report.events - 1);
  ASSERT_TRUE((*rec)->Finish("interrupted").ok());
  rec->reset();
  EXPECT_TRUE(VerifyOrDie(path, false).valid);
}

}  // namespace
}  // namespace traceframe
