// Creating an OS thread without dying when the kernel refuses one. std::thread's
// constructor throws std::system_error when pthread_create fails — EAGAIN when the user's
// RLIMIT_NPROC (`ulimit -u`), the cgroup's pids.max or kernel.threads-max is reached — and
// an uncaught exception ends the process in std::terminate with no word on why. Every
// thread the runtime starts (processors, the reporter, the state server, StartThread)
// goes through CreateThread, which turns that failure into an absl::Status naming the
// thread and the limit.
#ifndef CADENCE_SCHEDULER_COMMON_THREAD_CREATION_H_
#define CADENCE_SCHEDULER_COMMON_THREAD_CREATION_H_

#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cadence {

// The status for a thread `what` (e.g. "processor rt/0") that could not be created because
// pthread_create failed with `error` (an errno value): "<what>: cannot create its thread:
// <reason> (<what to check>)". ResourceExhausted for EAGAIN (naming the limits, with the
// current RLIMIT_NPROC) and ENOMEM, PermissionDenied for EPERM, Internal otherwise.
absl::Status ThreadCreationError(absl::string_view what, int error);

// Starts std::thread(body). Returns the thread, or ThreadCreationError(what, ...) when the
// thread could not be created (`body` is then destroyed without having run).
template <typename F>
absl::StatusOr<std::thread> CreateThread(absl::string_view what, F&& body) {
  try {
    return std::thread(std::forward<F>(body));
  } catch (const std::system_error& error) {
    return ThreadCreationError(what, error.code().value());
  }
}

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_THREAD_CREATION_H_
