#include "scheduler/trace/notifier.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

namespace cadence {
namespace trace_internal {

pid_t LookUpTid() {
  cached_tid = static_cast<pid_t>(syscall(SYS_gettid));
  return cached_tid;
}

}  // namespace trace_internal

void EnableNotifierTracing() {
  // A forked child's only thread has a new tid: forget the parent's.
  static std::once_flag once;
  std::call_once(once,
                 [] { pthread_atfork(nullptr, nullptr, [] { trace_internal::cached_tid = 0; }); });
  trace_internal::notifier_tracing.fetch_add(1, std::memory_order_relaxed);
}

void DisableNotifierTracing() {
  trace_internal::notifier_tracing.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace cadence
