#include "curl_transport.h"

#include <curl/curl.h>
#include <zlib.h>

#include <utility>

#include "traceframe/str_util.h"

namespace traceframe::cli {
namespace {

// Bodies smaller than this go as they are: compressing a few rows saves
// nothing on the wire and costs a zlib stream.
constexpr size_t kGzipMinBytes = 4096;

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (out->size() < (1u << 20)) out->append(data, n);  // an error message, bounded
  return n;
}

// gzip (RFC 1952) at level 1: ClickHouse decompresses a request body sent
// with Content-Encoding: gzip; level 1 keeps the shipper's CPU low.
bool Gzip(std::string_view in, std::string* out) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  const int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

class CurlTransport : public ShipTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {}
  ~CurlTransport() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  absl::Status Init() {
    curl_ = curl_easy_init();
    if (curl_ == nullptr) return absl::InternalError("libcurl could not start a session");
    return absl::OkStatus();
  }

  absl::Status Execute(std::string_view query, std::string_view body) override {
    char* escaped = curl_easy_escape(curl_, query.data(), static_cast<int>(query.size()));
    if (escaped == nullptr) return absl::InternalError("libcurl could not escape the query");
    std::string url = options_.url;
    url.append(url.find('?') == std::string::npos ? "?" : "&");
    Append(&url, "query=", escaped);
    curl_free(escaped);

    std::string compressed;
    std::string_view payload = body;
    curl_slist* headers = nullptr;
    // No "Expect: 100-continue" round trip before each batch.
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    if (options_.gzip && body.size() >= kGzipMinBytes && Gzip(body, &compressed)) {
      payload = compressed;
      headers = curl_slist_append(headers, "Content-Encoding: gzip");
    }
    std::string answer;
    curl_easy_reset(curl_);  // keeps the connection cache: keep-alive survives
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, options_.timeout_seconds);
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!options_.user.empty()) {
      curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl_, CURLOPT_USERNAME, options_.user.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, options_.password.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return ClassifyClickHouseAnswer(rc == CURLE_OK, status, answer,
                                    Cat(curl_easy_strerror(rc), " (", options_.url, ")"));
  }

 private:
  CurlTransportOptions options_;
  CURL* curl_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ShipTransport>> NewCurlTransport(CurlTransportOptions options) {
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) return absl::InternalError("libcurl failed to initialize");
  auto transport = std::make_unique<CurlTransport>(std::move(options));
  absl::Status status = transport->Init();
  if (!status.ok()) return status;
  return std::unique_ptr<ShipTransport>(std::move(transport));
}

}  // namespace traceframe::cli
