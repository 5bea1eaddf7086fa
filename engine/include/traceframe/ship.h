// Shipping traces into ClickHouse (docs/clickhouse.md): incremental copies of
// the trace files, exactly-once in effect.
//
// The trace file stays the truth. A shipper reads the complete lines past a
// per-trace checkpoint, encodes them as rows of the `events` table (one row
// per event) and the `runs` table (the ledger entry of each trace), POSTs them
// in batches bounded in bytes and, only after ClickHouse acknowledged a batch,
// moves each trace's checkpoint past it (written atomically beside the trace:
// `<trace>.ship-<target hash>`). Both tables are ReplacingMergeTree, keyed so
// a row sent twice collapses; so a crash between the acknowledgement and the
// checkpoint (or a deleted checkpoint) re-sends rows that `FINAL` reads once.
//
// The HTTP client is behind ShipTransport: the CLI's helper executable
// (`traceframe-ship`) supplies a libcurl one, tests a fake. Nothing here links
// libcurl, so the `traceframe` binary's start-up does not load it.
//
// Thread-safety: a Shipper is used from one thread at a time. Two shippers
// on the same traces and target may both send a batch (collapsed by the
// tables) and the later checkpoint wins; both are safe, neither loses rows.
#ifndef TRACEFRAME_SHIP_H_
#define TRACEFRAME_SHIP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traceframe/ledger.h"

namespace traceframe {

// Sends one statement to ClickHouse over its HTTP interface.
class ShipTransport {
 public:
  virtual ~ShipTransport() = default;
  // Runs `query` with `body` as its data (an `INSERT ... FORMAT JSONEachRow`
  // and its rows, or DDL with an empty body). OK only once the server
  // acknowledged it (HTTP 200). Errors, told apart by code:
  //   kUnavailable: the server could not be reached or is restarting
  //     (connection refused/reset, timeout, 502/503/504, or a ClickHouse
  //     error that is transient); the same call may succeed later.
  //   anything else (kInvalidArgument, kPermissionDenied, kNotFound, ...):
  //     the server refused the statement (schema mismatch, authentication,
  //     unknown table); the message is ClickHouse's own. Retrying won't help.
  virtual absl::Status Execute(std::string_view query, std::string_view body) = 0;
};

// Maps an HTTP answer of ClickHouse to the error codes above. `transport_ok`
// false means no HTTP answer at all (`detail` says why). Used by transports.
absl::Status ClassifyClickHouseAnswer(bool transport_ok, long http_status, std::string_view body,
                                      std::string_view detail);

// `[A-Za-z_][A-Za-z0-9_]*`: database names are spliced into SQL, so only
// plain identifiers are accepted.
bool IsValidDatabaseName(std::string_view name);

// The single-server DDL, one statement per element (CREATE DATABASE, then
// the tables), every one `IF NOT EXISTS`. Runs on ClickHouse 18.16 (Debian 12)
// and on current releases; docs/clickhouse.md lists it with the cluster form.
std::vector<std::string> ClickHouseCreateTables(std::string_view database);

struct ShipOptions {
  std::string database = "traceframe";
  // Where the checkpoints are keyed to: the same traces shipped to two
  // servers (or databases) keep two checkpoints. Usually the URL.
  std::string target;
  // Traces to ship: every `*.traceframe` under each dir (recursively, as
  // `ledger rebuild` finds them), plus each file.
  std::vector<std::string> dirs;
  std::vector<std::string> files;
  // A batch is sent once its rows reach this many bytes (a single event
  // larger than this goes alone). Memory stays within a few batches.
  uint64_t batch_bytes = 4 << 20;
  // The machine's name for the `host` column; empty: gethostname().
  std::string host;
  // Called during a pass with (traces looked at, traces in the pass), and
  // once with (n, n) when its last batch is acknowledged (the CLI draws it on
  // a terminal).
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

// A trace that could not be shipped (completely); the pass goes on with the
// others. Nothing of it past `offset` was shipped.
struct ShipProblem {
  std::string path;
  uint64_t offset = 0;
  std::string reason;
};

struct ShipPassResult {
  uint64_t traces = 0;          // traces looked at
  uint64_t traces_shipped = 0;  // traces with new rows in this pass
  uint64_t events = 0;          // event rows acknowledged
  uint64_t runs = 0;            // runs rows acknowledged
  uint64_t batches = 0;         // INSERT statements acknowledged
  uint64_t bytes = 0;           // uncompressed row bytes acknowledged
  uint64_t waiting_bytes = 0;   // incomplete last lines left for later
  std::vector<ShipProblem> problems;
};

// The checkpoint of one trace for one target (derived state; deleting it
// re-ships the trace, which the tables collapse).
struct ShipCheckpoint {
  std::string target;
  std::string run_id;
  std::string first_line_hash;  // 16 hex digits: the trace's identity with run_id
  uint64_t offset = 0;          // bytes shipped: always a line end
  uint64_t seq = 0;             // seq of the last event shipped
  uint64_t events = 0;          // events shipped in total
};

// `<trace>.ship-<8 hex digits of a hash of target and database>`.
std::string ShipCheckpointPath(const std::string& trace_path, std::string_view target,
                               std::string_view database);
std::string ShipCheckpointJson(const ShipCheckpoint& checkpoint);
absl::StatusOr<ShipCheckpoint> ParseShipCheckpoint(std::string_view json);

// One event line (a complete, valid event) as its `events` row in
// JSONEachRow (no newline). `labels` is the run.started payload's labels
// object as JSON ("{}" when none), `source` its source.
struct ShipRunContext {
  std::string host;
  std::string source;
  std::string trace_path;
  std::string labels_json = "{}";
};
absl::StatusOr<std::string> EncodeEventRow(std::string_view line, const ShipRunContext& context);

// The `runs` row of a ledger entry; `version` orders rows of one run (the
// bytes shipped: a later state of a trace is always longer).
std::string EncodeRunRow(const LedgerEntry& entry, const ShipRunContext& context, uint64_t version);

class Shipper {
 public:
  // `transport` must outlive the shipper.
  Shipper(ShipOptions options, ShipTransport* transport);

  // Runs the DDL of ClickHouseCreateTables.
  absl::Status CreateTables();

  // Ships what is new in every trace, once. Returns an error (and leaves
  // every checkpoint of the failed batch unchanged) when a batch was not
  // acknowledged: kUnavailable when retrying may help. Problems with single
  // traces (unreadable, an invalid line) are listed in the result instead.
  absl::StatusOr<ShipPassResult> ShipOnce();

 private:
  struct Pending;
  absl::Status Flush(Pending* pending, ShipPassResult* result);

  ShipOptions options_;
  ShipTransport* transport_;
};

}  // namespace traceframe

#endif  // TRACEFRAME_SHIP_H_
