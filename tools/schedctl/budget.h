// Budget: what this machine allows real-time threads, and whether a config's real-time
// processors fit in it — `schedctl budget [CONF]`.
//
// BudgetFacts gathers, for the calling process: RT throttling (/proc/sys/kernel/sched_rt_*),
// its cgroups (the v1 cpu controller's cpu.rt_runtime_us/cpu.rt_period_us on every level
// from the root down to its own group; whether cgroup v2 is in use, which has no RT budget),
// RLIMIT_RTPRIO, CAP_SYS_NICE, and the SCHED_DEADLINE admission headroom (what the kernel
// admits, minus what the fair-class deadline servers and every SCHED_DEADLINE thread on the
// system already reserve). JudgePlan compares a validated Plan with those facts, one
// Verdict per check. Facts are plain data, so tests build them by hand.
#ifndef CADENCE_TOOLS_SCHEDCTL_BUDGET_H_
#define CADENCE_TOOLS_SCHEDCTL_BUDGET_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/cpuset.h"
#include "scheduler/config/plan.h"

namespace cadence {

// One level of the v1 cpu controller's hierarchy, from the root down to the process.
struct CgroupLevel {
  // The group's path in the hierarchy ("/" for the root, "/a/b", ...).
  std::string path;
  // The directory that holds its files, e.g. "/sys/fs/cgroup/cpu/a/b".
  std::string dir;
  // cpu.rt_runtime_us (-1: unlimited) and cpu.rt_period_us; absent when unreadable.
  std::optional<int64_t> rt_runtime_us;
  std::optional<int64_t> rt_period_us;
};

// A SCHED_DEADLINE thread found on the system.
struct DeadlineThread {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string name;
  uint64_t runtime_ns = 0;
  uint64_t period_ns = 0;
};

struct BudgetFacts {
  // The facts Read() could not read, with what it assumed instead (see Machine::unread);
  // FormatFacts prints each as an "assumed:" line.
  std::vector<std::string> unread;
  // /proc/sys/kernel/sched_rt_runtime_us (-1: no throttling) and sched_rt_period_us.
  int64_t rt_runtime_us = 950000;
  int64_t rt_period_us = 1000000;

  // The v1 cpu controller: where it is mounted ("" when it is not), this process's group
  // in it, and its levels from the root down (empty when the controller is not mounted).
  std::string cgroup_v1_mount;
  std::string cgroup_v1_path;
  std::vector<CgroupLevel> cgroup_v1_levels;
  // cgroup v2: where a cgroup2 hierarchy is mounted ("" when none), this process's group in
  // it ("0::" line of /proc/self/cgroup), and whether it is the unified hierarchy at
  // /sys/fs/cgroup (has cgroup.controllers there) rather than a hybrid set-up.
  std::string cgroup_v2_mount;
  std::string cgroup_v2_path;
  bool cgroup_v2_unified = false;

  // RLIMIT_RTPRIO soft and hard limits (UINT64_MAX: unlimited).
  uint64_t rtprio_soft = 0;
  uint64_t rtprio_hard = 0;
  // CAP_SYS_NICE in the effective set (/proc/self/status CapEff, bit 23).
  bool cap_sys_nice = false;

  // CPUs online: SCHED_DEADLINE admission is per root domain, by default all of them.
  CpuSet online;
  // Bandwidth the kernel's deadline servers for the fair class hold (Linux 6.12+), in CPUs
  // (0.05 per CPU by default), and where that number comes from.
  double server_cpus = 0;
  std::string server_source;
  // Every SCHED_DEADLINE thread on the system (that this process can see).
  std::vector<DeadlineThread> deadline_threads;

  // Reads the facts for the calling process.
  static BudgetFacts Read();

  // The share of a CPU RT throttling leaves real-time threads (1.0 when unlimited).
  double RtShare() const;
  // The v1 cgroup level of this process (nullptr when there is no v1 cpu controller with
  // RT group scheduling, or the process is in the root group).
  const CgroupLevel* OwnCgroup() const;
  // SCHED_DEADLINE bandwidth in CPUs: what the kernel admits in all (online CPUs times the
  // RT share), what other deadline threads reserve, and what is left (the headroom).
  double DeadlineTotalCpus() const;
  double DeadlineReservedCpus() const;
  double DeadlineHeadroomCpus() const;
};

// The facts as readable lines (RT throttling, cgroups, limits, deadline headroom).
std::string FormatFacts(const BudgetFacts& facts);

// The outcome of one check.
struct Verdict {
  // What was checked, e.g. "RT throttling".
  std::string check;
  bool fits = true;
  // Why it fits or does not.
  std::string detail;
  // What to do when it does not fit; "" otherwise.
  std::string hint;
  // The words for the outcome.
  std::string yes = "fits";
  std::string no = "does not fit";
};

// Whether this process could run a real-time thread at all (budget left by throttling and
// its cgroup, and the privilege to ask for one).
Verdict JudgeRealTimeAvailable(const BudgetFacts& facts);

// Whether the plan's real-time processors and named threads fit: RT throttling, the
// cgroup's RT budget, SCHED_DEADLINE admission, and the privileges to ask for them.
std::vector<Verdict> JudgePlan(const Plan& plan, const BudgetFacts& facts);

// Real-time processors/threads of the plan that may run on each CPU, one line per CPU.
std::string FormatPerCpu(const Plan& plan, const BudgetFacts& facts);

// "check: fits: detail" or "check: does not fit: detail" (the verdict's own words) plus an
// indented hint line.
std::string FormatVerdict(const Verdict& verdict);

}  // namespace cadence

#endif  // CADENCE_TOOLS_SCHEDCTL_BUDGET_H_
