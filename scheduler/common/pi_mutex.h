// PiMutex: a priority-inheritance mutex (PTHREAD_PRIO_INHERIT). A real-time processor that
// waits for a lock held by a lower-priority thread lends that thread its priority, so the
// wait is bounded by the (tiny) critical section instead of by whatever else runs at the
// lower priority. Uncontended lock/unlock are a single atomic operation each, no syscall.
//
// A PI mutex never spins in user space: glibc goes to the kernel (FUTEX_LOCK_PI) on the
// first collision, and a sleep plus a wake-up costs tens of microseconds on a VM — far more
// than the O(1) critical sections it guards here. So lock() first spins a bounded number of
// times (kSpins pauses, about a microsecond), reading the lock word and trying the lock only
// when it looks free, and only then blocks with priority inheritance. The spin is bounded,
// so a holder that was preempted still gets the priority boost after at most that long.
#ifndef CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
#define CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_

#include <pthread.h>

namespace cadence {

class PiMutex {
 public:
  PiMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&mutex_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~PiMutex() { pthread_mutex_destroy(&mutex_); }
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  static constexpr int kSpins = 64;

  // Locks (BasicLockable, so std::lock_guard works).
  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      // glibc's lock word: 0 when free (the owner's tid otherwise).
      if (__atomic_load_n(&mutex_.__data.__lock, __ATOMIC_RELAXED) == 0 &&
          pthread_mutex_trylock(&mutex_) == 0) {
        return;
      }
      __builtin_ia32_pause();
    }
    pthread_mutex_lock(&mutex_);
  }
  // Unlocks.
  void unlock() { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
