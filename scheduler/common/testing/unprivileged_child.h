// Test support: run code in a forked child that has dropped what lets a process use
// real-time scheduling — CAP_SYS_NICE (bounding, effective, permitted, inheritable; raw
// capset, no libcap) and RLIMIT_RTPRIO/RLIMIT_NICE (0) — and get its report back.
//
// The child reports "key=value" lines through a pipe and _exits; it never returns into
// gtest. Fork from a single-threaded test (gtest's main thread, before starting threads).
#ifndef CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_
#define CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_

#include <functional>
#include <map>
#include <string>

namespace cadence::test_support {

// In the calling process: drops CAP_SYS_NICE and sets RLIMIT_RTPRIO and RLIMIT_NICE to 0.
// Returns "" on success, else the step that failed.
std::string DropSchedulingPrivileges();

// Forks a child that drops its scheduling privileges and runs `body`, which returns
// "key=value\n" lines. Returns them as a map, plus "cap_sys_nice" (0 or 1, as the child
// saw it after dropping) and, when dropping failed, "error". Failures to fork or a child
// that did not exit 0 are reported as gtest failures.
std::map<std::string, std::string> RunUnprivileged(const std::function<std::string()>& body);

// "key=value\n", for building a child's report.
std::string ReportLine(const std::string& key, const std::string& value);

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_COMMON_TESTING_UNPRIVILEGED_CHILD_H_
