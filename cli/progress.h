// Progress of a long pass, on stderr, for people at a terminal.
#ifndef TRACEFRAME_CLI_PROGRESS_H_
#define TRACEFRAME_CLI_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace traceframe::cli {

// One line redrawn in place: "<label>: 42% (1.7 of 4.0 GB)" for bytes, or
// "<label>: 42% (12 of 30 sessions)" for counted units. Only when stderr is
// a terminal (a pipe, a file or CI gets nothing); it appears once the pass
// has run for about a second (TRACEFRAME_PROGRESS_AFTER_MS overrides it, 0
// shows it at once), is redrawn when the percent changes, at most ten times a
// second, and is erased by Clear() (or the destructor), so the command's own
// output starts on a clean line.
//
//   ProgressLine progress(Cat("verifying ", file));
//   options.progress = progress.Callback();
//   ... run the pass ...
//   progress.Clear();
class ProgressLine {
 public:
  explicit ProgressLine(std::string label, std::string unit = "");
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // For the engine's options (`progress` fields take (done, total)); empty
  // when stderr is not a terminal, so the engine skips the work entirely.
  std::function<void(uint64_t done, uint64_t total)> Callback() const;

  // Erases the line if it was drawn. Safe to call more than once.
  void Clear();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace traceframe::cli

#endif  // TRACEFRAME_CLI_PROGRESS_H_
