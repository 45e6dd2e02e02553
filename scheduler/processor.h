// Processor: one OS thread that serves one ClassicQueue. It is named so ps/top show it
// (`<group>/<index>`, at most 15 characters), applies its policy, priority and CPUs before
// it takes its first task, records what it asked for and what it got, and then runs
// tasks until its queue is stopped and drained.
#ifndef CADENCE_SCHEDULER_PROCESSOR_H_
#define CADENCE_SCHEDULER_PROCESSOR_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/config/plan.h"
#include "scheduler/policy/classic_queue.h"
#include "scheduler/trace/trace_ring.h"

namespace cadence {

// What a processor did so far.
struct ProcessorStats {
  std::string name;
  pid_t tid = 0;
  uint64_t activations = 0;
  // Times it went to sleep for lack of work (each followed by a wake-up).
  uint64_t sleeps = 0;
  // Times it ran out of work on the CPU of the thread that last woke it (a notifier or
  // another processor of its queue) and yielded there instead of spinning (a sign that it
  // shares a CPU with that thread).
  uint64_t yields = 0;
  // Time spent running tasks, including the run in progress.
  uint64_t busy_ns = 0;
  // Since the processor started.
  uint64_t alive_ns = 0;
  // Its timeline trace buffer: capacity (0: tracing is off, there is no buffer), runs
  // recorded, and the oldest of those overwritten because it was full.
  uint64_t trace_capacity = 0;
  uint64_t trace_recorded = 0;
  uint64_t trace_dropped = 0;
};

class Processor {
 public:
  // `report_word` is the scheduler's reporter thread's futex word: the processor sets it
  // and wakes the thread when it hands over an event to log (see Task::report).
  // `trace_events` > 0 allocates a TraceRing of that many events, to which every run is
  // appended; 0 records nothing (the hot path tests a null pointer).
  Processor(const ProcessorPlan& plan, ClassicQueue* queue, std::atomic<uint32_t>* report_word,
            size_t trace_events = 0);
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  // Starts the thread and waits until it has applied its attributes. In strict mode a
  // refused request fails start-up (the thread exits); otherwise the fallback is logged in
  // one line. Returns the error when the attributes could not be applied at all, or when
  // the thread could not be created (ResourceExhausted when the limit on threads is
  // reached; see thread_creation.h).
  absl::Status Start(FallbackMode mode);

  // Waits for the thread to finish (after its queue was stopped).
  void Join();

  // The plan entry it was made from.
  const ProcessorPlan& plan() const { return plan_; }

  // Requested vs effective attributes (valid after Start).
  const AppliedAttributes& applied() const { return applied_; }

  // The thread's kernel id (valid after Start).
  pid_t tid() const { return tid_; }

  // A snapshot of its statistics.
  ProcessorStats Stats() const;

  // For the scheduler's reporter thread: the last exception a task threw on this
  // processor that was not logged yet (false when none). Clears it.
  bool TakeExceptionReport(std::string* task_name, std::string* what, uint64_t* count);

  // Whether an exception report of `task` waits for the reporter (which will read the
  // task's name): its slot must not be reused until it has been taken.
  bool HoldsExceptionReport(const Task* task) const {
    return exception_task_.load(std::memory_order_acquire) == task;
  }

  // Its trace buffer (nullptr when tracing is off). Its events may be read once the
  // thread has been joined.
  const TraceRing* trace_ring() const { return trace_.get(); }

 private:
  void Run();
  // Runs one timed activation, started at start_ns (0: now); returns when it ended.
  int64_t RunOne(Task* task, int64_t start_ns);
  // Runs one activation of a task that is not timed: no clock read.
  void RunUntimed(Task* task);
  // Runs the body; returns whether it threw (reported).
  bool RunBody(Task* task);
  // Records the CPU the task ran on in its statistics; returns it.
  int NoteCpu(Task* task);
  // Running -> Idle, or queued again when notified meanwhile, or the removal completed.
  void EndActivation(Task* task);
  // Counts a stretch of `runs` untimed runs, from `since` to `now`, as busy, and lets the
  // processor batch when they averaged under ClassicQueue::kBatchRunNs.
  void EndUntimedStretch(int64_t since, int64_t now, int runs);
  void Report(Task* task, uint8_t what);
  void ReportException(Task* task, const char* what);
  void WakeReporter();

  const ProcessorPlan plan_;
  ClassicQueue* const queue_;
  std::atomic<uint32_t>* const report_word_;
  const std::unique_ptr<TraceRing> trace_;
  ClassicQueue::Waiter waiter_;
  std::thread thread_;
  pid_t tid_ = 0;
  AppliedAttributes applied_;
  absl::Status start_status_;
  int64_t start_ns_ = 0;
  std::atomic<uint64_t> activations_{0};
  std::atomic<uint64_t> busy_ns_{0};
  // Start of the run, or of the stretch of untimed runs, in progress (0: none), so that
  // Stats() counts it as busy.
  std::atomic<int64_t> running_since_{0};
  // The exception handed to the reporter: exception_what_ belongs to the processor while
  // exception_task_ is null, and to the reporter while it is set.
  std::atomic<Task*> exception_task_{nullptr};
  char exception_what_[160] = {};
};

// The task the calling thread is running, or nullptr outside a task body.
Task* CurrentTask();

// The ideal release time (CLOCK_MONOTONIC ns) of the periodic release the calling task
// body is running for, or 0 when this activation is not a periodic release.
int64_t CurrentRelease();

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_PROCESSOR_H_
