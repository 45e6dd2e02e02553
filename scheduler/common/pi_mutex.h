// PiMutex: a priority-inheritance mutex (PTHREAD_PRIO_INHERIT). A real-time processor that
// waits for a lock held by a lower-priority thread lends that thread its priority, so the
// wait is bounded by the (tiny) critical section instead of by whatever else runs at the
// lower priority. Uncontended lock/unlock are a single atomic operation each, no syscall.
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

  // Locks (BasicLockable, so std::lock_guard works).
  void lock() { pthread_mutex_lock(&mutex_); }
  // Unlocks.
  void unlock() { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
