#include "cli.h"
#include "traceframe/str_util.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace traceframe::cli {

std::vector<CommandGroupInfo>& CommandGroups() {
  static auto* groups = new std::vector<CommandGroupInfo>();
  return *groups;
}

CommandGroup::CommandGroup(int order, std::initializer_list<std::string_view> commands,
                           Installer installer) {
  CommandGroups().push_back(CommandGroupInfo{order, commands, installer});
}

CLI::App* AddCommand(CLI::App* parent, std::string name, std::string description,
                     std::function<void(CLI::App*)> define) {
  CLI::App* cmd = parent->add_subcommand(std::move(name), std::move(description));
  cmd->preparse_callback([cmd, define = std::move(define)](std::size_t) { define(cmd); });
  return cmd;
}

std::string FormatBlock(std::string_view title, const std::vector<Field>& fields) {
  std::string out = Cat("traceframe ", title, "\n");
  for (const auto& [label, value] : fields) {
    out.append("  ");
    out.append(label);
    if (label.size() < 11) out.append(11 - label.size(), ' ');
    Append(&out, " ", value, "\n");
  }
  out.push_back('\n');
  return out;
}

void PrintBlock(FILE* stream, std::string_view title, const std::vector<Field>& fields) {
  const std::string text = FormatBlock(title, fields);
  if (stream == stdout) {
    WriteStdout(text);
  } else {
    std::fwrite(text.data(), 1, text.size(), stream);
  }
}

void WriteStderr(std::string_view text) {
  std::fflush(stdout);
  // Messages may quote payloads and paths: a raw escape sequence there
  // (\033]0;...) would drive the user's terminal. Control bytes are shown
  // as \xNN instead (issue 11 item 17).
  std::string shown;
  shown.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      shown.append(buf);
    } else {
      shown.push_back(c);
    }
  }
  std::fwrite(shown.data(), 1, shown.size(), stderr);
}

int ReportError(std::string_view message) {
  WriteStderr(Cat("Error: ", message, "\n"));
  return kExitFailed;
}

int ReportError(const absl::Status& status) { return ReportError(ToStd(status.message())); }

void AddLabelOption(CLI::App* cmd, std::vector<std::string>* labels) {
  cmd->add_option("--label", *labels,
                  "Run label K=V stored in run.started (repeatable): the variant, task or "
                  "experiment the run belongs to")
      ->allow_extra_args(false)
      ->type_name("K=V");
}

const CLI::Validator& NonNegative() {
  static const CLI::Validator* const kNonNegative = new CLI::Validator(
      [](std::string& value) -> std::string {
        const size_t first = value.find_first_not_of(" \t");
        if (first != std::string::npos && value[first] == '-') {
          return "must not be negative: " + value;
        }
        return "";
      },
      "", "NONNEGATIVE");
  return *kNonNegative;
}

Labels ParseLabelsOrThrow(const std::vector<std::string>& args) {
  absl::StatusOr<Labels> labels = ParseLabelArgs(args);
  if (!labels.ok()) throw CLI::ValidationError("--label", std::string(labels.status().message()));
  return *std::move(labels);
}

void WriteStdout(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    if (errno != EPIPE) std::perror("traceframe: stdout");
  }
}

}  // namespace traceframe::cli
