// The bounded, redacting JSON copy shared by hook ingest and import
// (format/bounded_json.h; docs/hooks.md, docs/import.md "Redaction").
#include "format/bounded_json.h"

#include <cstring>
#include <limits>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "traceframe/hook.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"

namespace traceframe::internal {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsTokenChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }

// Vendor token prefixes (docs/import.md "Redaction"). The prefix is kept so
// a reader still sees what kind of credential was there.
constexpr std::string_view kTokenPrefixes[] = {"sk-ant-", "sk-",   "ghp_",        "gho_",   "ghu_",
                                               "ghs_",    "ghr_",  "github_pat_", "glpat-", "xoxb-",
                                               "xoxp-",   "xoxa-", "AKIA",        "AIza"};
constexpr size_t kMinTokenChars = 16;
constexpr std::string_view kPemBegin = "-----BEGIN ";
constexpr std::string_view kPemKeyTail = "PRIVATE KEY-----";
constexpr std::string_view kPemEnd = "-----END ";
constexpr std::string_view kBearer = "Bearer ";

size_t TokenRun(std::string_view text, size_t from) {
  size_t end = from;
  while (end < text.size() && IsTokenChar(text[end])) ++end;
  return end - from;
}

// One match: [begin, end) replaced by the marker, `keep` bytes of it kept.
struct Match {
  size_t begin = std::string_view::npos;
  size_t end = 0;
  size_t keep = 0;
};

// A secret starting exactly at `at`, if any.
std::optional<Match> SecretAt(std::string_view text, size_t at) {
  const std::string_view rest = text.substr(at);
  switch (text[at]) {
    case '-': {  // PEM private key block
      if (!StartsWith(rest, kPemBegin)) return std::nullopt;
      const size_t line_end = rest.find('\n');
      if (!Contains(rest.substr(0, line_end), kPemKeyTail)) return std::nullopt;
      size_t end = text.find(kPemEnd, at + kPemBegin.size());
      if (end != std::string_view::npos) {
        const size_t close = text.find("-----", end + kPemEnd.size());
        end = close == std::string_view::npos ? text.size() : close + 5;
      } else {
        end = text.size();
      }
      return Match{at, end, 0};
    }
    case 'B': {  // Bearer <token>
      if (!StartsWith(rest, kBearer)) return std::nullopt;
      const size_t start = at + kBearer.size();
      size_t end = start;
      while (end < text.size() && (IsTokenChar(text[end]) || text[end] == '.' || text[end] == '~' ||
                                   text[end] == '+' || text[end] == '/' || text[end] == '=')) {
        ++end;
      }
      if (end - start < kMinTokenChars) return std::nullopt;
      return Match{at, end, kBearer.size()};
    }
    case ':': {  // scheme://user:pass@host
      if (!StartsWith(rest, "://")) return std::nullopt;
      size_t i = at + 3;
      size_t colon = std::string_view::npos;
      while (i < text.size()) {
        const char c = text[i];
        if (c == '@' || c == '/' || c == ' ' || c == '\n' || c == '"' || c == '\'' || c == '?' ||
            c == '#') {
          break;
        }
        if (c == ':' && colon == std::string_view::npos) colon = i;
        ++i;
      }
      if (i >= text.size() || text[i] != '@' || colon == std::string_view::npos || colon + 1 == i) {
        return std::nullopt;
      }
      return Match{at, i, colon + 1 - at};
    }
    default: {  // vendor-prefixed tokens, not inside a longer word
      if (at > 0 && IsTokenChar(text[at - 1])) return std::nullopt;
      for (std::string_view prefix : kTokenPrefixes) {
        if (prefix[0] != text[at] || !StartsWith(rest, prefix)) continue;
        const size_t run = TokenRun(text, at + prefix.size());
        if (run < kMinTokenChars) continue;
        return Match{at, at + prefix.size() + run, prefix.size()};
      }
      return std::nullopt;
    }
  }
}

// Characters a secret can start with (see SecretAt): one table lookup per
// byte, so the scan is a single pass whatever the number of patterns.
struct StartTable {
  bool start[256] = {};
  constexpr StartTable() {
    start[static_cast<unsigned char>('-')] = true;
    start[static_cast<unsigned char>('B')] = true;
    start[static_cast<unsigned char>(':')] = true;
    for (std::string_view p : kTokenPrefixes) start[static_cast<unsigned char>(p[0])] = true;
  }
};
constexpr StartTable kStarts;

// The first secret at or after `from`.
Match FindSecret(std::string_view text, size_t from) {
  for (size_t at = from; at < text.size(); ++at) {
    if (!kStarts.start[static_cast<unsigned char>(text[at])]) continue;
    if (std::optional<Match> m = SecretAt(text, at)) return *m;
  }
  return Match{};
}

// A value under a secret-looking key is replaced, unless it is a bool or
// null (which cannot carry a credential and say whether one was set).
bool Redactable(element value) {
  return value.type() != element_type::BOOL && value.type() != element_type::NULL_VALUE;
}

}  // namespace

bool MayHoldSecret(std::string_view text) {
  return FindSecret(text, 0).begin != std::string_view::npos;
}

std::string RedactSecretsInText(std::string_view text, bool* redacted) {
  Match m = FindSecret(text, 0);
  if (m.begin == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (m.begin != std::string_view::npos) {
    out.append(text.substr(pos, m.begin - pos + m.keep));
    out.append(kHookRedacted);
    pos = m.end;
    m = FindSecret(text, pos);
  }
  out.append(text.substr(pos));
  *redacted = true;
  return out;
}

std::string BoundString(std::string_view s, bool* truncated) {
  // Only what is kept is scanned: a cut well past the limit (4 bytes per
  // character, plus room for a secret straddling the limit) comes first.
  constexpr size_t kScanBytes = kHookStringMaxChars * 4 + 8192;
  if (s.size() > kScanBytes) {
    s = s.substr(0, kScanBytes);
    *truncated = true;
  }
  std::string owned;
  bool redacted = false;
  if (MayHoldSecret(s)) {
    owned = RedactSecretsInText(s, &redacted);
    s = owned;
  }
  if (s.size() <= kHookStringMaxChars || Utf8Chars(s) <= kHookStringMaxChars) {
    return SanitizeUtf8(s);
  }
  bool cut = false;
  std::string out = TruncateUtf8Chars(s, kHookStringMaxChars, &cut);
  if (cut) {
    out.append(kHookTruncatedMarker);
    *truncated = true;
  }
  return out;
}

void AppendBoundedString(std::string* out, std::string_view s, bool* truncated) {
  if (s.size() <= kHookStringMaxChars && !MayHoldSecret(s)) {
    AppendJsonString(out, s);
  } else {
    AppendJsonString(out, BoundString(s, truncated));
  }
}

void BoundedCopy::Value(element value, size_t depth) {
  switch (value.type()) {
    case element_type::STRING:
      AppendBoundedString(out_, value.get_string().value_unsafe(), &cut_);
      return;
    case element_type::OBJECT:
    case element_type::ARRAY:
      if (depth >= kHookMaxDepth) {
        AppendJsonString(out_, Cat("[omitted: nested deeper than ", kHookMaxDepth, " levels]"));
        cut_ = true;
        return;
      }
      if (value.type() == element_type::OBJECT) {
        Object(value, depth);
      } else {
        Array(value, depth);
      }
      return;
    default:
      out_->append(simdjson::to_string(value));
  }
}

// Drops what was appended since `mark`; everything after it is omitted.
void BoundedCopy::Drop(size_t mark) {
  out_->resize(mark);
  full_ = true;
  cut_ = true;
}

// Called after appending a member or item that started at `mark`: drops it
// if it crossed the limit, unless a nested container already stopped at
// the limit and kept what fitted (a container starts under the limit, and
// then only its markers may cross it).
bool BoundedCopy::Fits(size_t mark) {
  if (full_ || out_->size() <= limit_) return true;
  Drop(mark);
  return false;
}

void BoundedCopy::Object(element value, size_t depth) {
  simdjson::dom::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) return;
  out_->push_back('{');
  bool first = true;
  size_t omitted = 0;
  size_t duplicates = 0;
  // A host payload may repeat a key (or two long keys may cut alike): the
  // trace contract forbids repeats (docs/format.md "Payloads"), so the first
  // is kept, as traceframe's own field lookups read it, and the repeats are
  // counted instead of dropping the whole event.
  absl::flat_hash_set<std::string> keys;
  std::string key_json;
  for (auto field : object) {
    if (full_) {
      ++omitted;
      continue;
    }
    key_json.clear();
    AppendBoundedString(&key_json, field.key, &cut_);
    if (!keys.insert(key_json).second) {
      ++duplicates;
      continue;
    }
    const size_t mark = out_->size();
    if (!first) out_->push_back(',');
    out_->append(key_json);
    out_->push_back(':');
    if (out_->size() > limit_) {  // a long key alone crosses the limit
      Drop(mark);
      ++omitted;
      continue;
    }
    if (Redactable(field.value) && LooksLikeSecretKey(field.key, field.value.is_number())) {
      AppendJsonString(out_, kHookRedacted);
    } else {
      Value(field.value, depth + 1);
    }
    if (!Fits(mark)) {
      ++omitted;
      continue;
    }
    first = false;
  }
  if (omitted > 0) {
    if (!first) out_->push_back(',');
    Append(out_, "\"[omitted]\":\"", omitted, omitted == 1 ? " key" : " keys",
           " over the size limit\"");
    first = false;
  }
  if (duplicates > 0) {
    if (!first) out_->push_back(',');
    Append(out_, "\"[duplicate keys dropped]\":", duplicates);
    cut_ = true;
  }
  out_->push_back('}');
}

void BoundedCopy::Array(element value, size_t depth) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return;
  out_->push_back('[');
  bool first = true;
  size_t omitted = 0;
  for (element item : array) {
    if (full_) {
      ++omitted;
      continue;
    }
    const size_t mark = out_->size();
    if (!first) out_->push_back(',');
    Value(item, depth + 1);
    if (!Fits(mark)) {
      ++omitted;
      continue;
    }
    first = false;
  }
  if (omitted > 0) {
    if (!first) out_->push_back(',');
    Append(out_, "\"[omitted: ", omitted, omitted == 1 ? " item" : " items",
           " over the size limit]\"");
  }
  out_->push_back(']');
}

void AppendBounded(std::string* out, element value, bool* truncated) {
  BoundedCopy copy(out, std::numeric_limits<size_t>::max());
  copy.Value(value, 0);
  if (copy.cut()) *truncated = true;
}

}  // namespace traceframe::internal
