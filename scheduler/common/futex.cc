#include "scheduler/common/futex.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace cadence {
namespace {

absl::Status Refused(const char* op, int error) {
  return absl::FailedPreconditionError(absl::StrCat(
      "the kernel refuses futex(", op, "): ", std::strerror(error),
      "; cadence's processors sleep and wake on futexes (a seccomp profile must allow futex "
      "with FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_LOCK_PI and FUTEX_UNLOCK_PI, "
      "private)"));
}

long Futex(uint32_t* word, int op, uint32_t value, const struct timespec* timeout,
           uint32_t bitset) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, bitset);
}

}  // namespace

absl::Status CheckFutexes(bool pi_too) {
  uint32_t word = 1;
  // A wait for a value the word does not have returns EAGAIN at once.
  if (Futex(&word, FUTEX_WAIT_PRIVATE, 0, nullptr, 0) != -1 || errno != EAGAIN) {
    return Refused("FUTEX_WAIT_PRIVATE", errno);
  }
  const struct timespec past = {0, 0};
  if (Futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, FUTEX_BITSET_MATCH_ANY) != -1 ||
      errno != EAGAIN) {
    return Refused("FUTEX_WAIT_BITSET_PRIVATE", errno);
  }
  if (Futex(&word, FUTEX_WAKE_PRIVATE, 1, nullptr, 0) < 0) {
    return Refused("FUTEX_WAKE_PRIVATE", errno);
  }
  if (!pi_too) return absl::OkStatus();
  // Locking a free PI word takes it (the word becomes this thread's id) without blocking.
  word = 0;
  if (Futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, nullptr, 0) != 0) {
    return Refused("FUTEX_LOCK_PI_PRIVATE", errno);
  }
  if (Futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr, 0) != 0) {
    return Refused("FUTEX_UNLOCK_PI_PRIVATE", errno);
  }
  return absl::OkStatus();
}

}  // namespace cadence
