// Internal: the host context recorded in run.started.
#ifndef TRACEFRAME_ENGINE_SRC_WRITE_HOST_CONTEXT_H_
#define TRACEFRAME_ENGINE_SRC_WRITE_HOST_CONTEXT_H_

#include <optional>
#include <string>

namespace traceframe {

struct GitInfo {
  std::optional<std::string> branch;  // "HEAD" when detached
  std::optional<std::string> commit;  // 7-hex-digit abbreviation
  std::optional<std::string> repo;    // last component of the work tree path
};

// Reads git facts for `dir` straight from its .git directory (HEAD, refs,
// packed-refs): no git subprocess, so it is cheap on the hook hot path.
GitInfo ReadGitInfo(const std::string& dir);

// {"cwd":"...","git":{...}} for the process cwd, or "" if nothing is known.
std::string HostContextJson();

}  // namespace traceframe

#endif  // TRACEFRAME_ENGINE_SRC_WRITE_HOST_CONTEXT_H_
