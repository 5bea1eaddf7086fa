// `traceframe record --stream`: the flags (added to the `record` command in
// trace_commands.cc) and the action, which calls traceframe::RecordStream
// (engine/include/traceframe/stream.h).
#ifndef TRACEFRAME_CLI_STREAM_COMMANDS_H_
#define TRACEFRAME_CLI_STREAM_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace traceframe::cli {

struct StreamFlags {
  bool enabled = false;
  std::optional<std::string> init_run_id;
  std::vector<std::string> labels;  // K=V
  bool ack = false;
  std::string sync = "batch";
  std::optional<std::string> finish_on_eof;
};

// Adds --stream, --init, --label, --ack, --sync and --finish-on-eof to `cmd`;
// --stream excludes the one-event options in `single_event_options`.
void AddStreamOptions(CLI::App* cmd, StreamFlags* flags,
                      const std::vector<CLI::Option*>& single_event_options);

// Runs the stream on stdin/stdout/stderr; returns the exit code.
int RunRecordStream(const std::string& file, const StreamFlags& flags);

}  // namespace traceframe::cli

#endif  // TRACEFRAME_CLI_STREAM_COMMANDS_H_
