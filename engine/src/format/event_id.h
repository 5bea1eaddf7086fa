// Internal: event id generation without a string (traceframe/event.h).
#ifndef TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_ID_H_
#define TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_ID_H_

#include <cstddef>

namespace traceframe::internal {

constexpr size_t kEventIdLength = 36;

// Writes a new event id (kEventIdLength bytes, no terminator) to `out`: an
// RFC 4122 version 4 UUID in lowercase hyphenated form, never repeated.
//
// Each thread draws 124 random bits from the OS-seeded generator once (and
// again after a fork(2)): the first 64 bits (60 random, the version nibble)
// are the same for all of the thread's ids, and the last 64 (62 bits, the
// variant) are a keyed bijection of a per-thread counter. A thread's ids are
// therefore distinct by construction, and ids of different threads or
// processes collide only if two 60-bit random prefixes do: no random draw per
// event and half the hex formatting (this runs once per recorded event).
void WriteNewEventId(char* out);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_FORMAT_EVENT_ID_H_
