// The sidecar index: format round trip, validation against the trace,
// extension, rebuild, writer upkeep, and index-served summaries and seeks
// agreeing with full scans.
#include "traceframe/index.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "index/index_internal.h"
#include "index/store.h"
#include "test_util.h"
#include "trace_gen.h"
#include "traceframe/inspect.h"
#include "traceframe/str_util.h"
#include "traceframe/summary.h"
#include "traceframe/writer.h"

namespace traceframe {
namespace {

using testing::GenOptions;
using testing::GenTrace;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

// Runs `fn` with TRACEFRAME_INDEX=off: the reference full-scan behavior.
template <typename Fn>
auto WithoutIndex(Fn fn) {
  setenv("TRACEFRAME_INDEX", "off", 1);
  auto result = fn();
  unsetenv("TRACEFRAME_INDEX");
  return result;
}

// Everything a summary call shows, or its error.
std::string SummaryOutcome(const std::string& path) {
  absl::StatusOr<TraceSummary> s = SummarizeTrace(path);
  if (!s.ok()) return "error: " + std::string(ToStd(s.status().message()));
  std::string out = FormatSummaryText(*s) + FormatSummaryJson(*s);
  if (s->torn_tail) out += " torn line " + std::to_string(s->torn_tail->line_number);
  return out;
}

std::string InspectOutcome(const std::string& path, const InspectOptions& options) {
  std::string out;
  absl::StatusOr<InspectResult> r =
      InspectTrace(path, options, [&](const EventView& e) { out += FormatInspectLine(e) + "\n"; });
  if (!r.ok()) return out + "error: " + std::string(ToStd(r.status().message()));
  if (r->torn_tail) out += "torn at " + std::to_string(r->torn_tail->offset);
  return out;
}

WriteOptions NoSync() {
  WriteOptions o;
  o.sync = false;
  return o;
}

// A trace of ~`bytes` written through the writer (so the index is kept by
// appends), with `per_call` events per AppendEvents.
std::string WriteBigTrace(const TempDir& dir, size_t bytes, size_t payload, int per_call,
                          bool finish) {
  const std::string path = dir.File("big.traceframe");
  EXPECT_TRUE(InitTrace(path, "run-big", "{\"status\":\"started\"}", false, NoSync()).ok());
  const std::string pad(payload, 'p');
  size_t written = 0;
  int n = 0;
  while (written < bytes) {
    std::vector<PendingEvent> events;
    for (int i = 0; i < per_call; ++i, ++n) {
      const EventKind kind = n % 3 == 0   ? EventKind::kToolCall
                             : n % 3 == 1 ? EventKind::kToolResult
                                          : EventKind::kModelCall;
      std::string payload_json = kind == EventKind::kToolResult
                                     ? (n % 2 ? "{\"success\":false}" : "{\"exit_code\":2}")
                                     : "{\"pad\":\"" + pad + "\"}";
      events.push_back(PendingEvent{kind, payload_json});
      written += payload + 150;
    }
    EXPECT_TRUE(AppendEvents(path, events, NoSync()).ok());
  }
  if (finish) {
    EXPECT_TRUE(
        AppendEvent(path, EventKind::kRunFinished, "{\"status\":\"success\"}", NoSync()).ok());
  }
  return path;
}

TEST(IndexFormat, RoundTripsExactly) {
  TraceIndex index;
  index.facts.covered_bytes = 5 << 20;
  index.facts.covered_lines = 1000;
  index.facts.events = 999;
  index.facts.first_seq = 0;
  index.facts.last_seq = 998;
  index.facts.first_ts_ms = -5;
  index.facts.last_ts_ms = 1700000000123;
  index.facts.kind_counts[0] = 1;
  index.facts.kind_counts[3] = 997;
  index.facts.kind_counts[6] = 1;
  index.facts.tool_failures = 10;
  index.facts.last_kind = EventKind::kRunFinished;
  index.facts.finished = true;
  index.facts.finished_status = "all \"good\" \xC3\xA9";
  index.facts.run_id = "run-x";
  index.facts.validated = true;
  index.head_len = 4096;
  index.head_hash = 42;
  index.last_event_offset = (5 << 20) - 100;
  index.last_event_len = 99;
  index.last_event_hash = 7;
  for (uint64_t i = 0; i < 5; ++i) {
    index.entries.push_back(
        IndexEntry{i * 200, i << 20, -5 + static_cast<int64_t>(i), i * 200, i * 200 + 1});
  }
  const std::string bytes = EncodeIndex(index);
  EXPECT_EQ(bytes.size() % 8, 0u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("TFINDEX\0", 8));
  absl::StatusOr<TraceIndex> back = DecodeIndex(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EncodeIndex(*back), bytes);
  EXPECT_EQ(back->facts.finished_status, index.facts.finished_status);
  EXPECT_EQ(back->facts.run_id, "run-x");
  EXPECT_EQ(back->entries, index.entries);
  EXPECT_EQ(back->facts.first_ts_ms, -5);

  // An empty status string is kept apart from no status.
  index.facts.finished_status = "";
  back = DecodeIndex(EncodeIndex(index));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->facts.finished_status.has_value());
  EXPECT_EQ(*back->facts.finished_status, "");
}

// The bytes on disk are a contract (docs/format.md, "Index (.idx)"): the
// indexes committed beside the examples were written by earlier builds, and a
// rebuild today must give the same bytes, field by field. Regenerate them
// only with a format version bump.
TEST(IndexFormat, RebuildsTheCommittedExampleIndexesByteForByte) {
  for (const std::string example : {"agent-run.traceframe", "agent-session.traceframe"}) {
    TempDir dir;
    const std::string src = std::string(TRACEFRAME_SOURCE_DIR) + "/examples/" + example;
    WriteFileOrDie(dir.File(example), ReadFileOrDie(src));
    absl::StatusOr<TraceIndex> rebuilt = RebuildIndex(dir.File(example));
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    const std::string committed = ReadFileOrDie(src + ".idx");
    EXPECT_EQ(ReadFileOrDie(dir.File(example + ".idx")), committed) << example;
    EXPECT_EQ(EncodeIndex(*rebuilt), committed) << example;
    absl::StatusOr<TraceIndex> decoded = DecodeIndex(committed);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(EncodeIndex(*decoded), committed) << example;
  }
}

// A failed index write names the index a user can look for, never the temp
// file beside it (which is gone by then).
TEST(IndexStore, AFailedWriteNamesTheIndexNotItsTempFile) {
  TempDir dir;
  const std::string trace = dir.File("missing-dir/t.traceframe");
  absl::Status status = internal::WriteIndexBytes(trace, "bytes");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("failed to write index " + trace + ".idx"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr(".tmp")));
}

TEST(IndexFormat, RejectsDamage) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, GenTrace(1, GenOptions{}));
  absl::StatusOr<TraceIndex> built = RebuildIndex(path);
  ASSERT_TRUE(built.ok()) << built.status();
  const std::string good = ReadFileOrDie(IndexPathFor(path));
  ASSERT_TRUE(DecodeIndex(good).ok());

  EXPECT_THAT(std::string(ToStd(DecodeIndex("").status().message())), HasSubstr("shorter"));
  EXPECT_THAT(std::string(ToStd(DecodeIndex(good.substr(0, 511)).status().message())),
              HasSubstr("shorter"));
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_THAT(std::string(ToStd(DecodeIndex(bad).status().message())), HasSubstr("magic"));
  bad = good;
  bad[8] = 1;  // version 1 (before token usage): rebuilt
  EXPECT_THAT(std::string(ToStd(DecodeIndex(bad).status().message())),
              HasSubstr("unsupported index version 1"));
  for (size_t at : {24u, 40u, 100u, 200u, 247u, 250u, 330u, 450u, 503u}) {
    bad = good;
    bad[at] ^= 0x10;
    EXPECT_THAT(std::string(ToStd(DecodeIndex(bad).status().message())),
                HasSubstr("header checksum"))
        << at;
  }
  bad = good;
  bad[512] ^= 1;  // run id byte
  EXPECT_THAT(std::string(ToStd(DecodeIndex(bad).status().message())), HasSubstr("strings"));
  bad = good;
  bad[bad.size() - 1] ^= 1;  // entry byte
  EXPECT_THAT(std::string(ToStd(DecodeIndex(bad).status().message())), HasSubstr("entries"));
  EXPECT_FALSE(DecodeIndex(good.substr(0, good.size() - 1)).ok());
  // Extra bytes after the entries (left by a crash) are ignored.
  EXPECT_TRUE(DecodeIndex(good + "junk").ok());
}

TEST(IndexBuild, CountsLikeTheSummary) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  for (uint64_t seed = 0; seed < 40; ++seed) {
    GenOptions o;
    o.events = 1 + static_cast<int>(seed % 30);
    o.closed = seed % 2 == 0;
    o.quirks = seed % 3 == 0;
    o.torn = seed % 5 == 0;
    WriteFileOrDie(path, GenTrace(seed, o));
    unlink(IndexPathFor(path).c_str());
    absl::StatusOr<TraceIndex> index = LoadOrRebuildIndex(path);
    ASSERT_TRUE(index.ok()) << index.status();
    absl::StatusOr<TraceSummary> s = WithoutIndex([&] { return SummarizeTrace(path); });
    ASSERT_TRUE(s.ok()) << seed << ": " << s.status();
    const IndexFacts& f = index->facts;
    EXPECT_TRUE(f.validated) << seed;
    EXPECT_EQ(f.events, s->events) << seed;
    EXPECT_EQ(f.tool_failures, s->tool_failures) << seed;
    EXPECT_EQ(f.count(EventKind::kModelCall), s->model_calls) << seed;
    EXPECT_EQ(f.first_ts_ms, s->first_ts_ms) << seed;
    EXPECT_EQ(f.last_seq, s->last_seq) << seed;
    EXPECT_EQ(f.run_id, s->run_id) << seed;
    EXPECT_EQ(f.finished, s->finished) << seed;
    EXPECT_EQ(f.covered_bytes, s->torn_tail ? s->torn_tail->offset : ReadFileOrDie(path).size());
    // Written back, and it matches the trace.
    EXPECT_TRUE(LoadIndex(path).ok()) << seed;
  }
}

TEST(IndexBuild, LineStartingAtByteThreeIsNotMistakenForABom) {
  // Found by the fuzzer: a line starting at byte 3 was reported at byte 0.
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  WriteFileOrDie(path, "  \n" + GenTrace(2, GenOptions{}));
  absl::StatusOr<TraceIndex> index = LoadOrRebuildIndex(path);
  ASSERT_TRUE(index.ok());
  ASSERT_FALSE(index->entries.empty());
  EXPECT_EQ(index->entries[0].offset, 3u);
  EXPECT_EQ(index->entries[0].line, 2u);
  EXPECT_TRUE(LoadIndex(path).ok());
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
}

TEST(IndexBuild, DefectsClearTheValidatedFlag) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  for (int defect = 1; defect <= 9; ++defect) {
    GenOptions o;
    o.events = 12;
    o.defect = defect;
    WriteFileOrDie(path, GenTrace(100 + defect, o));
    unlink(IndexPathFor(path).c_str());
    absl::StatusOr<TraceIndex> index = LoadOrRebuildIndex(path);
    ASSERT_TRUE(index.ok());
    const bool warning_only = defect == 5 || defect == 6;
    EXPECT_EQ(index->facts.validated, warning_only) << "defect " << defect;
  }
}

TEST(IndexSummary, IndexServedEqualsFullScanOnManyTraces) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  int served = 0;
  for (uint64_t seed = 0; seed < 150; ++seed) {
    GenOptions o;
    o.events = 1 + static_cast<int>(seed * 7 % 60);
    o.closed = seed % 2 == 0;
    o.quirks = seed % 3 == 0;
    o.torn = seed % 4 == 1;
    o.defect = seed % 5 == 2 ? static_cast<int>(seed % 9) + 1 : 0;
    o.payload_bytes = seed % 11 == 0 ? 5000 : 16;
    WriteFileOrDie(path, GenTrace(seed, o));
    unlink(IndexPathFor(path).c_str());
    const std::string full = WithoutIndex([&] { return SummaryOutcome(path); });
    EXPECT_EQ(SummaryOutcome(path), full) << "seed " << seed << " (building)";
    EXPECT_EQ(SummaryOutcome(path), full) << "seed " << seed << " (served)";
    if (testing::FileExists(IndexPathFor(path))) ++served;
    // A foreign writer appends a valid event (when the trace is open and whole).
    if (!o.closed && !o.torn && o.defect == 0) {
      const std::string bytes = ReadFileOrDie(path);
      std::string extra = bytes.empty() || bytes.back() == '\n' ? "" : "\n";
      extra += testing::EventLine("run-" + std::to_string(seed), "foreign", "error", 1800000000000,
                                  100000, "{}") +
               "\n";
      testing::AppendFileOrDie(path, extra);
      EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }))
          << "seed " << seed << " (extended)";
    }
  }
  EXPECT_GT(served, 100);
}

TEST(IndexValidation, TruncatedRewrittenGarbageAndStaleIndexes) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  const std::string idx = IndexPathFor(path);
  GenOptions o;
  o.events = 40;
  o.closed = false;
  const std::string trace = GenTrace(7, o);
  WriteFileOrDie(path, trace);
  ASSERT_TRUE(RebuildIndex(path).ok());
  ASSERT_TRUE(LoadIndex(path).ok());
  const std::string good_idx = ReadFileOrDie(idx);

  // Trace truncated below the covered bytes.
  WriteFileOrDie(path, trace.substr(0, trace.size() / 2 + 1));
  EXPECT_THAT(std::string(ToStd(LoadIndex(path).status().message())), HasSubstr("truncated"));
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));

  // Truncated, then grown back past the covered size with other events.
  WriteFileOrDie(path, trace.substr(0, trace.size() / 2) + "\n" + trace.substr(trace.size() / 2));
  WriteFileOrDie(idx, good_idx);
  EXPECT_FALSE(LoadIndex(path).ok());
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));

  // Rewritten from the start (a different run of the same length).
  std::string other = trace;
  for (size_t at = other.find("run-7"); at != std::string::npos; at = other.find("run-7", at)) {
    other.replace(at, 5, "run-8");
  }
  WriteFileOrDie(path, other);
  WriteFileOrDie(idx, good_idx);
  EXPECT_THAT(std::string(ToStd(LoadIndex(path).status().message())), HasSubstr("rewritten"));
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
  EXPECT_THAT(SummaryOutcome(path), HasSubstr("run-8"));

  // Garbage and short files.
  WriteFileOrDie(path, trace);
  for (const std::string& junk : {std::string(), std::string("TFINDEX"), std::string(300, '\0'),
                                  good_idx.substr(0, 200), std::string(4096, '\xff')}) {
    WriteFileOrDie(idx, junk);
    EXPECT_FALSE(LoadIndex(path).ok());
    EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
    EXPECT_TRUE(LoadIndex(path).ok()) << "rebuilt by the summary";
  }

  // Stale: a foreign writer glued bytes onto the last line (no newline).
  WriteFileOrDie(path, trace.substr(0, trace.size() - 1));  // last line unterminated
  unlink(idx.c_str());
  ASSERT_TRUE(RebuildIndex(path).ok());
  testing::AppendFileOrDie(path, "{\"x\":1}\n");
  EXPECT_FALSE(LoadIndex(path).ok());
  EXPECT_THAT(SummaryOutcome(path), HasSubstr("error: invalid trace event"));
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
}

TEST(IndexValidation, ExtendsOverAForeignTail) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  GenOptions o;
  o.events = 10;
  o.closed = false;
  WriteFileOrDie(path, GenTrace(3, o));
  ASSERT_TRUE(RebuildIndex(path).ok());
  const uint64_t covered = LoadIndex(path)->facts.covered_bytes;
  testing::AppendFileOrDie(
      path, testing::EventLine("run-3", "f1", "model.call", 1, 50, "{}") + "\n\n" +
                testing::EventLine("run-3", "f2", "run.finished", 2, 51, "{\"status\":\"ok\"}") +
                "\n");
  absl::StatusOr<TraceIndex> stale = LoadIndex(path);
  ASSERT_TRUE(stale.ok()) << "a correct prefix still matches";
  EXPECT_EQ(stale->facts.covered_bytes, covered);
  absl::StatusOr<TraceIndex> extended = LoadOrRebuildIndex(path);
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->facts.events, 12u);
  EXPECT_EQ(extended->facts.covered_lines, 13u);
  EXPECT_TRUE(extended->facts.finished);
  EXPECT_EQ(extended->facts.finished_status, "ok");
  EXPECT_TRUE(extended->facts.validated);
  // Written back: the stored index now covers everything.
  EXPECT_EQ(LoadIndex(path)->facts.covered_bytes, ReadFileOrDie(path).size());
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
}

TEST(IndexWriter, AppendsKeepTheIndexEqualToARebuild) {
  TempDir dir;
  // ~3.5 MB: several blocks, so entries are added by in-place appends.
  const std::string path = WriteBigTrace(dir, 3'500'000, 900, 3, false);
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  ASSERT_TRUE(check->stored.has_value());
  EXPECT_GE(check->stored->entries.size(), 3u);
  EXPECT_EQ(check->stored->entries.front().offset, 0u);
  // Finishing rewrites the index with the status string.
  ASSERT_TRUE(AppendEvent(path, EventKind::kRunFinished, "{\"status\":\"done\"}", NoSync()).ok());
  check = CheckIndex(path);
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  EXPECT_EQ(check->stored->facts.finished_status, "done");
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
}

// One write of many events ending in run.finished (a recorder's last round
// is often megabytes): the events before run.finished go in place, so the
// slow path scans one line, and the index ends current, status included.
TEST(IndexWriter, ABigWriteEndingInRunFinishedKeepsTheIndexCurrent) {
  TempDir dir;
  const std::string path = dir.File("big-finish.traceframe");
  ASSERT_TRUE(InitTrace(path, "run-bf", "{\"status\":\"started\"}", false, NoSync()).ok());
  std::vector<PendingEvent> events;
  const std::string filler(500, 'x');
  for (int i = 0; i < 2000; ++i) {  // ~1.1 MB, over the 256 KiB a writer may scan
    events.push_back(PendingEvent{EventKind::kModelCall, "{\"model\":\"" + filler + "\"}"});
  }
  events.push_back(PendingEvent{EventKind::kRunFinished, "{\"status\":\"success\"}"});
  ASSERT_TRUE(AppendEvents(path, events, NoSync()).ok());
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  ASSERT_TRUE(check->stored.has_value());
  EXPECT_EQ(check->stored->facts.events, 2002u);
  EXPECT_EQ(check->stored->facts.finished_status, "success");
}

TEST(IndexWriter, InitAndForceReplaceGiveTheNewTraceItsIndex) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "run-a", "{}", false, NoSync()).ok());
  EXPECT_TRUE(LoadIndex(path).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{}", NoSync()).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{}", NoSync()).ok());
  EXPECT_EQ(LoadIndex(path)->facts.events, 3u);
  ASSERT_TRUE(InitTrace(path, "run-b", "{}", true, NoSync()).ok());
  absl::StatusOr<TraceIndex> index = LoadIndex(path);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->facts.events, 1u);
  EXPECT_EQ(index->facts.run_id, "run-b");
}

TEST(IndexWriter, RepairsAFewForeignBytesAndAMissingNewline) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "run-a", "{}", false, NoSync()).ok());
  // A foreign writer adds a complete line without its newline.
  testing::AppendFileOrDie(path, testing::EventLine("run-a", "f", "model.call", 5, 1, "{}"));
  ASSERT_TRUE(AppendEvent(path, EventKind::kToolResult, "{\"success\":false}", NoSync()).ok());
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  EXPECT_EQ(check->stored->facts.events, 3u);
  EXPECT_EQ(check->stored->facts.tool_failures, 1u);
  // The writer's own missing-newline case goes through the O(1) path.
  std::string bytes = ReadFileOrDie(path);
  bytes.pop_back();
  WriteFileOrDie(path, bytes);
  ASSERT_TRUE(RebuildIndex(path).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kError, "{}", NoSync()).ok());
  check = CheckIndex(path);
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  EXPECT_EQ(check->stored->facts.events, 4u);
}

TEST(IndexWriter, ALockHolderCatchesUpOnWhatItWrote) {
  // What a recorder does at close when it did not report its lines: the
  // index is brought up to date over megabytes the appends never saw.
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "run-r", "{}", false, NoSync()).ok());
  std::string lines;
  for (int i = 1; i <= 3000; ++i) {
    lines +=
        testing::EventLine("run-r", "r" + std::to_string(i), i % 2 ? "tool.call" : "tool.result",
                           1700000000000 + i, i, "{\"pad\":\"" + std::string(500, 'x') + "\"}") +
        "\n";
  }
  testing::AppendFileOrDie(path, lines);
  {
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    RefreshIndexLocked(path, fd, kWriterScanLimit);  // too far behind for an append
    EXPECT_EQ(LoadIndex(path)->facts.events, 1u);
    RefreshIndexLocked(path, fd, UINT64_MAX);
    close(fd);
  }
  absl::StatusOr<IndexCheckReport> check = CheckIndex(path);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->state, IndexState::kOk) << check->detail;
  EXPECT_EQ(check->stored->facts.events, 3001u);
  EXPECT_GE(check->stored->entries.size(), 2u);
}

TEST(IndexWriter, APrivateTraceGetsAPrivateIndex) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  ASSERT_TRUE(InitTrace(path, "run-a", "{}", false, NoSync()).ok());
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  unlink(IndexPathFor(path).c_str());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{}", NoSync()).ok());
  struct stat st;
  ASSERT_EQ(stat(IndexPathFor(path).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(IndexWriter, DisabledIndexIsNeitherReadNorWritten) {
  TempDir dir;
  const std::string path = dir.File("t.traceframe");
  setenv("TRACEFRAME_INDEX", "off", 1);
  ASSERT_TRUE(InitTrace(path, "run-a", "{}", false, NoSync()).ok());
  ASSERT_TRUE(AppendEvent(path, EventKind::kModelCall, "{}", NoSync()).ok());
  ASSERT_TRUE(SummarizeTrace(path).ok());
  unsetenv("TRACEFRAME_INDEX");
  EXPECT_FALSE(testing::FileExists(IndexPathFor(path)));
}

TEST(IndexInspect, SeeksAgreeWithScans) {
  TempDir dir;
  const std::string path = WriteBigTrace(dir, 3'200'000, 700, 5, true);
  ASSERT_TRUE(LoadIndex(path).ok());
  ASSERT_GE(LoadIndex(path)->entries.size(), 3u);
  const uint64_t last = LoadIndex(path)->facts.last_seq;
  for (uint64_t from :
       {uint64_t{1}, uint64_t{2}, last / 3, last / 2 + 1, last - 1, last, last + 5}) {
    InspectOptions o;
    o.from_seq = from;
    o.limit = 7;
    EXPECT_EQ(InspectOutcome(path, o), WithoutIndex([&] { return InspectOutcome(path, o); }))
        << from;
  }
  for (EventKind kind : {EventKind::kToolResult, EventKind::kRunStarted, EventKind::kError,
                         EventKind::kRunFinished}) {
    for (uint64_t n : {1, 3, 5000}) {
      InspectOptions o;
      o.tail = n;
      o.kind = kind;
      const std::string with = InspectOutcome(path, o);
      EXPECT_EQ(with, WithoutIndex([&] { return InspectOutcome(path, o); }));
    }
  }
  // A foreign tail with a bad line: the same error (or not) either way.
  testing::AppendFileOrDie(
      path, "not json\n" + testing::EventLine("run-big", "x", "tool.result", 1, last + 1, "{}") +
                "\n{\"torn");
  for (uint64_t n : {1, 2}) {
    InspectOptions o;
    o.tail = n;
    o.kind = EventKind::kToolResult;
    EXPECT_EQ(InspectOutcome(path, o), WithoutIndex([&] { return InspectOutcome(path, o); }));
  }
  // --from-seq reaches the bad line either way; with the index the error
  // also names its line (the index knows the line numbers).
  InspectOptions o;
  o.from_seq = last;
  const std::string with = InspectOutcome(path, o);
  const std::string without = WithoutIndex([&] { return InspectOutcome(path, o); });
  const std::string byte = "byte " + std::to_string(LoadIndex(path)->facts.covered_bytes);
  EXPECT_THAT(with, HasSubstr(byte));
  EXPECT_THAT(without, HasSubstr(byte));
  EXPECT_THAT(with, HasSubstr("invalid trace event at line "));
  EXPECT_EQ(with.substr(0, with.find("error:")), without.substr(0, without.find("error:")));
}

TEST(IndexInspect, AnEntryThatDoesNotHoldIsNotUsed) {
  TempDir dir;
  const std::string path = WriteBigTrace(dir, 3'200'000, 700, 5, true);
  absl::StatusOr<TraceIndex> index = LoadIndex(path);
  ASSERT_TRUE(index.ok());
  ASSERT_GE(index->entries.size(), 3u);
  const IndexEntry e2 = index->entries[2];
  // Corrupt entry 2's seq in place (its checksum is not recomputed: the
  // header still passes, and inspect, which skips the entries hash, must
  // catch the entry itself).
  std::string bytes = ReadFileOrDie(IndexPathFor(path));
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8;
  };
  const size_t entries_at = 512 + ((u32(276) + u32(280) + u32(284) + 7) & ~size_t{7});
  bytes[entries_at + 2 * 40] ^= 1;
  WriteFileOrDie(IndexPathFor(path), bytes);
  for (uint64_t from : {e2.seq - 1, e2.seq, e2.seq + 1, e2.seq + 50}) {
    InspectOptions o;
    o.from_seq = from;
    o.limit = 3;
    EXPECT_EQ(InspectOutcome(path, o), WithoutIndex([&] { return InspectOutcome(path, o); }))
        << from;
  }
  InspectOptions o;
  o.tail = 100000;
  o.kind = EventKind::kToolResult;
  EXPECT_EQ(InspectOutcome(path, o), WithoutIndex([&] { return InspectOutcome(path, o); }));
  EXPECT_EQ(SummaryOutcome(path), WithoutIndex([&] { return SummaryOutcome(path); }));
}

}  // namespace
}  // namespace traceframe
