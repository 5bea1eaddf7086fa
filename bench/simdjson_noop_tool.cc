// A process that does nothing but load libsimdjson.so (and the shared
// libstdc++ it needs): the start-up floor for any program that parses with
// the distribution's simdjson. hook_latency_tool runs it next to
// `traceframe hook ingest` so the part of start-up that is ours shows.
#include <cstring>

#include "simdjson.h"

int main(int argc, char** argv) {
  // One call into the library, so the linker keeps it as a dependency.
  return argc > 0 && simdjson::validate_utf8(argv[0], std::strlen(argv[0])) ? 0 : 1;
}
