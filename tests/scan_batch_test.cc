// The batched scan (ScanRangeBatched: simdjson's parse_many over many lines)
// must see exactly what the line-by-line scan (ScanRange) sees: the same
// events at the same lines and bytes, the same errors with the same words,
// the same torn tail, on traces long enough to be batched with every kind of
// line a batch cannot take as one whole JSON object somewhere in them. And the
// tape's duplicate-key check must agree with the DOM's (FindDuplicateKey).
#include <sys/mman.h>

#include <string>
#include <vector>

#include "format/event_parser.h"
#include "gtest/gtest.h"
#include "read/scan.h"
#include "test_util.h"
#include "traceframe/trace_reader.h"
#include "util/json_internal.h"

namespace traceframe {
namespace {

using testing::EventLine;
using testing::TempDir;
using testing::WriteFileOrDie;

// Everything a scan reports, one line per event or error, plus how it ended.
std::string Record(const std::string& path, uint64_t begin, bool batched, bool stop_on_error,
                   int stop_after_events = -1) {
  auto reader = TraceReader::Open(path);
  EXPECT_TRUE(reader.ok());
  const MappedView view = ViewOf(**reader);
  EventParser parser;
  std::string out;
  int events = 0;
  auto on_event = [&](const EventView& e) {
    out += "E " + std::to_string(e.line_number) + " " + std::to_string(e.byte_offset) + " " +
           std::to_string(e.seq) + " " + std::string(e.event_id) + " " + std::string(e.run_id) +
           " " + std::to_string(e.ts_ms) + " " + std::to_string(static_cast<int>(e.kind)) +
           " failed=" + std::to_string(e.tool_failed) +
           " status=" + std::string(e.finished_status.value_or("-")) +
           " model=" + std::string(e.model.value_or("-")) + " line=" + std::string(e.line) +
           " dup=" + std::to_string(parser.PayloadHasDuplicateKey()) + "\n";
    return ++events != stop_after_events;
  };
  auto on_error = [&](const LineError& e) {
    out += "X " + std::to_string(e.line_number) + " " + std::to_string(e.byte_offset) + " " +
           e.reason + "\n";
    return !stop_on_error;
  };
  const uint64_t first_line = 1;
  const TraceReader::ScanResult r =
      batched ? ScanRangeBatched(view, parser, begin, view.size, first_line, on_event, on_error)
              : ScanRange(view, parser, begin, view.size, first_line, on_event, on_error);
  out += "events=" + std::to_string(r.events) + " lines=" + std::to_string(r.lines) +
         " end=" + std::to_string(r.end_offset);
  if (r.error) out += " last_error=" + std::to_string(r.error->line_number);
  if (r.torn)
    out += " torn=" + std::to_string(r.torn->offset) + "/" + std::to_string(r.torn->length);
  return out;
}

void ExpectSameScan(const std::string& path) {
  for (bool stop : {false, true}) {
    for (int stop_after : {-1, 7, 900}) {
      ASSERT_EQ(Record(path, 0, false, stop, stop_after), Record(path, 0, true, stop, stop_after))
          << path << " stop_on_error=" << stop << " stop_after=" << stop_after;
    }
  }
}

// ~2,000 events of ~150-300 bytes: several batches of parse_many.
std::vector<std::string> ValidLines(int n) {
  std::vector<std::string> lines;
  lines.push_back(EventLine("r", "e0", "run.started", 1000, 0, "{\"source\":\"t\"}"));
  for (int i = 1; i < n; ++i) {
    std::string payload;
    switch (i % 4) {
      case 0:
        payload = "{\"model\":\"m\",\"usage\":{\"input_tokens\":" + std::to_string(i) + "}}";
        break;
      case 1:
        payload = "{\"tool\":\"bash\",\"input\":{\"command\":\"ls -l " + std::string(i % 97, 'x') +
                  "\",\"args\":[1,2.5,-3,\"\\u00e9\\n\",{\"a\":null,\"b\":[true,false]}]}}";
        break;
      case 2:
        payload = "{\"success\":" + std::string(i % 8 == 2 ? "false" : "true") +
                  ",\"output\":\"caf\xC3\xA9 \\\"q\\\" \xF0\x9F\x9A\x80\"}";
        break;
      default:
        payload = "{\"exit_code\":" + std::to_string(i % 5) + "}";
    }
    const char* kind = i % 4 == 0   ? "model.call"
                       : i % 4 == 1 ? "tool.call"
                       : i % 4 == 2 ? "tool.result"
                                    : "tool.result";
    lines.push_back(EventLine("r", "e" + std::to_string(i), kind, 1000 + i, i, payload));
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

TEST(ScanBatchTest, ValidTraceScansTheSame) {
  TempDir dir;
  const std::string path = dir.File("valid.traceframe");
  WriteFileOrDie(path, Join(ValidLines(2000)));
  ExpectSameScan(path);
  // And the batched scan really took the events (every line, no error),
  // through parse_many (its parser allocated a batch).
  EXPECT_NE(Record(path, 0, true, true).find("events=2000 lines=2000"), std::string::npos);
  auto reader = TraceReader::Open(path);
  ASSERT_TRUE(reader.ok());
  EventParser parser;
  ScanRangeBatched(
      ViewOf(**reader), parser, 0, (*reader)->size(), 1, [](const EventView&) { return true; },
      [](const LineError&) { return false; });
  EXPECT_GT(parser.batch_parser().capacity(), 0u);
}

// Each of these replaces one line in the middle of a long trace (or is
// inserted there): lines a batch must hand back to the line-by-line parse.
TEST(ScanBatchTest, EveryOddLineScansTheSame) {
  const std::vector<std::string> odd = {
      "",                                      // blank
      "   \t ",                                // blank with spaces
      "\r",                                    // blank CRLF line
      "{\"version\":1}{\"version\":1}",        // two values on a line
      "{\"a\":1} 2",                           // an object and a number
      "{\"a\":",                               // a value cut at the newline...
      "1}",                                    // ...that a batch would join to the next
      "[1,2]",                                 // not an object
      "42",                                    // a scalar
      "\"text\"",                              // a string
      "nul",                                   // not JSON
      "{\"a\":\"unterminated}",                // an unclosed string
      "{\"a\":\"bad \xFF utf8\"}",             // invalid UTF-8
      "{\"a\":\"ctrl \x01 char\"}",            // a raw control character
      "{\"version\":1,\"version\":1}",         // a repeated event field
      "{\"version\":\"1\",\"run_id\":\"r\"}",  // a wrong type
      "{}",                                    // missing fields
      "{\"a\":1}\r",                           // CRLF after an object
      "   {\"a\":1}   ",                       // spaces around
      "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",  // deep
  };
  TempDir dir;
  for (size_t k = 0; k < odd.size(); ++k) {
    std::vector<std::string> lines = ValidLines(1500);
    lines[700] = odd[k];
    const std::string path = dir.File("odd" + std::to_string(k) + ".traceframe");
    WriteFileOrDie(path, Join(lines));
    ExpectSameScan(path);
    // Also with the odd line as the very first line and just before the end.
    lines = ValidLines(1500);
    lines.insert(lines.begin(), odd[k]);
    lines.insert(lines.end() - 1, odd[k]);
    WriteFileOrDie(path, Join(lines));
    ExpectSameScan(path);
  }
}

TEST(ScanBatchTest, QuirksAndTornTailScanTheSame) {
  TempDir dir;
  std::vector<std::string> lines = ValidLines(1200);
  // CRLF on every other line, a run of blank lines, a BOM, a torn tail.
  for (size_t i = 0; i < lines.size(); i += 2) lines[i] += "\r";
  lines.insert(lines.begin() + 500, {"", "", "  "});
  const std::string path = dir.File("quirks.traceframe");
  WriteFileOrDie(path, "\xEF\xBB\xBF" + Join(lines) + "{\"version\":1,\"run_");
  ExpectSameScan(path);
  // An unterminated but complete last line is an event, not a torn tail.
  WriteFileOrDie(path, Join(lines) + EventLine("r", "last", "error", 9999, 99999, "{}"));
  ExpectSameScan(path);
  // Many bad lines: every batch gives up again and again.
  std::vector<std::string> bad = ValidLines(1500);
  for (size_t i = 3; i < bad.size(); i += 37) bad[i] = "{\"a\":1}{";
  WriteFileOrDie(path, Join(bad));
  ExpectSameScan(path);
}

TEST(ScanBatchTest, LinesLongerThanABatchScanTheSame) {
  TempDir dir;
  std::vector<std::string> lines = ValidLines(600);
  lines[300] = EventLine("r", "big", "tool.result", 1300, 300,
                         "{\"output\":\"" + std::string(700 << 10, 'y') + "\"}");
  const std::string path = dir.File("long.traceframe");
  WriteFileOrDie(path, Join(lines));
  ExpectSameScan(path);
}

// TapeHasDuplicateKey may say true only when FindDuplicateKey finds one
// (or the value is too deep or wide for its room), and must never miss one.
TEST(ScanBatchTest, TapeDuplicateKeyCheckAgreesWithTheDom) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"{}", false},
      {"[]", false},
      {"\"s\"", false},
      {"12", false},
      {"{\"a\":1,\"b\":2}", false},
      {"{\"a\":1,\"a\":2}", true},
      {"{\"a\":{\"b\":1,\"b\":[]}}", true},
      {"{\"a\":{\"b\":1},\"b\":{\"a\":1}}", false},
      {"[{\"x\":1},{\"x\":1},{\"x\":1,\"y\":[{\"z\":0,\"z\":0}]}]", true},
      {"{\"abcdefghij\":1,\"abcdefghik\":2}", false},
      {"{\"abcdefghij\":1,\"abcdefghij\":2}", true},
      {"{\"\":1,\"\\u0000\":2}", false},
      {"{\"a\":1.5,\"b\":-2,\"c\":18446744073709551615,\"a\":null}", true},
      {"{\"a\\u0062\":1,\"ab\":2}", true},
  };
  simdjson::dom::parser parser;
  for (const auto& [json, dup] : cases) {
    simdjson::dom::element root;
    ASSERT_FALSE(parser.parse(json).get(root)) << json;
    std::string key, where;
    EXPECT_EQ(FindDuplicateKey(root, &key, &where), dup) << json;
    EXPECT_EQ(TapeHasDuplicateKey(parser.doc, 1), dup) << json;
  }
  // Objects past the pairwise comparison (sorted when they close).
  for (int n : {15, 16, 17, 40, 600}) {
    for (bool dup : {false, true}) {
      std::string json = "{\"outer\":{";
      for (int i = 0; i < n; ++i)
        json += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
      json += dup ? "\"k3\":0}}" : "\"last\":0}}";
      simdjson::dom::element root;
      ASSERT_FALSE(parser.parse(json).get(root));
      std::string key, where;
      EXPECT_EQ(FindDuplicateKey(root, &key, &where), dup) << n;
      // Past its room (512 keys) the tape check answers true: the DOM decides.
      EXPECT_EQ(TapeHasDuplicateKey(parser.doc, 1), dup || n > 500) << n;
    }
  }
  // Deeper than its room: true, never a miss.
  std::string deep = std::string(100, '[') + "{\"a\":1,\"a\":1}" + std::string(100, ']');
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(deep).get(root));
  EXPECT_TRUE(TapeHasDuplicateKey(parser.doc, 1));
}

}  // namespace
}  // namespace traceframe
