// Ps: the kernel's view of every thread of a process in one table — `schedctl ps PID`, what
// `ps -L`, `chrt -p` and `taskset -p` show together: thread id and name, state, policy,
// real-time priority or nice, the CPUs it may run on, the CPU it last ran on, its CPU use
// over a short interval, and its CPU time so far.
//
// CPU% is measured: two samples of each thread's time on CPU (/proc/PID/task/TID/schedstat,
// in nanoseconds; utime+stime from stat where there is no schedstat) taken `interval` apart;
// 100% is one whole CPU. TIME is the CPU time since the thread started.
#ifndef CADENCE_TOOLS_SCHEDCTL_PS_H_
#define CADENCE_TOOLS_SCHEDCTL_PS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"

namespace cadence {

// One thread as sampled once.
struct ThreadSample {
  ProcThread thread;
  // Time on CPU so far, in nanoseconds.
  uint64_t cpu_ns = 0;
  // What sched_getattr says (SCHED_DEADLINE parameters, reset-on-fork); absent when it
  // could not be read.
  std::optional<ThreadAttributes> attributes;
};

// Every thread of a process at one moment.
struct ProcessSample {
  pid_t pid = 0;
  // The process's name (comm) and owner.
  std::string name;
  uid_t uid = 0;
  std::vector<ThreadSample> threads;  // by tid
};

// Samples every thread of `pid`. NotFound "no process with pid N" when there is none;
// PermissionDenied, naming the file, the owner and why (e.g. /proc mounted with hidepid),
// when /proc does not let this process look. Threads that exit while being read are left
// out.
absl::StatusOr<ProcessSample> SampleProcess(pid_t pid);

// The table: a header line (process, thread count, how CPU% was measured), one row per
// thread of `last`, then one line per SCHED_DEADLINE thread with its parameters. CPU% of a
// thread comes from its time in `first` and `last`, `elapsed` apart; without `first` (or
// for a thread that started in between) it is "-".
std::string FormatThreadTable(const ProcessSample* first, const ProcessSample& last,
                              std::chrono::nanoseconds elapsed);

}  // namespace cadence

#endif  // CADENCE_TOOLS_SCHEDCTL_PS_H_
