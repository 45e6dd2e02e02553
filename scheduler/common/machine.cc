#include "scheduler/common/machine.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cadence {
namespace {

// The first line of `path`, or why it could not be read.
bool ReadFirstLine(const std::string& path, std::string* line, std::string* why = nullptr) {
  errno = 0;
  std::ifstream in(path);
  if (!in) {
    if (why != nullptr) *why = errno != 0 ? std::strerror(errno) : "cannot open";
    return false;
  }
  if (!std::getline(in, *line)) {
    if (why != nullptr) *why = "empty or unreadable";
    return false;
  }
  return true;
}

std::optional<int64_t> ReadInt(const std::string& path, std::string* why = nullptr) {
  std::string line;
  int64_t value = 0;
  if (!ReadFirstLine(path, &line, why)) return std::nullopt;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) {
    if (why != nullptr) *why = absl::StrCat("not an integer: \"", line, "\"");
    return std::nullopt;
  }
  return value;
}

// Reads an integer fact; when it cannot, records why in `unread` and returns `assumed`.
int64_t ReadFact(const std::string& root, const std::string& path, int64_t assumed,
                 const std::string& assumed_is, std::vector<std::string>* unread) {
  std::string why;
  if (std::optional<int64_t> value = ReadInt(root + path, &why)) return *value;
  unread->push_back(absl::StrCat("cannot read ", path, " (", why, "): assuming ", assumed, ", ",
                                 assumed_is));
  return assumed;
}

// The soft limit; 0 (nothing granted), said in `unread`, when getrlimit fails.
uint64_t SoftLimit(int resource, const char* name, std::vector<std::string>* unread) {
  struct rlimit limit;
  if (getrlimit(resource, &limit) != 0) {
    unread->push_back(absl::StrCat("getrlimit(", name, ") failed (", std::strerror(errno),
                                   "): assuming 0"));
    return 0;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
}

// CAP_SYS_NICE from the effective set in /proc/self/status (no libcap needed); nullopt,
// with why, when the set cannot be read.
std::optional<bool> HasCapSysNice(const std::string& status_path, std::string* why) {
  errno = 0;
  std::ifstream in(status_path);
  if (!in) {
    *why = errno != 0 ? std::strerror(errno) : "cannot open";
    return std::nullopt;
  }
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "CapEff:")) continue;
    uint64_t caps = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &caps)) {
      *why = absl::StrCat("CapEff is not a hexadecimal mask: \"", line, "\"");
      return std::nullopt;
    }
    return ((caps >> 23) & 1) != 0;  // CAP_SYS_NICE is capability 23.
  }
  *why = "no CapEff line";
  return std::nullopt;
}

// Finds this process's group of the v1 cpu controller in /proc/self/cgroup ("" when there
// is none, or, said in `unread`, when the file cannot be read).
std::string CpuCgroupV1Path(const std::string& root, std::vector<std::string>* unread) {
  errno = 0;
  std::ifstream in(root + "/proc/self/cgroup");
  if (!in) {
    unread->push_back(absl::StrCat("cannot read /proc/self/cgroup (",
                                   errno != 0 ? std::strerror(errno) : "cannot open",
                                   "): assuming no cgroup real-time budget"));
    return "";
  }
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    for (absl::string_view controller : absl::StrSplit(parts[1], ',')) {
      if (controller == "cpu") return parts[2];
    }
  }
  return "";
}

}  // namespace

Machine Machine::Read() { return ReadFrom(""); }

Machine Machine::ReadFrom(const std::string& root) {
  Machine m;
  std::string line, why;
  CpuSet::ParseError error;
  const std::string online_path = "/sys/devices/system/cpu/online";
  if (ReadFirstLine(root + online_path, &line, &why)) {
    if (!CpuSet::Parse(std::string(absl::StripAsciiWhitespace(line)), &m.online, &error) ||
        m.online.Empty()) {
      m.online = CpuSet();
      why = absl::StrCat("not a CPU list: \"", line, "\"");
    }
  }
  if (m.online.Empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m.online = CpuSet::Range(0, n > 0 ? static_cast<int>(n) - 1 : 0);
    m.unread.push_back(absl::StrCat("cannot read ", online_path, " (", why, "): assuming CPUs ",
                                    m.online.ToString(), " online (sysconf)"));
  }
  cpu_set_t native;
  CPU_ZERO(&native);
  if (sched_getaffinity(0, sizeof(native), &native) == 0) {
    m.allowed = CpuSet::FromNative(native);
  } else {
    m.allowed = m.online;
    m.unread.push_back(absl::StrCat("sched_getaffinity failed (", std::strerror(errno),
                                    "): assuming the process may use every online CPU"));
  }
  const int64_t kernel_max = ReadFact(root, "/sys/devices/system/cpu/kernel_max",
                                     CpuSet::kMaxCpus - 1, "the most cadence handles", &m.unread);
  m.possible_cpus = static_cast<int>(std::min<int64_t>(kernel_max + 1, CpuSet::kMaxCpus));
  if (std::optional<bool> cap = HasCapSysNice(root + "/proc/self/status", &why)) {
    m.cap_sys_nice = *cap;
  } else {
    m.unread.push_back(absl::StrCat("cannot read CapEff from /proc/self/status (", why,
                                    "): assuming no CAP_SYS_NICE"));
  }
  m.rlimit_rtprio = SoftLimit(RLIMIT_RTPRIO, "RLIMIT_RTPRIO", &m.unread);
  m.rlimit_nice = SoftLimit(RLIMIT_NICE, "RLIMIT_NICE", &m.unread);
  m.rt_runtime_us = ReadFact(root, "/proc/sys/kernel/sched_rt_runtime_us", m.rt_runtime_us,
                             "the kernel's default", &m.unread);
  m.rt_period_us = ReadFact(root, "/proc/sys/kernel/sched_rt_period_us", m.rt_period_us,
                            "the kernel's default", &m.unread);
  m.cgroup_v2 = access((root + "/sys/fs/cgroup/cgroup.controllers").c_str(), F_OK) == 0;
  const std::string v1_path = CpuCgroupV1Path(root, &m.unread);
  if (!v1_path.empty()) {
    m.cgroup_path = v1_path;
    for (const char* base : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      const std::string dir = absl::StrCat(root, base, v1_path == "/" ? "" : v1_path);
      if (std::optional<int64_t> runtime = ReadInt(dir + "/cpu.rt_runtime_us")) {
        m.cgroup_rt_runtime_us = runtime;
        m.cgroup_rt_period_us = ReadInt(dir + "/cpu.rt_period_us");
        break;
      }
    }
  }
  return m;
}

Machine Machine::ForTest(int cpus) {
  Machine m;
  m.online = CpuSet::Range(0, cpus - 1);
  m.allowed = m.online;
  m.possible_cpus = 8192 < CpuSet::kMaxCpus ? 8192 : CpuSet::kMaxCpus;
  m.cap_sys_nice = true;
  m.rlimit_rtprio = 0;
  m.rlimit_nice = 0;
  m.cgroup_path = "/";
  return m;
}

int Machine::LowestNice() const {
  if (cap_sys_nice) return -20;
  if (rlimit_nice == UINT64_MAX || rlimit_nice >= 40) return -20;
  const int lowest = 20 - static_cast<int>(rlimit_nice);
  return lowest < 0 ? lowest : 0;
}

int64_t Machine::EffectiveRtRuntimeUs() const {
  if (cgroup_rt_runtime_us.has_value() && cgroup_path != "/") return *cgroup_rt_runtime_us;
  return rt_runtime_us;
}

bool Machine::MayUse(const ThreadAttributes& a) const { return WhyNot(a).empty(); }

std::string Machine::WhyNot(const ThreadAttributes& a) const {
  if (IsRealTime(a.policy)) {
    if (EffectiveRtRuntimeUs() == 0) {
      return cgroup_rt_runtime_us.has_value() && cgroup_path != "/"
                 ? absl::StrCat("the cgroup ", cgroup_path,
                                " has no real-time budget (cpu.rt_runtime_us = 0); give it one, "
                                "e.g. echo 100000 > /sys/fs/cgroup/cpu",
                                cgroup_path, "/cpu.rt_runtime_us")
                 : std::string(
                       "real-time is switched off (sched_rt_runtime_us = 0); set "
                       "/proc/sys/kernel/sched_rt_runtime_us");
    }
    if (cap_sys_nice) return "";
    if (a.policy == SchedPolicy::kDeadline) {
      return "SCHED_DEADLINE needs CAP_SYS_NICE (RLIMIT_RTPRIO does not grant it); run as root "
             "or grant it with `setcap cap_sys_nice+ep BINARY`";
    }
    if (static_cast<uint64_t>(a.rt_priority) > rlimit_rtprio) {
      return absl::StrCat("no CAP_SYS_NICE and RLIMIT_RTPRIO is ", rlimit_rtprio, " (priority ",
                          a.rt_priority,
                          " needs at least that); grant it with `setcap cap_sys_nice+ep BINARY`, "
                          "`ulimit -r ",
                          a.rt_priority, "`, or an `rtprio` line in /etc/security/limits.conf");
    }
    return "";
  }
  if (UsesNice(a.policy) && a.nice < 0 && a.nice < LowestNice()) {
    return absl::StrCat("no CAP_SYS_NICE and RLIMIT_NICE is ", rlimit_nice, " (nice ", a.nice,
                        " needs RLIMIT_NICE >= ", 20 - a.nice,
                        "); grant it with `setcap cap_sys_nice+ep BINARY` or a `nice` line in "
                        "/etc/security/limits.conf");
  }
  return "";
}

}  // namespace cadence
