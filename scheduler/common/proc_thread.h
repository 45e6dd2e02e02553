// ProcThread: what the kernel reports about one thread in /proc/<pid>/task/<tid>/ (stat
// and status) — name, state, policy, real-time priority, nice, allowed CPUs, the CPU it
// last ran on, CPU time and context switches. Tests read threads back through it, and it
// is what a `ps`-style view of a process is made of.
#ifndef CADENCE_SCHEDULER_COMMON_PROC_THREAD_H_
#define CADENCE_SCHEDULER_COMMON_PROC_THREAD_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/common/cpuset.h"

namespace cadence {

struct ProcThread {
  pid_t tid = 0;
  // comm: the thread name (at most 15 characters).
  std::string name;
  // R, S, D, ... (stat field 3).
  char state = '?';
  // Linux policy constant (stat field 41), e.g. SCHED_FIFO == 1.
  int policy = 0;
  // FIFO/RR priority (stat field 40), 0 for other policies.
  int rt_priority = 0;
  // The priority the kernel schedules it at now (stat field 18): 0-39 for nice -20..19
  // (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE), -2..-100 for real-time priority 1..99, -101 for
  // SCHED_DEADLINE. A priority-inheritance boost shows here, not in `policy`/`rt_priority`.
  int priority = 0;
  // Nice value (stat field 19).
  int nice = 0;
  // The CPU it last ran on (stat field 39).
  int last_cpu = -1;
  // User + system CPU time in clock ticks (stat fields 14 and 15).
  uint64_t cpu_ticks = 0;
  // Cpus_allowed_list from status.
  CpuSet cpus_allowed;
  // voluntary_ctxt_switches / nonvoluntary_ctxt_switches from status.
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
};

// Reads thread `tid` of process `pid` (pid 0: this process). NotFound when it is gone.
absl::StatusOr<ProcThread> ReadProcThread(pid_t pid, pid_t tid);

// The thread ids of process `pid` (0: this process), ascending.
absl::StatusOr<std::vector<pid_t>> ListThreads(pid_t pid);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_PROC_THREAD_H_
