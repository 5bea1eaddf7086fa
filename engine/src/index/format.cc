#include "index/format.h"

#include <cstring>
#include <utility>

#include "format/payload_facts.h"
#include "index/index_internal.h"
#include "simdjson.h"
#include "traceframe/json.h"
#include "traceframe/labels.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace internal {
namespace {

// ---- One codec per field type (TRACEFRAME_INDEX_HEADER_FIELDS).

template <typename T>
constexpr size_t FieldSize();
template <>
constexpr size_t FieldSize<uint32_t>() {
  return 4;
}
template <>
constexpr size_t FieldSize<uint64_t>() {
  return 8;
}
template <>
constexpr size_t FieldSize<int64_t>() {
  return 8;
}
template <>
constexpr size_t FieldSize<IndexKindCounts>() {
  return 8 * kIndexKindSlots;
}
template <>
constexpr size_t FieldSize<TokenUsage>() {
  return 40;
}

void PutField(char* p, uint32_t v) { PutU32(p, v); }
void PutField(char* p, uint64_t v) { PutU64(p, v); }
void PutField(char* p, int64_t v) { PutU64(p, static_cast<uint64_t>(v)); }
void PutField(char* p, const IndexKindCounts& counts) {
  for (size_t k = 0; k < counts.size(); ++k) PutU64(p + 8 * k, counts[k]);
}
void PutField(char* p, const TokenUsage& u) {
  PutU64(p, u.input_tokens);
  PutU64(p + 8, u.output_tokens);
  PutU64(p + 16, u.cache_read_input_tokens);
  PutU64(p + 24, u.cache_creation_input_tokens);
  PutU64(p + 32, u.reasoning_output_tokens);
}

void GetField(const char* p, uint32_t* v) { *v = GetU32(p); }
void GetField(const char* p, uint64_t* v) { *v = GetU64(p); }
void GetField(const char* p, int64_t* v) { *v = static_cast<int64_t>(GetU64(p)); }
void GetField(const char* p, IndexKindCounts* counts) {
  for (size_t k = 0; k < counts->size(); ++k) (*counts)[k] = GetU64(p + 8 * k);
}
void GetField(const char* p, TokenUsage* u) {
  u->input_tokens = GetU64(p);
  u->output_tokens = GetU64(p + 8);
  u->cache_read_input_tokens = GetU64(p + 16);
  u->cache_creation_input_tokens = GetU64(p + 24);
  u->reasoning_output_tokens = GetU64(p + 32);
}

// The listed fields sit in order between the structural ones, without
// overlapping: checked when this file compiles.
struct FieldSpan {
  size_t offset;
  size_t size;
};
constexpr FieldSpan kFieldSpans[] = {
#define TRACEFRAME_INDEX_FIELD_SPAN(type, name, offset) {offset, FieldSize<type>()},
    TRACEFRAME_INDEX_HEADER_FIELDS(TRACEFRAME_INDEX_FIELD_SPAN)
#undef TRACEFRAME_INDEX_FIELD_SPAN
};
constexpr bool FieldsAreLaidOut() {
  size_t end = kIndexOffEntrySize + 4;
  for (const FieldSpan& f : kFieldSpans) {
    if (f.offset < end) return false;
    end = f.offset + f.size;
  }
  return end <= kIndexOffReserved;
}
static_assert(FieldsAreLaidOut(), "index header fields overlap or leave their area");

}  // namespace

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

absl::Status InvalidIndex(std::string_view why) {
  return absl::FailedPreconditionError(Cat("invalid index: ", why));
}

std::string EncodeIndexHeader(const IndexHeader& h) {
  std::string out(kIndexHeaderSize, '\0');
  char* p = out.data();
  std::memcpy(p, kIndexMagic, sizeof(kIndexMagic));
  PutU32(p + kIndexOffVersion, kIndexFormatVersion);
  PutU32(p + kIndexOffHeaderSize, kIndexHeaderSize);
  PutU32(p + kIndexOffEntrySize, kIndexEntrySize);
#define TRACEFRAME_INDEX_PUT_FIELD(type, name, offset) PutField(p + (offset), h.name);
  TRACEFRAME_INDEX_HEADER_FIELDS(TRACEFRAME_INDEX_PUT_FIELD)
#undef TRACEFRAME_INDEX_PUT_FIELD
  PutU64(p + kIndexOffHeaderHash, Fnv1a64(std::string_view(p, kIndexOffHeaderHash)));
  return out;
}

absl::StatusOr<IndexHeader> DecodeIndexHeader(std::string_view bytes) {
  if (bytes.size() < kIndexHeaderSize) {
    return InvalidIndex(Cat("file is ", bytes.size(), " bytes, shorter than the ", kIndexHeaderSize,
                            "-byte header"));
  }
  const char* p = bytes.data();
  if (std::memcmp(p, kIndexMagic, sizeof(kIndexMagic)) != 0) {
    return InvalidIndex("bad magic (not an index file)");
  }
  const uint32_t version = GetU32(p + kIndexOffVersion);
  if (version != kIndexFormatVersion) {
    return InvalidIndex(Cat("unsupported index version ", version, " (this build reads ",
                            kIndexFormatVersion, ")"));
  }
  if (GetU32(p + kIndexOffHeaderSize) != kIndexHeaderSize ||
      GetU32(p + kIndexOffEntrySize) != kIndexEntrySize) {
    return InvalidIndex("unexpected header or entry size");
  }
  if (GetU64(p + kIndexOffHeaderHash) != Fnv1a64(std::string_view(p, kIndexOffHeaderHash))) {
    return InvalidIndex("header checksum mismatch");
  }
  IndexHeader h;
#define TRACEFRAME_INDEX_GET_FIELD(type, name, offset) GetField(p + (offset), &h.name);
  TRACEFRAME_INDEX_HEADER_FIELDS(TRACEFRAME_INDEX_GET_FIELD)
#undef TRACEFRAME_INDEX_GET_FIELD

  if ((h.flags & ~kIndexKnownFlags) != 0) return InvalidIndex("unknown flags");
  for (size_t off = kIndexOffReserved; off < kIndexOffHeaderHash; ++off) {
    if (p[off] != 0) return InvalidIndex("reserved header bytes are not zero");
  }
  if (h.block_bytes < kIndexMinBlockBytes || h.block_bytes > kIndexMaxBlockBytes) {
    return InvalidIndex("block size out of range");
  }
  if (h.run_id_len > kIndexMaxStringBytes || h.status_len > kIndexMaxStringBytes ||
      h.meta_len > kIndexMaxStringBytes) {
    return InvalidIndex("string too long");
  }
  if (h.last_kind >= static_cast<uint32_t>(kEventKindCount)) return InvalidIndex("bad last kind");
  uint64_t sum = 0;
  for (int k = kEventKindCount; k < kIndexKindSlots; ++k) {
    if (h.kind_counts[k] != 0) return InvalidIndex("counts for unknown event kinds");
  }
  for (uint64_t c : h.kind_counts) {
    if (c > h.events) return InvalidIndex("kind counts exceed the event count");
    sum += c;
  }
  if (sum != h.events) return InvalidIndex("kind counts do not add up to the event count");
  if (h.tool_failures > h.kind_counts[static_cast<int>(EventKind::kToolResult)]) {
    return InvalidIndex("more tool failures than tool results");
  }
  if (h.covered_lines < h.events || h.covered_lines > h.covered_bytes) {
    return InvalidIndex("line count out of range");
  }
  if (h.head_len > kIndexHeadBytes || h.head_len > h.covered_bytes)
    return InvalidIndex("bad head length");
  const bool finished = (h.flags & kIndexFlagFinished) != 0;
  const bool has_status = (h.flags & kIndexFlagHasStatus) != 0;
  if ((has_status && !finished) || (!has_status && h.status_len != 0)) {
    return InvalidIndex("status without run.finished");
  }
  if ((h.flags & kIndexFlagFinishedUsage) && !finished)
    return InvalidIndex("run usage without run.finished");
  if (!(h.flags & kIndexFlagFinishedUsage) && h.finished_usage.any()) {
    return InvalidIndex("run usage without its flag");
  }
  if (h.events == 0) {
    if (h.entry_count != 0 || finished || h.run_id_len != 0 || h.meta_len != 0 ||
        h.call_usage.any()) {
      return InvalidIndex("facts without events");
    }
  } else {
    if (h.entry_count == 0 || h.entry_count > h.events) return InvalidIndex("bad entry count");
    // At most one entry per block of covered bytes.
    if (h.entry_count - 1 > h.covered_bytes / h.block_bytes)
      return InvalidIndex("too many entries");
    if (h.last_event_len == 0 || h.last_event_offset > h.covered_bytes ||
        h.last_event_len > h.covered_bytes - h.last_event_offset) {
      return InvalidIndex("last event outside the covered bytes");
    }
    if (finished != (h.last_kind == static_cast<uint32_t>(EventKind::kRunFinished))) {
      return InvalidIndex("finished flag disagrees with the last kind");
    }
    if (h.last_entry_offset > h.last_event_offset)
      return InvalidIndex("last entry after last event");
    if ((h.flags & kIndexFlagValidated) && h.last_seq < h.first_seq) {
      return InvalidIndex("last seq below first seq");
    }
  }
  return h;
}

bool IsOtherIndexVersion(std::string_view bytes) {
  return bytes.size() >= kIndexOffVersion + 4 &&
         std::memcmp(bytes.data(), kIndexMagic, sizeof(kIndexMagic)) == 0 &&
         GetU32(bytes.data() + kIndexOffVersion) != kIndexFormatVersion;
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

IndexHeader HeaderOf(const TraceIndex& index) {
  const IndexFacts& f = index.facts;
  IndexHeader h;
  h.flags = (f.validated ? kIndexFlagValidated : 0) | (f.finished ? kIndexFlagFinished : 0) |
            (f.finished && f.finished_status ? kIndexFlagHasStatus : 0) |
            (f.finished && f.finished_usage ? kIndexFlagFinishedUsage : 0);
  h.block_bytes = index.block_bytes;
#define TRACEFRAME_INDEX_COPY_FACT(name) h.name = f.name;
  TRACEFRAME_INDEX_PLAIN_FACTS(TRACEFRAME_INDEX_COPY_FACT)
#undef TRACEFRAME_INDEX_COPY_FACT
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
  h.strings_hash = internal::Fnv1a64(meta, internal::Fnv1a64(status, internal::Fnv1a64(f.run_id)));
  h.call_usage = f.call_usage;
  if (f.finished && f.finished_usage) h.finished_usage = *f.finished_usage;
  if (!index.entries.empty()) {
    h.last_entry_seq = index.entries.back().seq;
    h.last_entry_offset = index.entries.back().offset;
  }
  return h;
}

void AppendEntry(std::string* out, const IndexEntry& e) {
  char buf[kIndexEntrySize];
  PutU64(buf, e.seq);
  PutU64(buf + 8, e.offset);
  PutU64(buf + 16, static_cast<uint64_t>(e.ts_ms));
  PutU64(buf + 24, e.event_index);
  PutU64(buf + 32, e.line);
  out->append(buf, kIndexEntrySize);
}

}  // namespace internal

// ---- The public encoding (traceframe/index.h).

using internal::AppendEntry;
using internal::DecodeIndexHeader;
using internal::DecodeMeta;
using internal::EncodeIndexHeader;
using internal::GetU64;
using internal::HeaderOf;
using internal::IndexHeader;
using internal::InvalidIndex;
using internal::kIndexEntrySize;
using internal::kIndexFlagFinished;
using internal::kIndexFlagFinishedUsage;
using internal::kIndexFlagHasStatus;
using internal::kIndexFlagValidated;
using internal::kIndexHeaderSize;
using internal::MetaJson;

std::string IndexPathFor(const std::string& trace_path) { return trace_path + ".idx"; }

std::string_view IndexStateName(IndexState state) {
  switch (state) {
    case IndexState::kOk:
      return "ok";
    case IndexState::kMissing:
      return "missing";
    case IndexState::kInvalid:
      return "invalid";
    case IndexState::kMismatch:
      return "mismatch";
    case IndexState::kStale:
      return "stale";
  }
  return "unknown";
}

std::string EncodeIndex(const TraceIndex& index) {
  std::string entries;
  entries.reserve(index.entries.size() * kIndexEntrySize);
  for (const IndexEntry& e : index.entries) AppendEntry(&entries, e);
  IndexHeader h = HeaderOf(index);
  h.entries_hash = internal::Fnv1a64(entries);
  std::string out = EncodeIndexHeader(h);
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
  absl::StatusOr<IndexHeader> decoded = DecodeIndexHeader(bytes);
  if (!decoded.ok()) return decoded.status();
  const IndexHeader& h = *decoded;
  const uint64_t entries_offset = h.entries_offset();
  if (entries_offset > bytes.size() ||
      h.entry_count > (bytes.size() - entries_offset) / kIndexEntrySize) {
    return InvalidIndex("file shorter than its header says");
  }
  std::string_view strings = bytes.substr(kIndexHeaderSize, h.strings_len());
  if (internal::Fnv1a64(strings) != h.strings_hash)
    return InvalidIndex("strings checksum mismatch");
  std::string_view entry_bytes = bytes.substr(entries_offset, h.entry_count * kIndexEntrySize);
  if (verify_entries_hash && internal::Fnv1a64(entry_bytes) != h.entries_hash) {
    return InvalidIndex("entries checksum mismatch");
  }

  TraceIndex index;
  IndexFacts& f = index.facts;
  f.validated = (h.flags & kIndexFlagValidated) != 0;
  f.finished = (h.flags & kIndexFlagFinished) != 0;
#define TRACEFRAME_INDEX_COPY_FACT(name) f.name = h.name;
  TRACEFRAME_INDEX_PLAIN_FACTS(TRACEFRAME_INDEX_COPY_FACT)
#undef TRACEFRAME_INDEX_COPY_FACT
  for (int k = 0; k < kEventKindCount; ++k) f.kind_counts[k] = h.kind_counts[k];
  f.tool_failures = h.tool_failures;
  f.last_kind = static_cast<EventKind>(h.last_kind);
  f.run_id = std::string(strings.substr(0, h.run_id_len));
  if (h.flags & kIndexFlagHasStatus) {
    f.finished_status = std::string(strings.substr(h.run_id_len, h.status_len));
  }
  if (!DecodeMeta(strings.substr(uint64_t{h.run_id_len} + h.status_len), &f)) {
    return InvalidIndex("unreadable source, labels or models");
  }
  f.call_usage = h.call_usage;
  if (h.flags & kIndexFlagFinishedUsage) f.finished_usage = h.finished_usage;
  index.block_bytes = h.block_bytes;
  index.head_len = h.head_len;
  index.head_hash = h.head_hash;
  index.last_event_offset = h.last_event_offset;
  index.last_event_len = h.last_event_len;
  index.last_event_hash = h.last_event_hash;
  index.entries.reserve(h.entry_count);
  for (uint64_t i = 0; i < h.entry_count; ++i) {
    const char* p = entry_bytes.data() + i * kIndexEntrySize;
    IndexEntry e{GetU64(p), GetU64(p + 8), static_cast<int64_t>(GetU64(p + 16)), GetU64(p + 24),
                 GetU64(p + 32)};
    if (e.offset >= h.covered_bytes || e.event_index >= h.events || e.line == 0 ||
        e.line > h.covered_lines) {
      return InvalidIndex(Cat("entry ", i, " out of range"));
    }
    if (i == 0) {
      if (e.event_index != 0 || e.seq != h.first_seq || e.ts_ms != h.first_ts_ms) {
        return InvalidIndex("the first entry is not the first event");
      }
    } else {
      const IndexEntry& prev = index.entries.back();
      if (e.offset / h.block_bytes <= prev.offset / h.block_bytes ||
          e.event_index <= prev.event_index || e.line <= prev.line ||
          (f.validated && e.seq <= prev.seq)) {
        return InvalidIndex(Cat("entry ", i, " out of order"));
      }
    }
    index.entries.push_back(e);
  }
  if (!index.entries.empty() && (index.entries.back().seq != h.last_entry_seq ||
                                 index.entries.back().offset != h.last_entry_offset)) {
    return InvalidIndex("the last entry disagrees with the header");
  }
  return index;
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
