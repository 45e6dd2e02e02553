// Who notified: the notify side of the timeline trace. A trace draws an arrow from the
// thread that notified a task to the run that notify started, so the notifying thread's
// kernel tid has to reach the run. ClassicQueue::Notify calls RecordNotifier where a notify
// starts an activation (an idle task queued, a running task marked to run again); the
// processor reads Task::trace_notifier when the run starts. Periodic releases need no
// hook: the processor knows a run is a timer release from Task::release_ns.
//
// While no scheduler in the process records a trace (the default), RecordNotifier is one
// relaxed load of a global and a predictable branch. While one does, it is one more
// relaxed store of the calling thread's tid, cached per thread (no syscall per notify).
// The flag is process-wide, so tasks of a scheduler that does not trace get the store too
// (nobody reads it).
#ifndef CADENCE_SCHEDULER_TRACE_NOTIFIER_H_
#define CADENCE_SCHEDULER_TRACE_NOTIFIER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "scheduler/task.h"

namespace cadence {
namespace trace_internal {

// Schedulers of this process that record a trace (see EnableNotifierTracing).
inline std::atomic<int> notifier_tracing{0};

// The calling thread's kernel tid, cached (0: not looked up yet; reset in a forked child).
inline thread_local pid_t cached_tid = 0;

// Looks the tid up and caches it.
pid_t LookUpTid();

}  // namespace trace_internal

// The calling thread's kernel tid; a syscall only on a thread's first call.
inline pid_t CachedTid() {
  const pid_t tid = trace_internal::cached_tid;
  return tid != 0 ? tid : trace_internal::LookUpTid();
}

// Records the calling thread as the notifier of the activation it just started (hot path:
// no lock, no allocation, no syscall after a thread's first call).
inline void RecordNotifier(Task* task) {
  if (trace_internal::notifier_tracing.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    task->trace_notifier.store(CachedTid(), std::memory_order_relaxed);
  }
}

// A scheduler that records a trace calls Enable when it starts and Disable when it has
// stopped: while the count is above 0, RecordNotifier records.
void EnableNotifierTracing();
void DisableNotifierTracing();

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_TRACE_NOTIFIER_H_
