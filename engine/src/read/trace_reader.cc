#include "traceframe/trace_reader.h"
#include "traceframe/str_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "read/scan.h"
#include "util/file_util.h"

namespace traceframe {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Skips a JSON value starting at s[i] (already validated JSON); returns the
// index one past its end.
size_t SkipValue(std::string_view s, size_t i) {
  if (s[i] == '"') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        return i + 1;
      }
    }
    return s.size();
  }
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        i = SkipValue(s, i) - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
         s[i] != '\r' && s[i] != '\n') {
    ++i;
  }
  return i;
}

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  return i;
}

}  // namespace

std::string_view RawPayload(std::string_view line) {
  size_t i = SkipSpace(line, 0);
  if (i >= line.size() || line[i] != '{') return {};
  i = SkipSpace(line, i + 1);
  while (i < line.size() && line[i] == '"') {
    const size_t key_end = SkipValue(line, i);
    std::string_view key = line.substr(i + 1, key_end - i - 2);
    i = SkipSpace(line, key_end);
    if (i >= line.size() || line[i] != ':') return {};
    i = SkipSpace(line, i + 1);
    const size_t value_end = SkipValue(line, i);
    // An escaped key ("pay\u006coad") is legal JSON but never written by
    // traceframe; callers fall back to re-serializing the parsed payload.
    if (key == "payload") return line.substr(i, value_end - i);
    i = SkipSpace(line, value_end);
    if (i < line.size() && line[i] == ',') i = SkipSpace(line, i + 1);
  }
  return {};
}

std::string DescribeLineError(const LineError& error) {
  return Cat("invalid trace event at line ", error.line_number, " (byte ", error.byte_offset,
             "): ", error.reason);
}

class MappedTrace {
 public:
  std::string path;
  UniqueFd fd;
  const char* data = nullptr;
  uint64_t size = 0;
  uint64_t readable = 0;  // mapped bytes that can be touched (page-rounded)
  EventParser parser;

  ~MappedTrace() {
    if (data != nullptr) ::munmap(const_cast<char*>(data), readable);
  }
};

TraceReader::TraceReader() : impl_(std::make_unique<MappedTrace>()) {}
TraceReader::~TraceReader() = default;

absl::StatusOr<std::unique_ptr<TraceReader>> TraceReader::Open(const std::string& path) {
  std::unique_ptr<TraceReader> reader(new TraceReader());
  MappedTrace& m = *reader->impl_;
  m.path = path;
  absl::StatusOr<UniqueFd> opened = OpenRegularFile(path, O_RDONLY, "failed to read trace file");
  if (!opened.ok()) return opened.status();
  m.fd = std::move(*opened);
  struct stat st;
  // Writers append whole lines under an exclusive lock. Taking the shared lock
  // for a moment makes the size we map a boundary between complete appends.
  // A long-lived holder (a TraceRecorder) is not waited for: its writes are
  // whole lines too, and a partial one shows up as a torn tail.
  bool locked = false;
  bool writer_holds_lock = false;
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::flock(m.fd.get(), LOCK_SH | LOCK_NB) == 0) {
      locked = true;
      break;
    }
    writer_holds_lock = errno == EWOULDBLOCK;
    if (errno != EWOULDBLOCK && errno != EINTR) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (::fstat(m.fd.get(), &st) != 0) return ErrnoError(errno, "failed to read trace file", path);
  if (locked) ::flock(m.fd.get(), LOCK_UN);
  m.size = static_cast<uint64_t>(st.st_size);
  const uint64_t file_size = m.size;
  if (m.size > 0) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    m.readable = (m.size + page - 1) / page * page;
    void* addr = ::mmap(nullptr, m.readable, PROT_READ, MAP_PRIVATE, m.fd.get(), 0);
    if (addr == MAP_FAILED) return ErrnoError(errno, "failed to map trace file", path);
    ::madvise(addr, m.readable, MADV_SEQUENTIAL);
    m.data = static_cast<const char*>(addr);
    // A live writer holds the lock (a TraceRecorder, a long CLI append): an
    // unterminated last line is its write in progress, not a crash. Readers
    // see the trace up to its last complete line, as if they had opened it
    // a moment earlier (docs/format.md "Reading a live trace").
    if (writer_holds_lock && m.data[file_size - 1] != '\n') {
      const void* nl = ::memrchr(m.data, '\n', file_size);
      m.size = nl == nullptr ? 0 : static_cast<uint64_t>(static_cast<const char*>(nl) - m.data) + 1;
    }
  }
  return reader;
}

const std::string& TraceReader::path() const { return impl_->path; }
uint64_t TraceReader::size() const { return impl_->size; }
std::string_view TraceReader::data() const { return {impl_->data, impl_->size}; }

uint64_t TraceReader::LastLineStart(uint64_t end) const {
  const char* d = impl_->data;
  if (end == 0) return 0;
  uint64_t search_end = end;
  if (d[end - 1] == '\n') search_end = end - 1;
  const void* nl = search_end == 0 ? nullptr : ::memrchr(d, '\n', search_end);
  return nl == nullptr ? 0 : static_cast<uint64_t>(static_cast<const char*>(nl) - d) + 1;
}

TraceReader::ScanResult TraceReader::Scan(uint64_t begin, uint64_t end, uint64_t first_line_number,
                                          const std::function<bool(const EventView&)>& fn) {
  return ScanRange(ViewOf(*this), impl_->parser, begin, end, first_line_number, fn,
                   [](const LineError&) { return false; });
}

MappedView ViewOf(const TraceReader& reader) {
  const MappedTrace& m = *reader.impl_;
  return MappedView{m.data, m.size, m.readable};
}

uint64_t NextLineStart(const MappedView& view, uint64_t offset) {
  if (offset >= view.size) return view.size;
  const void* nl = ::memchr(view.data + offset, '\n', view.size - offset);
  return nl == nullptr ? view.size
                       : static_cast<uint64_t>(static_cast<const char*>(nl) - view.data) + 1;
}

namespace {

// Batches of lines go through simdjson's parse_many (stage 1 over the whole
// batch, one stage 2 per document) instead of one parse per line, when the
// scan is long enough to pay for the batch's set-up.
constexpr uint64_t kMinBatchScan = 64u << 10;
// parse_many's window: its parser holds ~14 bytes per byte of it (tape,
// structural indexes, strings), so this bounds the heap a scan adds.
constexpr size_t kBatchWindow = 256u << 10;
// After a batch gives up on a line (it is not one whole JSON object), the
// lines of this many bytes from there are parsed one at a time.
constexpr uint64_t kLineByLineAfterAnomaly = 64u << 10;

bool IsJsonSpace(const char* p, const char* end) {
  for (; p < end; ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return false;
  }
  return true;
}

struct BatchScan {
  uint64_t next = 0;         // start of the first line not handled
  uint64_t line_number = 0;  // its number
  bool stopped = false;      // a callback returned false; `next` is where
};

// Scans the whole lines of [pos, limit) (limit just past a '\n', with
// SIMDJSON_PADDING readable bytes after it) with parse_many, as long as each
// document is exactly the one JSON value of its line: then its parse is the
// one EventParser::Parse would make of the line alone, and the same schema
// walk (EventParser::ReadEvent) reads it. At the first document that is not
// (two values on a line, a value over several lines, not an object) or at
// the first error, returns the line it is in: the caller parses from there
// line by line, which finds and words the errors.
BatchScan ScanBatch(const MappedView& m, EventParser& parser, uint64_t pos, uint64_t limit,
                    uint64_t line_number, TraceReader::ScanResult* result,
                    const std::function<bool(const EventView&)>& on_event,
                    const std::function<bool(const LineError&)>& on_error) {
  BatchScan out{pos, line_number, false};
  const char* d = m.data;
  simdjson::dom::parser& batch = parser.batch_parser();
#ifdef SIMDJSON_THREADS_ENABLED
  // One thread per scan: parallel scans run one per core already.
  batch.threaded = false;
#endif
  simdjson::dom::document_stream stream;
  if (batch.parse_many(reinterpret_cast<const uint8_t*>(d + pos), limit - pos, kBatchWindow)
          .get(stream)) {
    return out;
  }
  EventView view;
  std::string reason;
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    // The current document is the parser's (`*it` is batch.doc.root()).
    simdjson::dom::element root;
    if ((*it).get(root) || !root.is_object()) return out;
    const uint64_t doc_start = pos + it.current_index();
    const uint64_t doc_end = doc_start + it.source().size();
    if (doc_start < out.next || doc_end > limit) return out;
    // Blank lines before the document (JSON whitespace only).
    const char* p = d + out.next;
    for (;;) {
      const char* nl = static_cast<const char*>(::memchr(p, '\n', doc_start - (p - d)));
      if (nl == nullptr) break;
      if (!IsJsonSpace(p, nl)) return out;
      p = nl + 1;
      ++result->lines;
      ++out.line_number;
      out.next = static_cast<uint64_t>(p - d);
    }
    if (!IsJsonSpace(p, d + doc_start)) return out;
    // The document must end on its own line, with nothing after it.
    const char* nl = static_cast<const char*>(::memchr(d + doc_start, '\n', limit - doc_start));
    if (nl == nullptr || static_cast<uint64_t>(nl - d) < doc_end || !IsJsonSpace(d + doc_end, nl)) {
      return out;
    }
    const uint64_t line_start = out.next;
    const uint64_t next = static_cast<uint64_t>(nl - d) + 1;
    std::string_view line(d + line_start, static_cast<uint64_t>(nl - d) - line_start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    view.line = line;
    view.line_number = out.line_number;
    view.byte_offset = line_start;
    ++result->lines;
    out.next = next;
    ++out.line_number;
    if (parser.ReadEvent(batch.doc, &view, &reason) != LineParseError::kNone) {
      result->error = LineError{view.line_number, line_start, reason};
      if (!on_error(*result->error)) {
        out.next = line_start;
        out.stopped = true;
        return out;
      }
    } else {
      ++result->events;
      if (!on_event(view)) {
        out.stopped = true;
        return out;
      }
    }
  }
  return out;
}

TraceReader::ScanResult ScanLines(const MappedView& m, EventParser& parser, uint64_t begin,
                                  uint64_t end, uint64_t first_line_number, bool batched,
                                  const std::function<bool(const EventView&)>& on_event,
                                  const std::function<bool(const LineError&)>& on_error) {
  TraceReader::ScanResult result;
  const char* d = m.data;
  uint64_t pos = begin;
  uint64_t line_number = first_line_number;
  EventView view;
  std::string reason;
  const bool bom = pos == 0 && end >= kBom.size() && std::string_view(d, kBom.size()) == kBom;
  if (bom) pos = 3;
  // Batches cover whole lines followed by SIMDJSON_PADDING readable bytes.
  uint64_t batch_limit = 0;
  if (batched && end - pos >= kMinBatchScan && m.readable >= simdjson::SIMDJSON_PADDING) {
    const uint64_t padded_end = std::min<uint64_t>(end, m.readable - simdjson::SIMDJSON_PADDING);
    const void* nl = padded_end > pos ? ::memrchr(d + pos, '\n', padded_end - pos) : nullptr;
    if (nl != nullptr) batch_limit = static_cast<uint64_t>(static_cast<const char*>(nl) - d) + 1;
  }
  uint64_t line_by_line_until = 0;
  while (pos < end) {
    // The BOM's line is parsed alone (its offset is 0, not 3).
    if (pos >= line_by_line_until && pos < batch_limit && batch_limit - pos >= kMinBatchScan &&
        !(bom && pos == 3)) {
      const BatchScan batch =
          ScanBatch(m, parser, pos, batch_limit, line_number, &result, on_event, on_error);
      pos = batch.next;
      line_number = batch.line_number;
      if (batch.stopped) {
        result.end_offset = pos;
        return result;
      }
      line_by_line_until = pos + kLineByLineAfterAnomaly;
      if (pos >= end) break;
    }
    const void* nl = ::memchr(d + pos, '\n', end - pos);
    const uint64_t line_end = nl ? static_cast<uint64_t>(static_cast<const char*>(nl) - d) : end;
    const bool terminated = nl != nullptr;
    std::string_view line(d + pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Only a line after a BOM starts before its first byte (a line that
    // merely begins at byte 3 does not).
    const uint64_t line_start = (bom && pos == 3) ? 0 : pos;
    const uint64_t next = terminated ? line_end + 1 : line_end;
    ++result.lines;
    if (!IsBlank(line)) {
      view.line = line;
      view.line_number = line_number;
      view.byte_offset = line_start;
      const bool padded = pos + line.size() + simdjson::SIMDJSON_PADDING <= m.readable;
      const LineParseError err = parser.Parse(line, padded, &view, &reason);
      if (err != LineParseError::kNone) {
        if (!terminated && end == m.size && err == LineParseError::kJsonSyntax) {
          result.torn = TornTail{pos, end - pos, line_number};
          result.end_offset = pos;
          return result;
        }
        result.error = LineError{line_number, line_start, reason};
        if (!on_error(*result.error)) {
          result.end_offset = pos;
          return result;
        }
      } else {
        ++result.events;
        if (!on_event(view)) {
          result.end_offset = next;
          return result;
        }
      }
    }
    pos = next;
    ++line_number;
  }
  result.end_offset = pos;
  return result;
}

}  // namespace

TraceReader::ScanResult ScanRange(const MappedView& m, EventParser& parser, uint64_t begin,
                                  uint64_t end, uint64_t first_line_number,
                                  const std::function<bool(const EventView&)>& on_event,
                                  const std::function<bool(const LineError&)>& on_error) {
  return ScanLines(m, parser, begin, end, first_line_number, false, on_event, on_error);
}

TraceReader::ScanResult ScanRangeBatched(const MappedView& m, EventParser& parser, uint64_t begin,
                                         uint64_t end, uint64_t first_line_number,
                                         const std::function<bool(const EventView&)>& on_event,
                                         const std::function<bool(const LineError&)>& on_error) {
  return ScanLines(m, parser, begin, end, first_line_number, true, on_event, on_error);
}

}  // namespace traceframe
