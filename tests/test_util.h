// Helpers shared by the tests: temp dirs, running the built CLI, file I/O.
#ifndef TRACEFRAME_TESTS_TEST_UTIL_H_
#define TRACEFRAME_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

namespace traceframe::testing {

struct CliResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs the built `traceframe` binary with `args` in `cwd` (empty: inherit),
// feeding `stdin_text` to its stdin. `env` entries ("K=V") are added.
CliResult RunCli(const std::vector<std::string>& args, const std::string& cwd = "",
                 const std::string& stdin_text = "", const std::vector<std::string>& env = {});

// Runs any program (argv[0] looked up on PATH).
CliResult RunProgram(const std::vector<std::string>& argv, const std::string& cwd = "",
                     const std::string& stdin_text = "", const std::vector<std::string>& env = {});

std::string CliPath();

// A fresh directory under $TMPDIR removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& contents);
void AppendFileOrDie(const std::string& path, const std::string& contents);
bool FileExists(const std::string& path);
std::vector<std::string> SplitLines(const std::string& text);  // drops a final empty line

// A compact event line (no newline) for hand-made traces.
std::string EventLine(const std::string& run_id, const std::string& event_id,
                      const std::string& kind, long long ts_ms, unsigned long long seq,
                      const std::string& payload);

}  // namespace traceframe::testing

#endif  // TRACEFRAME_TESTS_TEST_UTIL_H_
