// Policy rules (engine/src/policy.cc): the reference's P1-P5, the fixes of
// reference §11 items 22-26, and the git push detector.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_util.h"
#include "traceframe/policy.h"

namespace traceframe {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

struct Ev {
  EventKind kind;
  std::string payload;
};

std::vector<PolicyViolation> Check(const std::vector<Ev>& events) {
  PolicyChecker checker;
  uint64_t seq = 1;
  for (const Ev& e : events) checker.Observe(e.kind, seq++, e.payload);
  return checker.Finish();
}

Ev Decision(const std::string& capability, const std::string& decision) {
  return {EventKind::kPermissionDecision,
          R"({"capability":")" + capability + R"(","decision":")" + decision + R"("})"};
}
Ev Call(const std::string& command) {
  return {EventKind::kToolCall, R"({"tool":"shell","command":")" + command + R"("})"};
}

TEST(Policy, P1AllowThenPushIsClean) {
  EXPECT_THAT(Check({Decision("git.push", "allow"), Call("git push origin main")}), SizeIs(0));
}

TEST(Policy, P2UnresolvedDeny) {
  auto v = Check({Decision("fs.write:secrets", "deny")});
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_THAT(v[0].message, HasSubstr("unresolved deny"));
  EXPECT_THAT(v[0].message, HasSubstr("fs.write:secrets"));
  EXPECT_EQ(v[0].rule, PolicyRule::kUnresolvedDeny);
  EXPECT_EQ(v[0].capability, "fs.write:secrets");
  EXPECT_EQ(v[0].seq, 1u);
  EXPECT_EQ(v[0].message,
            "unresolved deny at seq 1: capability fs.write:secrets was denied with no later allow");
}

TEST(Policy, P3DeniedThenAllowedIsResolved) {
  EXPECT_THAT(Check({Decision("fs.write:x", "denied"), Decision("fs.write:x", "allow")}),
              SizeIs(0));
  // Only a later allow resolves a deny.
  EXPECT_THAT(Check({Decision("fs.write:x", "allow"), Decision("fs.write:x", "deny")}), SizeIs(1));
}

TEST(Policy, P4PushWithoutAllow) {
  auto v = Check({Call("git push --force origin main")});
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_THAT(v[0].message, HasSubstr("sensitive tool.call"));
  EXPECT_EQ(v[0].rule, PolicyRule::kSensitiveCall);
  EXPECT_EQ(v[0].capability, "git.push:main");
}

TEST(Policy, P5CapabilityCallAfterCapabilityAllow) {
  EXPECT_THAT(Check({Decision("git.push", "allow"),
                     {EventKind::kToolCall, R"({"capability":"git.push"})"}}),
              SizeIs(0));
}

TEST(Policy, AllowForAnotherScopeDoesNotAuthorize) {
  // Reference §11 item 22: an allow for git.push:other authorized any push.
  auto v = Check({Decision("git.push:other", "allow"), Call("git push origin main")});
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_THAT(v[0].message, HasSubstr("git.push:main"));
  EXPECT_THAT(Check({Decision("git.push:main", "allow"), Call("git push origin main")}), SizeIs(0));
  EXPECT_THAT(Check({Decision("git.push:origin/main", "allow"), Call("git push origin main")}),
              SizeIs(0));
  EXPECT_THAT(Check({Decision("GIT.PUSH", "allow"), Call("git push origin main")}), SizeIs(0));
  // A push that names no ref needs the unscoped allow.
  EXPECT_THAT(Check({Decision("git.push:main", "allow"), Call("git push")}), SizeIs(1));
  EXPECT_THAT(Check({Decision("git.push", "allow"), Call("git push")}), SizeIs(0));
  // Every ref of a multi-ref push must be covered.
  EXPECT_THAT(Check({Decision("git.push:main", "allow"), Call("git push origin main dev")}),
              SizeIs(1));
  // A scoped capability call needs that scope (or unscoped).
  EXPECT_THAT(Check({Decision("git.push:dev", "allow"),
                     {EventKind::kToolCall, R"({"capability":"git.push:main"})"}}),
              SizeIs(1));
  // An allow after the call does not count.
  EXPECT_THAT(Check({Call("git push origin main"), Decision("git.push", "allow")}), SizeIs(1));
}

TEST(Policy, HookDecisionForTheSameCommandAuthorizes) {
  EXPECT_THAT(
      Check(
          {{EventKind::kPermissionDecision,
            R"({"capability":"tool:Bash:git push origin main","command":"git push origin main","decision":"allow"})"},
           Call("git push origin main")}),
      SizeIs(0));
  EXPECT_THAT(Check({{EventKind::kPermissionDecision,
                      R"({"capability":"tool:Bash:git push origin dev","decision":"allow"})"},
                     Call("git push origin main")}),
              SizeIs(1));
}

TEST(Policy, SharedDecisionVocabulary) {
  for (const char* word : {"allow", "allowed", "approve", "approved", "permit", " ALLOW "}) {
    EXPECT_EQ(ClassifyDecision(word), DecisionClass::kAllow) << word;
  }
  for (const char* word : {"deny", "denied", "block", "blocked", "reject", "Rejected"}) {
    EXPECT_EQ(ClassifyDecision(word), DecisionClass::kDeny) << word;
  }
  for (const char* word : {"ask", "defer", "", "maybe"}) {
    EXPECT_EQ(ClassifyDecision(word), DecisionClass::kOther) << word;
  }
  EXPECT_THAT(Check({Decision("fs.write:x", "rejected")}), SizeIs(1));
  EXPECT_THAT(Check({Decision("fs.write:x", "reject"), Decision("fs.write:x", "approved")}),
              SizeIs(0));
  EXPECT_THAT(Check({Decision("git.push", "permit"), Call("git push origin main")}), SizeIs(0));
  EXPECT_THAT(Check({Decision("fs.write:x", "ask")}), SizeIs(0));
}

TEST(Policy, UnnamedDecisionsDoNotResolveEachOther) {
  auto v = Check({{EventKind::kPermissionDecision, R"({"decision":"deny"})"},
                  {EventKind::kPermissionDecision, R"({"decision":"allow"})"}});
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_THAT(v[0].message, HasSubstr("unnamed capability"));
}

TEST(Policy, RuleAFindingsComeFirst) {
  auto v = Check({Call("git push origin main"), Decision("a", "deny")});
  ASSERT_THAT(v, SizeIs(2));
  EXPECT_EQ(v[0].rule, PolicyRule::kUnresolvedDeny);
  EXPECT_EQ(v[1].rule, PolicyRule::kSensitiveCall);
}

TEST(GitPush, DetectedAtCommandPositions) {
  for (const char* command : {"git push",
                              "git  push origin main",
                              "git -C dir push origin main",
                              "git --git-dir=x push",
                              "git --git-dir x push",
                              "git -c user.name=x push",
                              "env A=1 git push",
                              "A=1 B=2 git push",
                              "sudo git push",
                              "sudo -u bob git push",
                              "command git push",
                              "/usr/bin/git push",
                              "make && git push",
                              "false || git push",
                              "cd x; git push",
                              "echo hi | git push",
                              "ls\ngit push",
                              "(git push)",
                              "nohup git push &",
                              "timeout 10 git push",
                              "env -u X git push",
                              "bash -c 'git push'",
                              "sh -lc \"cd x && git push origin main\"",
                              "time git push",
                              "if true; then git push; fi",
                              "git push 2>&1",
                              "\"git\" push"}) {
    EXPECT_TRUE(IsGitPushCommand(command)) << command;
  }
}

TEST(GitPush, NotAPush) {
  for (const char* command :
       {"echo \"git push\"", "echo git push", "git status", "git log --grep push", "echo; GIT PUSH",
        "grep 'git push' notes.txt", "git pull", "git push-notes", "# git push", "gitpush",
        "printf 'git push'", "git commit -m push"}) {
    EXPECT_FALSE(IsGitPushCommand(command)) << command;
  }
}

TEST(GitPush, Scopes) {
  auto p = FindGitPushes("git push --force origin +main:refs/heads/release dev");
  ASSERT_THAT(p, SizeIs(1));
  EXPECT_EQ(p[0].remote, "origin");
  EXPECT_EQ(p[0].branches, (std::vector<std::string>{"release", "dev"}));
  EXPECT_FALSE(p[0].unscoped);
  EXPECT_TRUE(FindGitPushes("git push origin HEAD")[0].unscoped);
  EXPECT_TRUE(FindGitPushes("git push --all origin")[0].unscoped);
  EXPECT_TRUE(FindGitPushes("git push")[0].unscoped);
  EXPECT_EQ(FindGitPushes("git push -o ci.skip origin main")[0].branches,
            (std::vector<std::string>{"main"}));
  EXPECT_THAT(FindGitPushes("git push origin a && git push upstream b"), SizeIs(2));
}

TEST(Policy, CheckPolicyStreamsOpenTraces) {
  testing::TempDir dir;
  const std::string path = dir.File("t.traceframe");
  testing::WriteFileOrDie(
      path, testing::EventLine("r", "e0", "run.started", 1, 0, R"({"status":"started"})") + "\n" +
                testing::EventLine("r", "e1", "tool.call", 2, 1,
                                   R"({"command":"git -C repo push origin main"})") +
                "\n");
  absl::StatusOr<PolicyReport> report = CheckPolicy(path, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->open);
  EXPECT_EQ(report->events, 2u);
  ASSERT_THAT(report->violations, SizeIs(1));
  EXPECT_EQ(report->violations[0].seq, 1u);
}

TEST(Policy, CheckPolicyRejectsAnInvalidTrace) {
  testing::TempDir dir;
  const std::string path = dir.File("bad.traceframe");
  testing::WriteFileOrDie(path, "{bad}\n");
  absl::StatusOr<PolicyReport> report = CheckPolicy(path, {});
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("line 1"));
}

}  // namespace
}  // namespace traceframe
