#include "traceframe/json.h"
#include "traceframe/str_util.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "simdjson.h"
#include "util/json_internal.h"
#include "util/simdjson_errors.h"

namespace traceframe {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

// True when one of the 8 bytes in `w` may need escaping: a control character,
// '"', '\\', or (only when the input is not valid UTF-8) a byte >= 0x80. The
// bit tricks (Stanford "bithacks": haszero, hasless) never miss such a byte;
// a rare false positive only sends the word to the byte loop.
inline bool WordNeedsEscape(uint64_t w, bool valid_utf8) {
  constexpr uint64_t k01 = 0x0101010101010101ULL;
  constexpr uint64_t k80 = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return (v - k01) & ~v & k80; };
  const uint64_t control = (w - k01 * 0x20) & ~w & k80;
  const uint64_t quote = has_zero(w ^ (k01 * '"'));
  const uint64_t backslash = has_zero(w ^ (k01 * '\\'));
  const uint64_t high = valid_utf8 ? 0 : (w & k80);
  return (control | quote | backslash | high) != 0;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view value) {
  out->push_back('"');
  // Validated on the first byte >= 0x80 only: most strings are ASCII and
  // short, where a validate_utf8 call (a dispatch through simdjson's active
  // implementation) costs more than the whole scan.
  bool valid_utf8 = false;
  bool utf8_checked = false;
  size_t run_start = 0;
  for (size_t i = 0; i < value.size();) {
    // Plain text (the common case) is skipped 16 bytes at a time with SSE2
    // (part of x86-64), then 8 at a time.
#if defined(__SSE2__)
    {
      const __m128i quote = _mm_set1_epi8('"');
      const __m128i backslash = _mm_set1_epi8('\\');
      const __m128i max_control = _mm_set1_epi8(0x1F);
      const __m128i zero = _mm_setzero_si128();
      while (i + 16 <= value.size()) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(value.data() + i));
        const __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                         _mm_cmpeq_epi8(_mm_subs_epu8(v, max_control), zero));
        int mask = _mm_movemask_epi8(special);
        if (!valid_utf8) mask |= _mm_movemask_epi8(v);  // bytes >= 0x80
        if (mask != 0) break;
        i += 16;
      }
    }
#endif
    while (i + 8 <= value.size()) {
      uint64_t w;
      std::memcpy(&w, value.data() + i, sizeof(w));
      if (WordNeedsEscape(w, valid_utf8)) break;
      i += 8;
    }
    if (i >= value.size()) break;
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80 && !utf8_checked) {
      valid_utf8 = simdjson::validate_utf8(value.data(), value.size());
      utf8_checked = true;
    }
    if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || valid_utf8)) {
      ++i;
      continue;
    }
    out->append(value.data() + run_start, i - run_start);
    if (c >= 0x80) {  // only reached for invalid input
      const size_t len = Utf8SequenceLength(value, i);
      if (len == 0) {
        out->append(kReplacement);
        ++i;
      } else {
        out->append(value.data() + i, len);
        i += len;
      }
      run_start = i;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(esc, sizeof(esc));
      }
    }
    ++i;
    run_start = i;
  }
  out->append(value.data() + run_start, value.size() - run_start);
  out->push_back('"');
}

std::string JsonString(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  AppendJsonString(&out, value);
  return out;
}

std::string SanitizeUtf8(std::string_view value) {
  if (simdjson::validate_utf8(value.data(), value.size())) return std::string(value);
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size();) {
    const size_t len = Utf8SequenceLength(value, i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(value.data() + i, len);
      i += len;
    }
  }
  return out;
}

std::string TruncateUtf8Chars(std::string_view text, size_t max_chars, bool* truncated) {
  *truncated = false;
  const bool valid = simdjson::validate_utf8(text.data(), text.size());
  if (valid) {
    // Valid text is copied whole up to the cut: a character starts at every
    // byte that is not a continuation byte (10xxxxxx). One append instead of
    // one per character (previews are thousands of characters).
    if (text.size() <= max_chars) return std::string(text);
    size_t chars = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
      if (chars == max_chars) {
        *truncated = true;
        return std::string(text.substr(0, i));
      }
      ++chars;
    }
    return std::string(text);
  }
  std::string out;
  size_t chars = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (chars == max_chars) {
      *truncated = true;
      break;
    }
    size_t len = valid ? 0 : Utf8SequenceLength(text, i);
    if (valid) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    }
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
    ++chars;
  }
  return out;
}

namespace {

// Depth-first; simdjson caps the depth at 1024, so the recursion is bounded.
bool FindDuplicateKeyIn(simdjson::dom::element element, std::string* key, std::string* where) {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object object;
      if (element.get_object().get(object)) return false;
      // Small objects (nearly all payloads) compare pairwise without
      // allocating; larger ones sort their keys.
      constexpr size_t kSmall = 16;
      std::string_view small[kSmall];
      std::vector<std::string_view> large;
      size_t n = 0;
      for (auto field : object) {
        if (n < kSmall) {
          for (size_t i = 0; i < n; ++i) {
            if (small[i] == field.key) {
              *key = std::string(field.key);
              *where = "$";
              return true;
            }
          }
          small[n] = field.key;
        } else {
          if (large.empty()) large.assign(small, small + kSmall);
          large.push_back(field.key);
        }
        ++n;
      }
      if (!large.empty()) {
        std::sort(large.begin(), large.end());
        auto dup = std::adjacent_find(large.begin(), large.end());
        if (dup != large.end()) {
          *key = std::string(*dup);
          *where = "$";
          return true;
        }
      }
      for (auto field : object) {
        if (FindDuplicateKeyIn(field.value, key, where)) {
          where->insert(1, Cat(".", field.key));
          return true;
        }
      }
      return false;
    }
    case element_type::ARRAY: {
      size_t i = 0;
      simdjson::dom::array array;
      if (element.get_array().get(array)) return false;
      for (simdjson::dom::element item : array) {
        if (FindDuplicateKeyIn(item, key, where)) {
          where->insert(1, Cat("[", i, "]"));
          return true;
        }
        ++i;
      }
      return false;
    }
    default:
      return false;
  }
}

}  // namespace

bool FindDuplicateKey(simdjson::dom::element element, std::string* key, std::string* where) {
  return FindDuplicateKeyIn(element, key, where);
}

size_t TapeAfter(const simdjson::dom::document& doc, size_t i) {
  switch (static_cast<char>(doc.tape[i] >> 56)) {
    case '{':
    case '[':
      return static_cast<uint32_t>(doc.tape[i]);  // past the matching close
    case 'l':
    case 'u':
    case 'd':
      return i + 2;  // the number is the next word
    default:
      return i + 1;
  }
}

bool TapeHasDuplicateKey(const simdjson::dom::document& doc, size_t index) {
  const uint64_t* tape = doc.tape.get();
  const uint8_t* strings = doc.string_buf.get();
  const uint64_t first = tape[index];
  const char first_type = static_cast<char>(first >> 56);
  if (first_type != '{' && first_type != '[') return false;
  // Depth first with a stack of the open containers, reading each object's
  // keys in order and comparing each with the keys before it (objects are
  // small: past 16 keys they are sorted when they close instead). A value
  // deeper or wider than the fixed room here answers true: the caller's
  // walk of the DOM (FindDuplicateKey) decides.
  struct Key {
    uint64_t head;  // the first 8 bytes (fewer for a short key, zero-filled)
    const char* data;
    uint32_t size;
  };
  struct Open {
    uint32_t next;       // tape index of its next key (object) or value (array)
    uint32_t close;      // tape index of its closing bracket
    uint32_t first_key;  // its first key in keys[]
    bool object;
  };
  constexpr size_t kMaxDepth = 64;
  constexpr uint32_t kMaxKeys = 512;
  constexpr uint32_t kPairwise = 16;
  Open open[kMaxDepth];
  Key keys[kMaxKeys];
  uint64_t sigs[kMaxKeys];
  size_t depth = 1;
  uint32_t key_count = 0;
  open[0] = Open{static_cast<uint32_t>(index + 1), static_cast<uint32_t>(first) - 1, 0,
                 first_type == '{'};
  auto same = [](const Key& a, const Key& b) {
    return a.size == b.size && a.head == b.head &&
           (a.size <= 8 || std::memcmp(a.data + 8, b.data + 8, a.size - 8) == 0);
  };
  while (depth > 0) {
    Open& top = open[depth - 1];
    if (top.next >= top.close) {
      if (top.object && key_count - top.first_key > kPairwise) {
        // (sigs[] is not needed past here: this object's keys are dropped.)
        std::sort(keys + top.first_key, keys + key_count, [](const Key& a, const Key& b) {
          return std::string_view(a.data, a.size) < std::string_view(b.data, b.size);
        });
        for (uint32_t k = top.first_key + 1; k < key_count; ++k) {
          if (same(keys[k - 1], keys[k])) return true;
        }
      }
      key_count = top.first_key;
      --depth;
      continue;
    }
    size_t v = top.next;
    if (top.object) {
      const uint8_t* p = strings + (tape[v] & simdjson::internal::JSON_VALUE_MASK);
      Key key;
      std::memcpy(&key.size, p, sizeof(key.size));
      key.data = reinterpret_cast<const char*>(p + sizeof(key.size));
      // The string buffer holds a NUL and padding after every string, so
      // 8 bytes can be read; the ones past the key are masked off.
      std::memcpy(&key.head, key.data, sizeof(key.head));
      if (key.size < 8) key.head &= (uint64_t{1} << (8 * key.size)) - 1;
      // One word per key to compare first: its head mixed with its size.
      const uint64_t sig = key.head ^ (uint64_t{key.size} * 0x9E3779B97F4A7C15ull);
      if (key_count - top.first_key < kPairwise) {
        for (uint32_t k = top.first_key; k < key_count; ++k) {
          if (sigs[k] == sig && same(keys[k], key)) return true;
        }
      }
      if (key_count == kMaxKeys) return true;
      sigs[key_count] = sig;
      keys[key_count++] = key;
      ++v;
    }
    const uint64_t word = tape[v];
    const char type = static_cast<char>(word >> 56);
    if (type == '{' || type == '[') {
      top.next = static_cast<uint32_t>(word);  // past its closing bracket
      if (depth == kMaxDepth) return true;
      open[depth++] = Open{static_cast<uint32_t>(v + 1), static_cast<uint32_t>(word) - 1, key_count,
                           type == '{'};
    } else {
      // Numbers take a second word.
      top.next = static_cast<uint32_t>(v + (type == 'l' || type == 'u' || type == 'd' ? 2 : 1));
    }
  }
  return false;
}

absl::Status ValidateJson(std::string_view text) { return CanonicalizeJson(text).status(); }

absl::StatusOr<std::string> CanonicalizeJson(std::string_view text) {
  return CanonicalizeJsonChecked(text, [](simdjson::dom::element) { return absl::OkStatus(); });
}

absl::StatusOr<std::string> CanonicalizeJsonChecked(
    std::string_view text, const std::function<absl::Status(simdjson::dom::element)>& check) {
  thread_local simdjson::dom::parser parser;
  // One huge payload grows the buffers; give that memory back afterwards.
  constexpr size_t kShrinkAbove = 8u << 20;
  if (parser.capacity() > kShrinkAbove && text.size() < kShrinkAbove) {
    parser = simdjson::dom::parser();
  }
  simdjson::dom::element element;
  auto error = parser.parse(text.data(), text.size(), true).get(element);
  if (error) return absl::InvalidArgumentError(internal::SimdjsonErrorText(error, "document"));
  absl::Status checked = check(element);
  if (!checked.ok()) return checked;
  std::string out(text.size(), '\0');
  size_t out_len = 0;
  error = simdjson::minify(text.data(), text.size(), out.data(), out_len);
  if (error) return absl::InvalidArgumentError(internal::SimdjsonErrorText(error, "document"));
  out.resize(out_len);
  return out;
}

JsonObjectWriter::JsonObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }

void JsonObjectWriter::Key(std::string_view key) {
  if (!first_) out_->push_back(',');
  first_ = false;
  AppendJsonString(out_, key);
  out_->push_back(':');
}

JsonObjectWriter& JsonObjectWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonString(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  Append(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Uint(std::string_view key, uint64_t value) {
  Key(key);
  Append(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_->append(value ? "true" : "false");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Null(std::string_view key) {
  Key(key);
  out_->append("null");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_->append(json);
  return *this;
}

void JsonObjectWriter::Finish() { out_->push_back('}'); }

}  // namespace traceframe
