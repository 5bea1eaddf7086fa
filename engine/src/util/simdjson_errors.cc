#include "util/simdjson_errors.h"

#include "traceframe/str_util.h"

namespace traceframe {
namespace internal {

std::string SimdjsonErrorText(simdjson::error_code error, std::string_view unit) {
  switch (error) {
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::DEPTH_ERROR:
      return "nesting deeper than 1024 levels";
    case simdjson::CAPACITY:
      return Cat(unit, " too large");
    case simdjson::NUMBER_ERROR:
      return "malformed or out-of-range number";
    case simdjson::UNESCAPED_CHARS:
      return "unescaped control character in a string";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::STRING_ERROR:
      return "invalid string escape";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal (expected true, false or null)";
    case simdjson::EMPTY:
      return Cat("empty ", unit);
    default:
      return Cat("malformed JSON (", simdjson::error_message(error), ")");
  }
}

}  // namespace internal
}  // namespace traceframe
