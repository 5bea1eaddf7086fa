// Internal: the bytes of a sidecar index file (docs/format.md, "Index
// (.idx)"), and nothing about files or traces. The header's fields are listed
// once, in TRACEFRAME_INDEX_HEADER_FIELDS: the struct, the encoder, the
// decoder and the layout check are all generated from that list, so a new
// field is one line (plus a format version bump).
//
// Everything here is a pure function of its arguments: thread-safe.
#ifndef TRACEFRAME_ENGINE_SRC_INDEX_FORMAT_H_
#define TRACEFRAME_ENGINE_SRC_INDEX_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traceframe/event.h"
#include "traceframe/index.h"
#include "traceframe/usage.h"
#include "util/hash.h"

namespace traceframe::internal {

inline constexpr char kIndexMagic[8] = {'T', 'F', 'I', 'N', 'D', 'E', 'X', '\0'};
inline constexpr uint32_t kIndexHeaderSize = 512;
inline constexpr uint32_t kIndexEntrySize = 40;
// The identity of a trace: a hash of its first bytes, up to this many.
inline constexpr uint64_t kIndexHeadBytes = 4096;
inline constexpr uint64_t kIndexMaxStringBytes = 1 << 20;
// An index is at most this much more than half its trace (header, strings).
inline constexpr uint64_t kIndexMaxOverhead = 4u << 20;
inline constexpr uint32_t kIndexFlagValidated = 1;
inline constexpr uint32_t kIndexFlagFinished = 2;
inline constexpr uint32_t kIndexFlagHasStatus = 4;
inline constexpr uint32_t kIndexFlagFinishedUsage = 8;  // run.finished carries a usage object
inline constexpr uint32_t kIndexKnownFlags =
    kIndexFlagValidated | kIndexFlagFinished | kIndexFlagHasStatus | kIndexFlagFinishedUsage;
// Counter slots for event kinds: room for kinds to come without a new layout.
inline constexpr int kIndexKindSlots = 16;
static_assert(kEventKindCount <= kIndexKindSlots, "more event kinds than index slots");
inline constexpr uint64_t kIndexMinBlockBytes = 4096;
inline constexpr uint64_t kIndexMaxBlockBytes = 1ull << 40;

// The structural fields around the listed ones (version 2): magic at 0, then
// version, header size and entry size; reserved zeros from 400; the header's
// own hash in its last 8 bytes.
inline constexpr size_t kIndexOffVersion = 8;
inline constexpr size_t kIndexOffHeaderSize = 12;
inline constexpr size_t kIndexOffEntrySize = 16;
inline constexpr size_t kIndexOffReserved = 400;
inline constexpr size_t kIndexOffHeaderHash = 504;

using IndexKindCounts = std::array<uint64_t, kIndexKindSlots>;

// X(type, name, byte offset): every header field, little-endian, in the order
// of the file. Types: uint32_t, uint64_t, int64_t (two's complement),
// IndexKindCounts (16 x uint64_t), TokenUsage (5 x uint64_t, usage.h order).
#define TRACEFRAME_INDEX_HEADER_FIELDS(X)                           \
  X(uint32_t, flags, 20)                                            \
  X(uint64_t, block_bytes, 24)                                      \
  X(uint64_t, covered_bytes, 32)                                    \
  X(uint64_t, covered_lines, 40)                                    \
  X(uint64_t, events, 48)                                           \
  X(uint64_t, first_seq, 56)                                        \
  X(uint64_t, last_seq, 64)                                         \
  X(int64_t, first_ts_ms, 72)                                       \
  X(int64_t, last_ts_ms, 80)                                        \
  X(IndexKindCounts, kind_counts, 88)                               \
  X(uint64_t, tool_failures, 216)                                   \
  X(uint64_t, entry_count, 224)                                     \
  X(uint64_t, head_len, 232)                                        \
  X(uint64_t, head_hash, 240)                                       \
  X(uint64_t, last_event_offset, 248)                               \
  X(uint64_t, last_event_len, 256)                                  \
  X(uint64_t, last_event_hash, 264)                                 \
  X(uint32_t, last_kind, 272)                                       \
  X(uint32_t, run_id_len, 276)                                      \
  X(uint32_t, status_len, 280)                                      \
  X(uint32_t, meta_len, 284) /* source, labels, models: MetaJson */ \
  X(uint64_t, strings_hash, 288)                                    \
  X(uint64_t, entries_hash, 296)                                    \
  X(uint64_t, last_entry_seq, 304)                                  \
  X(uint64_t, last_entry_offset, 312)                               \
  X(TokenUsage, call_usage, 320)                                    \
  X(TokenUsage, finished_usage, 360)

// The facts stored in the header as they are (same name and meaning in
// IndexFacts and IndexHeader); the others are derived (flags, lengths,
// hashes) and mapped by hand in HeaderOf and DecodeIndexBytes.
#define TRACEFRAME_INDEX_PLAIN_FACTS(X) \
  X(covered_bytes)                      \
  X(covered_lines)                      \
  X(events)                             \
  X(first_seq)                          \
  X(last_seq)                           \
  X(first_ts_ms)                        \
  X(last_ts_ms)

// The fixed-size header, decoded.
struct IndexHeader {
#define TRACEFRAME_INDEX_HEADER_MEMBER(type, name, offset) type name{};
  TRACEFRAME_INDEX_HEADER_FIELDS(TRACEFRAME_INDEX_HEADER_MEMBER)
#undef TRACEFRAME_INDEX_HEADER_MEMBER

  IndexHeader() { entries_hash = kFnv1a64Basis; }
  uint64_t strings_len() const { return uint64_t{run_id_len} + status_len + meta_len; }
  uint64_t entries_offset() const { return kIndexHeaderSize + ((strings_len() + 7) & ~7ull); }
};

// Fixed-width little-endian integers.
void PutU32(char* p, uint32_t v);
void PutU64(char* p, uint64_t v);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);

// FailedPrecondition "invalid index: <why>".
absl::Status InvalidIndex(std::string_view why);

// kIndexHeaderSize bytes, the header hash included.
std::string EncodeIndexHeader(const IndexHeader& header);

// Checks everything the header can say about itself (not the strings or
// entries that follow it).
absl::StatusOr<IndexHeader> DecodeIndexHeader(std::string_view bytes);

// An index file of another format version (written by an older or newer
// build): not damaged, just not ours to read.
bool IsOtherIndexVersion(std::string_view bytes);

// The header of `index` (entries_hash left at the empty hash: the caller
// hashes the entries it writes).
IndexHeader HeaderOf(const TraceIndex& index);

// The strings section's third part: {"source","labels","models"}, empty
// when there is nothing to say (so most hook and CLI traces carry none).
std::string MetaJson(const IndexFacts& facts);
bool DecodeMeta(std::string_view meta, IndexFacts* facts);

// Appends one kIndexEntrySize-byte entry.
void AppendEntry(std::string* out, const IndexEntry& entry);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_INDEX_FORMAT_H_
