// `traceframe-ship`: the helper executable behind `traceframe ship`
// (docs/clickhouse.md). It holds the libcurl transport so that the
// `traceframe` binary, whose start-up is the cost of every `hook ingest`
// call, never loads libcurl (as git keeps HTTP in git-remote-http).
// `traceframe ship ARGS` execs `traceframe-ship ARGS` from its own directory.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../cli.h"
#include "../progress.h"
#include "CLI/CLI.hpp"
#include "curl_transport.h"
#include "traceframe/json.h"
#include "traceframe/ship.h"
#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// Sleeps up to `seconds`, waking early when interrupted.
void SleepInterruptible(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

struct Totals {
  uint64_t passes = 0;
  uint64_t traces = 0;
  uint64_t traces_shipped = 0;
  uint64_t events = 0;
  uint64_t runs = 0;
  uint64_t batches = 0;
  uint64_t bytes = 0;
  uint64_t waiting_bytes = 0;
  uint64_t retries = 0;
  std::vector<ShipProblem> problems;
};

std::string TotalsJson(const std::string& url, const std::string& database, const Totals& t,
                       const absl::Status& error) {
  std::string out;
  JsonObjectWriter w(&out);
  w.String("clickhouse", url)
      .String("database", database)
      .Uint("passes", t.passes)
      .Uint("traces", t.traces)
      .Uint("traces_shipped", t.traces_shipped)
      .Uint("events", t.events)
      .Uint("runs", t.runs)
      .Uint("batches", t.batches)
      .Uint("bytes", t.bytes)
      .Uint("waiting_bytes", t.waiting_bytes)
      .Uint("retries", t.retries);
  std::string problems = "[";
  for (size_t i = 0; i < t.problems.size(); ++i) {
    if (i) problems.push_back(',');
    JsonObjectWriter(&problems)
        .String("path", t.problems[i].path)
        .Uint("offset", t.problems[i].offset)
        .String("reason", t.problems[i].reason)
        .Finish();
  }
  problems.push_back(']');
  w.Raw("problems", problems);
  if (error.ok()) {
    w.Null("error");
  } else {
    w.String("error", ToStd(error.message()));
  }
  w.Finish();
  out.push_back('\n');
  return out;
}

// http://127.0.0.1:8123/..., http://localhost, http://[::1]:8123
bool IsLoopbackUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  const size_t at = url.find_first_of("/?");
  std::string_view authority = url.substr(0, at);
  if (const size_t user = authority.rfind('@'); user != std::string_view::npos) {
    authority.remove_prefix(user + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host[0] == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host == "[::1]" || host.substr(0, 4) == "127.";
}

int Run(int argc, char** argv) {
  CLI::App app{"Ship traces into ClickHouse, incrementally (docs/clickhouse.md)",
               "traceframe ship"};
  std::string url;
  std::string database = "traceframe";
  std::vector<std::string> dirs;
  std::vector<std::string> files;
  bool create_tables = false;
  bool follow = false;
  double interval = 1.0;
  uint64_t batch_bytes = 4 << 20;
  std::string user;
  std::string password_file;
  bool json = false;
  bool no_gzip = false;
  bool force_gzip = false;
  app.add_option("--clickhouse", url, "ClickHouse HTTP URL, e.g. http://127.0.0.1:8123")
      ->required();
  app.add_option("--database", database, "Database holding the events and runs tables")
      ->capture_default_str();
  auto* dir_opt = app.add_option("--dir", dirs, "Runs directory (every *.traceframe under it)");
  auto* file_opt = app.add_option("--file", files, "One trace file");
  dir_opt->excludes(file_opt);
  app.add_flag("--create-tables", create_tables,
               "Create the database and tables first (single-server DDL, IF NOT EXISTS)");
  auto* follow_opt = app.add_flag("--follow", follow,
                                  "Keep tailing the traces (new and growing) until interrupted");
  app.add_option("--interval", interval, "Seconds between passes under --follow")
      ->needs(follow_opt)
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option("--batch-bytes", batch_bytes, "Send a batch once its rows reach N bytes")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30))
      ->capture_default_str();
  auto* user_opt = app.add_option("--user", user, "ClickHouse user (HTTP basic auth)");
  app.add_option("--password-file", password_file, "File holding the user's password")
      ->needs(user_opt);
  auto* no_gzip_opt = app.add_flag("--no-gzip", no_gzip, "Send batches uncompressed");
  app.add_flag("--gzip", force_gzip, "Compress batches even to a loopback server")
      ->excludes(no_gzip_opt);
  app.add_flag("--json", json, "Print the totals as one JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (dirs.empty() && files.empty()) dirs.push_back(".traceframe/runs");
  if (!IsValidDatabaseName(database)) {
    std::fprintf(stderr, "Error: invalid --database %s (letters, digits and _ only)\n",
                 database.c_str());
    return kExitUsage;
  }
  CurlTransportOptions transport_options;
  transport_options.url = url;
  transport_options.user = user;
  // gzip saves the wire, not the CPU: to a loopback server it only costs
  // (measured: 0.72x of clickhouse-client without, 0.43x with; docs/performance.md).
  transport_options.gzip = force_gzip || (!no_gzip && !IsLoopbackUrl(url));
  if (!password_file.empty()) {
    FILE* in = std::fopen(password_file.c_str(), "rb");
    if (in == nullptr) {
      return ReportError(Cat("failed to read --password-file ", password_file));
    }
    char buf[4096];
    const size_t n = std::fread(buf, 1, sizeof(buf), in);
    std::fclose(in);
    std::string password(buf, n);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    transport_options.password = std::move(password);
  }
  absl::StatusOr<std::unique_ptr<ShipTransport>> transport = NewCurlTransport(transport_options);
  if (!transport.ok()) return ReportError(transport.status());

  ShipOptions options;
  options.database = database;
  options.target = url;
  options.dirs = dirs;
  options.files = files;
  options.batch_bytes = batch_bytes;
  // Progress of the first pass on a terminal (the one that may ship a
  // backlog); --follow's later passes only ship what was appended.
  ProgressLine progress("ship: reading traces", "traces");
  bool first_pass = true;
  if (auto draw = progress.Callback()) {
    options.progress = [draw, &first_pass](uint64_t done, uint64_t total) {
      if (first_pass) draw(done, total);
    };
  }
  Shipper shipper(options, transport->get());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  // Under --follow a down server is waited for with capped exponential
  // backoff; without it, the first failure ends the run (checkpoints stay at
  // the last acknowledged batch, so nothing is lost).
  double backoff = 0.2;
  auto retryable = [&](const absl::Status& status) {
    return follow && absl::IsUnavailable(status) && !g_stop.load();
  };
  absl::Status error;
  if (create_tables) {
    for (;;) {
      error = shipper.CreateTables();
      if (!retryable(error)) break;
      std::fprintf(stderr, "ship: %s; retrying in %.1f s\n", std::string(error.message()).c_str(),
                   backoff);
      SleepInterruptible(backoff);
      backoff = std::min(backoff * 2, 5.0);
    }
  }
  Totals totals;
  std::set<std::pair<std::string, uint64_t>> reported;  // problems told once each
  while (error.ok()) {
    absl::StatusOr<ShipPassResult> pass = shipper.ShipOnce();
    progress.Clear();
    if (pass.ok()) first_pass = false;
    if (!pass.ok()) {
      if (retryable(pass.status())) {
        ++totals.retries;
        std::fprintf(stderr, "ship: %s; retrying in %.1f s\n",
                     std::string(pass.status().message()).c_str(), backoff);
        SleepInterruptible(backoff);
        backoff = std::min(backoff * 2, 5.0);
        if (g_stop.load()) break;
        continue;
      }
      error = pass.status();
      break;
    }
    backoff = 0.2;
    ++totals.passes;
    totals.traces = pass->traces;
    totals.traces_shipped += pass->traces_shipped;
    totals.events += pass->events;
    totals.runs += pass->runs;
    totals.batches += pass->batches;
    totals.bytes += pass->bytes;
    totals.waiting_bytes = pass->waiting_bytes;
    for (ShipProblem& p : pass->problems) {
      if (!reported.insert({p.path, p.offset}).second) continue;
      std::fprintf(stderr, "warning: %s: %s\n", p.path.c_str(), p.reason.c_str());
      totals.problems.push_back(std::move(p));
    }
    if (follow && pass->events > 0) {
      std::fprintf(stderr, "ship: %llu events from %llu traces\n",
                   static_cast<unsigned long long>(pass->events),
                   static_cast<unsigned long long>(pass->traces_shipped));
    }
    if (!follow || g_stop.load()) break;
    SleepInterruptible(interval);
    if (g_stop.load()) break;
  }
  if (json) {
    WriteStdout(TotalsJson(url, database, totals, error));
  } else {
    PrintBlock(stdout, "ship",
               {{"clickhouse", url},
                {"database", database},
                {"traces", Cat(totals.traces)},
                {"shipped", Cat(totals.traces_shipped)},
                {"events", Cat(totals.events)},
                {"runs", Cat(totals.runs)},
                {"batches", Cat(totals.batches)},
                {"waiting", Cat(totals.waiting_bytes, " bytes (incomplete last lines)")},
                {"problems", Cat(totals.problems.size())}});
  }
  if (!error.ok()) {
    return ReportError(Cat(error.message(),
                           "; nothing was lost: each trace's checkpoint stays at the last batch "
                           "ClickHouse acknowledged, so `traceframe ship` again resumes there"));
  }
  if (!totals.problems.empty()) {
    return ReportError(Cat(totals.problems.size(),
                           " trace(s) could not be shipped completely (listed above); their "
                           "checkpoints stop before the first line that failed"));
  }
  return kExitOk;
}

}  // namespace
}  // namespace traceframe::cli

int main(int argc, char** argv) { return traceframe::cli::Run(argc, argv); }
