#include "util/shell_quote.h"

#include <cstring>

#include "traceframe/str_util.h"

namespace traceframe {
namespace internal {

std::string ShellQuote(std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c != '\0' && std::strchr("_@%+=:,./-", c) != nullptr);
    if (!ok) {
      safe = false;
      break;
    }
  }
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string ShellQuote(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) out.push_back(' ');
    const std::string word = ShellQuote(std::string_view(argv[i]));
    // A bare first word with '=' would be read as an assignment by sh.
    const bool assignment = i == 0 && word.front() != '\'' && Contains(word, "=");
    out.append(assignment ? "'" + word + "'" : word);
  }
  return out;
}

}  // namespace internal
}  // namespace traceframe
