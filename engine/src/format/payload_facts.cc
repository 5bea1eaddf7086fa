#include "format/payload_facts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "format/event_parser.h"
#include "traceframe/json.h"
#include "traceframe/str_util.h"
#include "util/simdjson_errors.h"

namespace traceframe {
namespace {

uint64_t* UsageField(TokenUsage* u, size_t i) {
  switch (i) {
    case 0:
      return &u->input_tokens;
    case 1:
      return &u->output_tokens;
    case 2:
      return &u->cache_read_input_tokens;
    case 3:
      return &u->cache_creation_input_tokens;
    default:
      return &u->reasoning_output_tokens;
  }
}

}  // namespace

bool TokenUsage::any() const {
  return input_tokens || output_tokens || cache_read_input_tokens || cache_creation_input_tokens ||
         reasoning_output_tokens;
}

TokenUsage& TokenUsage::operator+=(const TokenUsage& o) {
  input_tokens += o.input_tokens;
  output_tokens += o.output_tokens;
  cache_read_input_tokens += o.cache_read_input_tokens;
  cache_creation_input_tokens += o.cache_creation_input_tokens;
  reasoning_output_tokens += o.reasoning_output_tokens;
  return *this;
}

bool TokenUsage::operator==(const TokenUsage& o) const {
  return input_tokens == o.input_tokens && output_tokens == o.output_tokens &&
         cache_read_input_tokens == o.cache_read_input_tokens &&
         cache_creation_input_tokens == o.cache_creation_input_tokens &&
         reasoning_output_tokens == o.reasoning_output_tokens;
}

bool UsageFromElement(simdjson::dom::element value, TokenUsage* out) {
  simdjson::dom::object object;
  if (value.get_object().get(object)) return false;
  TokenUsage u;
  for (size_t i = 0; i < 5; ++i) {
    uint64_t n = 0;
    if (!object[kUsageFieldNames[i]].get_uint64().get(n)) *UsageField(&u, i) = n;
  }
  *out = u;
  return true;
}

absl::Status CheckUsageElement(simdjson::dom::element value) {
  simdjson::dom::object object;
  if (value.get_object().get(object)) {
    return absl::InvalidArgumentError(
        "`usage` must be a JSON object of token counts (docs/format.md, \"Token usage\")");
  }
  for (std::string_view name : kUsageFieldNames) {
    auto field = object[name];
    if (field.error()) continue;
    uint64_t n;
    if (field.get_uint64().get(n)) {
      return absl::InvalidArgumentError(
          Cat("`usage.", name, "` must be a non-negative integer (a token count)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenUsage> ParseUsageJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (simdjson::error_code error = parser.parse(json.data(), json.size(), true).get(root)) {
    return absl::InvalidArgumentError(
        Cat("`usage` is not valid JSON: ", internal::SimdjsonErrorText(error, "line")));
  }
  absl::Status status = CheckUsageElement(root);
  if (!status.ok()) return status;
  TokenUsage u;
  UsageFromElement(root, &u);
  return u;
}

absl::Status CheckPayloadUsage(EventKind kind, std::string_view payload_json) {
  if (kind != EventKind::kModelCall && kind != EventKind::kRunFinished) return absl::OkStatus();
  // Most payloads have no usage: skip the parse.
  if (payload_json.find("\"usage\"") == std::string_view::npos) return absl::OkStatus();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (simdjson::error_code error =
          parser.parse(payload_json.data(), payload_json.size(), true).get(root)) {
    return absl::InvalidArgumentError(
        Cat("invalid JSON payload: ", internal::SimdjsonErrorText(error, "line")));
  }
  auto usage = root["usage"];
  if (usage.error()) return absl::OkStatus();
  absl::Status status = CheckUsageElement(usage.value_unsafe());
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        Cat("invalid ", EventKindName(kind), " payload: ", status.message()));
  }
  return absl::OkStatus();
}

std::string UsageJson(const TokenUsage& u) {
  // Fixed keys that need no escaping, in one StrCat: this runs once per
  // model.call of an import, where a JsonObjectWriter (a key escape and an
  // append per field) cost several thousand instructions.
  return absl::StrCat("{\"input_tokens\":", u.input_tokens, ",\"output_tokens\":", u.output_tokens,
                      ",\"cache_read_input_tokens\":", u.cache_read_input_tokens,
                      ",\"cache_creation_input_tokens\":", u.cache_creation_input_tokens,
                      ",\"reasoning_output_tokens\":", u.reasoning_output_tokens, "}");
}

std::string UsageText(const TokenUsage& u) {
  return Cat(u.input_tokens, " in (", u.cache_read_input_tokens, " cache read, ",
             u.cache_creation_input_tokens, " cache write), ", u.output_tokens, " out (",
             u.reasoning_output_tokens, " reasoning)");
}

Labels LabelsFromElement(simdjson::dom::element payload) {
  simdjson::dom::object object;
  if (payload.get_object().get(object)) return {};
  return LabelsFromObject(object);
}

Labels LabelsFromObject(simdjson::dom::object payload) {
  Labels labels;
  simdjson::dom::object object;
  if (payload["labels"].get_object().get(object)) return labels;
  for (auto field : object) {
    std::string_view text;
    if (!field.value.get_string().get(text)) {
      labels[std::string(field.key)] = std::string(text);
    } else {
      labels[std::string(field.key)] = simdjson::minify(field.value);
    }
  }
  return labels;
}

bool NoteModel(std::vector<std::string>* models, std::string_view model) {
  if (models->size() >= kMaxRunModels) return false;
  if (model.size() > kMaxModelNameBytes) {
    size_t cut = kMaxModelNameBytes;  // back up to a character boundary
    while (cut > 0 && (static_cast<unsigned char>(model[cut]) & 0xC0) == 0x80) --cut;
    model = model.substr(0, cut);
  }
  std::string name = SanitizeUtf8(model);
  if (std::find(models->begin(), models->end(), name) != models->end()) return false;
  models->push_back(std::move(name));
  return true;
}

absl::StatusOr<Labels> ParseLabelArgs(const std::vector<std::string>& args) {
  Labels labels;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          Cat("invalid label `", arg, "`: expected K=V (e.g. --label variant=b)"));
    }
    if (eq == 0) {
      return absl::InvalidArgumentError(Cat("invalid label `", arg, "`: the key is empty"));
    }
    std::string key = arg.substr(0, eq);
    std::string value = arg.substr(eq + 1);
    auto [it, inserted] = labels.emplace(key, value);
    if (!inserted && it->second != value) {
      return absl::InvalidArgumentError(Cat("label `", key,
                                            "` given twice with different values (`", it->second,
                                            "`, `", value, "`)"));
    }
  }
  return labels;
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, items[i]);
  }
  out.push_back(']');
  return out;
}

std::string LabelsJson(const Labels& labels) {
  std::string out;
  JsonObjectWriter w(&out);
  for (const auto& [key, value] : labels) w.String(key, value);
  w.Finish();
  return out;
}

}  // namespace traceframe
