#include "scheduler/common/testing/unprivileged_child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"

namespace cadence::test_support {
namespace {

constexpr int kCapSysNice = 23;
// How long a RunInChild child may take.
constexpr unsigned kChildSeconds = 120;

// Writes all of `text`; false on error.
bool WriteAll(int fd, const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// Reads to end of file.
std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

std::map<std::string, std::string> ParseReport(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

}  // namespace

std::string BecomeNobody() {
  if (setgroups(0, nullptr) != 0) return "setgroups(0)";
  if (setgid(kNobodyGid) != 0) return "setgid(65534)";
  if (setuid(kNobodyUid) != 0) return "setuid(65534)";
  if (getuid() != kNobodyUid || geteuid() != kNobodyUid || getegid() != kNobodyGid) {
    return "checking the new ids";
  }
  // Root could regain its ids; nobody must not.
  if (setuid(0) == 0) return "dropping root for good";
  return "";
}

ChildAsNobody::ChildAsNobody(std::function<std::string(const std::string& input)> body) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << errno;
    return;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(in[1]);
    close(out[0]);
    const std::string failed = BecomeNobody();
    const std::string input = ReadAll(in[0]);
    const std::string report =
        failed.empty() ? body(input)
                       : ReportLine("error", absl::StrCat(failed, " failed, errno ", errno));
    _exit(WriteAll(out[1], report) ? 0 : 2);
  }
  close(in[0]);
  close(out[1]);
  if (child < 0) {
    ADD_FAILURE() << "fork: " << errno;
    close(in[1]);
    close(out[0]);
    return;
  }
  pid_ = child;
  to_child_ = in[1];
  from_child_ = out[0];
}

ChildAsNobody::~ChildAsNobody() {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

std::map<std::string, std::string> ChildAsNobody::Run(const std::string& input) {
  if (pid_ <= 0) {
    ADD_FAILURE() << "no child to run";
    return {};
  }
  EXPECT_TRUE(WriteAll(to_child_, input)) << "write to the child: " << errno;
  close(to_child_);
  to_child_ = -1;
  const std::string text = ReadAll(from_child_);
  close(from_child_);
  from_child_ = -1;
  int status = 0;
  EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  return ParseReport(text);
}

std::string DropSchedulingPrivileges() {
  if (prctl(PR_CAPBSET_DROP, kCapSysNice, 0, 0, 0) != 0) return "prctl(PR_CAPBSET_DROP)";
  __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return "capget";
  const uint32_t bit = 1u << kCapSysNice;  // In the first 32-bit word.
  data[0].effective &= ~bit;
  data[0].permitted &= ~bit;
  data[0].inheritable &= ~bit;
  if (syscall(SYS_capset, &header, data) != 0) return "capset";
  const struct rlimit zero = {0, 0};
  if (setrlimit(RLIMIT_RTPRIO, &zero) != 0) return "setrlimit(RLIMIT_RTPRIO)";
  if (setrlimit(RLIMIT_NICE, &zero) != 0) return "setrlimit(RLIMIT_NICE)";
  return "";
}

std::string ReportLine(const std::string& key, const std::string& value) {
  return absl::StrCat(key, "=", absl::StrReplaceAll(value, {{"\n", " "}}), "\n");
}

std::map<std::string, std::string> RunInChild(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << errno;
    return {};
  }
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    // A child that hangs (say, in a deadlock the test is after) is killed by SIGALRM, which
    // the parent reports, instead of holding the test until Bazel's timeout.
    alarm(kChildSeconds);
    _exit(WriteAll(fds[1], body()) ? 0 : 2);
  }
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    ADD_FAILURE() << "fork: " << errno;
    return {};
  }
  const std::string text = ReadAll(fds[0]);
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "child status " << status
      << (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
              ? absl::StrCat(": killed after ", kChildSeconds, " s (it hung)")
              : "");
  return ParseReport(text);
}

std::map<std::string, std::string> RunUnprivileged(const std::function<std::string()>& body) {
  return RunInChild([&body] {
    const std::string failed = DropSchedulingPrivileges();
    return failed.empty()
               ? ReportLine("cap_sys_nice", absl::StrCat(Machine::Read().cap_sys_nice)) + body()
               : ReportLine("error", absl::StrCat(failed, " failed, errno ", errno));
  });
}

}  // namespace cadence::test_support
