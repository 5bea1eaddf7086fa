// The libcurl ShipTransport of `traceframe-ship` (docs/clickhouse.md). Lives
// in the helper executable only, so the `traceframe` binary never loads
// libcurl (a `hook ingest` call's cost is mostly its start-up).
#ifndef TRACEFRAME_CLI_SHIP_CURL_TRANSPORT_H_
#define TRACEFRAME_CLI_SHIP_CURL_TRANSPORT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "traceframe/ship.h"

namespace traceframe::cli {

struct CurlTransportOptions {
  std::string url;  // http://host:8123[/][?setting=value...]
  std::string user;
  std::string password;
  bool gzip = true;  // compress request bodies of more than a few KiB
  long timeout_seconds = 300;
};

// One keep-alive connection (a reused CURL easy handle). Not thread-safe.
absl::StatusOr<std::unique_ptr<ShipTransport>> NewCurlTransport(CurlTransportOptions options);

}  // namespace traceframe::cli

#endif  // TRACEFRAME_CLI_SHIP_CURL_TRANSPORT_H_
