#include "write/host_context.h"
#include "traceframe/str_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "traceframe/json.h"
#include "util/file_util.h"

namespace traceframe {
namespace {

std::optional<std::string> ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  std::string_view trimmed = StripWhitespace(line);
  if (trimmed.empty()) return std::nullopt;
  return std::string(trimmed);
}

bool IsHexSha(std::string_view s) {
  if (s.size() < 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<std::string> ResolveRef(const std::string& git_dir, const std::string& common_dir,
                                      const std::string& ref) {
  for (const std::string& dir : {git_dir, common_dir}) {
    if (auto sha = ReadTrimmed(dir + "/" + ref); sha && IsHexSha(*sha)) return sha;
  }
  std::ifstream packed(common_dir + "/packed-refs");
  std::string line;
  while (std::getline(packed, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '^') continue;
    size_t space = line.find(' ');
    if (space != std::string::npos && line.substr(space + 1) == ref &&
        IsHexSha(line.substr(0, space))) {
      return line.substr(0, space);
    }
  }
  return std::nullopt;
}

}  // namespace

GitInfo ReadGitInfo(const std::string& start_dir) {
  GitInfo info;
  std::string dir = start_dir;
  struct stat st;
  for (;;) {
    const std::string dot_git = dir + "/.git";
    if (::stat(dot_git.c_str(), &st) == 0) {
      std::string git_dir = dot_git;
      if (S_ISREG(st.st_mode)) {  // worktree or submodule: "gitdir: <path>"
        auto pointer = ReadTrimmed(dot_git);
        if (!pointer || !StartsWith(*pointer, "gitdir:")) return info;
        std::string target(StripWhitespace(pointer->substr(7)));
        git_dir = target.front() == '/' ? target : dir + "/" + target;
      }
      std::string common_dir = git_dir;
      if (auto common = ReadTrimmed(git_dir + "/commondir")) {
        common_dir = common->front() == '/' ? *common : git_dir + "/" + *common;
      }
      info.repo = BaseName(dir == "/" ? "" : dir);
      if (info.repo->empty()) info.repo.reset();
      auto head = ReadTrimmed(git_dir + "/HEAD");
      if (!head) return info;
      std::optional<std::string> sha;
      std::optional<std::string> branch;
      if (StartsWith(*head, "ref:")) {
        std::string ref(StripWhitespace(head->substr(4)));
        sha = ResolveRef(git_dir, common_dir, ref);
        std::string_view name = ref;
        if (StartsWith(name, "refs/heads/")) name.remove_prefix(11);
        branch = std::string(name);
      } else if (IsHexSha(*head)) {
        sha = *head;
        branch = "HEAD";
      }
      // Like `git rev-parse`, a repository without commits has no branch or commit.
      if (sha) {
        info.branch = branch;
        info.commit = sha->substr(0, 7);
      }
      return info;
    }
    if (dir == "/" || dir.empty()) return info;
    dir = DirName(dir);
  }
}

std::string HostContextJson() {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof(buf)) == nullptr) return "";
  const std::string cwd(buf);
  std::string out;
  JsonObjectWriter host(&out);
  host.String("cwd", cwd);
  GitInfo git = ReadGitInfo(cwd);
  if (git.branch || git.commit || git.repo) {
    std::string git_json;
    JsonObjectWriter g(&git_json);
    if (git.branch) g.String("branch", *git.branch);
    if (git.commit) g.String("commit", *git.commit);
    if (git.repo) g.String("repo", *git.repo);
    g.Finish();
    host.Raw("git", git_json);
  }
  host.Finish();
  return out;
}

}  // namespace traceframe
