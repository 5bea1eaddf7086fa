#include "traceframe/event.h"
#include "traceframe/str_util.h"

#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "format/event_id.h"
#include "format/payload_facts.h"
#include "simdjson.h"
#include "traceframe/json.h"
#include "traceframe/run_status.h"
#include "util/json_internal.h"
#include "util/simdjson_errors.h"

namespace traceframe {
namespace {

constexpr std::array<std::string_view, kEventKindCount> kKindNames = {
    "run.started", "model.call",   "tool.call",   "tool.result",   "permission.decision",
    "error",       "run.finished", "agent.guess", "plan.deviation"};

// Bumped in the child of every fork(2): a forked child inherits the forking
// thread's generator state, and without a reseed parent and child would hand
// out the same event ids (seen: a forked recorder child and its parent).
std::atomic<uint64_t> fork_generation{0};
void OnForkChild() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

// "a, b, c" for messages.
template <typename Words>
std::string CommaList(const Words& words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out.append(", ");
    out.append(w);
  }
  return out;
}

}  // namespace

std::string_view EventKindName(EventKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<EventKind> ParseEventKind(std::string_view name) {
  // Called for every line verify reads: one comparison, picked by length.
  EventKind kind;
  switch (name.size()) {
    case 5:
      kind = EventKind::kError;
      break;
    case 9:
      kind = EventKind::kToolCall;
      break;
    case 10:
      kind = EventKind::kModelCall;
      break;
    case 11:
      kind = name[0] == 't'   ? EventKind::kToolResult
             : name[0] == 'a' ? EventKind::kAgentGuess
                              : EventKind::kRunStarted;
      break;
    case 12:
      kind = EventKind::kRunFinished;
      break;
    case 14:
      kind = EventKind::kPlanDeviation;
      break;
    case 19:
      kind = EventKind::kPermissionDecision;
      break;
    default:
      return std::nullopt;
  }
  if (name != kKindNames[static_cast<size_t>(kind)]) return std::nullopt;
  return kind;
}

namespace {
constexpr std::string_view kKnownRunStatuses[] = {"success",   "failed",  "error",   "interrupted",
                                                  "cancelled", "timeout", "crashed", "aborted",
                                                  "killed",    "imported"};
}  // namespace

bool IsKnownRunStatus(std::string_view status) {
  for (std::string_view known : kKnownRunStatuses) {
    if (status == known) return true;
  }
  return false;
}

std::string_view KnownRunStatusList() {
  static const std::string* list = new std::string(CommaList(kKnownRunStatuses));
  return *list;
}

absl::StatusOr<EventKind> ParseEventKindOrError(std::string_view name) {
  auto kind = ParseEventKind(name);
  if (!kind) {
    return absl::InvalidArgumentError(
        Cat("unknown event kind: ", name, " (expected one of ", CommaList(kKindNames), ")"));
  }
  return *kind;
}

void AppendEventLine(std::string* out, const Event& event) {
  out->reserve(out->size() + 128 + event.run_id.size() + event.payload_json.size());
  Append(out, "{\"version\":", event.version, ",\"run_id\":");
  AppendJsonString(out, event.run_id);
  out->append(",\"event_id\":");
  AppendJsonString(out, event.event_id);
  Append(out, ",\"kind\":\"", EventKindName(event.kind), "\",\"ts_ms\":", event.ts_ms,
         ",\"seq\":", event.seq, ",\"payload\":");
  out->append(event.payload_json);
  out->append("}\n");
}

std::string SerializeEventLine(const Event& event) {
  std::string out;
  AppendEventLine(&out, event);
  return out;
}

namespace {

// Two hex digits per table lookup, straight into the output.
constexpr auto kHexPairs = [] {
  std::array<char, 512> t{};
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    t[2 * i] = kHex[i >> 4];
    t[2 * i + 1] = kHex[i & 0xF];
  }
  return t;
}();

// Writes bytes [first, first + count) of `v` (big-endian order) as hex.
inline char* PutHexBytes(char* p, uint64_t v, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    const size_t byte = (v >> (56 - 8 * i)) & 0xFF;
    std::memcpy(p, &kHexPairs[2 * byte], 2);
    p += 2;
  }
  return p;
}

constexpr uint64_t kMask62 = (uint64_t{1} << 62) - 1;

// A bijection of [0, 2^62): odd multipliers and right xorshifts are each
// invertible modulo 2^62, so distinct counters give distinct outputs, which
// look random (the finalizer of SplitMix64, cut to 62 bits).
inline uint64_t Scramble62(uint64_t x) {
  x &= kMask62;
  x ^= x >> 31;
  x = (x * 0xbf58476d1ce4e5b9ULL) & kMask62;
  x ^= x >> 27;
  x = (x * 0x94d049bb133111ebULL) & kMask62;
  x ^= x >> 31;
  return x;
}

struct IdGenerator {
  uint64_t fork_generation = ~uint64_t{0};  // never a real generation: seeds on first use
  char prefix[19];                          // "xxxxxxxx-xxxx-4xxx-"
  uint64_t key = 0;                         // 62 random bits
  uint64_t counter = 0;

  void Seed(uint64_t generation) {
    absl::BitGen gen;  // seeded from the OS
    uint64_t hi = absl::Uniform<uint64_t>(gen);
    hi = (hi & ~uint64_t{0xF000}) | 0x4000;  // version 4
    key = absl::Uniform<uint64_t>(gen) & kMask62;
    counter = 0;
    char* p = PutHexBytes(prefix, hi, 0, 4);
    *p++ = '-';
    p = PutHexBytes(p, hi, 4, 2);
    *p++ = '-';
    p = PutHexBytes(p, hi, 6, 2);
    *p = '-';
    fork_generation = generation;
  }
};

}  // namespace

namespace internal {

void WriteNewEventId(char* out) {
  // A forked child inherits the forking thread's generator: reseed there, or
  // parent and child would hand out the same ids.
  static const bool fork_hook = (pthread_atfork(nullptr, nullptr, &OnForkChild), true);
  (void)fork_hook;
  thread_local IdGenerator state;
  const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  // 2^62 ids from one prefix: reseed long before the counter could wrap.
  if (generation != state.fork_generation || state.counter > kMask62) state.Seed(generation);
  const uint64_t lo =
      Scramble62(state.counter++ + state.key) | (uint64_t{0x2} << 62);  // variant 10
  std::memcpy(out, state.prefix, sizeof(state.prefix));
  char* p = PutHexBytes(out + sizeof(state.prefix), lo, 0, 2);
  *p++ = '-';
  PutHexBytes(p, lo, 2, 6);
}

}  // namespace internal

void AppendNewEventId(std::string* out) {
  char id[internal::kEventIdLength];
  internal::WriteNewEventId(id);
  out->append(id, sizeof(id));
}

std::string NewEventId() {
  std::string id;
  id.reserve(36);
  AppendNewEventId(&id);
  return id;
}

int64_t NowEpochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// The payload contract's checks on a parsed payload (event.h).
absl::Status CheckPayloadElement(EventKind kind, simdjson::dom::element root) {
  std::string key;
  std::string where;
  if (FindDuplicateKey(root, &key, &where)) {
    return absl::InvalidArgumentError(Cat("invalid ", EventKindName(kind),
                                          " payload: duplicate key ", JsonString(key), " at ",
                                          where, " (each key may appear once)"));
  }
  if (kind == EventKind::kRunFinished) {
    std::string_view status;
    simdjson::dom::object object;
    if (root.get_object().get(object) || object["status"].get_string().get(status)) {
      return absl::InvalidArgumentError(
          "invalid run.finished payload: it must be an object with a string \"status\" "
          "(use `traceframe finish --status S`)");
    }
  }
  // Token usage keeps its convention where writers put it (usage.h).
  if (kind == EventKind::kModelCall || kind == EventKind::kRunFinished) {
    auto usage = root["usage"];
    if (!usage.error()) {
      absl::Status status = CheckUsageElement(usage.value_unsafe());
      if (!status.ok()) {
        return absl::InvalidArgumentError(
            Cat("invalid ", EventKindName(kind), " payload: ", status.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CanonicalEventPayload(EventKind kind, std::string_view payload_json) {
  bool parsed = false;
  absl::StatusOr<std::string> canonical = CanonicalizeJsonChecked(
      payload_json, [kind, &parsed](simdjson::dom::element root) -> absl::Status {
        parsed = true;
        return CheckPayloadElement(kind, root);
      });
  if (!canonical.ok() && !parsed) {
    return absl::InvalidArgumentError(
        Cat("invalid JSON payload for ", EventKindName(kind), ": ", canonical.status().message()));
  }
  return canonical;
}

absl::Status ValidateEventPayload(EventKind kind, std::string_view payload_json) {
  // The same parse and checks as CanonicalEventPayload, without building the
  // minified copy: the recorder minifies straight into the event's line.
  thread_local simdjson::dom::parser parser;
  constexpr size_t kShrinkAbove = 8u << 20;  // as CanonicalizeJsonChecked
  if (parser.capacity() > kShrinkAbove && payload_json.size() < kShrinkAbove) {
    parser = simdjson::dom::parser();
  }
  simdjson::dom::element root;
  if (auto error = parser.parse(payload_json.data(), payload_json.size(), true).get(root)) {
    return absl::InvalidArgumentError(Cat("invalid JSON payload for ", EventKindName(kind), ": ",
                                          internal::SimdjsonErrorText(error, "document")));
  }
  return CheckPayloadElement(kind, root);
}

}  // namespace traceframe
