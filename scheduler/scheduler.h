// Scheduler: the Plan made real. It applies process_level_cpuset to the whole process,
// starts one pinned, named Processor per plan entry (attributes applied before any work),
// and runs tasks on them.
//
// The API is small: create a task, notify it, remove it, configure or start a named
// thread, shut down, read statistics. Activation semantics (see task.h): notifying an idle
// task queues it; notifying a queued task is coalesced (counted, never lost); notifying a
// running task makes it run once more after it returns. Removing a task waits for a
// running activation and works from inside the task. Shutdown refuses new notifies, lets
// queued and running activations finish, and joins every processor.
//
// NotifyTask is the hot path: it allocates nothing, logs nothing, and takes no lock — a
// compare-and-swap of the task's state and a push onto its queue's lock-free inbox — except
// when a processor of the queue sleeps: then one priority-inheritance lock, for the O(1)
// critical section that picks the processor to wake.
#ifndef CADENCE_SCHEDULER_SCHEDULER_H_
#define CADENCE_SCHEDULER_SCHEDULER_H_

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/config/plan.h"
#include "scheduler/policy/classic_queue.h"
#include "scheduler/processor.h"
#include "scheduler/statistics/latency_histogram.h"
#include "scheduler/task.h"
#include "scheduler/trace/chrome_trace.h"

namespace cadence {

struct SchedulerOptions {
  // Fail start-up (and ApplyThreadConfig) when a thread cannot get what the plan asks,
  // instead of falling back.
  bool strict = false;
  // Timeline trace (see WriteTrace): each processor keeps its most recent this many runs
  // in a ring allocated at start (40 bytes each); older runs are overwritten and counted.
  // 0 (the default): no trace, no ring; the hot path only tests a null pointer.
  size_t trace_events_per_processor = 0;
};

// A snapshot of one task's statistics.
struct TaskStats {
  std::string name;
  std::string queue;
  int priority = 0;
  // The processor it is bound to ("" when any of its queue's).
  std::string processor;
  uint64_t notifies = 0;
  uint64_t coalesced = 0;
  uint64_t activations = 0;
  uint64_t exceptions = 0;
  uint64_t overruns = 0;
  uint64_t run_ns_total = 0;
  uint64_t run_ns_max = 0;
  int last_cpu = -1;
  // Bit c set: it ran on CPU c (CPUs 0-63).
  uint64_t cpus_mask = 0;
  // Periodic tasks: the period (0: not periodic), releases so far, and deadline misses
  // (releases that started more than one period late, or were skipped because the
  // previous one had not started yet).
  uint64_t period_ns = 0;
  uint64_t releases = 0;
  uint64_t deadline_misses = 0;
  // The overrun threshold (0: none).
  uint64_t budget_ns = 0;
  // Messages its channel readers dropped (pending queue full).
  uint64_t dropped = 0;
  // Notify -> start of the run; for a periodic release, ideal release time -> start (the
  // release jitter). A task the conf does not name and that is not periodic keeps no
  // histogram (see TaskDetail): its summary has the count and max only, percentiles 0.
  LatencySummary wake_latency;
  // The wake-latency histogram's bucket counts (LatencyHistogram::kBuckets of them; empty
  // when the task keeps no histogram), e.g. to summarize the interval between two
  // snapshots with LatencyHistogram::SummaryOf.
  std::vector<uint64_t> wake_counts;
  // Whether its activations are timed (see QueuePlan::time_activations): when not, the
  // run times and wake latency above are empty (0).
  bool timed = true;
};

// "0", "0-1", "0,2": the CPUs of a CPU bit mask.
std::string CpusOfMask(uint64_t mask);

// A thread the runtime owns or was handed: what the config asked and what it got.
struct ThreadRecord {
  // "processor" or "thread".
  std::string kind;
  std::string name;
  pid_t tid = 0;
  AppliedAttributes applied;
};

class Scheduler {
 public:
  // Builds queues and processors from the plan and starts them. Errors: a processor's
  // attributes could not be applied (in strict mode: any fallback),
  // process_level_cpuset could not be applied to a thread of the process, or a thread
  // (a processor's, the reporter's) could not be created: ResourceExhausted, naming it,
  // when the limit on threads (RLIMIT_NPROC, pids.max) is reached. On error every thread
  // already started has been stopped and joined, and the threads process_level_cpuset was
  // applied to have their earlier CPUs back (what could not be undone is named in the
  // error).
  static absl::StatusOr<std::unique_ptr<Scheduler>> Start(const Plan& plan,
                                                          const SchedulerOptions& options = {});

  // Shuts down (if not done yet).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Creates a task with the given body, placed where the plan says (a task the plan does
  // not name goes to the default queue at priority 0, reported once). A task whose conf
  // entry has `period_us` is periodic (see CreatePeriodicTask). Errors:
  // AlreadyExists for a name in use, FailedPrecondition when there is nowhere to run it or
  // the scheduler is shut down, ResourceExhausted when TaskTable::kCapacity tasks are live.
  // The slot of a removed task of the same queue is reused (see RemoveTask).
  absl::StatusOr<TaskId> CreateTask(const std::string& name, std::function<void()> body);

  // Creates a periodic task: released at absolute, drift-free times (the first one period
  // from now, then next = previous + period) by its queue's timer, on its processor's own
  // thread. The conf's `period_us` for this name, when set, takes precedence (a differing
  // request is logged once). A release that starts more than one period late, or that
  // finds the previous one not started yet, counts as a deadline miss; missed releases are
  // skipped, never run in a burst. Errors: as CreateTask, and InvalidArgument for a period
  // <= 0.
  absl::StatusOr<TaskId> CreatePeriodicTask(const std::string& name,
                                            std::chrono::nanoseconds period,
                                            std::function<void()> body);

  // Adds `count` to a task's dropped-message count (channel readers call this when their
  // pending queue overflows).
  void CountDropped(TaskId id, uint64_t count);

  // Notifies a task (hot path). Errors: NotFound for a removed or unknown task,
  // FailedPrecondition after shutdown.
  absl::Status NotifyTask(TaskId id);

  // Removes a task: waits for a running activation to finish (returns at once when called
  // from inside the task itself; the removal completes when the body returns). A queued
  // activation is dropped. Errors: NotFound when it is unknown or already removed.
  //
  // Once the removal is complete (for a task removing itself: once its body returns) and
  // nothing reads the task any more (a deadline-miss, overrun or exception report still
  // waiting for the reporter thread), a later CreateTask on the same queue takes its slot,
  // with its generation incremented: `id` then names nothing, whatever is called with it.
  // Not while a trace is recorded (SchedulerOptions::trace_events_per_processor > 0): the
  // trace refers to its tasks until it is written. A slot whose generation would wrap
  // (2^29 reuses) is retired instead, so an old TaskId never names a later task.
  //
  // What is not exact: a NotifyTask or CountDropped through `id` that raced with this
  // removal and with the creation that reuses the slot (preempted between its generation
  // check and its write) may leave one notify, coalesced notify, dropped message or notify
  // time on the new task's statistics. It never queues or runs the new task.
  absl::Status RemoveTask(TaskId id);

  // The id of a live task by name.
  absl::StatusOr<TaskId> FindTask(const std::string& name) const;

  // Applies the conf's entry for a named thread (`threads` in the conf) to thread `tid` of
  // this process and records it. Errors: NotFound for a name the conf does not list (also
  // logged, once per name); in strict mode, a refused request.
  absl::StatusOr<AppliedAttributes> ApplyThreadConfig(const std::string& name, pid_t tid);

  // Starts a std::thread named `name` (its first 15 characters, what ps/top show) that
  // first applies the conf's entry for `name`, then runs `body`.
  // A name the conf does not list is logged once and the thread runs with the process's
  // defaults. Errors: in strict mode, a refused request (the thread is not started); the
  // thread could not be created (ResourceExhausted when the limit on threads is reached).
  absl::StatusOr<std::thread> StartThread(const std::string& name, std::function<void()> body);

  // Stops taking work, lets queued and running activations finish, joins every processor.
  void Shutdown();

  // Whether Shutdown has begun.
  bool is_shut_down() const { return shut_down_.load(std::memory_order_acquire); }

  // Statistics of every live task, in creation order.
  std::vector<TaskStats> TaskStatistics() const;

  // Statistics of one task.
  absl::StatusOr<TaskStats> TaskStatistics(TaskId id) const;

  // Statistics of every processor, in plan order.
  std::vector<ProcessorStats> ProcessorStatistics() const;

  // Requested vs effective attributes of every processor and configured named thread.
  std::vector<ThreadRecord> Threads() const;

  // Writes the timeline recorded with SchedulerOptions::trace_events_per_processor to
  // `path` as Chrome trace-event JSON, for ui.perfetto.dev or chrome://tracing: a track per
  // processor with each run as a slice, notify arrows, deadline misses and exceptions (see
  // scheduler/trace/chrome_trace.h). Valid once Shutdown has returned (the processors are
  // joined; the tasks, and so the trace, stay readable until the Scheduler is destroyed).
  // Errors: FailedPrecondition when tracing is off or the scheduler is still running; the
  // file cannot be written (the message names path and reason).
  absl::StatusOr<TraceSummary> WriteTrace(const std::string& path) const;

  // The plan it was built from.
  const Plan& plan() const { return plan_; }

 private:
  friend class SchedulerTestPeer;  // scheduler_test: sets a slot's generation.
  Scheduler(const Plan& plan, const SchedulerOptions& options);
  absl::Status Init();
  absl::Status ApplyProcessCpus();
  // Gives the threads ApplyProcessCpus restricted their earlier CPUs back (a failed start
  // leaves the process as it found it); returns what could not be restored, "" if nothing.
  // Threads other threads of the program created during the start inherited the
  // restricted CPUs and keep them; a thread id reused within the start is not detected.
  std::string RestoreProcessCpus();
  // The slot at a table index below task_count_ (nullptr otherwise), whatever its state
  // or generation.
  Task* Slot(uint32_t index) const;
  // The live or removed task `id` names: nullptr when its slot was never used or holds
  // another generation now. The answer can be out of date at once unless the caller holds
  // table_mutex_ (slots are reused under it).
  Task* Lookup(TaskId id) const;
  int QueueIndexOf(const ClassicQueue* queue) const;
  // A removed task's slot of queue `queue` that a new task can take, or nullptr; takes it
  // off removed_. Under table_mutex_.
  // `all`: look at every removed slot, not just the newest few.
  Task* TakeRemovedSlot(int queue, bool all);
  // Offers the slot of a task whose removal has begun (complete, or completing when its
  // body returns) for reuse.
  void Recycle(Task* task);
  void ReportLoop();
  void LogReports();
  absl::StatusOr<TaskId> Create(const std::string& name, int64_t period_ns,
                                std::function<void()> body);
  TaskStats StatsOf(const Task& task) const;

  const Plan plan_;
  const SchedulerOptions options_;
  std::vector<std::unique_ptr<ClassicQueue>> queues_;
  std::vector<std::unique_ptr<Processor>> processors_;
  // The threads process_level_cpuset was applied to, with the CPUs each had before.
  std::vector<std::pair<pid_t, CpuSet>> cpus_before_;
  std::atomic<bool> shut_down_{false};
  // Set once Shutdown has joined every processor.
  std::atomic<bool> joined_{false};
  // This scheduler counts in EnableNotifierTracing (until it has stopped).
  bool records_notifiers_ = false;
  // The reporter thread: logs what processors hand over (deadline misses, overruns,
  // exceptions), so that no processor ever blocks on the logging library's lock.
  std::atomic<uint32_t> report_word_{0};
  std::atomic<bool> reporter_stop_{false};
  std::thread reporter_;
  std::mutex shutdown_mutex_;

  // Task table: fixed chunks, so lookups need no lock and tasks never move. Declared before
  // the queues, which point into it.
  TaskTable tasks_;
  std::atomic<uint32_t> task_count_{0};
  mutable std::mutex table_mutex_;  // CreateTask, names_, removed_, reported_, threads_
  // Per queue, the slots of removed tasks, for reuse by tasks of the same queue (a slot
  // keeps its queue: a stale notifier may still read Task::queue).
  std::vector<std::vector<uint32_t>> removed_;
  // Live tasks by name: a set of task indices hashed and compared by their task's name
  // (4 bytes a task; the name lives in the task only).
  struct NameOf {
    const Scheduler* scheduler;
    absl::string_view operator()(uint32_t index) const { return scheduler->TaskAt(index)->name; }
    absl::string_view operator()(absl::string_view name) const { return name; }
  };
  struct NameHash {
    using is_transparent = void;
    NameOf name_of;
    template <typename K>
    size_t operator()(const K& key) const {
      return absl::Hash<absl::string_view>{}(name_of(key));
    }
  };
  struct NameEq {
    using is_transparent = void;
    NameOf name_of;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return name_of(a) == name_of(b);
    }
  };
  // The task at a table index (allocated; no bounds check against task_count_).
  Task* TaskAt(uint32_t index) const;
  absl::flat_hash_set<uint32_t, NameHash, NameEq> names_{0, NameHash{NameOf{this}},
                                                         NameEq{NameOf{this}}};
  std::set<std::string> reported_;
  uint64_t unnamed_tasks_ = 0;
  std::vector<ThreadRecord> threads_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_SCHEDULER_H_
