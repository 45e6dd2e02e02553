// Test support: run code in a forked child and get its report back: a child as it is, one
// that has dropped what lets a process use real-time scheduling — CAP_SYS_NICE (bounding,
// effective, permitted, inheritable; raw capset, no libcap) and RLIMIT_RTPRIO/RLIMIT_NICE
// (0) — or one that runs as user nobody.
//
// The child reports "key=value" lines through a pipe and _exits; it never returns into
// gtest. Fork from a single-threaded test (gtest's main thread, before starting threads):
// ChildAsNobody forks first and runs its body later, for tests that start threads.
#ifndef CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_
#define CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>

namespace cadence::test_support {

// In the calling process: drops CAP_SYS_NICE and sets RLIMIT_RTPRIO and RLIMIT_NICE to 0.
// Returns "" on success, else the step that failed.
std::string DropSchedulingPrivileges();

// Forks a child that runs `body`, which returns "key=value\n" lines, and returns them as a
// map. Failures to fork or a child that did not exit 0 are reported as gtest failures; a
// child still running after 120 s is killed (SIGALRM) and reported so.
std::map<std::string, std::string> RunInChild(const std::function<std::string()>& body);

// Forks a child that drops its scheduling privileges and runs `body`, which returns
// "key=value\n" lines. Returns them as a map, plus "cap_sys_nice" (0 or 1, as the child
// saw it after dropping) and, when dropping failed, "error". Failures to fork or a child
// that did not exit 0 are reported as gtest failures.
std::map<std::string, std::string> RunUnprivileged(const std::function<std::string()>& body);

// The uid and gid of user nobody.
inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;

// In the calling process (as root): becomes user nobody — no supplementary groups, gid
// and uid 65534, checked afterwards. Returns "" on success, else the step that failed.
std::string BecomeNobody();

// A child forked when constructed (from a single-threaded process) that becomes user
// nobody and waits; Run(input) hands it `input`, it returns body(input)'s "key=value\n"
// lines (plus "error" when becoming nobody failed) and exits.
class ChildAsNobody {
 public:
  explicit ChildAsNobody(std::function<std::string(const std::string& input)> body);
  // Reaps the child if Run was not called.
  ~ChildAsNobody();
  ChildAsNobody(const ChildAsNobody&) = delete;
  ChildAsNobody& operator=(const ChildAsNobody&) = delete;

  // Runs the body in the child (once) and returns its report. A child that did not exit 0
  // is a gtest failure.
  std::map<std::string, std::string> Run(const std::string& input);

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

// "key=value\n", for building a child's report (newlines in the value become spaces, so
// that a multi-line message stays one line of the report).
std::string ReportLine(const std::string& key, const std::string& value);

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_
