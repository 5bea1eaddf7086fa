// libFuzzer target: the Claude Code transcript line mapper
// (engine/src/import/claude_mapper.cc, docs/import.md); checks in
// import_fuzz_check.h. Named as a sub-agent file so that path runs too.
#include "import_fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return traceframe::fuzz::FuzzImport(data, size, traceframe::ImportFormat::kClaudeCode,
                                      "agent-a1.jsonl");
}
