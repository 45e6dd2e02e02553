#include "scheduler/common/machine.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cadence {
namespace {

bool ReadFirstLine(const std::string& path, std::string* line) {
  std::ifstream in(path);
  if (!in) return false;
  std::getline(in, *line);
  return true;
}

std::optional<int64_t> ReadInt(const std::string& path) {
  std::string line;
  int64_t value = 0;
  if (!ReadFirstLine(path, &line)) return std::nullopt;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) return std::nullopt;
  return value;
}

uint64_t SoftLimit(int resource) {
  struct rlimit limit;
  if (getrlimit(resource, &limit) != 0) return 0;
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
}

// Reads CAP_SYS_NICE from the effective set in /proc/self/status (no libcap needed).
bool HasCapSysNice() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "CapEff:")) {
      uint64_t caps = 0;
      std::string hex(absl::StripAsciiWhitespace(line.substr(7)));
      caps = std::stoull(hex, nullptr, 16);
      return (caps >> 23) & 1;  // CAP_SYS_NICE is capability 23.
    }
  }
  return false;
}

// Finds this process's group of the v1 cpu controller in /proc/self/cgroup.
std::string CpuCgroupV1Path() {
  std::ifstream in("/proc/self/cgroup");
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

Machine Machine::Read() {
  Machine m;
  std::string line;
  CpuSet::ParseError error;
  if (ReadFirstLine("/sys/devices/system/cpu/online", &line)) {
    CpuSet::Parse(std::string(absl::StripAsciiWhitespace(line)), &m.online, &error);
  }
  if (m.online.Empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m.online = CpuSet::Range(0, n > 0 ? static_cast<int>(n) - 1 : 0);
  }
  cpu_set_t native;
  CPU_ZERO(&native);
  if (sched_getaffinity(0, sizeof(native), &native) == 0) {
    m.allowed = CpuSet::FromNative(native);
  } else {
    m.allowed = m.online;
  }
  if (std::optional<int64_t> kernel_max = ReadInt("/sys/devices/system/cpu/kernel_max")) {
    m.possible_cpus = static_cast<int>(std::min<int64_t>(*kernel_max + 1, CpuSet::kMaxCpus));
  }
  m.cap_sys_nice = HasCapSysNice();
  m.rlimit_rtprio = SoftLimit(RLIMIT_RTPRIO);
  m.rlimit_nice = SoftLimit(RLIMIT_NICE);
  m.rt_runtime_us = ReadInt("/proc/sys/kernel/sched_rt_runtime_us").value_or(950000);
  m.rt_period_us = ReadInt("/proc/sys/kernel/sched_rt_period_us").value_or(1000000);
  m.cgroup_v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  const std::string v1_path = CpuCgroupV1Path();
  if (!v1_path.empty()) {
    m.cgroup_path = v1_path;
    for (const char* root : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      const std::string dir = absl::StrCat(root, v1_path == "/" ? "" : v1_path);
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
