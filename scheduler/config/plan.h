// Plan: what the runtime will build, as plain data — the processors (name, CPUs, policy,
// priority/nice), the queues they serve, the task table (name -> queue, priority,
// processor) and the inner-thread table.
//
// The Validator makes a Plan from a config and a Machine; `schedctl plan` prints it; the
// Scheduler is built from it. Nothing downstream of the Plan reads the protobuf again.
#ifndef CADENCE_SCHEDULER_CONFIG_PLAN_H_
#define CADENCE_SCHEDULER_CONFIG_PLAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler/common/cpuset.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/config/diagnostic.h"

namespace cadence {

enum class SchedulerKind { kClassic, kChoreography };

// How processors of a group are spread over its CPUs: kAnyOf (Cyber's "range": each
// processor may run on every CPU of the set) or kOneOf (Cyber's "1to1": processor i is
// pinned to the i-th CPU).
enum class Affinity { kAnyOf, kOneOf };

// "classic" / "choreography".
const char* SchedulerKindName(SchedulerKind kind);

// "range" / "1to1" (the config's words).
const char* AffinityName(Affinity affinity);

// A task queue: 20 priority levels (0-19, higher runs first, FIFO within a level) served
// by one or more processors.
struct QueuePlan {
  // The classic group's name, or "choreography/<i>" for a choreography processor's own
  // queue, or the pool's group name.
  std::string name;
  // Indexes into Plan::processors of the processors that serve this queue.
  std::vector<int> processors;
  // Whether its tasks' activations are timed (wake latency, run time); tasks with a period
  // or a budget are timed either way.
  bool time_activations = true;
};

// One processor: one OS thread that serves one queue.
struct ProcessorPlan {
  // Full name, "<group>/<index>".
  std::string name;
  // The OS thread name (at most 15 characters, what ps/top show).
  std::string thread_name;
  // The group it belongs to and its index in that group.
  std::string group;
  int index = 0;
  // The queue it serves (index into Plan::queues).
  int queue = 0;
  // Policy, priority/nice and CPUs it is to run with.
  ThreadAttributes attributes;
  Affinity affinity = Affinity::kAnyOf;
  // Spin instead of sleeping when idle.
  bool busy_spin = false;
};

// A task the config names.
struct TaskPlan {
  std::string name;
  // The queue its activations go to (index into Plan::queues).
  int queue = 0;
  // Its level in the queue, 0-19.
  int priority = 0;
  // The processor it is bound to (choreography), -1 when any processor of the queue.
  int processor = -1;
  // Periodic activation every period_us microseconds; 0 when not periodic.
  uint64_t period_us = 0;
  // Run-time budget per activation; 0 when none.
  uint64_t budget_us = 0;
  // Where the config names it.
  SourceLocation where;
};

// A named thread that user code creates and the runtime configures.
struct InnerThreadPlan {
  std::string name;
  ThreadAttributes attributes;
  SourceLocation where;
};

struct Plan {
  SchedulerKind kind = SchedulerKind::kClassic;
  // The config it was made from ("" for the built-in default) and the real file behind it.
  std::string config_path;
  std::string real_config_path;
  // The CPUs every thread of the process is confined to (process_level_cpuset, or all
  // usable CPUs).
  CpuSet process_cpus;
  // Whether process_level_cpuset was given (and so is applied to the whole process).
  bool restrict_process = false;
  std::vector<ProcessorPlan> processors;
  std::vector<QueuePlan> queues;
  // Task name -> task; ordered so output is stable.
  std::map<std::string, TaskPlan> tasks;
  std::vector<InnerThreadPlan> inner_threads;
  // The queue that tasks the config does not name go to (first classic group / pool),
  // -1 when there is none (such tasks are refused).
  int default_queue = -1;

  // The task's entry, or one on the default queue at priority 0 for an unnamed task
  // (processor -1); `named` says which. Returns false when there is no default queue.
  bool Placement(const std::string& task, TaskPlan* out, bool* named) const;

  // A readable table of processors, queues, tasks and threads, plus a per-CPU map.
  std::string ToText() const;

  // The plan as JSON.
  std::string ToJson() const;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_CONFIG_PLAN_H_
