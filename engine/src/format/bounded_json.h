// Internal: the one bounded, redacting copy of host JSON that hook ingest
// (payload.raw, tool input/response) and import (tool inputs and outputs)
// both use, so a secret is kept out of a trace the same way whichever path
// wrote it (docs/hooks.md "What payload.raw keeps", docs/import.md
// "Redaction").
//
// Two rules, both applied on every copy:
// - a value under a secret-looking object key (LooksLikeSecretKey in
//   traceframe/hook.h) is replaced by kHookRedacted;
// - inside every string, credentials recognizable by their shape are
//   replaced by kHookRedacted (RedactSecretsInText below).
// Strings are cut at kHookStringMaxChars characters (marked), containers
// nested deeper than kHookMaxDepth are replaced by a marker. Thread-safe.
#ifndef TRACEFRAME_ENGINE_SRC_FORMAT_BOUNDED_JSON_H_
#define TRACEFRAME_ENGINE_SRC_FORMAT_BOUNDED_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "simdjson.h"

namespace traceframe::internal {

// Number of UTF-8 characters (non-continuation bytes) in `s`.
size_t Utf8Chars(std::string_view s);

// Replaces credentials found by their shape inside free text by
// kHookRedacted: PEM private key blocks ("-----BEGIN ... PRIVATE KEY-----"
// to its END line), tokens with a known vendor prefix (sk-, sk-ant-, ghp_,
// gho_, ghu_, ghs_, ghr_, github_pat_, glpat-, xoxb-, xoxp-, xoxa-, AKIA,
// AIza; at least 16 token characters after the prefix, not preceded by a
// letter or digit), "Bearer <token>" (the token part), and the password of
// a URL's user-info ("https://user:pass@host" keeps "user:"). Returns the
// text unchanged (and *redacted untouched) when nothing matched; sets
// *redacted otherwise.
std::string RedactSecretsInText(std::string_view text, bool* redacted);

// True when RedactSecretsInText would change `text` (a cheap pre-check).
bool MayHoldSecret(std::string_view text);

// A host string cut to kHookStringMaxChars characters plus the marker,
// UTF-8 sanitized and redacted. Sets *truncated when it cut.
std::string BoundString(std::string_view s, bool* truncated);

// AppendJsonString(out, BoundString(s)) without the copy for the common
// short, secret-free string.
void AppendBoundedString(std::string* out, std::string_view s, bool* truncated);

// Copies a host JSON value compactly: strings bounded and redacted, values
// under secret-looking keys replaced by kHookRedacted, containers nested
// deeper than kHookMaxDepth replaced by a marker, and (with a limit) the
// output kept under `limit` bytes by omitting the members and items that do
// not fit. Key order is the host's.
class BoundedCopy {
 public:
  // `limit`: out->size() stays at or under it, apart from the markers (at
  // most one per open container); the size_t maximum for no limit.
  BoundedCopy(std::string* out, size_t limit) : out_(out), limit_(limit) {}

  void Value(simdjson::dom::element value, size_t depth);

  // Something was cut, redacted values aside.
  bool cut() const { return cut_; }

 private:
  void Drop(size_t mark);
  bool Fits(size_t mark);
  void Object(simdjson::dom::element value, size_t depth);
  void Array(simdjson::dom::element value, size_t depth);

  std::string* out_;
  size_t limit_;
  bool cut_ = false;
  bool full_ = false;
};

// Appends `value` compactly with every long string cut and secrets redacted.
void AppendBounded(std::string* out, simdjson::dom::element value, bool* truncated);

}  // namespace traceframe::internal

#endif  // TRACEFRAME_ENGINE_SRC_FORMAT_BOUNDED_JSON_H_
