// libFuzzer target: merging the traceframe entries into an arbitrary hooks
// file (Claude Code / Codex or Cursor shape, chosen or detected) never
// crashes, produces valid JSON, and is idempotent (a second merge reports
// "already wired" and returns the file byte for byte).
#include <cstdint>
#include <string>
#include <string_view>

#include "traceframe/hook.h"
#include "traceframe/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  traceframe::HookInstallOptions options;
  // The first byte picks flags, so updates of existing entries get fuzzed too.
  if (!input.empty()) {
    const unsigned char flags = static_cast<unsigned char>(input.front());
    input.remove_prefix(1);
    if (flags & 1) options.source = "my src'\"$";
    if (flags & 2) options.run_id = "r 1";
    if (flags & 4) options.matcher = "";
    if (flags & 8) options.events = {"PreToolUse", "SessionStart", "PreToolUse"};
    // Both shapes, and auto detection from the path or the content.
    if (flags & 16) options.format = traceframe::HookFileFormat::kCursor;
    if (flags & 32) options.format = traceframe::HookFileFormat::kClaude;
    if (flags & 64) options.file = ".cursor/hooks.json";
  }
  absl::StatusOr<traceframe::HookInstallResult> first = traceframe::MergeHooksJson(input, options);
  if (!first.ok()) return 0;
  if (!traceframe::ValidateJson(first->json).ok()) __builtin_trap();
  absl::StatusOr<traceframe::HookInstallResult> second =
      traceframe::MergeHooksJson(first->json, options);
  if (!second.ok()) __builtin_trap();
  if (second->result != "already wired" || second->json != first->json) __builtin_trap();
  return 0;
}
