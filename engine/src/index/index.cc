#include "traceframe/index.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "format/event_parser.h"
#include "format/payload_facts.h"
#include "index/index_internal.h"
#include "read/scan.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/file_lock.h"
#include "util/file_util.h"

namespace traceframe {
namespace {

// ---- The file format (docs/format.md, "Index (.idx)").

constexpr char kMagic[8] = {'T', 'F', 'I', 'N', 'D', 'E', 'X', '\0'};
constexpr uint32_t kHeaderSize = 512;
constexpr uint32_t kEntrySize = 40;
constexpr uint64_t kHeadBytes = 4096;
constexpr uint64_t kMaxStringBytes = 1 << 20;
constexpr uint32_t kFlagValidated = 1;
constexpr uint32_t kFlagFinished = 2;
constexpr uint32_t kFlagHasStatus = 4;
constexpr uint32_t kFlagFinishedUsage = 8;  // run.finished carries a usage object
constexpr uint32_t kKnownFlags =
    kFlagValidated | kFlagFinished | kFlagHasStatus | kFlagFinishedUsage;
// Counter slots for event kinds: room for kinds to come without a new layout.
constexpr int kKindSlots = 16;
static_assert(kEventKindCount <= kKindSlots, "more event kinds than index slots");
constexpr uint64_t kMinBlockBytes = 4096;
constexpr uint64_t kMaxBlockBytes = 1ull << 40;
// Header field offsets (version 2).
constexpr size_t kOffVersion = 8, kOffHeaderSize = 12, kOffEntrySize = 16, kOffFlags = 20,
                 kOffBlock = 24, kOffCovered = 32, kOffLines = 40, kOffEvents = 48,
                 kOffFirstSeq = 56, kOffLastSeq = 64, kOffFirstTs = 72, kOffLastTs = 80,
                 kOffKinds = 88, kOffToolFailures = 216, kOffEntryCount = 224, kOffHeadLen = 232,
                 kOffHeadHash = 240, kOffLastOffset = 248, kOffLastLen = 256, kOffLastHash = 264,
                 kOffLastKind = 272, kOffRunIdLen = 276, kOffStatusLen = 280, kOffMetaLen = 284,
                 kOffStringsHash = 288, kOffEntriesHash = 296, kOffLastEntrySeq = 304,
                 kOffLastEntryOffset = 312, kOffCallUsage = 320, kOffFinishedUsage = 360,
                 kOffReserved = 400, kOffHeaderHash = 504;
// Rebuilds split work into chunks of this size; below the threshold, one thread.
constexpr uint64_t kChunkBytes = 64ull << 20;
constexpr uint64_t kParallelThreshold = 64ull << 20;

constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

// FNV-1a, 64-bit: simple to specify exactly, and extendable (the running
// entries hash is updated as entries are appended).
uint64_t Fnv1a(std::string_view data, uint64_t h = kFnvBasis) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutUsage(char* p, const TokenUsage& u) {
  PutU64(p, u.input_tokens);
  PutU64(p + 8, u.output_tokens);
  PutU64(p + 16, u.cache_read_input_tokens);
  PutU64(p + 24, u.cache_creation_input_tokens);
  PutU64(p + 32, u.reasoning_output_tokens);
}
TokenUsage GetUsage(const char* p) {
  TokenUsage u;
  u.input_tokens = GetU64(p);
  u.output_tokens = GetU64(p + 8);
  u.cache_read_input_tokens = GetU64(p + 16);
  u.cache_creation_input_tokens = GetU64(p + 24);
  u.reasoning_output_tokens = GetU64(p + 32);
  return u;
}

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// The fixed-size header, decoded.
struct Header {
  uint32_t flags = 0;
  uint64_t block_bytes = 0;
  uint64_t covered_bytes = 0;
  uint64_t covered_lines = 0;
  uint64_t events = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
  uint64_t kind_counts[kKindSlots] = {};
  uint64_t tool_failures = 0;
  uint64_t entry_count = 0;
  uint64_t head_len = 0;
  uint64_t head_hash = 0;
  uint64_t last_event_offset = 0;
  uint64_t last_event_len = 0;
  uint64_t last_event_hash = 0;
  uint32_t last_kind = 0;
  uint32_t run_id_len = 0;
  uint32_t status_len = 0;
  uint32_t meta_len = 0;  // the JSON object of source, labels and models
  uint64_t strings_hash = 0;
  uint64_t entries_hash = kFnvBasis;
  uint64_t last_entry_seq = 0;
  uint64_t last_entry_offset = 0;
  TokenUsage call_usage;
  TokenUsage finished_usage;

  uint64_t strings_len() const { return uint64_t{run_id_len} + status_len + meta_len; }
  uint64_t entries_offset() const { return kHeaderSize + Align8(strings_len()); }
};

std::string EncodeHeader(const Header& h) {
  std::string out(kHeaderSize, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  PutU32(p + kOffVersion, kIndexFormatVersion);
  PutU32(p + kOffHeaderSize, kHeaderSize);
  PutU32(p + kOffEntrySize, kEntrySize);
  PutU32(p + kOffFlags, h.flags);
  PutU64(p + kOffBlock, h.block_bytes);
  PutU64(p + kOffCovered, h.covered_bytes);
  PutU64(p + kOffLines, h.covered_lines);
  PutU64(p + kOffEvents, h.events);
  PutU64(p + kOffFirstSeq, h.first_seq);
  PutU64(p + kOffLastSeq, h.last_seq);
  PutU64(p + kOffFirstTs, static_cast<uint64_t>(h.first_ts_ms));
  PutU64(p + kOffLastTs, static_cast<uint64_t>(h.last_ts_ms));
  for (int k = 0; k < kKindSlots; ++k) PutU64(p + kOffKinds + 8 * k, h.kind_counts[k]);
  PutU64(p + kOffToolFailures, h.tool_failures);
  PutU64(p + kOffEntryCount, h.entry_count);
  PutU64(p + kOffHeadLen, h.head_len);
  PutU64(p + kOffHeadHash, h.head_hash);
  PutU64(p + kOffLastOffset, h.last_event_offset);
  PutU64(p + kOffLastLen, h.last_event_len);
  PutU64(p + kOffLastHash, h.last_event_hash);
  PutU32(p + kOffLastKind, h.last_kind);
  PutU32(p + kOffRunIdLen, h.run_id_len);
  PutU32(p + kOffStatusLen, h.status_len);
  PutU32(p + kOffMetaLen, h.meta_len);
  PutUsage(p + kOffCallUsage, h.call_usage);
  PutUsage(p + kOffFinishedUsage, h.finished_usage);
  PutU64(p + kOffStringsHash, h.strings_hash);
  PutU64(p + kOffEntriesHash, h.entries_hash);
  PutU64(p + kOffLastEntrySeq, h.last_entry_seq);
  PutU64(p + kOffLastEntryOffset, h.last_entry_offset);
  PutU64(p + kOffHeaderHash, Fnv1a(std::string_view(p, kOffHeaderHash)));
  return out;
}

absl::Status Invalid(std::string_view why) {
  return absl::FailedPreconditionError(Cat("invalid index: ", why));
}

// Checks everything the header can say about itself.
absl::StatusOr<Header> DecodeHeader(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) {
    return Invalid(
        Cat("file is ", bytes.size(), " bytes, shorter than the ", kHeaderSize, "-byte header"));
  }
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return Invalid("bad magic (not an index file)");
  const uint32_t version = GetU32(p + kOffVersion);
  if (version != kIndexFormatVersion) {
    return Invalid(Cat("unsupported index version ", version, " (this build reads ",
                       kIndexFormatVersion, ")"));
  }
  if (GetU32(p + kOffHeaderSize) != kHeaderSize || GetU32(p + kOffEntrySize) != kEntrySize) {
    return Invalid("unexpected header or entry size");
  }
  if (GetU64(p + kOffHeaderHash) != Fnv1a(std::string_view(p, kOffHeaderHash))) {
    return Invalid("header checksum mismatch");
  }
  Header h;
  h.flags = GetU32(p + kOffFlags);
  h.block_bytes = GetU64(p + kOffBlock);
  h.covered_bytes = GetU64(p + kOffCovered);
  h.covered_lines = GetU64(p + kOffLines);
  h.events = GetU64(p + kOffEvents);
  h.first_seq = GetU64(p + kOffFirstSeq);
  h.last_seq = GetU64(p + kOffLastSeq);
  h.first_ts_ms = static_cast<int64_t>(GetU64(p + kOffFirstTs));
  h.last_ts_ms = static_cast<int64_t>(GetU64(p + kOffLastTs));
  for (int k = 0; k < kKindSlots; ++k) h.kind_counts[k] = GetU64(p + kOffKinds + 8 * k);
  h.tool_failures = GetU64(p + kOffToolFailures);
  h.entry_count = GetU64(p + kOffEntryCount);
  h.head_len = GetU64(p + kOffHeadLen);
  h.head_hash = GetU64(p + kOffHeadHash);
  h.last_event_offset = GetU64(p + kOffLastOffset);
  h.last_event_len = GetU64(p + kOffLastLen);
  h.last_event_hash = GetU64(p + kOffLastHash);
  h.last_kind = GetU32(p + kOffLastKind);
  h.run_id_len = GetU32(p + kOffRunIdLen);
  h.status_len = GetU32(p + kOffStatusLen);
  h.meta_len = GetU32(p + kOffMetaLen);
  h.call_usage = GetUsage(p + kOffCallUsage);
  h.finished_usage = GetUsage(p + kOffFinishedUsage);
  h.strings_hash = GetU64(p + kOffStringsHash);
  h.entries_hash = GetU64(p + kOffEntriesHash);
  h.last_entry_seq = GetU64(p + kOffLastEntrySeq);
  h.last_entry_offset = GetU64(p + kOffLastEntryOffset);

  if ((h.flags & ~kKnownFlags) != 0) return Invalid("unknown flags");
  for (size_t off = kOffReserved; off < kOffHeaderHash; ++off) {
    if (p[off] != 0) return Invalid("reserved header bytes are not zero");
  }
  if (h.block_bytes < kMinBlockBytes || h.block_bytes > kMaxBlockBytes) {
    return Invalid("block size out of range");
  }
  if (h.run_id_len > kMaxStringBytes || h.status_len > kMaxStringBytes ||
      h.meta_len > kMaxStringBytes) {
    return Invalid("string too long");
  }
  if (h.last_kind >= static_cast<uint32_t>(kEventKindCount)) return Invalid("bad last kind");
  uint64_t sum = 0;
  for (int k = kEventKindCount; k < kKindSlots; ++k) {
    if (h.kind_counts[k] != 0) return Invalid("counts for unknown event kinds");
  }
  for (uint64_t c : h.kind_counts) {
    if (c > h.events) return Invalid("kind counts exceed the event count");
    sum += c;
  }
  if (sum != h.events) return Invalid("kind counts do not add up to the event count");
  if (h.tool_failures > h.kind_counts[static_cast<int>(EventKind::kToolResult)]) {
    return Invalid("more tool failures than tool results");
  }
  if (h.covered_lines < h.events || h.covered_lines > h.covered_bytes) {
    return Invalid("line count out of range");
  }
  if (h.head_len > kHeadBytes || h.head_len > h.covered_bytes) return Invalid("bad head length");
  const bool finished = (h.flags & kFlagFinished) != 0;
  const bool has_status = (h.flags & kFlagHasStatus) != 0;
  if ((has_status && !finished) || (!has_status && h.status_len != 0)) {
    return Invalid("status without run.finished");
  }
  if ((h.flags & kFlagFinishedUsage) && !finished) return Invalid("run usage without run.finished");
  if (!(h.flags & kFlagFinishedUsage) && h.finished_usage.any()) {
    return Invalid("run usage without its flag");
  }
  if (h.events == 0) {
    if (h.entry_count != 0 || finished || h.run_id_len != 0 || h.meta_len != 0 ||
        h.call_usage.any()) {
      return Invalid("facts without events");
    }
  } else {
    if (h.entry_count == 0 || h.entry_count > h.events) return Invalid("bad entry count");
    // At most one entry per block of covered bytes.
    if (h.entry_count - 1 > h.covered_bytes / h.block_bytes) return Invalid("too many entries");
    if (h.last_event_len == 0 || h.last_event_offset > h.covered_bytes ||
        h.last_event_len > h.covered_bytes - h.last_event_offset) {
      return Invalid("last event outside the covered bytes");
    }
    if (finished != (h.last_kind == static_cast<uint32_t>(EventKind::kRunFinished))) {
      return Invalid("finished flag disagrees with the last kind");
    }
    if (h.last_entry_offset > h.last_event_offset) return Invalid("last entry after last event");
    if ((h.flags & kFlagValidated) && h.last_seq < h.first_seq) {
      return Invalid("last seq below first seq");
    }
  }
  return h;
}

// The strings section's third part: {"source","labels","models"}, empty
// when there is nothing to say (so most hook and CLI traces carry none).
std::string MetaJson(const IndexFacts& f) {
  if (f.source.empty() && f.labels.empty() && f.models.empty()) return "";
  std::string out;
  JsonObjectWriter w(&out);
  w.String("source", f.source).Raw("labels", LabelsJson(f.labels));
  w.Raw("models", JsonStringArray(f.models));
  w.Finish();
  return out;
}

bool DecodeMeta(std::string_view meta, IndexFacts* f) {
  if (meta.empty()) return true;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(meta.data(), meta.size(), true).get(root)) return false;
  std::string_view source;
  simdjson::dom::array models;
  if (root["source"].get_string().get(source) || root["models"].get_array().get(models)) {
    return false;
  }
  f->source = std::string(source);
  f->labels = LabelsFromElement(root);
  for (simdjson::dom::element m : models) {
    std::string_view name;
    if (m.get_string().get(name)) return false;
    f->models.emplace_back(name);
  }
  return f->models.size() <= kMaxRunModels;
}

Header HeaderOf(const TraceIndex& index) {
  const IndexFacts& f = index.facts;
  Header h;
  h.flags = (f.validated ? kFlagValidated : 0) | (f.finished ? kFlagFinished : 0) |
            (f.finished && f.finished_status ? kFlagHasStatus : 0) |
            (f.finished && f.finished_usage ? kFlagFinishedUsage : 0);
  h.block_bytes = index.block_bytes;
  h.covered_bytes = f.covered_bytes;
  h.covered_lines = f.covered_lines;
  h.events = f.events;
  h.first_seq = f.first_seq;
  h.last_seq = f.last_seq;
  h.first_ts_ms = f.first_ts_ms;
  h.last_ts_ms = f.last_ts_ms;
  for (int k = 0; k < kEventKindCount; ++k) h.kind_counts[k] = f.kind_counts[k];
  h.tool_failures = f.tool_failures;
  h.entry_count = index.entries.size();
  h.head_len = index.head_len;
  h.head_hash = index.head_hash;
  h.last_event_offset = index.last_event_offset;
  h.last_event_len = index.last_event_len;
  h.last_event_hash = index.last_event_hash;
  h.last_kind = static_cast<uint32_t>(f.last_kind);
  const std::string status = f.finished && f.finished_status ? *f.finished_status : std::string();
  const std::string meta = MetaJson(f);
  h.run_id_len = static_cast<uint32_t>(f.run_id.size());
  h.status_len = static_cast<uint32_t>(status.size());
  h.meta_len = static_cast<uint32_t>(meta.size());
  h.strings_hash = Fnv1a(meta, Fnv1a(status, Fnv1a(f.run_id)));
  h.call_usage = f.call_usage;
  if (f.finished && f.finished_usage) h.finished_usage = *f.finished_usage;
  if (!index.entries.empty()) {
    h.last_entry_seq = index.entries.back().seq;
    h.last_entry_offset = index.entries.back().offset;
  }
  return h;
}

void AppendEntry(std::string* out, const IndexEntry& e) {
  char buf[kEntrySize];
  PutU64(buf, e.seq);
  PutU64(buf + 8, e.offset);
  PutU64(buf + 16, static_cast<uint64_t>(e.ts_ms));
  PutU64(buf + 24, e.event_index);
  PutU64(buf + 32, e.line);
  out->append(buf, kEntrySize);
}

// ---- Reading trace bytes, from a mapping or a descriptor.

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // [off, off+len) of the trace; false if out of range or unreadable. The
  // view is valid until the next call.
  virtual bool Read(uint64_t off, uint64_t len, std::string_view* out) = 0;
};

// A mapping (or a buffer) holding the trace bytes [shift, shift + view.size).
class ViewSource : public ByteSource {
 public:
  explicit ViewSource(const MappedView& view, uint64_t shift = 0) : view_(view), shift_(shift) {}
  bool Read(uint64_t off, uint64_t len, std::string_view* out) override {
    if (off < shift_ || off - shift_ > view_.size || len > view_.size - (off - shift_)) {
      return false;
    }
    *out = std::string_view(view_.data + (off - shift_), len);
    return true;
  }

 private:
  MappedView view_;
  uint64_t shift_;
};

class FdSource : public ByteSource {
 public:
  FdSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  bool Read(uint64_t off, uint64_t len, std::string_view* out) override {
    if (off > size_ || len > size_ - off) return false;
    buf_.resize(len);
    uint64_t done = 0;
    while (done < len) {
      const ssize_t n =
          ::pread(fd_, buf_.data() + done, len - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<uint64_t>(n);
    }
    *out = buf_;
    return true;
  }

 private:
  int fd_;
  uint64_t size_;
  std::string buf_;
};

// The content of the line starting at `off` (without "\n" or "\r\n"),
// reading no further than `limit`.
bool ReadLine(ByteSource& src, uint64_t off, uint64_t limit, std::string* out) {
  if (off >= limit) return false;
  for (uint64_t chunk = 4096;; chunk *= 2) {
    const uint64_t n = std::min(chunk, limit - off);
    std::string_view piece;
    if (!src.Read(off, n, &piece)) return false;
    const size_t nl = piece.find('\n');
    if (nl != std::string_view::npos || off + n == limit) {
      out->assign(piece.substr(0, nl == std::string_view::npos ? piece.size() : nl));
      if (!out->empty() && out->back() == '\r') out->pop_back();
      return true;
    }
  }
}

bool ParseLineAt(ByteSource& src, uint64_t off, uint64_t limit, EventParser& parser,
                 EventView* view, std::string* line) {
  if (!ReadLine(src, off, limit, line)) return false;
  std::string_view text(*line);
  if (off == 0 && StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  std::string reason;
  return parser.Parse(text, false, view, &reason) == LineParseError::kNone;
}

// The cheap checks that tie an index to a trace of `size` bytes.
absl::Status MatchAgainst(const TraceIndex& index, ByteSource& src, uint64_t size) {
  const IndexFacts& f = index.facts;
  auto mismatch = [](std::string_view why) {
    return absl::FailedPreconditionError(Cat("index does not match the trace: ", why));
  };
  if (f.covered_bytes > size) {
    return mismatch(Cat("the trace has ", size, " bytes but the index covers ", f.covered_bytes,
                        " (truncated or replaced)"));
  }
  std::string_view bytes;
  if (f.covered_bytes > 0 && f.covered_bytes < size) {
    if (!src.Read(f.covered_bytes - 1, 1, &bytes)) return mismatch("unreadable");
    if (bytes[0] != '\n') return mismatch("the last covered line has grown");
  }
  if (!src.Read(0, index.head_len, &bytes)) return mismatch("unreadable head");
  if (Fnv1a(bytes) != index.head_hash)
    return mismatch("the start of the trace differs (rewritten)");
  if (f.events == 0) return absl::OkStatus();
  if (!src.Read(index.last_event_offset, index.last_event_len, &bytes) ||
      Fnv1a(bytes) != index.last_event_hash) {
    return mismatch("the last covered event differs");
  }
  EventParser parser;
  EventView view;
  std::string line;
  const uint64_t end = index.last_event_offset + index.last_event_len;
  if (!ParseLineAt(src, index.last_event_offset, f.covered_bytes, parser, &view, &line) ||
      line.size() != index.last_event_len || view.seq != f.last_seq || view.kind != f.last_kind ||
      view.ts_ms != f.last_ts_ms) {
    return mismatch("the last covered event is not the one indexed");
  }
  if (end < f.covered_bytes) {
    if (!src.Read(end, 1, &bytes) || (bytes[0] != '\n' && bytes[0] != '\r')) {
      return mismatch("the last covered event's line has grown");
    }
  }
  const IndexEntry& last_entry = index.entries.back();
  if (!ParseLineAt(src, last_entry.offset, f.covered_bytes, parser, &view, &line) ||
      view.seq != last_entry.seq || view.ts_ms != last_entry.ts_ms) {
    return mismatch(Cat("no event with seq ", last_entry.seq, " at byte ", last_entry.offset));
  }
  return absl::OkStatus();
}

// ---- Scanning a trace into index facts.

struct Snap {
  uint64_t offset = 0;
  uint64_t len = 0;
  uint64_t seq = 0;
  uint64_t line = 0;
  int64_t ts_ms = 0;
  EventKind kind = EventKind::kRunStarted;
};

struct Chunk {
  uint64_t begin = 0;  // in view coordinates
  uint64_t end = 0;
  uint64_t stop = 0;  // absolute: where the readable bytes end (a torn tail's start, or end)
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t kind_counts[kEventKindCount] = {};
  uint64_t tool_failures = 0;
  std::optional<Snap> first;  // absolute offsets, chunk-relative lines
  std::optional<Snap> last;
  std::string first_run_id;
  std::optional<std::string> last_status;
  std::optional<TokenUsage> last_usage;  // the last event's, when it is run.finished
  TokenUsage call_usage;
  std::vector<std::string> models;
  std::string first_source;  // the chunk's first event, when run.started
  Labels first_labels;
  bool ok = true;
  // Events after the chunk's first that start a new block; event_index and
  // line relative to the chunk.
  std::vector<IndexEntry> entries;
  std::optional<TornTail> torn;  // absolute offset, chunk-relative line
};

// Scans [c->begin, c->end) of `view`, which holds the trace bytes starting
// at absolute offset `shift`.
void ScanChunk(const MappedView& view, uint64_t shift, uint64_t block, Chunk* c,
               EventParser& parser) {
  TraceReader::ScanResult r = ScanRange(
      view, parser, c->begin, c->end, 1,
      [&](const EventView& e) {
        Snap s;
        s.offset = e.byte_offset + shift;
        s.len = static_cast<uint64_t>(e.line.data() - view.data) + e.line.size() - e.byte_offset;
        s.seq = e.seq;
        s.line = e.line_number;
        s.ts_ms = e.ts_ms;
        s.kind = e.kind;
        if (!c->first) {
          c->first = s;
          c->first_run_id = std::string(e.run_id);
          if (e.kind == EventKind::kRunStarted) {
            std::string_view source;
            if (!parser.payload()["source"].get_string().get(source)) {
              c->first_source = std::string(source);
            }
            c->first_labels = LabelsFromElement(parser.payload());
          }
        } else {
          const Snap& p = *c->last;
          if (e.run_id != c->first_run_id || p.kind == EventKind::kRunFinished || e.seq <= p.seq) {
            c->ok = false;
          }
          if (s.offset / block != p.offset / block) {
            c->entries.push_back(IndexEntry{s.seq, s.offset, s.ts_ms, c->events, s.line});
          }
        }
        if (e.version != 1 || StripWhitespace(e.event_id).empty()) c->ok = false;
        ++c->kind_counts[static_cast<int>(e.kind)];
        if (e.kind == EventKind::kToolResult && e.tool_failed) ++c->tool_failures;
        c->last_status.reset();
        c->last_usage.reset();
        if (e.kind == EventKind::kRunFinished) {
          if (e.finished_status) c->last_status = std::string(*e.finished_status);
          c->last_usage = e.usage;
        } else if (e.kind == EventKind::kModelCall) {
          if (e.usage) c->call_usage += *e.usage;
          if (e.model) NoteModel(&c->models, *e.model);
        }
        c->last = s;
        ++c->events;
        return true;
      },
      [&](const LineError&) {
        c->ok = false;
        return true;
      });
  c->lines = r.lines - (r.torn ? 1 : 0);
  if (r.torn) {
    c->torn = TornTail{r.torn->offset + shift, r.torn->length, r.torn->line_number};
    c->stop = c->torn->offset;
  } else {
    c->stop = r.end_offset + shift;
  }
}

// Folds a chunk that follows the covered prefix into `index`.
void MergeChunk(TraceIndex* index, const Chunk& c, std::optional<TornTail>* torn) {
  IndexFacts& f = index->facts;
  const uint64_t lines_before = f.covered_lines;
  const uint64_t events_before = f.events;
  if (c.first) {
    const Snap& first = *c.first;
    const IndexEntry first_entry{first.seq, first.offset, first.ts_ms, events_before,
                                 lines_before + first.line};
    if (f.events == 0) {
      f.first_seq = first.seq;
      f.first_ts_ms = first.ts_ms;
      f.run_id = c.first_run_id;
      f.source = c.first_source;
      f.labels = c.first_labels;
      if (first.kind != EventKind::kRunStarted) f.validated = false;
      index->entries.push_back(first_entry);
    } else {
      if (f.last_kind == EventKind::kRunFinished || first.seq <= f.last_seq ||
          c.first_run_id != f.run_id) {
        f.validated = false;
      }
      if (first.offset / index->block_bytes != index->last_event_offset / index->block_bytes) {
        index->entries.push_back(first_entry);
      }
    }
    for (IndexEntry e : c.entries) {
      e.event_index += events_before;
      e.line += lines_before;
      index->entries.push_back(e);
    }
    for (int k = 0; k < kEventKindCount; ++k) f.kind_counts[k] += c.kind_counts[k];
    f.tool_failures += c.tool_failures;
    f.call_usage += c.call_usage;
    for (const std::string& model : c.models) NoteModel(&f.models, model);
    f.events += c.events;
    const Snap& last = *c.last;
    f.last_seq = last.seq;
    f.last_ts_ms = last.ts_ms;
    f.last_kind = last.kind;
    f.finished = last.kind == EventKind::kRunFinished;
    f.finished_status = f.finished ? c.last_status : std::nullopt;
    f.finished_usage = f.finished ? c.last_usage : std::nullopt;
    index->last_event_offset = last.offset;
    index->last_event_len = last.len;
    index->last_event_hash = 0;  // set by the caller, which can read the bytes
  }
  if (!c.ok) f.validated = false;
  f.covered_lines += c.lines;
  f.covered_bytes = c.stop;
  if (c.torn) *torn = TornTail{c.torn->offset, c.torn->length, lines_before + c.torn->line_number};
}

// Scans [begin, view.size) (view coordinates) in chunks, in parallel when big,
// and folds the result into `index`.
void ScanInto(const MappedView& view, uint64_t shift, uint64_t begin, TraceIndex* index,
              const IndexBuildOptions& options, std::optional<TornTail>* torn) {
  torn->reset();
  const uint64_t end = view.size;
  if (begin >= end) return;
  const uint64_t total = end - begin;
  size_t chunk_count = static_cast<size_t>(std::max<uint64_t>(1, total / kChunkBytes));
  std::vector<Chunk> chunks(chunk_count);
  uint64_t at = begin;
  for (size_t i = 0; i < chunk_count; ++i) {
    chunks[i].begin = at;
    uint64_t stop =
        i + 1 == chunk_count ? end : NextLineStart(view, begin + total / chunk_count * (i + 1));
    stop = std::max(stop, at);
    chunks[i].end = stop;
    at = stop;
  }
  int threads = options.threads;
  if (threads <= 0) {
    threads = total < kParallelThreshold
                  ? 1
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), chunk_count));
  std::atomic<size_t> next{0};
  std::mutex progress_mu;
  uint64_t done = 0;
  auto work = [&] {
    EventParser parser;
    for (size_t i = next++; i < chunk_count; i = next++) {
      ScanChunk(view, shift, index->block_bytes, &chunks[i], parser);
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        done += chunks[i].end - chunks[i].begin;
        options.progress(done, total);
      }
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }
  for (const Chunk& c : chunks) {
    MergeChunk(index, c, torn);
    if (c.torn) break;  // only the last chunk can end in a torn line
  }
}

void FinishIdentity(TraceIndex* index, ByteSource& src, bool set_head) {
  std::string_view bytes;
  if (set_head) {
    index->head_len = std::min<uint64_t>(kHeadBytes, index->facts.covered_bytes);
    index->head_hash = src.Read(0, index->head_len, &bytes) ? Fnv1a(bytes) : 0;
  }
  if (index->facts.events > 0 && index->last_event_hash == 0) {
    index->last_event_hash =
        src.Read(index->last_event_offset, index->last_event_len, &bytes) ? Fnv1a(bytes) : 0;
  }
}

TraceIndex EmptyIndex() {
  TraceIndex index;
  index.facts.validated = true;
  return index;
}

// ---- Writing index files.

absl::Status WriteIndexBytes(const std::string& trace_path, const std::string& bytes) {
  const std::string path = IndexPathFor(trace_path);
  const std::string tmp = TempPathBeside(path);
  // The index tells what the trace holds (run id, counts): it gets the
  // trace's permissions, so a private trace keeps a private index.
  struct stat st;
  const mode_t mode = ::stat(trace_path.c_str(), &st) == 0 ? (st.st_mode & 0666) : 0600;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoError(errno, "failed to create", tmp);
  absl::Status status = WriteAll(fd.get(), bytes, tmp);
  if (status.ok() && ::fchmod(fd.get(), mode) != 0)
    status = ErrnoError(errno, "failed to chmod", tmp);
  fd.reset();
  // No fsync: the index is derived. After a crash, a short or garbage file
  // fails its checksums and is rebuilt.
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "failed to replace", path);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

absl::Status WriteIndexFile(const std::string& trace_path, const TraceIndex& index) {
  return WriteIndexBytes(trace_path, EncodeIndex(index));
}

bool SameFile(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

uint64_t FileSize(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Maps the trace through `fd` and folds [covered_bytes, size) into `index`
// (mapped, not read into the heap: a recorder may catch up on gigabytes).
bool ExtendFromFd(int fd, uint64_t size, TraceIndex* index) {
  const uint64_t from = index->facts.covered_bytes;
  if (from >= size) return true;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t readable = (size + page - 1) / page * page;
  void* addr = ::mmap(nullptr, readable, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) return false;
  const MappedView view{static_cast<const char*>(addr), size, readable};
  std::optional<TornTail> torn;
  ScanInto(view, 0, from, index, IndexBuildOptions{nullptr, 1}, &torn);
  ViewSource src(view);
  FinishIdentity(index, src, from == 0);
  ::munmap(addr, readable);
  return true;
}

// Parses a line's payload facts (the view's string_views live until the
// next call on this thread).
bool ParseWrittenLine(const WrittenLine& line, EventView* view) {
  thread_local EventParser parser;
  std::string_view text = line.text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string reason;
  return parser.Parse(text, false, view, &reason) == LineParseError::kNone;
}

bool LineToolFailed(const WrittenLine& line) {
  if (line.tool_failed) return *line.tool_failed;
  EventView view;
  return ParseWrittenLine(line, &view) && view.tool_failed;
}

bool ReadExact(int fd, uint64_t off, size_t len, std::string* out) {
  out->resize(len);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out->data() + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool WriteExact(int fd, uint64_t off, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// The O(1) path: the index describes the trace exactly up to where the
// writer started. Appends entries, then rewrites the header in place, so a
// reader (or a crash) sees either the old header or the new one, both of
// which describe a prefix of the trace; a torn header fails its checksum.
bool UpdateInPlace(const IndexWrite& w, int idx_fd) {
  const TailState& before = *w.before;
  if (w.lines.empty()) return false;
  std::string header_bytes;
  if (!ReadExact(idx_fd, 0, kHeaderSize, &header_bytes)) return false;
  absl::StatusOr<Header> decoded = DecodeHeader(header_bytes);
  if (!decoded.ok()) return false;
  Header h = *decoded;
  if (h.events == 0 || h.covered_bytes != before.size || h.last_seq != before.last_seq ||
      h.last_kind != static_cast<uint32_t>(before.last_kind) || h.last_ts_ms != before.last_ts_ms ||
      h.status_len != 0 || h.run_id_len != before.run_id.size()) {
    return false;
  }
  // The strings (run id, then meta: source, labels, models; no status before
  // run.finished) are small: read them when there is meta, else the run id
  // alone is hashed.
  IndexFacts meta;
  if (h.meta_len == 0) {
    if (h.strings_hash != Fnv1a(before.run_id)) return false;
  } else {
    std::string strings;
    if (!ReadExact(idx_fd, kHeaderSize, h.strings_len(), &strings) ||
        Fnv1a(strings) != h.strings_hash || strings.compare(0, h.run_id_len, before.run_id) != 0 ||
        !DecodeMeta(std::string_view(strings).substr(h.run_id_len), &meta)) {
      return false;
    }
  }
  const uint64_t old_entries_offset = h.entries_offset();
  const uint64_t old_entry_count = h.entry_count;
  const uint64_t entries_end = old_entries_offset + h.entry_count * kEntrySize;
  if (FileSize(idx_fd) < entries_end) return false;
  uint64_t expect = before.size + (before.needs_newline ? 1 : 0);
  bool meta_changed = false;  // a model not seen before
  std::string new_entries;
  uint64_t prev_offset = h.last_event_offset;
  uint64_t prev_seq = h.last_seq;
  EventKind prev_kind = before.last_kind;
  for (const WrittenLine& line : w.lines) {
    if (line.offset != expect || line.text.empty() || line.text.back() != '\n' ||
        line.kind == EventKind::kRunFinished) {
      return false;  // run.finished stores its status string: the slow path rewrites
    }
    if (prev_kind == EventKind::kRunFinished || line.seq <= prev_seq) h.flags &= ~kFlagValidated;
    if (line.offset / h.block_bytes != prev_offset / h.block_bytes) {
      IndexEntry e{line.seq, line.offset, line.ts_ms, h.events, h.covered_lines + 1};
      AppendEntry(&new_entries, e);
      ++h.entry_count;
      h.last_entry_seq = e.seq;
      h.last_entry_offset = e.offset;
    }
    ++h.kind_counts[static_cast<int>(line.kind)];
    if (line.kind == EventKind::kToolResult && LineToolFailed(line)) ++h.tool_failures;
    if (line.kind == EventKind::kModelCall) {
      EventView view;
      if (!ParseWrittenLine(line, &view)) return false;
      if (view.usage) h.call_usage += *view.usage;
      if (view.model && NoteModel(&meta.models, *view.model)) meta_changed = true;
    }
    ++h.events;
    ++h.covered_lines;
    h.last_seq = line.seq;
    h.last_ts_ms = line.ts_ms;
    h.last_kind = static_cast<uint32_t>(line.kind);
    h.last_event_offset = line.offset;
    prev_offset = line.offset;
    prev_seq = line.seq;
    prev_kind = line.kind;
    expect = line.offset + line.text.size();
  }
  if (expect != w.size_after) return false;
  // Only the last line's identity is stored: hash it once, not every line
  // (a recorder round writes thousands).
  std::string_view content = w.lines.back().text;
  content.remove_suffix(1);
  if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  h.last_event_len = content.size();
  h.last_event_hash = Fnv1a(content);
  h.covered_bytes = expect;
  if (meta_changed) {
    // A new model grows the strings, which moves the entries: rewrite the
    // file whole (temp + rename) from what it held plus these lines; still
    // no scan of the trace, so a big write stays cheap.
    std::string old_entries;
    if (!ReadExact(idx_fd, old_entries_offset, old_entry_count * kEntrySize, &old_entries)) {
      return false;
    }
    const std::string meta_json = MetaJson(meta);
    h.meta_len = static_cast<uint32_t>(meta_json.size());
    h.strings_hash = Fnv1a(meta_json, Fnv1a(before.run_id));
    h.entries_hash = Fnv1a(new_entries, h.entries_hash);
    std::string out = EncodeHeader(h);
    out.append(before.run_id);
    out.append(meta_json);
    out.resize(h.entries_offset(), '\0');
    out.append(old_entries);
    out.append(new_entries);
    return WriteIndexBytes(w.trace_path, out).ok();
  }
  if (!new_entries.empty()) {
    if (!WriteExact(idx_fd, entries_end, new_entries)) return false;
    h.entries_hash = Fnv1a(new_entries, h.entries_hash);
  }
  return WriteExact(idx_fd, 0, EncodeHeader(h));
}

// The slow path, under the trace's lock: load what is there, extend it over
// what it does not cover, or rebuild a small trace; rewrite the file whole.
void RefreshLocked(const std::string& trace_path, int trace_fd, uint64_t size, uint64_t limit) {
  FdSource src(trace_fd, size);
  std::optional<TraceIndex> index;
  // Look at the header first: when the gap is too big to close here, stop
  // before reading the whole index (this runs on every append until a
  // reader repairs the index, so it must not grow with the trace).
  bool worth_loading = false;
  {
    UniqueFd idx_fd(::open(IndexPathFor(trace_path).c_str(), O_RDONLY | O_CLOEXEC));
    std::string header_bytes;
    if (idx_fd.valid() && ReadExact(idx_fd.get(), 0, kHeaderSize, &header_bytes)) {
      absl::StatusOr<Header> h = DecodeHeader(header_bytes);
      worth_loading = h.ok() && h->covered_bytes <= size && size - h->covered_bytes <= limit;
    }
  }
  if (worth_loading) {
    if (std::optional<std::string> bytes = ReadIndexBytes(trace_path)) {
      absl::StatusOr<TraceIndex> decoded = DecodeIndex(*bytes);
      if (decoded.ok() && MatchAgainst(*decoded, src, size).ok()) index = std::move(*decoded);
    }
  }
  if (index && index->facts.covered_bytes == size) return;  // already current
  if (!index) {
    if (size > limit) return;  // too big for an append: readers rebuild on demand
    index = EmptyIndex();
  }
  if (!ExtendFromFd(trace_fd, size, &*index) || index->facts.events == 0) return;
  (void)WriteIndexFile(trace_path, *index);
}

}  // namespace

// ---- Public and internal API.

std::string IndexPathFor(const std::string& trace_path) { return trace_path + ".idx"; }

std::string EncodeIndex(const TraceIndex& index) {
  std::string entries;
  entries.reserve(index.entries.size() * kEntrySize);
  for (const IndexEntry& e : index.entries) AppendEntry(&entries, e);
  Header h = HeaderOf(index);
  h.entries_hash = Fnv1a(entries);
  std::string out = EncodeHeader(h);
  out.append(index.facts.run_id);
  if (index.facts.finished && index.facts.finished_status) out.append(*index.facts.finished_status);
  out.append(MetaJson(index.facts));
  out.resize(h.entries_offset(), '\0');
  out.append(entries);
  return out;
}

absl::StatusOr<TraceIndex> DecodeIndex(std::string_view bytes) {
  return DecodeIndexBytes(bytes, /*verify_entries_hash=*/true);
}

absl::StatusOr<TraceIndex> DecodeIndexBytes(std::string_view bytes, bool verify_entries_hash) {
  absl::StatusOr<Header> decoded = DecodeHeader(bytes);
  if (!decoded.ok()) return decoded.status();
  const Header& h = *decoded;
  const uint64_t entries_offset = h.entries_offset();
  if (entries_offset > bytes.size() ||
      h.entry_count > (bytes.size() - entries_offset) / kEntrySize) {
    return Invalid("file shorter than its header says");
  }
  std::string_view strings = bytes.substr(kHeaderSize, h.strings_len());
  if (Fnv1a(strings) != h.strings_hash) return Invalid("strings checksum mismatch");
  std::string_view entry_bytes = bytes.substr(entries_offset, h.entry_count * kEntrySize);
  if (verify_entries_hash && Fnv1a(entry_bytes) != h.entries_hash) {
    return Invalid("entries checksum mismatch");
  }

  TraceIndex index;
  IndexFacts& f = index.facts;
  f.validated = (h.flags & kFlagValidated) != 0;
  f.finished = (h.flags & kFlagFinished) != 0;
  f.covered_bytes = h.covered_bytes;
  f.covered_lines = h.covered_lines;
  f.events = h.events;
  f.first_seq = h.first_seq;
  f.last_seq = h.last_seq;
  f.first_ts_ms = h.first_ts_ms;
  f.last_ts_ms = h.last_ts_ms;
  for (int k = 0; k < kEventKindCount; ++k) f.kind_counts[k] = h.kind_counts[k];
  f.tool_failures = h.tool_failures;
  f.last_kind = static_cast<EventKind>(h.last_kind);
  f.run_id = std::string(strings.substr(0, h.run_id_len));
  if (h.flags & kFlagHasStatus) {
    f.finished_status = std::string(strings.substr(h.run_id_len, h.status_len));
  }
  if (!DecodeMeta(strings.substr(uint64_t{h.run_id_len} + h.status_len), &f)) {
    return Invalid("unreadable source, labels or models");
  }
  f.call_usage = h.call_usage;
  if (h.flags & kFlagFinishedUsage) f.finished_usage = h.finished_usage;
  index.block_bytes = h.block_bytes;
  index.head_len = h.head_len;
  index.head_hash = h.head_hash;
  index.last_event_offset = h.last_event_offset;
  index.last_event_len = h.last_event_len;
  index.last_event_hash = h.last_event_hash;
  index.entries.reserve(h.entry_count);
  for (uint64_t i = 0; i < h.entry_count; ++i) {
    const char* p = entry_bytes.data() + i * kEntrySize;
    IndexEntry e{GetU64(p), GetU64(p + 8), static_cast<int64_t>(GetU64(p + 16)), GetU64(p + 24),
                 GetU64(p + 32)};
    if (e.offset >= h.covered_bytes || e.event_index >= h.events || e.line == 0 ||
        e.line > h.covered_lines) {
      return Invalid(Cat("entry ", i, " out of range"));
    }
    if (i == 0) {
      if (e.event_index != 0 || e.seq != h.first_seq || e.ts_ms != h.first_ts_ms) {
        return Invalid("the first entry is not the first event");
      }
    } else {
      const IndexEntry& prev = index.entries.back();
      if (e.offset / h.block_bytes <= prev.offset / h.block_bytes ||
          e.event_index <= prev.event_index || e.line <= prev.line ||
          (f.validated && e.seq <= prev.seq)) {
        return Invalid(Cat("entry ", i, " out of order"));
      }
    }
    index.entries.push_back(e);
  }
  if (!index.entries.empty() && (index.entries.back().seq != h.last_entry_seq ||
                                 index.entries.back().offset != h.last_entry_offset)) {
    return Invalid("the last entry disagrees with the header");
  }
  return index;
}

bool IndexDisabled() {
  const char* v = std::getenv("TRACEFRAME_INDEX");
  if (v == nullptr) return false;
  const std::string_view s(v);
  return s == "off" || s == "0" || s == "false" || s == "no";
}

std::optional<std::string> ReadIndexBytes(const std::string& trace_path) {
  if (IndexDisabled()) return std::nullopt;
  const std::string path = IndexPathFor(trace_path);
  std::optional<std::string> last;
  // A writer may be rewriting the header in place right now (one holding the
  // trace's lock for long, like a recorder): a torn header fails its
  // checksum, and a moment later it reads whole.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<std::string> bytes = ReadFile(path);
    if (!bytes.ok()) return std::nullopt;
    if (DecodeHeader(*bytes).ok()) return std::move(*bytes);
    // Another version (an index written by an older build) is not torn:
    // return it at once, and the caller rebuilds.
    if (bytes->size() >= kOffVersion + 4 &&
        std::memcmp(bytes->data(), kMagic, sizeof(kMagic)) == 0 &&
        GetU32(bytes->data() + kOffVersion) != kIndexFormatVersion) {
      return std::move(*bytes);
    }
    last = std::move(*bytes);
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return last;
}

absl::StatusOr<TraceIndex> MatchIndex(std::string_view bytes, const MappedView& view,
                                      bool verify_entries_hash) {
  absl::StatusOr<TraceIndex> index = DecodeIndexBytes(bytes, verify_entries_hash);
  if (!index.ok()) return index.status();
  ViewSource src(view);
  absl::Status status = MatchAgainst(*index, src, view.size);
  if (!status.ok()) return status;
  return index;
}

bool EntryHolds(const MappedView& view, const IndexEntry& entry) {
  if (entry.offset >= view.size || (entry.offset > 0 && view.data[entry.offset - 1] != '\n')) {
    return false;
  }
  thread_local EventParser parser;
  bool holds = false;
  ScanRange(
      view, parser, entry.offset, NextLineStart(view, entry.offset), 0,
      [&](const EventView& e) {
        holds = e.seq == entry.seq && e.byte_offset == entry.offset && e.ts_ms == entry.ts_ms;
        return false;
      },
      [](const LineError&) { return false; });
  return holds;
}

TraceIndex BuildIndex(const MappedView& view, const IndexBuildOptions& options,
                      std::optional<TornTail>* torn) {
  TraceIndex index = EmptyIndex();
  ScanInto(view, 0, 0, &index, options, torn);
  ViewSource src(view);
  FinishIdentity(&index, src, true);
  return index;
}

void ExtendIndex(const MappedView& view, TraceIndex* index, const IndexBuildOptions& options,
                 std::optional<TornTail>* torn) {
  const bool from_start = index->facts.covered_bytes == 0;
  ScanInto(view, 0, index->facts.covered_bytes, index, options, torn);
  ViewSource src(view);
  FinishIdentity(index, src, from_start);
}

void UpdateIndexAfterWrite(const IndexWrite& w) {
  if (IndexDisabled() || w.trace_fd < 0) return;
  if (w.before && !w.lines.empty()) {
    UniqueFd idx_fd(::open(IndexPathFor(w.trace_path).c_str(), O_RDWR | O_CLOEXEC));
    if (idx_fd.valid()) {
      if (w.lines.back().kind != EventKind::kRunFinished) {
        if (UpdateInPlace(w, idx_fd.get())) return;
      } else if (w.lines.size() > 1) {
        // run.finished (always last) stores its status, which only the slow
        // path does. Take the lines before it in place first, so the slow
        // path scans one line, not the whole write: a recorder's last round
        // can be megabytes, far over what the slow path may scan.
        IndexWrite before_finish;
        before_finish.trace_path = w.trace_path;
        before_finish.trace_fd = w.trace_fd;
        before_finish.before = w.before;
        before_finish.lines.assign(w.lines.begin(), w.lines.end() - 1);
        before_finish.size_after = w.lines.back().offset;
        (void)UpdateInPlace(before_finish, idx_fd.get());
      }
    }
  }
  RefreshLocked(w.trace_path, w.trace_fd, w.size_after, kWriterScanLimit);
}

void RefreshIndexAfterCreate(const std::string& trace_path) {
  if (IndexDisabled()) return;
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  if (!LockExclusive(fd.get(), trace_path, DefaultLockTimeout()).ok()) return;
  if (!SameFile(fd.get(), trace_path)) return;
  RefreshLocked(trace_path, fd.get(), FileSize(fd.get()), kWriterScanLimit);
}

void RefreshIndexLocked(const std::string& trace_path, int trace_fd, uint64_t scan_limit) {
  if (IndexDisabled() || trace_fd < 0) return;
  RefreshLocked(trace_path, trace_fd, FileSize(trace_fd), scan_limit);
}

void PersistIndexBestEffort(const std::string& trace_path, const TraceIndex& index) {
  if (IndexDisabled() || index.facts.events == 0) return;
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  // A reader never waits for writers: if the lock is busy, the next reader
  // (or the writer holding it) brings the index up to date.
  bool locked = false;
  for (int attempt = 0; attempt < 5 && !locked; ++attempt) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      locked = true;
    } else if (errno == EWOULDBLOCK || errno == EINTR) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      return;
    }
  }
  if (!locked || !SameFile(fd.get(), trace_path)) return;
  const uint64_t size = FileSize(fd.get());
  FdSource src(fd.get(), size);
  if (!MatchAgainst(index, src, size).ok()) return;
  if (std::optional<std::string> bytes = ReadIndexBytes(trace_path)) {
    absl::StatusOr<TraceIndex> stored = DecodeIndex(*bytes);
    if (stored.ok() && stored->facts.covered_bytes >= index.facts.covered_bytes &&
        MatchAgainst(*stored, src, size).ok()) {
      return;  // a writer got there first
    }
  }
  (void)WriteIndexFile(trace_path, index);
}

absl::StatusOr<TraceIndex> LoadIndex(const std::string& trace_path) {
  std::optional<std::string> bytes = ReadIndexBytes(trace_path);
  if (!bytes) {
    return absl::NotFoundError(
        Cat("no index for ", trace_path, IndexDisabled() ? " (TRACEFRAME_INDEX=off)" : ""));
  }
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  return MatchIndex(*bytes, ViewOf(**reader));
}

absl::StatusOr<TraceIndex> LoadOrRebuildIndex(const std::string& trace_path,
                                              const IndexBuildOptions& options) {
  std::optional<std::string> bytes = ReadIndexBytes(trace_path);
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  const MappedView view = ViewOf(**reader);
  std::optional<TornTail> torn;
  if (bytes) {
    absl::StatusOr<TraceIndex> index = MatchIndex(*bytes, view);
    if (index.ok()) {
      if (index->facts.covered_bytes < view.size) {
        const uint64_t covered = index->facts.covered_bytes;
        ExtendIndex(view, &*index, options, &torn);
        if (index->facts.covered_bytes > covered) PersistIndexBestEffort(trace_path, *index);
      }
      return index;
    }
  }
  TraceIndex index = BuildIndex(view, options, &torn);
  PersistIndexBestEffort(trace_path, index);
  return index;
}

absl::StatusOr<TraceIndex> RebuildIndex(const std::string& trace_path,
                                        const IndexBuildOptions& options) {
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  std::optional<TornTail> torn;
  TraceIndex index = BuildIndex(ViewOf(**reader), options, &torn);
  if (index.facts.events == 0) {
    return absl::FailedPreconditionError(Cat("trace is empty: ", trace_path));
  }
  UniqueFd fd(::open(trace_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(errno, "failed to read trace file", trace_path);
  absl::Status locked = LockExclusive(fd.get(), trace_path, DefaultLockTimeout());
  if (!locked.ok()) return locked;
  const uint64_t size = FileSize(fd.get());
  FdSource src(fd.get(), size);
  if (!SameFile(fd.get(), trace_path) || !MatchAgainst(index, src, size).ok()) {
    return absl::AbortedError(
        Cat("trace ", trace_path, " was replaced while it was being indexed; run again"));
  }
  absl::Status status = WriteIndexFile(trace_path, index);
  if (!status.ok()) return status;
  return index;
}

namespace {

// The first field in which two indexes of the same bytes differ, or "".
std::string FirstDifference(const TraceIndex& a, const TraceIndex& b) {
  const IndexFacts& x = a.facts;
  const IndexFacts& y = b.facts;
  if (x.covered_bytes != y.covered_bytes) return "covered_bytes";
  if (x.covered_lines != y.covered_lines) return "covered_lines";
  if (x.events != y.events) return "events";
  if (x.first_seq != y.first_seq) return "first_seq";
  if (x.last_seq != y.last_seq) return "last_seq";
  if (x.first_ts_ms != y.first_ts_ms) return "first_ts_ms";
  if (x.last_ts_ms != y.last_ts_ms) return "last_ts_ms";
  for (int k = 0; k < kEventKindCount; ++k) {
    if (x.kind_counts[k] != y.kind_counts[k]) {
      return Cat("count of ", EventKindName(static_cast<EventKind>(k)));
    }
  }
  if (x.tool_failures != y.tool_failures) return "tool_failures";
  if (x.call_usage != y.call_usage) return "call_usage";
  if (x.finished_usage != y.finished_usage) return "finished_usage";
  if (x.models != y.models) return "models";
  if (x.source != y.source) return "source";
  if (x.labels != y.labels) return "labels";
  if (x.last_kind != y.last_kind) return "last_kind";
  if (x.finished != y.finished) return "finished";
  if (x.finished_status != y.finished_status) return "finished_status";
  if (x.run_id != y.run_id) return "run_id";
  if (x.validated != y.validated) return "validated";
  if (a.block_bytes != b.block_bytes) return "block_bytes";
  if (a.last_event_offset != b.last_event_offset || a.last_event_len != b.last_event_len ||
      a.last_event_hash != b.last_event_hash) {
    return "last_event";
  }
  if (a.entries != b.entries) return "entries";
  return "";
}

}  // namespace

absl::StatusOr<IndexCheckReport> CheckIndex(const std::string& trace_path,
                                            const IndexBuildOptions& options) {
  IndexCheckReport report;
  report.trace_path = trace_path;
  report.index_path = IndexPathFor(trace_path);
  absl::StatusOr<std::string> bytes = ReadFile(report.index_path);
  absl::StatusOr<std::unique_ptr<TraceReader>> reader = TraceReader::Open(trace_path);
  if (!reader.ok()) return reader.status();
  const MappedView view = ViewOf(**reader);
  report.trace_bytes = view.size;
  std::optional<TornTail> torn;
  report.fresh = BuildIndex(view, options, &torn);
  if (!bytes.ok()) {
    report.state = "missing";
    report.detail = ToStd(bytes.status().message());
    return report;
  }
  report.index_bytes = bytes->size();
  absl::StatusOr<TraceIndex> stored = DecodeIndex(*bytes);
  if (!stored.ok()) {
    report.state = "invalid";
    report.detail = ToStd(stored.status().message());
    return report;
  }
  report.stored = *stored;
  ViewSource src(view);
  absl::Status match = MatchAgainst(*stored, src, view.size);
  if (!match.ok()) {
    report.state = "mismatch";
    report.detail = ToStd(match.message());
    return report;
  }
  TraceIndex extended = *stored;
  const bool stale = stored->facts.covered_bytes < report.fresh.facts.covered_bytes;
  if (stale) ExtendIndex(view, &extended, IndexBuildOptions{nullptr, options.threads}, &torn);
  // The head is the identity the stored index was made with; compare the rest.
  extended.head_len = report.fresh.head_len;
  extended.head_hash = report.fresh.head_hash;
  const std::string diff = FirstDifference(extended, report.fresh);
  if (!diff.empty()) {
    report.state = "mismatch";
    report.detail = Cat("the index differs from a fresh scan in ", diff);
  } else if (stale) {
    report.state = "stale";
    report.detail = Cat("the index covers ", stored->facts.covered_bytes, " of ",
                        report.fresh.facts.covered_bytes, " readable bytes");
  } else {
    report.state = "ok";
  }
  return report;
}

std::string FormatIndexJson(const TraceIndex& index) {
  const IndexFacts& f = index.facts;
  std::string kinds;
  JsonObjectWriter k(&kinds);
  for (int i = 0; i < kEventKindCount; ++i) {
    k.Uint(EventKindName(static_cast<EventKind>(i)), f.kind_counts[i]);
  }
  k.Finish();
  std::string out;
  JsonObjectWriter w(&out);
  w.Uint("version", kIndexFormatVersion)
      .String("run_id", f.run_id)
      .Bool("validated", f.validated)
      .Bool("finished", f.finished);
  if (f.finished && f.finished_status) {
    w.String("finished_status", *f.finished_status);
  } else {
    w.Null("finished_status");
  }
  w.Uint("covered_bytes", f.covered_bytes)
      .Uint("covered_lines", f.covered_lines)
      .Uint("events", f.events)
      .Uint("first_seq", f.first_seq)
      .Uint("last_seq", f.last_seq)
      .Int("first_ts_ms", f.first_ts_ms)
      .Int("last_ts_ms", f.last_ts_ms)
      .Raw("kinds", kinds)
      .Uint("tool_failures", f.tool_failures)
      .Raw("call_usage", UsageJson(f.call_usage));
  if (f.finished_usage) {
    w.Raw("finished_usage", UsageJson(*f.finished_usage));
  } else {
    w.Null("finished_usage");
  }
  w.Raw("models", JsonStringArray(f.models))
      .String("source", f.source)
      .Raw("labels", LabelsJson(f.labels))
      .Uint("block_bytes", index.block_bytes)
      .Uint("entries", index.entries.size());
  w.Finish();
  return out;
}

}  // namespace traceframe
