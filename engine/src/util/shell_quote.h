// Shell quoting for commands shown to people and pasted into sh (exec's
// recorded command, the hook command installed into hosts, render's hints).
#ifndef TRACEFRAME_ENGINE_SRC_UTIL_SHELL_QUOTE_H_
#define TRACEFRAME_ENGINE_SRC_UTIL_SHELL_QUOTE_H_

#include <string>
#include <string_view>
#include <vector>

namespace traceframe {
namespace internal {

// The command as text that can be pasted into sh: words made only of safe
// characters stay bare, others are single-quoted ('\'' for a quote), empty
// words become ''. {"sh","-c","echo a; exit 3"} -> sh -c 'echo a; exit 3'.
std::string ShellQuote(const std::vector<std::string>& argv);
// One word, quoted only when the shell would otherwise split or expand it.
std::string ShellQuote(std::string_view word);

}  // namespace internal
}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_UTIL_SHELL_QUOTE_H_
