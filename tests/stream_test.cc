// traceframe::RecordStream driven from C++ over fds (traceframe/stream.h):
// what `record --stream` is, without the CLI.
#include "traceframe/stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::SplitLines;
using testing::TempDir;

std::string ReadAllFd(int fd) {
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

void WriteAllFd(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
}

// A producer thread, the stream on this thread, an ack reader thread: an
// over-long line in the middle is rejected with its number and skipped up to
// its newline; everything around it is recorded and acked in order.
TEST(StreamTest, ThreadsOverFdsRejectAnOverlongLineAndKeepTheRest) {
  TempDir dir;
  const std::string path = dir.File("fd.traceframe");
  int in[2], acks[2], diag[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(acks, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(diag, O_CLOEXEC), 0);
  constexpr int kBefore = 3000;
  constexpr int kAfter = 3000;
  std::thread producer([&] {
    std::string text;
    for (int i = 0; i < kBefore; ++i) {
      Append(&text, R"({"kind":"error","payload":{"i":)", i, "}}\n");
    }
    Append(&text, R"({"kind":"error","payload":")", std::string(3 << 20, 'x'), "\"}\n");
    for (int i = 0; i < kAfter; ++i) {
      Append(&text, R"({"kind":"error","payload":{"j":)", i, "},\"id\":", i, "}\n");
    }
    WriteAllFd(in[1], text);
    ::close(in[1]);
  });
  std::string ack_text, diag_text;
  std::thread ack_reader([&] { ack_text = ReadAllFd(acks[0]); });
  std::thread diag_reader([&] { diag_text = ReadAllFd(diag[0]); });
  StreamOptions options;
  options.init_run_id = "run-fd";
  options.labels = {{"k", "v1"}, {"k", "v2"}};  // the last value wins
  options.max_line_bytes = 1 << 20;
  options.ring_capacity = 64;      // backpressure on the reader
  options.max_pending_acks = 100;  // and on the ack queue
  absl::StatusOr<StreamResult> result =
      RecordStream(path, options, StreamFds{in[0], acks[1], diag[1]});
  ::close(acks[1]);
  ::close(diag[1]);
  producer.join();
  ack_reader.join();
  diag_reader.join();
  ::close(in[0]);
  ::close(acks[0]);
  ::close(diag[0]);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->lines, static_cast<uint64_t>(kBefore + 1 + kAfter));
  EXPECT_EQ(result->recorded, static_cast<uint64_t>(kBefore + kAfter));
  EXPECT_EQ(result->rejected, 1u);
  EXPECT_EQ(result->last_seq, static_cast<uint64_t>(kBefore + kAfter));
  EXPECT_EQ(result->run_id, "run-fd");
  EXPECT_FALSE(result->stopped);
  EXPECT_THAT(diag_text, HasSubstr(Cat("Error: line ", kBefore + 1, ": line longer than")));
  const std::vector<std::string> ack_lines = SplitLines(ack_text);
  ASSERT_EQ(ack_lines.size(), static_cast<size_t>(kBefore + 1 + kAfter));
  EXPECT_EQ(ack_lines[0], R"({"line":1,"seq":1})");
  EXPECT_THAT(ack_lines[kBefore], HasSubstr(Cat("{\"line\":", kBefore + 1, ",\"error\":")));
  EXPECT_EQ(ack_lines.back(), Cat("{\"line\":", kBefore + 1 + kAfter, ",\"seq\":", kBefore + kAfter,
                                  ",\"id\":", kAfter - 1, "}"));
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kBefore + kAfter + 1));
  EXPECT_THAT(lines[0], HasSubstr(R"("labels":{"k":"v2"})"));
  EXPECT_THAT(lines[kBefore + 1], HasSubstr(R"("payload":{"j":0})"));
}

// *stop ends a stream whose input is still open (a signal handler sets it):
// what was read is recorded, run.finished appended, and the call returns.
TEST(StreamTest, ThreadStopEndsAStreamWithOpenInput) {
  TempDir dir;
  const std::string path = dir.File("stop.traceframe");
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  WriteAllFd(in[1], "{\"kind\":\"error\",\"payload\":1}\n{\"kind\":\"error\",\"payload\":2}");
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  StreamOptions options;
  options.init_run_id = "run-stop";
  options.finish_status = "interrupted";
  absl::StatusOr<StreamResult> result =
      RecordStream(path, options, StreamFds{in[0], -1, -1}, &stop);
  stopper.join();
  ::close(in[0]);
  ::close(in[1]);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->stopped);
  EXPECT_TRUE(result->finished);
  EXPECT_EQ(result->recorded, 2u);  // the last line had no newline yet
  const std::vector<std::string> lines = SplitLines(ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[2], HasSubstr("\"payload\":2}"));
  EXPECT_THAT(lines[3], HasSubstr(R"("status":"interrupted")"));
}

TEST(StreamTest, LabelsNeedInit) {
  TempDir dir;
  StreamOptions options;
  options.labels = {{"k", "v"}};
  absl::StatusOr<StreamResult> result =
      RecordStream(dir.File("x.traceframe"), options, StreamFds{0, -1, -1});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace traceframe
