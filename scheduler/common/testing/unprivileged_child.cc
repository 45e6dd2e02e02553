#include "scheduler/common/testing/unprivileged_child.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"

namespace cadence::test_support {
namespace {

constexpr int kCapSysNice = 23;

}  // namespace

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
  return absl::StrCat(key, "=", value, "\n");
}

std::map<std::string, std::string> RunUnprivileged(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe: " << errno;
    return {};
  }
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    const std::string failed = DropSchedulingPrivileges();
    const std::string report =
        failed.empty()
            ? ReportLine("cap_sys_nice", absl::StrCat(Machine::Read().cap_sys_nice)) + body()
            : ReportLine("error", absl::StrCat(failed, " failed, errno ", errno));
    const char* data = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], data, left);
      if (n <= 0) _exit(2);
      data += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    ADD_FAILURE() << "fork: " << errno;
    return {};
  }
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

}  // namespace cadence::test_support
