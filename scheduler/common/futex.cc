#include "scheduler/common/futex.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace cadence {
namespace {

// What the kernel did instead: a failure's errno, or the unexpected return value (a
// seccomp filter may make a call "succeed" without running it).
std::string Outcome(long result, int error, const char* expected) {
  if (result == -1) return std::strerror(error);
  return absl::StrCat("returned ", result, " instead of ", expected);
}

absl::Status SleepRefused(const char* op, long result, int error, const char* expected) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the kernel refuses futex(", op, "): ", Outcome(result, error, expected),
      "; cadence's processors sleep and are woken on futexes (a seccomp profile must allow "
      "futex with FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_LOCK_PI and "
      "FUTEX_UNLOCK_PI, private)"));
}

long Futex(uint32_t* word, int op, uint32_t value, const struct timespec* timeout,
           uint32_t bitset) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, bitset);
}

}  // namespace

absl::Status CheckFutexes(std::string* pi_refused) {
  pi_refused->clear();
  uint32_t word = 1;
  // A wait for a value the word does not have returns EAGAIN at once (for the bitset wait,
  // before its timeout is looked at).
  long r = Futex(&word, FUTEX_WAIT_PRIVATE, 0, nullptr, 0);
  if (r != -1 || errno != EAGAIN) {
    return SleepRefused("FUTEX_WAIT_PRIVATE", r, errno, "failing with EAGAIN");
  }
  const struct timespec past = {0, 0};
  r = Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, FUTEX_BITSET_MATCH_ANY);
  if (r != -1 || errno != EAGAIN) {
    return SleepRefused("FUTEX_WAIT_BITSET_PRIVATE", r, errno, "failing with EAGAIN");
  }
  r = Futex(&word, FUTEX_WAKE_PRIVATE, 1, nullptr, 0);
  if (r != 0) return SleepRefused("FUTEX_WAKE_PRIVATE", r, errno, "waking 0 threads");
  // Locking a free PI word takes it (the word becomes this thread's id) without blocking.
  word = 0;
  r = Futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, nullptr, 0);
  if (r != 0) {
    *pi_refused = absl::StrCat(
        "the kernel refuses futex(FUTEX_LOCK_PI_PRIVATE): ", Outcome(r, errno, "0"),
        "; a real-time thread waiting for a queue lock cannot lend its priority to the "
        "thread holding it (no priority inheritance)");
    return absl::OkStatus();
  }
  r = Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr, 0);
  if (r != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the kernel refuses futex(FUTEX_UNLOCK_PI_PRIVATE) but allows FUTEX_LOCK_PI: ",
        Outcome(r, errno, "0"),
        "; a queue lock taken by the kernel for a waiter could never be released (a seccomp "
        "profile must allow both, or neither)"));
  }
  return absl::OkStatus();
}

}  // namespace cadence
