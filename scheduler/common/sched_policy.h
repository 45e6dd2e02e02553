// SchedPolicy and ThreadAttributes: what a thread is asked to run with (Linux scheduling
// policy, real-time priority or nice, SCHED_DEADLINE parameters, CPUs) as plain data.
//
// The Plan holds one ThreadAttributes per processor and per named thread; the code that
// applies them to real threads and reads them back lives in thread_attributes.h.
#ifndef CADENCE_SCHEDULER_COMMON_SCHED_POLICY_H_
#define CADENCE_SCHEDULER_COMMON_SCHED_POLICY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "scheduler/common/cpuset.h"

namespace cadence {

// The Linux scheduling policies a config may name.
enum class SchedPolicy { kOther, kBatch, kIdle, kFifo, kRr, kDeadline };

// The kernel's name of the policy, e.g. "SCHED_FIFO".
const char* PolicyName(SchedPolicy policy);

// Parses "SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE", "SCHED_FIFO", "SCHED_RR" or
// "SCHED_DEADLINE" (exact, upper case); returns false for anything else.
bool ParsePolicy(std::string_view name, SchedPolicy* policy);

// Whether the policy is a real-time one (FIFO, RR, DEADLINE): these need CAP_SYS_NICE or
// RLIMIT_RTPRIO and count against the RT throttling budget.
bool IsRealTime(SchedPolicy policy);

// Whether the policy uses a nice value (OTHER, BATCH).
bool UsesNice(SchedPolicy policy);

// The Linux policy constant (SCHED_OTHER, ...) of the policy.
int NativePolicy(SchedPolicy policy);

// Maps a Linux policy constant back; returns false for an unknown one.
bool FromNativePolicy(int native, SchedPolicy* policy);

// The attributes of one thread.
struct ThreadAttributes {
  SchedPolicy policy = SchedPolicy::kOther;
  // 1..99 for SCHED_FIFO/SCHED_RR, 0 otherwise.
  int rt_priority = 0;
  // -20..19 for SCHED_OTHER/SCHED_BATCH, 0 otherwise.
  int nice = 0;
  // SCHED_DEADLINE parameters in nanoseconds; 0 for other policies.
  uint64_t runtime_ns = 0;
  uint64_t deadline_ns = 0;
  uint64_t period_ns = 0;
  // The CPUs the thread may run on; empty means "leave the affinity as it is".
  CpuSet cpus;
  // Set SCHED_RESET_ON_FORK for real-time policies, so threads this one forks start as
  // SCHED_OTHER nice 0.
  bool reset_on_fork = true;

  bool operator==(const ThreadAttributes& other) const = default;
};

// A one-line description, e.g. "SCHED_FIFO prio 60 cpus 0" or "SCHED_OTHER nice -5 cpus 1-3".
std::string Describe(const ThreadAttributes& attributes);

// The policy-and-priority part of Describe, e.g. "SCHED_FIFO 60", "SCHED_OTHER nice -5",
// "SCHED_DEADLINE 1000/5000/10000us".
std::string DescribePriority(const ThreadAttributes& attributes);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_SCHED_POLICY_H_
