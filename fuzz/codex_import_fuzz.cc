// libFuzzer target: the Codex CLI rollout line mapper, current and legacy
// formats (engine/src/import/codex_mapper.cc, docs/import.md); checks in
// import_fuzz_check.h.
#include "import_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return traceframe::fuzz::FuzzImport(data, size, traceframe::ImportFormat::kCodex,
                                      "rollout-x.jsonl");
}
