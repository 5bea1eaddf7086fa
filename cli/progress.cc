#include "progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace traceframe::cli {

struct ProgressLine::State {
  std::string label;
  std::string unit;  // empty: bytes
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::milliseconds after{1000};
  std::chrono::steady_clock::time_point last_draw;
  int last_percent = -1;
  bool drawn = false;
  std::mutex mu;

  void Draw(uint64_t done, uint64_t total) {
    std::lock_guard<std::mutex> lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (now - start < after) return;
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last_percent ||
        (drawn && now - last_draw < std::chrono::milliseconds(100) && done < total)) {
      return;
    }
    last_percent = percent;
    last_draw = now;
    drawn = true;
    if (unit.empty()) {
      const double gb = 1e9;
      std::fprintf(stderr, "\r%s: %3d%% (%.1f of %.1f GB)", label.c_str(), percent, done / gb,
                   total / gb);
    } else {
      std::fprintf(stderr, "\r%s: %3d%% (%llu of %llu %s)", label.c_str(), percent,
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                   unit.c_str());
    }
    std::fflush(stderr);
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu);
    if (!drawn) return;
    drawn = false;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
};

ProgressLine::ProgressLine(std::string label, std::string unit) {
  if (::isatty(STDERR_FILENO) != 1) return;
  state_ = std::make_shared<State>();
  state_->label = std::move(label);
  state_->unit = std::move(unit);
  if (const char* after = std::getenv("TRACEFRAME_PROGRESS_AFTER_MS"); after != nullptr) {
    state_->after = std::chrono::milliseconds(std::strtoll(after, nullptr, 10));
  }
}

ProgressLine::~ProgressLine() { Clear(); }

std::function<void(uint64_t, uint64_t)> ProgressLine::Callback() const {
  if (state_ == nullptr) return {};
  return [state = state_](uint64_t done, uint64_t total) { state->Draw(done, total); };
}

void ProgressLine::Clear() {
  if (state_ != nullptr) state_->Clear();
}

}  // namespace traceframe::cli
