// record --stream (see stream_commands.h; docs/harness-integration.md).
#include "stream_commands.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli.h"
#include "traceframe/labels.h"
#include "traceframe/recorder.h"
#include "traceframe/str_util.h"
#include "traceframe/stream.h"

namespace traceframe::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

// SIGINT/SIGTERM end the stream like EOF: what was read is recorded and
// synced. No SA_RESTART, so a blocked poll returns at once.
void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

void AddStreamOptions(CLI::App* cmd, StreamFlags* flags,
                      const std::vector<CLI::Option*>& single_event_options) {
  auto* stream = cmd->add_flag("--stream", flags->enabled,
                               "Read JSON lines {\"kind\",\"payload\",\"ts_ms\"?,\"id\"?} on stdin "
                               "and record them until EOF (docs/harness-integration.md)");
  for (CLI::Option* option : single_event_options) stream->excludes(option);
  auto* init = cmd->add_option_function<std::string>(
      "--init", [flags](const std::string& run_id) { flags->init_run_id = run_id; },
      "With --stream: create the trace with run.started for RUN_ID");
  auto* label =
      cmd->add_option("--label", flags->labels, "With --init: a run label K=V (repeatable)");
  auto* ack = cmd->add_flag("--ack", flags->ack,
                            "With --stream: print {\"line\",\"seq\",\"id\"} per line once durable");
  auto* sync = cmd->add_option("--sync", flags->sync, "With --stream: batch, every or none")
                   ->check(CLI::IsMember({"batch", "every", "none"}));
  auto* finish = cmd->add_option_function<std::string>(
      "--finish-on-eof", [flags](const std::string& s) { flags->finish_on_eof = s; },
      "With --stream: append run.finished with this status at the end");
  for (CLI::Option* option : {init, ack, sync, finish}) option->needs(stream);
  label->needs(init);
}

int RunRecordStream(const std::string& file, const StreamFlags& flags) {
  StreamOptions options;
  options.init_run_id = flags.init_run_id;
  absl::StatusOr<Labels> labels = ParseLabelArgs(flags.labels);
  if (!labels.ok()) {
    ReportError(labels.status());
    return kExitUsage;
  }
  for (const auto& [key, value] : *labels) options.labels.emplace_back(key, value);
  options.sync = *ParseSyncPolicy(flags.sync);  // CLI11 checked the name
  options.finish_status = flags.finish_on_eof;
  StreamFds fds;
  fds.in = 0;
  fds.ack = flags.ack ? 1 : -1;
  fds.diag = 2;
  std::fflush(stdout);
  InstallStopHandlers();
  absl::StatusOr<StreamResult> result = RecordStream(file, options, fds, &g_stop);
  if (!result.ok()) return ReportError(result.status());
  if (result->rejected > 0 || result->stopped || result->acks_closed) {
    std::fprintf(stderr,
                 "traceframe record --stream: %s: %llu events recorded, %llu lines rejected, last "
                 "seq %llu%s%s%s\n",
                 file.c_str(), static_cast<unsigned long long>(result->recorded),
                 static_cast<unsigned long long>(result->rejected),
                 static_cast<unsigned long long>(result->last_seq),
                 result->stopped ? ", stopped by a signal" : "",
                 result->acks_closed ? ", acks stopped (stdout closed)" : "",
                 result->finished ? ", run finished" : "");
  }
  return kExitOk;
}

}  // namespace traceframe::cli
