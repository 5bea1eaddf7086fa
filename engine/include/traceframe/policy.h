// The policy gate: checks that a trace's permission evidence is consistent
// (docs/hooks.md "Policy rules", docs/ci-gate.md).
//
//  Rule A, unresolved deny: a permission.decision that denies a capability
//    must be followed by a later allow for the same capability (or command).
//  Rule B, sensitive call without allow: a tool.call that pushes with git
//    (found by parsing the shell command, or named by a `git.push[:scope]`
//    capability) needs an earlier allow for that same capability: the exact
//    `git.push:<branch>` (or `git.push:<remote>/<branch>`), an unscoped
//    `git.push` (any push), or an allow naming the exact same command.
//    Hosts deliver a permission request (`ask`) but not the user's answer:
//    a call the host asked about and then ran (its tool.result, matched by
//    the host's tool call id or else by the command) counts as "approved by
//    the host" unless explicit_allow_only is set.
//
// The decision vocabulary is shared with the HTML renderer: ClassifyDecision.
// Everything here is thread-compatible; CheckPolicy streams the trace with
// bounded memory (state grows only with pending denies and distinct allows).
#ifndef TRACEFRAME_POLICY_H_
#define TRACEFRAME_POLICY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "traceframe/event.h"

namespace traceframe {

enum class DecisionClass { kAllow, kDeny, kOther };

// Trimmed and ASCII-lowercased: allow, allowed, approve, approved, permit →
// kAllow; deny, denied, block, blocked, reject, rejected → kDeny; anything
// else (ask, defer, "") → kOther.
DecisionClass ClassifyDecision(std::string_view decision);

// One `git push` found in a shell command.
struct GitPush {
  std::string remote;                 // "" when not given
  std::vector<std::string> branches;  // destination refs, "refs/heads/" stripped
  // The push names no particular ref (no refspec, HEAD, --all, --mirror,
  // --tags): only an unscoped `git.push` allow covers it.
  bool unscoped = false;
};

// Every git push in `command`, parsed as shell: words and quotes, split on
// && || ; | & and newlines; env assignments, `env`, `sudo`, `command`, `exec`,
// `nohup`, `time`, `timeout`, `nice` skipped; git global options (-C dir,
// -c k=v, --git-dir=x, ...) skipped; `sh -c '...'` looked into. Words that are
// merely arguments (`echo "git push"`) are not commands.
std::vector<GitPush> FindGitPushes(std::string_view command);
inline bool IsGitPushCommand(std::string_view command) { return !FindGitPushes(command).empty(); }

// Which rule a violation broke. PolicyRuleName gives the identifier shown by
// `policy-check` and its --json ("unresolved_deny", "sensitive_call").
enum class PolicyRule : uint8_t {
  kUnresolvedDeny,  // a deny not followed by an allow of the same capability
  kSensitiveCall,   // a sensitive call (git push, ...) without an allow
};

std::string_view PolicyRuleName(PolicyRule rule);

struct PolicyViolation {
  uint64_t seq = 0;
  PolicyRule rule = PolicyRule::kUnresolvedDeny;
  std::string capability;  // what needed an allow ("" when unnamed)
  std::string message;     // "unresolved deny at seq 5: capability ... was denied ..."
};

// A sensitive call with no explicit allow that the host asked permission
// for (a permission.decision `ask`) and then ran (docs/hooks.md "Policy
// rules"): the host's evidence that the user approved it.
struct HostApproval {
  uint64_t call_seq = 0;    // the tool.call
  uint64_t ask_seq = 0;     // the permission.decision ask
  uint64_t result_seq = 0;  // the tool.result showing the tool ran
  std::string capability;   // what needed an allow
  std::string message;      // "sensitive tool.call at seq 3: ... approved by the host ..."
};

// Streaming evaluation over events in trace order.
class PolicyChecker {
 public:
  // With `explicit_allow_only`, an ask followed by the tool's execution is
  // not approval: only a permission.decision allow is.
  explicit PolicyChecker(bool explicit_allow_only = false)
      : explicit_allow_only_(explicit_allow_only) {}
  // `payload_json` is the event's payload as stored (valid JSON).
  void Observe(EventKind kind, uint64_t seq, std::string_view payload_json);
  // All violations: Rule A findings first, then Rule B, each in trace order.
  std::vector<PolicyViolation> Finish();
  // Calls approved by the host (empty with explicit_allow_only), in trace
  // order; complete after Finish().
  const std::vector<HostApproval>& host_approvals() const { return host_approvals_; }

 private:
  struct PendingDeny {
    uint64_t seq;
    std::string capability;
    std::string description;
  };
  // A sensitive call with no allow, waiting for the host's ask + execution.
  struct PendingCall {
    PolicyViolation violation;
    std::string call_id;  // the host's tool call id ("" when none)
    std::string command;
  };
  bool explicit_allow_only_;
  std::map<std::string, std::vector<PendingDeny>> pending_denies_;
  std::vector<PendingDeny> unnamed_denies_;
  std::set<std::string> allowed_capabilities_;  // "git.push" prefix lowercased
  std::set<std::string> allowed_commands_;
  std::map<std::string, uint64_t> asked_ids_;       // tool call id -> ask seq
  std::map<std::string, uint64_t> asked_commands_;  // command -> ask seq
  std::vector<PendingCall> pending_calls_;
  std::vector<PolicyViolation> sensitive_;
  std::vector<HostApproval> host_approvals_;
};

struct PolicyOptions {
  int verify_threads = 0;  // passed to VerifyTrace
  // Only an explicit permission.decision allow satisfies Rule B; a host's
  // ask followed by the tool's execution does not.
  bool explicit_allow_only = false;
  // Called now and then with (work done, work total), in bytes of the two
  // passes (verify, then the rules); one call at a time. May be empty.
  std::function<void(uint64_t done, uint64_t total)> progress = nullptr;
};

struct PolicyReport {
  std::string path;
  uint64_t events = 0;
  bool open = false;  // the trace has no run.finished (it is checked anyway)
  std::vector<PolicyViolation> violations;
  std::vector<HostApproval> host_approvals;  // not violations; reported as such
};

// Verifies `path` (open traces accepted) and applies both rules. An invalid
// trace is an error naming the first problem.
absl::StatusOr<PolicyReport> CheckPolicy(const std::string& path, const PolicyOptions& options);

}  // namespace traceframe

#endif  // TRACEFRAME_POLICY_H_
