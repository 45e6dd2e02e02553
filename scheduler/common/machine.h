// Machine: the facts about this host and process that a config is checked against —
// online CPUs, the CPUs the process may use, CAP_SYS_NICE, RLIMIT_RTPRIO/RLIMIT_NICE, RT
// throttling (/proc/sys/kernel/sched_rt_*) and the cgroup v1 RT budget where there is one.
//
// Read once from the real system with Machine::Read(), or built by hand in tests with
// Machine::ForTest(), so that validation is testable on any host.
#ifndef CADENCE_SCHEDULER_COMMON_MACHINE_H_
#define CADENCE_SCHEDULER_COMMON_MACHINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/cpuset.h"
#include "scheduler/common/sched_policy.h"

namespace cadence {

struct Machine {
  // CPUs the kernel has online (/sys/devices/system/cpu/online).
  CpuSet online;
  // CPUs this process may run on (sched_getaffinity of the calling thread).
  CpuSet allowed;
  // Number of CPUs the kernel could ever have (kernel_max + 1).
  int possible_cpus = CpuSet::kMaxCpus;
  // Whether the process holds CAP_SYS_NICE in its effective set.
  bool cap_sys_nice = false;
  // RLIMIT_RTPRIO soft limit (the highest FIFO/RR priority allowed without CAP_SYS_NICE).
  uint64_t rlimit_rtprio = 0;
  // RLIMIT_NICE soft limit: without CAP_SYS_NICE nice may go down to 20 - rlimit_nice.
  uint64_t rlimit_nice = 0;
  // /proc/sys/kernel/sched_rt_runtime_us (-1: no throttling) and sched_rt_period_us.
  int64_t rt_runtime_us = 950000;
  int64_t rt_period_us = 1000000;
  // cgroup v1 cpu controller: the process's group's cpu.rt_runtime_us/rt_period_us, when
  // the cpu controller is mounted as v1 and the group has the files.
  std::optional<int64_t> cgroup_rt_runtime_us;
  std::optional<int64_t> cgroup_rt_period_us;
  // The cgroup path of the cpu controller's group ("/" for the root), or "" if unknown.
  std::string cgroup_path;
  // Whether the unified (v2) hierarchy is mounted at /sys/fs/cgroup.
  bool cgroup_v2 = false;
  // The facts Read() could not read and what it assumed instead, one sentence each (e.g.
  // "cannot read /proc/sys/kernel/sched_rt_runtime_us (...): assuming 950000, the kernel's
  // default"). The validator reports each as a warning; empty on a normal host.
  std::vector<std::string> unread;

  // Reads the facts of this host and the calling process.
  static Machine Read();
  // The same with /proc and /sys read under `root` (e.g. a test's directory) instead of
  // "/"; affinity and resource limits are still the calling process's own.
  static Machine ReadFrom(const std::string& root);

  // A privileged machine with CPUs 0..cpus-1 online and allowed, default RT throttling and
  // no cgroup RT budget: the starting point for tests.
  static Machine ForTest(int cpus);

  // The CPUs a config may use: online and allowed.
  CpuSet Usable() const { return online.Intersect(allowed); }

  // Whether a thread of this process may be given the policy at this priority (FIFO/RR
  // priority, or any DEADLINE/negative-nice request), judged from privileges and RT budgets.
  bool MayUse(const ThreadAttributes& attributes) const;

  // Why MayUse() is false for these attributes, with how to grant it; "" when it is true.
  std::string WhyNot(const ThreadAttributes& attributes) const;

  // The lowest (most favourable) nice value this process may set: -20 with CAP_SYS_NICE,
  // else 20 - RLIMIT_NICE, and never above 0 (nice 0 needs no privilege).
  int LowestNice() const;

  // The RT runtime budget that applies to this process (the cgroup's when there is one,
  // else the system's), -1 when unlimited.
  int64_t EffectiveRtRuntimeUs() const;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_MACHINE_H_
