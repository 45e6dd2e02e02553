// Futex: the kernel's wait/wake primitive on a 32-bit word, which is what idle processors
// sleep on (no timeout, no polling) and what a notify uses to wake exactly one of them.
#ifndef CADENCE_SCHEDULER_COMMON_FUTEX_H_
#define CADENCE_SCHEDULER_COMMON_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace cadence {

// Sleeps while *word == expected (returns at once if it is not); may wake spuriously, so
// callers re-check their condition in a loop.
inline void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}

// Sleeps while *word == expected, at most until `deadline_ns` (CLOCK_MONOTONIC, absolute,
// on the kernel's high-resolution timers, as clock_nanosleep). Returns false when the
// deadline passed; may wake spuriously.
inline bool FutexWaitUntil(std::atomic<uint32_t>* word, uint32_t expected, int64_t deadline_ns) {
  struct timespec deadline;
  deadline.tv_sec = deadline_ns / 1000000000;
  deadline.tv_nsec = deadline_ns % 1000000000;
  const long r = syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_BITSET_PRIVATE,
                         expected, &deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(r != 0 && errno == ETIMEDOUT);
}

// Wakes up to `count` threads sleeping on *word.
inline void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr,
          0);
}

// Tries, once and without blocking, every futex operation the runtime uses. Returns
// FailedPrecondition naming the operation when the kernel refuses (e.g. a seccomp
// profile's ENOSYS or EPERM) FUTEX_WAIT, FUTEX_WAIT_BITSET or FUTEX_WAKE (processors sleep
// and are woken with them), or FUTEX_UNLOCK_PI while FUTEX_LOCK_PI works (a PI lock could
// be taken and never given back). A refused FUTEX_LOCK_PI is not an error (PiMutex's
// waiters then sleep as ordinary ones, lending no priority): `*pi_refused` says why, and
// is "" when priority inheritance works.
absl::Status CheckFutexes(std::string* pi_refused);

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex word must be 32 bits");

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_FUTEX_H_
