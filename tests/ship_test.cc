// Shipping to ClickHouse (traceframe/ship.h): row encoding, checkpoints and
// batching, against a fake transport that keeps what it acknowledged.
// The real server is exercised by scripts/clickhouse-gate.sh.
#include "traceframe/ship.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "simdjson.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using testing::AppendFileOrDie;
using testing::EventLine;
using testing::FileExists;
using testing::ReadFileOrDie;
using testing::SplitLines;
using testing::TempDir;
using testing::WriteFileOrDie;

// Acknowledges statements (or fails the next N with `fail_status`) and keeps
// the rows, as ClickHouse would before merges: duplicates stay visible.
class FakeTransport : public ShipTransport {
 public:
  struct Call {
    std::string query;
    std::string body;
  };

  absl::Status Execute(std::string_view query, std::string_view body) override {
    if (fail_next > 0) {
      --fail_next;
      return fail_status;
    }
    calls.push_back({std::string(query), std::string(body)});
    return absl::OkStatus();
  }

  // (run_id, seq, event_id) of every acknowledged events row, duplicates kept.
  std::vector<std::tuple<std::string, uint64_t, std::string>> EventRows() const {
    std::vector<std::tuple<std::string, uint64_t, std::string>> rows;
    simdjson::dom::parser parser;
    for (const Call& c : calls) {
      if (c.query.find(".events FORMAT") == std::string::npos) continue;
      for (const std::string& line : SplitLines(c.body)) {
        simdjson::dom::element row = parser.parse(line).value();
        rows.emplace_back(std::string(row["run_id"].get_string().value()),
                          row["seq"].get_uint64().value(),
                          std::string(row["event_id"].get_string().value()));
      }
    }
    return rows;
  }

  std::vector<std::string> RunRows() const {
    std::vector<std::string> rows;
    for (const Call& c : calls) {
      if (c.query.find(".runs FORMAT") == std::string::npos) continue;
      for (const std::string& line : SplitLines(c.body)) rows.push_back(line);
    }
    return rows;
  }

  std::vector<Call> calls;
  int fail_next = 0;
  absl::Status fail_status = absl::UnavailableError("connection refused");
};

std::string Trace(const std::string& run_id, int events, bool finished = true, int first_seq = 0) {
  std::string out;
  for (int i = 0; i < events; ++i) {
    const int seq = first_seq + i;
    std::string kind = seq == 0 ? "run.started" : (seq % 2 ? "tool.call" : "tool.result");
    std::string payload =
        seq == 0 ? R"({"source":"claude","labels":{"variant":"b","n":3}})"
                 : (seq % 2 ? R"({"tool":"Bash"})" : R"({"tool":"Bash","success":false})");
    out += EventLine(run_id, Cat(run_id, "-e", seq), kind, 1700000000000 + seq, seq, payload);
    out += "\n";
  }
  if (finished) {
    const int seq = first_seq + events;
    out += EventLine(run_id, Cat(run_id, "-e", seq), "run.finished", 1700000000000 + seq, seq,
                     R"({"status":"success"})");
    out += "\n";
  }
  return out;
}

ShipOptions Options(const TempDir& dir) {
  ShipOptions options;
  options.target = "http://127.0.0.1:1";
  options.dirs = {dir.path()};
  options.host = "test-host";
  return options;
}

TEST(ShipRowTest, EventRowHasColumnsUsageLabelsAndPayloadAsText) {
  ShipRunContext context;
  context.host = "h1";
  context.source = "claude";
  context.trace_path = "/runs/a.traceframe";
  context.labels_json = R"({"variant":"b","n":3})";
  const std::string line = EventLine(
      "r1", "e1", "model.call", 1700000000123, 4,
      R"({"model":"m-1","usage":{"input_tokens":10,"output_tokens":5.0,"cache_read_input_tokens":2},"text":"a\"b"})");
  absl::StatusOr<std::string> row = EncodeEventRow(line, context);
  ASSERT_TRUE(row.ok()) << row.status();
  simdjson::dom::parser parser;
  simdjson::dom::element r = parser.parse(*row).value();
  EXPECT_EQ(r["run_id"].get_string().value(), "r1");
  EXPECT_EQ(r["seq"].get_uint64().value(), 4u);
  EXPECT_EQ(r["event_id"].get_string().value(), "e1");
  EXPECT_EQ(r["kind"].get_string().value(), "model.call");
  EXPECT_EQ(r["ts_ms"].get_int64().value(), 1700000000123);
  EXPECT_EQ(r["ts"].get_uint64().value(), 1700000000u);
  EXPECT_EQ(r["host"].get_string().value(), "h1");
  EXPECT_EQ(r["source"].get_string().value(), "claude");
  EXPECT_EQ(r["model"].get_string().value(), "m-1");
  EXPECT_EQ(r["input_tokens"].get_uint64().value(), 10u);
  EXPECT_EQ(r["output_tokens"].get_uint64().value(), 5u);
  EXPECT_EQ(r["cache_read_input_tokens"].get_uint64().value(), 2u);
  EXPECT_EQ(r["reasoning_output_tokens"].get_uint64().value(), 0u);
  EXPECT_TRUE(r["success"].is_null());
  EXPECT_EQ(simdjson::minify(r["label_keys"].value()), R"(["variant","n"])");
  EXPECT_EQ(simdjson::minify(r["label_values"].value()), R"(["b","3"])");
  // The payload is a string holding the stored JSON, byte for byte.
  EXPECT_EQ(
      r["payload"].get_string().value(),
      R"({"model":"m-1","usage":{"input_tokens":10,"output_tokens":5.0,"cache_read_input_tokens":2},"text":"a\"b"})");
}

TEST(ShipRowTest, ToolResultSuccessFollowsTheSummaryRule) {
  ShipRunContext context;
  simdjson::dom::parser parser;
  auto success = [&](const std::string& payload) {
    absl::StatusOr<std::string> row =
        EncodeEventRow(EventLine("r", "e", "tool.result", 1, 2, payload), context);
    EXPECT_TRUE(row.ok());
    return simdjson::minify(parser.parse(*row).value()["success"].value());
  };
  EXPECT_EQ(success(R"({"tool":"Bash","success":false})"), "0");
  EXPECT_EQ(success(R"({"tool":"Bash","exit_code":2})"), "0");
  EXPECT_EQ(success(R"({"tool":"Bash","exit_code":0})"), "1");
  EXPECT_EQ(success(R"({"tool":"Bash"})"), "1");
  EXPECT_FALSE(EncodeEventRow(R"({"version":1})", context).ok());
}

TEST(ShipRowTest, RunRowIsTheLedgerEntryWithVersion) {
  LedgerEntry e;
  e.run_id = "r1";
  e.trace_path = "/runs/r1.traceframe";
  e.status = "failed";
  e.event_count = 9;
  e.tool_failures = 2;
  e.started_ms = 5;
  e.duration_ms = 7;
  e.usage.input_tokens = 40;
  e.usage.output_tokens = 9;
  e.deviations = 1;
  e.source = "codex";
  ShipRunContext context;
  context.host = "h";
  context.labels_json = R"({"task":"t1"})";
  const std::string row = EncodeRunRow(e, context, 1234);
  simdjson::dom::parser parser;
  simdjson::dom::element r = parser.parse(row).value();
  EXPECT_EQ(r["run_id"].get_string().value(), "r1");
  EXPECT_EQ(r["trace_path"].get_string().value(), "/runs/r1.traceframe");
  EXPECT_EQ(r["status"].get_string().value(), "failed");
  EXPECT_EQ(r["event_count"].get_uint64().value(), 9u);
  EXPECT_EQ(r["tool_failures"].get_uint64().value(), 2u);
  EXPECT_TRUE(r["finished_ms"].is_null());
  EXPECT_EQ(r["duration_ms"].get_int64().value(), 7);
  EXPECT_EQ(r["version"].get_uint64().value(), 1234u);
  EXPECT_EQ(r["input_tokens"].get_uint64().value(), 40u);
  EXPECT_EQ(r["output_tokens"].get_uint64().value(), 9u);
  EXPECT_EQ(r["deviations"].get_uint64().value(), 1u);
  EXPECT_EQ(r["source"].get_string().value(), "codex");  // the ledger's, when it has one
  EXPECT_EQ(simdjson::minify(r["label_keys"].value()), R"(["task"])");
}

TEST(ShipCheckpointTest, RoundTripsAndIsKeyedByTargetAndDatabase) {
  ShipCheckpoint c;
  c.target = "http://x:8123";
  c.run_id = "r";
  c.first_line_hash = "0123456789abcdef";
  c.offset = 77;
  c.seq = 3;
  c.events = 4;
  absl::StatusOr<ShipCheckpoint> back = ParseShipCheckpoint(ShipCheckpointJson(c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->target, c.target);
  EXPECT_EQ(back->offset, 77u);
  EXPECT_EQ(back->seq, 3u);
  EXPECT_EQ(back->events, 4u);
  EXPECT_FALSE(ParseShipCheckpoint("{\"version\":1}").ok());
  EXPECT_FALSE(ParseShipCheckpoint("garbage").ok());
  const std::string a = ShipCheckpointPath("/r/t.traceframe", "http://a", "traceframe");
  EXPECT_TRUE(a.rfind("/r/t.traceframe.ship-", 0) == 0) << a;
  EXPECT_EQ(a, ShipCheckpointPath("/r/t.traceframe", "http://a", "traceframe"));
  EXPECT_NE(a, ShipCheckpointPath("/r/t.traceframe", "http://b", "traceframe"));
  EXPECT_NE(a, ShipCheckpointPath("/r/t.traceframe", "http://a", "other"));
}

TEST(ShipTransportTest, ClickHouseAnswersAreToldApartByCode) {
  EXPECT_TRUE(ClassifyClickHouseAnswer(true, 200, "", "").ok());
  EXPECT_TRUE(absl::IsUnavailable(ClassifyClickHouseAnswer(false, 0, "", "refused")));
  EXPECT_TRUE(absl::IsUnavailable(ClassifyClickHouseAnswer(true, 503, "", "")));
  EXPECT_TRUE(absl::IsUnavailable(
      ClassifyClickHouseAnswer(true, 500, "Code: 252, e.displayText() = Too many parts", "")));
  const absl::Status schema = ClassifyClickHouseAnswer(
      true, 500, "Code: 117, e.displayText() = DB::Exception: Unknown field found", "");
  EXPECT_TRUE(absl::IsInvalidArgument(schema));
  EXPECT_NE(schema.message().find("Unknown field found"), absl::string_view::npos);
  EXPECT_TRUE(absl::IsPermissionDenied(
      ClassifyClickHouseAnswer(true, 401, "Code: 193, Wrong password", "")));
  EXPECT_TRUE(absl::IsNotFound(ClassifyClickHouseAnswer(true, 404, "Code: 60", "")));
  EXPECT_TRUE(IsValidDatabaseName("traceframe_2"));
  EXPECT_FALSE(IsValidDatabaseName("a`; DROP"));
  EXPECT_FALSE(IsValidDatabaseName("1db"));
}

TEST(ShipperTest, ShipsEveryEventOnceThenNothingNew) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 5));
  WriteFileOrDie(dir.File("b.traceframe"), Trace("rb", 3));
  FakeTransport transport;
  Shipper shipper(Options(dir), &transport);
  absl::StatusOr<ShipPassResult> first = shipper.ShipOnce();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->traces, 2u);
  EXPECT_EQ(first->events, 10u);
  EXPECT_EQ(first->runs, 2u);
  EXPECT_EQ(transport.EventRows().size(), 10u);
  EXPECT_EQ(transport.RunRows().size(), 2u);
  EXPECT_NE(transport.RunRows()[0].find("\"event_count\":6"), std::string::npos);
  EXPECT_NE(transport.RunRows()[0].find("\"source\":\"claude\""), std::string::npos);
  const size_t calls = transport.calls.size();
  absl::StatusOr<ShipPassResult> second = shipper.ShipOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->events, 0u);
  EXPECT_EQ(transport.calls.size(), calls);
}

TEST(ShipperTest, ProgressCountsTracesAndEndsAtAllOfThem) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 5));
  WriteFileOrDie(dir.File("b.traceframe"), Trace("rb", 3));
  WriteFileOrDie(dir.File("c.traceframe"), Trace("rc", 2));
  FakeTransport transport;
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  ShipOptions options = Options(dir);
  options.progress = [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  Shipper shipper(options, &transport);
  ASSERT_TRUE(shipper.ShipOnce().ok());
  const std::vector<std::pair<uint64_t, uint64_t>> want = {{0, 3}, {1, 3}, {2, 3}, {3, 3}};
  EXPECT_EQ(calls, want);
  // The end is reported only once the last batch was acknowledged: every
  // event of the three traces (6 + 4 + 3, run.finished included) was sent.
  EXPECT_EQ(transport.EventRows().size(), 13u);
}

TEST(ShipperTest, AppendedEventsShipAlone) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 4, /*finished=*/false));
  FakeTransport transport;
  Shipper shipper(Options(dir), &transport);
  ASSERT_TRUE(shipper.ShipOnce().ok());
  EXPECT_EQ(transport.EventRows().size(), 4u);
  AppendFileOrDie(dir.File("a.traceframe"), Trace("ra", 2, /*finished=*/true, 4));
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 3u);
  const auto rows = transport.EventRows();
  ASSERT_EQ(rows.size(), 7u);
  std::set<uint64_t> seqs;
  for (const auto& r : rows) seqs.insert(std::get<1>(r));
  EXPECT_EQ(seqs.size(), 7u);                 // each seq once: nothing re-sent
  EXPECT_EQ(transport.RunRows().size(), 2u);  // the run's row again, newer
  EXPECT_NE(transport.RunRows()[1].find("\"status\":\"success\""), std::string::npos);
}

TEST(ShipperTest, FailedBatchLeavesCheckpointsAndNothingIsLost) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 40));
  FakeTransport transport;
  ShipOptions options = Options(dir);
  options.batch_bytes = 600;  // several batches
  Shipper shipper(options, &transport);
  {
    // Let two statements through, then fail.
    class Flaky : public ShipTransport {
     public:
      explicit Flaky(FakeTransport* inner) : inner_(inner) {}
      absl::Status Execute(std::string_view q, std::string_view b) override {
        if (++n_ > 2) return absl::UnavailableError("connection refused");
        return inner_->Execute(q, b);
      }

     private:
      FakeTransport* inner_;
      int n_ = 0;
    } flaky(&transport);
    Shipper failing(options, &flaky);
    absl::StatusOr<ShipPassResult> pass = failing.ShipOnce();
    ASSERT_FALSE(pass.ok());
    EXPECT_TRUE(absl::IsUnavailable(pass.status()));
  }
  const size_t before = transport.EventRows().size();
  EXPECT_GT(before, 0u);
  EXPECT_LT(before, 41u);
  const std::string checkpoint =
      ReadFileOrDie(ShipCheckpointPath(dir.File("a.traceframe"), options.target, "traceframe"));
  absl::StatusOr<ShipCheckpoint> c = ParseShipCheckpoint(checkpoint);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->events, before);  // the checkpoint is exactly what was acknowledged
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok()) << pass.status();
  const auto rows = transport.EventRows();
  EXPECT_EQ(rows.size(), 41u);  // resumed right after the acknowledged rows
  using Key = std::tuple<std::string, uint64_t, std::string>;
  const std::set<Key> distinct(rows.begin(), rows.end());
  EXPECT_EQ(distinct.size(), 41u);
}

TEST(ShipperTest, BatchesAreBoundedInBytes) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 100));
  FakeTransport transport;
  ShipOptions options = Options(dir);
  options.batch_bytes = 2000;
  Shipper shipper(options, &transport);
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_GT(pass->batches, 5u);
  for (const auto& call : transport.calls) {
    EXPECT_LE(call.body.size(), 2000u + 600u);  // the limit plus at most one row
  }
  EXPECT_EQ(transport.EventRows().size(), 101u);
}

TEST(ShipperTest, TornTailWaitsAndShipsOnceComplete) {
  TempDir dir;
  const std::string path = dir.File("a.traceframe");
  std::string trace = Trace("ra", 3, false);
  const std::string last =
      EventLine("ra", "ra-e3", "tool.call", 1700000000003, 3, R"({"tool":"Read"})");
  WriteFileOrDie(path, trace + last.substr(0, last.size() / 2));
  FakeTransport transport;
  Shipper shipper(Options(dir), &transport);
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 3u);
  EXPECT_GT(pass->waiting_bytes, 0u);
  EXPECT_TRUE(pass->problems.empty());
  // The rest of the line arrives, still without its '\n': a whole event ships.
  AppendFileOrDie(path, last.substr(last.size() / 2));
  pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 1u);
  EXPECT_EQ(pass->waiting_bytes, 0u);
  // The writer adds its '\n' before the next event; nothing ships twice.
  AppendFileOrDie(
      path,
      "\n" + EventLine("ra", "ra-e4", "run.finished", 1700000000004, 4, R"({"status":"success"})") +
          "\n");
  pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 1u);
  EXPECT_EQ(transport.EventRows().size(), 5u);
}

TEST(ShipperTest, DeletedCheckpointReshipsTheSameRows) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 6));
  FakeTransport transport;
  ShipOptions options = Options(dir);
  Shipper shipper(options, &transport);
  ASSERT_TRUE(shipper.ShipOnce().ok());
  const auto first = transport.EventRows();
  const std::string checkpoint =
      ShipCheckpointPath(dir.File("a.traceframe"), options.target, "traceframe");
  ASSERT_TRUE(FileExists(checkpoint));
  ASSERT_EQ(std::remove(checkpoint.c_str()), 0);
  ASSERT_TRUE(shipper.ShipOnce().ok());
  const auto both = transport.EventRows();
  ASSERT_EQ(both.size(), 2 * first.size());
  // Same keys again: ReplacingMergeTree collapses them.
  EXPECT_TRUE(std::equal(first.begin(), first.end(), both.begin() + first.size()));
}

TEST(ShipperTest, ReplacedTraceStartsOver) {
  TempDir dir;
  const std::string path = dir.File("a.traceframe");
  WriteFileOrDie(path, Trace("ra", 6));
  FakeTransport transport;
  Shipper shipper(Options(dir), &transport);
  ASSERT_TRUE(shipper.ShipOnce().ok());
  WriteFileOrDie(path, Trace("rz", 2));  // another run under the same name, shorter
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 3u);
  EXPECT_EQ(std::get<0>(transport.EventRows().back()), "rz");
}

TEST(ShipperTest, InvalidLineIsReportedAndNothingAfterItIsSkippedSilently) {
  TempDir dir;
  const std::string path = dir.File("a.traceframe");
  WriteFileOrDie(path, Trace("ra", 3, false) + "{not json}\n" + Trace("ra", 2, true, 3));
  FakeTransport transport;
  ShipOptions options = Options(dir);
  Shipper shipper(options, &transport);
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 3u);
  ASSERT_EQ(pass->problems.size(), 1u);
  EXPECT_EQ(pass->problems[0].offset, Trace("ra", 3, false).size());
  EXPECT_NE(pass->problems[0].reason.find("invalid event"), std::string::npos);
  absl::StatusOr<ShipCheckpoint> c =
      ParseShipCheckpoint(ReadFileOrDie(ShipCheckpointPath(path, options.target, "traceframe")));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->offset, Trace("ra", 3, false).size());
  // A second pass reports it again and ships nothing past it.
  pass = shipper.ShipOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->events, 0u);
  EXPECT_EQ(pass->problems.size(), 1u);
}

TEST(ShipperTest, RefusedStatementStopsWithTheServersMessage) {
  TempDir dir;
  WriteFileOrDie(dir.File("a.traceframe"), Trace("ra", 2));
  FakeTransport transport;
  transport.fail_next = 1;
  transport.fail_status = absl::InvalidArgumentError(
      "ClickHouse refused the statement (HTTP 500): Code: 117, Unknown field found");
  ShipOptions options = Options(dir);
  Shipper shipper(options, &transport);
  absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
  ASSERT_FALSE(pass.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(pass.status()));
  EXPECT_NE(pass.status().message().find("Unknown field"), absl::string_view::npos);
  EXPECT_FALSE(
      FileExists(ShipCheckpointPath(dir.File("a.traceframe"), options.target, "traceframe")));
}

TEST(ShipperTest, CreateTablesRunsTheDocumentedDdl) {
  TempDir dir;
  FakeTransport transport;
  ShipOptions options = Options(dir);
  options.database = "tf";
  Shipper shipper(options, &transport);
  ASSERT_TRUE(shipper.CreateTables().ok());
  ASSERT_EQ(transport.calls.size(), 3u);
  EXPECT_EQ(transport.calls[0].query, "CREATE DATABASE IF NOT EXISTS `tf`");
  EXPECT_NE(transport.calls[1].query.find("ReplacingMergeTree"), std::string::npos);
  EXPECT_NE(transport.calls[2].query.find("ReplacingMergeTree(version)"), std::string::npos);
  // docs/clickhouse.md shows the same statements (for the default database).
  const std::string doc = ReadFileOrDie(std::string(TRACEFRAME_SOURCE_DIR) + "/docs/clickhouse.md");
  for (const std::string& statement : ClickHouseCreateTables("traceframe")) {
    EXPECT_NE(doc.find(statement), std::string::npos) << statement;
  }
  options.database = "bad name";
  Shipper bad(options, &transport);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.CreateTables()));
}

}  // namespace
}  // namespace traceframe
