// The --fail-if expression language (docs/compare.md, "The --fail-if
// language"; grammar in traceframe/compare.h). The whole expression is parsed
// and every path resolved before evaluating, so a typo in a branch that
// short-circuiting would skip is still an error (a CI gate that silently
// never fires is worse than one that refuses to run).
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "simdjson.h"
#include "traceframe/compare.h"
#include "traceframe/str_util.h"

namespace traceframe {
namespace {

struct Node {
  enum class Type { kOr, kAnd, kNot, kCompare, kNumber, kNull, kPath, kTruth };
  Type type = Type::kNumber;
  std::string op;  // comparison operator
  double number = 0;
  std::string path;
  std::unique_ptr<Node> left, right;
};

std::unique_ptr<Node> MakeNode(Node::Type type) {
  auto node = std::make_unique<Node>();
  node->type = type;
  return node;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<Node>> Parse() {
    auto node = ParseOr();
    if (!node.ok()) return node;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text");
    return node;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        Cat("bad --fail-if expression: ", what, " at column ", pos_ + 1, " of '", text_, "'"));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Eat(std::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOr() {
    auto left = ParseAnd();
    if (!left.ok()) return left;
    std::unique_ptr<Node> node = std::move(*left);
    while (Eat("||")) {
      auto right = ParseAnd();
      if (!right.ok()) return right;
      auto parent = MakeNode(Node::Type::kOr);
      parent->left = std::move(node);
      parent->right = std::move(*right);
      node = std::move(parent);
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseAnd() {
    auto left = ParseUnary();
    if (!left.ok()) return left;
    std::unique_ptr<Node> node = std::move(*left);
    while (Eat("&&")) {
      auto right = ParseUnary();
      if (!right.ok()) return right;
      auto parent = MakeNode(Node::Type::kAnd);
      parent->left = std::move(node);
      parent->right = std::move(*right);
      node = std::move(parent);
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseUnary() {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '!' &&
        (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '=')) {
      ++pos_;
      auto inner = ParseUnary();
      if (!inner.ok()) return inner;
      auto node = MakeNode(Node::Type::kNot);
      node->left = std::move(*inner);
      return node;
    }
    if (Eat("(")) {
      auto inner = ParseOr();
      if (!inner.ok()) return inner;
      if (!Eat(")")) return Error("missing ')'");
      return inner;
    }
    auto left = ParseOperand();
    if (!left.ok()) return left;
    SkipSpace();
    for (std::string_view op : {"<=", ">=", "==", "!=", "<", ">"}) {
      if (Eat(op)) {
        auto right = ParseOperand();
        if (!right.ok()) return right;
        auto node = MakeNode(Node::Type::kCompare);
        node->op = std::string(op);
        node->left = std::move(*left);
        node->right = std::move(*right);
        return node;
      }
    }
    // A lone operand is true when it is a non-zero number.
    auto node = MakeNode(Node::Type::kTruth);
    node->left = std::move(*left);
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> ParseOperand() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("expected a number or a field path, found the end");
    const char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      size_t end = pos_ + 1;
      while (end < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '.' ||
              ((text_[end] == '-' || text_[end] == '+') &&
               (text_[end - 1] == 'e' || text_[end - 1] == 'E')))) {
        ++end;
      }
      double value = 0;
      if (!absl::SimpleAtod(ToAbsl(text_.substr(pos_, end - pos_)), &value)) {
        return Error(Cat("bad number '", text_.substr(pos_, end - pos_), "'"));
      }
      pos_ = end;
      auto node = MakeNode(Node::Type::kNumber);
      node->number = value;
      return node;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) ||
                                    text_[end] == '_' || text_[end] == '.')) {
        ++end;
      }
      std::string path(text_.substr(pos_, end - pos_));
      if (path.back() == '.' || path.find("..") != std::string::npos) {
        return Error(Cat("bad field path '", path, "'"));
      }
      pos_ = end;
      auto node = MakeNode(path == "null" ? Node::Type::kNull : Node::Type::kPath);
      node->path = std::move(path);
      return node;
    }
    return Error(Cat("expected a number or a field path, found '", std::string(1, c), "'"));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// A resolved operand: a number, or null (no data).
using Value = std::optional<double>;

absl::StatusOr<Value> Resolve(const std::string& path, simdjson::dom::element root) {
  simdjson::dom::element current = root;
  for (absl::string_view part_view : absl::StrSplit(path, '.')) {
    const std::string_view part = ToStd(part_view);
    if (current.is_object()) {
      simdjson::dom::element next;
      if (current.get_object().at_key(part).get(next) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(Cat("bad --fail-if expression: no field '", path,
                                              "' in the report (at '", part,
                                              "'; see docs/compare.md for the fields)"));
      }
      current = next;
    } else if (current.is_array()) {
      uint64_t index = 0;
      simdjson::dom::element next;
      if (!absl::SimpleAtoi(part_view, &index) ||
          current.get_array().at(index).get(next) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            Cat("bad --fail-if expression: no element '", part, "' in '", path, "'"));
      }
      current = next;
    } else {
      return absl::InvalidArgumentError(
          Cat("bad --fail-if expression: no field '", path, "' in the report"));
    }
  }
  if (current.is_null()) return Value();
  if (current.is_bool()) return Value(current.get_bool().value() ? 1.0 : 0.0);
  if (current.is_number()) return Value(current.get_double().value());
  return absl::InvalidArgumentError(
      Cat("bad --fail-if expression: field '", path, "' is not a number (compare numbers only)"));
}

// Resolves every operand first (see the file comment), then evaluates.
absl::Status ResolveAll(Node* node, simdjson::dom::element root) {
  if (node == nullptr) return absl::OkStatus();
  if (node->type == Node::Type::kPath) {
    absl::StatusOr<Value> v = Resolve(node->path, root);
    if (!v.ok()) return v.status();
    node->type = v->has_value() ? Node::Type::kNumber : Node::Type::kNull;
    if (v->has_value()) node->number = **v;
    return absl::OkStatus();
  }
  absl::Status s = ResolveAll(node->left.get(), root);
  if (!s.ok()) return s;
  return ResolveAll(node->right.get(), root);
}

Value Operand(const Node& node) {
  return node.type == Node::Type::kNumber ? Value(node.number) : Value();
}

bool Evaluate(const Node& node) {
  switch (node.type) {
    case Node::Type::kOr:
      return Evaluate(*node.left) || Evaluate(*node.right);
    case Node::Type::kAnd:
      return Evaluate(*node.left) && Evaluate(*node.right);
    case Node::Type::kNot:
      return !Evaluate(*node.left);
    case Node::Type::kTruth: {
      Value v = Operand(*node.left);
      return v.has_value() && *v != 0;
    }
    case Node::Type::kCompare: {
      Value a = Operand(*node.left);
      Value b = Operand(*node.right);
      if (!a || !b) {
        if (node.op == "==") return a.has_value() == b.has_value();
        if (node.op == "!=") return a.has_value() != b.has_value();
        return false;
      }
      if (node.op == "<") return *a < *b;
      if (node.op == "<=") return *a <= *b;
      if (node.op == ">") return *a > *b;
      if (node.op == ">=") return *a >= *b;
      if (node.op == "==") return *a == *b;
      return *a != *b;
    }
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<bool> EvaluateFailIf(std::string_view expression, std::string_view json) {
  Parser parser(expression);
  absl::StatusOr<std::unique_ptr<Node>> tree = parser.Parse();
  if (!tree.ok()) return tree.status();
  simdjson::dom::parser dom;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (dom.parse(padded).get(root) != simdjson::SUCCESS) {
    return absl::InternalError("the report is not valid JSON");
  }
  absl::Status resolved = ResolveAll(tree->get(), root);
  if (!resolved.ok()) return resolved;
  return Evaluate(**tree);
}

}  // namespace traceframe
