#include "format/event_parser.h"

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/event.h"
#include "traceframe/trace_reader.h"

namespace traceframe {
namespace {

using ::traceframe::testing::EventLine;

struct Parsed {
  LineParseError error;
  std::string reason;
  EventView view;
};

Parsed ParseLine(const std::string& line) {
  static EventParser* parser = new EventParser();
  Parsed p;
  p.error = parser->Parse(line, false, &p.view, &p.reason);
  return p;
}

TEST(EventKindTest, NamesRoundTrip) {
  for (int i = 0; i < kEventKindCount; ++i) {
    const auto kind = static_cast<EventKind>(i);
    EXPECT_EQ(ParseEventKind(EventKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseEventKind("agent.magic").has_value());
  EXPECT_FALSE(ParseEventKind("Model.Call").has_value());
  auto error = ParseEventKindOrError("agent.magic");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(std::string(error.status().message()).find("unknown event kind"), std::string::npos);
}

TEST(EventTest, SerializedLineParsesBack) {
  Event e;
  e.run_id = "run \"x\"";
  e.event_id = NewEventId();
  e.kind = EventKind::kToolCall;
  e.ts_ms = 1234;
  e.seq = 7;
  e.payload_json = "{\"tool\":\"shell\",\"command\":\"cargo test\"}";
  const std::string line = SerializeEventLine(e);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("\"kind\":\"tool.call\""), std::string::npos);
  Parsed p = ParseLine(line.substr(0, line.size() - 1));
  ASSERT_EQ(p.error, LineParseError::kNone) << p.reason;
  EXPECT_EQ(p.view.run_id, "run \"x\"");
  EXPECT_EQ(p.view.event_id, e.event_id);
  EXPECT_EQ(p.view.kind, EventKind::kToolCall);
  EXPECT_EQ(p.view.ts_ms, 1234);
  EXPECT_EQ(p.view.seq, 7u);
  EXPECT_EQ(RawPayload(line), e.payload_json);
}

TEST(EventTest, NewEventIdIsUuidV4) {
  const std::string id = NewEventId();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_NE(id, NewEventId());
}

bool IsUuidV4(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

// Ids come from a per-thread random prefix and a scrambled counter: every id
// of every thread is a well-formed v4 UUID and none repeats.
TEST(EventTest, NewEventIdsAreDistinctAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewEventId());
    });
  }
  for (std::thread& t : threads) t.join();
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> prefixes;
  for (const auto& list : ids) {
    for (const std::string& id : list) {
      ASSERT_TRUE(IsUuidV4(id)) << id;
      ASSERT_TRUE(seen.insert(id).second) << "repeated id " << id;
    }
    prefixes.insert(list.front().substr(0, 18));
  }
  // Each thread drew its own random prefix.
  EXPECT_EQ(prefixes.size(), static_cast<size_t>(kThreads));
  // The counter part is scrambled, not a visible count: consecutive ids of
  // one thread differ in more than their last hex digit.
  EXPECT_NE(ids[0][0].substr(0, 34), ids[0][1].substr(0, 34));
}

// A forked child inherits the generator of the forking thread; it reseeds,
// so parent and child never hand out the same ids.
TEST(EventTest, ForkedChildDrawsDifferentEventIds) {
  (void)NewEventId();  // the parent's generator exists before the fork
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  constexpr int kCount = 1000;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    for (int i = 0; i < kCount; ++i) {
      const std::string id = NewEventId();
      if (::write(fds[1], id.data(), id.size()) != static_cast<ssize_t>(id.size())) ::_exit(2);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::unordered_set<std::string> parent;
  for (int i = 0; i < kCount; ++i) parent.insert(NewEventId());
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(data.size(), static_cast<size_t>(kCount) * 36);
  for (int i = 0; i < kCount; ++i) {
    const std::string id = data.substr(static_cast<size_t>(i) * 36, 36);
    EXPECT_TRUE(IsUuidV4(id)) << id;
    EXPECT_EQ(parent.count(id), 0u) << "the child repeated the parent's id " << id;
  }
}

TEST(EventParserTest, AcceptsFieldsInAnyOrderAndIgnoresUnknownFields) {
  Parsed p = ParseLine(
      "{\"payload\":{},\"seq\":3,\"extra\":[1,2],\"ts_ms\":-5,\"kind\":\"error\","
      "\"event_id\":\"e\",\"run_id\":\"r\",\"version\":1}");
  ASSERT_EQ(p.error, LineParseError::kNone) << p.reason;
  EXPECT_EQ(p.view.seq, 3u);
  EXPECT_EQ(p.view.ts_ms, -5);
  EXPECT_EQ(p.view.kind, EventKind::kError);
}

TEST(EventParserTest, RejectsDuplicateKnownField) {
  Parsed p = ParseLine(
      "{\"version\":1,\"run_id\":\"r\",\"event_id\":\"e\",\"kind\":\"error\",\"ts_ms\":1,"
      "\"seq\":1,\"seq\":2,\"payload\":{}}");
  EXPECT_EQ(p.error, LineParseError::kSchema);
  EXPECT_EQ(p.reason, "duplicate field `seq`");
}

TEST(EventParserTest, ReportsMissingFieldAndBadTypes) {
  Parsed missing = ParseLine(
      "{\"version\":1,\"run_id\":\"r\",\"event_id\":\"e\",\"kind\":\"error\",\"ts_ms\":1,"
      "\"seq\":1}");
  EXPECT_EQ(missing.reason, "missing field `payload`");
  Parsed float_ts =
      ParseLine(EventLine("r", "e", "error", 0, 1, "{}")
                    .replace(EventLine("r", "e", "error", 0, 1, "{}").find("\"ts_ms\":0"), 9,
                             "\"ts_ms\":1.5"));
  EXPECT_EQ(float_ts.error, LineParseError::kSchema);
  EXPECT_NE(float_ts.reason.find("ts_ms"), std::string::npos);
  Parsed neg_seq = ParseLine(
      "{\"version\":1,\"run_id\":\"r\",\"event_id\":\"e\",\"kind\":\"error\",\"ts_ms\":1,"
      "\"seq\":-1,\"payload\":{}}");
  EXPECT_NE(neg_seq.reason.find("seq"), std::string::npos);
  Parsed kind = ParseLine(EventLine("r", "e", "agent.magic", 0, 1, "{}"));
  EXPECT_EQ(kind.reason, "unknown event kind `agent.magic`");
  Parsed not_object = ParseLine("[1,2]");
  EXPECT_EQ(not_object.error, LineParseError::kSchema);
}

TEST(EventParserTest, ValidatesThePayloadStrictly) {
  Parsed p = ParseLine(EventLine("r", "e", "error", 0, 1, "{\"a\":tru}"));
  EXPECT_EQ(p.error, LineParseError::kJsonSyntax);
  Parsed torn = ParseLine("{\"version\":1,\"run_id\":\"torn\",\"ev");
  EXPECT_EQ(torn.error, LineParseError::kJsonSyntax);
  Parsed nul = ParseLine(EventLine("r", "e", "error", 0, 1, std::string("\"a\0b\"", 5)));
  EXPECT_EQ(nul.error, LineParseError::kJsonSyntax);
  Parsed big = ParseLine(EventLine("r", "e", "error", 0, 1, "1e400"));
  EXPECT_EQ(big.error, LineParseError::kJsonSyntax);
  Parsed huge_seq =
      ParseLine(EventLine("r", "e", "error", 0, 1, "{}")
                    .replace(EventLine("r", "e", "error", 0, 1, "{}").find("\"seq\":1"), 7,
                             "\"seq\":18446744073709551616"));
  EXPECT_NE(huge_seq.error, LineParseError::kNone);
}

TEST(EventParserTest, DeepNestingIsAnErrorNotACrash) {
  std::string payload(200000, '[');
  payload += std::string(200000, ']');
  Parsed p = ParseLine(EventLine("r", "e", "error", 0, 1, payload));
  EXPECT_EQ(p.error, LineParseError::kJsonSyntax);
  EXPECT_NE(p.reason.find("nesting"), std::string::npos);
}

TEST(EventParserTest, ExtractsSummaryFacts) {
  Parsed failed = ParseLine(EventLine("r", "e", "tool.result", 0, 1, "{\"success\":false}"));
  EXPECT_TRUE(failed.view.tool_failed);
  Parsed ok =
      ParseLine(EventLine("r", "e", "tool.result", 0, 1, "{\"success\":true,\"exit_code\":3}"));
  EXPECT_FALSE(ok.view.tool_failed);
  // Reference §11.28: a non-zero exit code without a success flag is a failure.
  Parsed exit_only = ParseLine(EventLine("r", "e", "tool.result", 0, 1, "{\"exit_code\":101}"));
  EXPECT_TRUE(exit_only.view.tool_failed);
  Parsed finished = ParseLine(EventLine("r", "e", "run.finished", 0, 1, "{\"status\":\"failed\"}"));
  ASSERT_TRUE(finished.view.finished_status.has_value());
  EXPECT_EQ(*finished.view.finished_status, "failed");
  Parsed no_status = ParseLine(EventLine("r", "e", "run.finished", 0, 1, "null"));
  EXPECT_FALSE(no_status.view.finished_status.has_value());
}

}  // namespace
}  // namespace traceframe
