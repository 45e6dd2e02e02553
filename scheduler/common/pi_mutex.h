// PiMutex: a mutex with priority inheritance for real-time waiters. A real-time thread
// (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE) that waits for a lock held by a lower-priority
// thread lends that thread its priority (the kernel's PI futex, FUTEX_LOCK_PI), so its wait
// is bounded by the (tiny) critical section instead of by whatever else runs at the lower
// priority. Uncontended lock/unlock are a single atomic operation each, no syscall.
//
// lock() first spins a bounded number of times (kSpins pauses, about a microsecond),
// reading the lock word and trying the lock only when it looks free: a sleep plus a
// wake-up costs tens of microseconds on a VM, far more than the O(1) critical sections it
// guards. The spin is bounded, so a preempted holder still gets the boost after that long.
//
// Then a real-time waiter blocks in FUTEX_LOCK_PI, and the unlock hands it the lock. A
// waiter of any other policy (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) cannot lend a priority
// (the kernel boosts a holder only to a real-time or deadline waiter's priority), so it
// does not queue on the PI futex: it sleeps on a second futex word (`wake_seq_`), and an
// unlock that frees the lock wakes one such sleeper, which then competes for the lock like
// any other thread. A hand-over would make the lock wait for the sleeper to be scheduled
// while the thread that just unlocked wants it back for its next O(1) section: a lock
// convoy, which is what two SCHED_BATCH processors of one queue did under a steady load
// (docs/performance.md, "W2 two workers, by policy").
//
// The lock word follows the kernel's PI futex protocol: 0 when free, else the owner's
// thread id, with FUTEX_WAITERS set by the kernel while real-time waiters are queued (then
// unlock goes through FUTEX_UNLOCK_PI, which hands the lock to the highest of them).
#ifndef CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
#define CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace cadence {

class PiMutex {
 public:
  PiMutex() = default;
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  static constexpr int kSpins = 64;

  // Locks (BasicLockable, so std::lock_guard works).
  void lock() {
    const uint32_t tid = CurrentTid();
    for (int i = 0; i < kSpins; ++i) {
      if (word_.load(std::memory_order_relaxed) == 0 && TryLock(tid)) return Acquired();
      __builtin_ia32_pause();
    }
    if (RealTimeCaller()) {
      LockPi(tid);
    } else {
      LockSleeping(tid);
    }
    Acquired();
  }

  // Locks if the lock is free; true when it did.
  bool try_lock() {
    if (!TryLock(CurrentTid())) return false;
    Acquired();
    return true;
  }

  // The holder's thread id; 0 when the lock is free.
  uint32_t owner() const { return word_.load(std::memory_order_relaxed) & FUTEX_TID_MASK; }

  // Unlocks.
  void unlock() {
#if defined(__SANITIZE_THREAD__)
    __tsan_release(this);
#endif
    uint32_t tid = CurrentTid();
    if (!word_.compare_exchange_strong(tid, 0, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
      // FUTEX_WAITERS is set: the kernel hands the lock to the highest real-time waiter
      // (or frees it if that waiter left).
      while (syscall(SYS_futex, WordAddress(), FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr, nullptr, 0) !=
                 0 &&
             errno == EINTR) {
      }
    }
    // The lock may be free now: wake one sleeper of another policy to compete for it (the
    // Dekker pair with LockSleeping: it counts itself, then tries the lock; this frees the
    // lock, then reads the count; both sequentially consistent).
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      wake_seq_.fetch_add(1, std::memory_order_seq_cst);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_seq_), FUTEX_WAKE_PRIVATE, 1, nullptr,
              nullptr, 0);
    }
  }

 private:
  // The calling thread's id, cached per thread (a fork's child forgets it: the forking
  // thread, the child's only one, has a new id there).
  static uint32_t CurrentTid() {
    uint32_t& tid = CachedTid();
    if (__builtin_expect(tid == 0, 0)) {
      static const bool reset_on_fork =
          pthread_atfork(nullptr, nullptr, [] { CachedTid() = 0; }) == 0;
      (void)reset_on_fork;
      tid = static_cast<uint32_t>(syscall(SYS_gettid));
    }
    return tid;
  }
  static uint32_t& CachedTid() {
    thread_local uint32_t tid = 0;
    return tid;
  }

  // Only on the slow path (the thread is about to sleep anyway): the policy is read when
  // needed, so a thread whose policy changed since its last lock is still served right.
  static bool RealTimeCaller() {
    const int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    return policy == SCHED_FIFO || policy == SCHED_RR || policy == 6 /* SCHED_DEADLINE */;
  }

  bool TryLock(uint32_t tid) {
    uint32_t expected = 0;
    return word_.compare_exchange_strong(expected, tid, std::memory_order_seq_cst,
                                         std::memory_order_relaxed);
  }

  void Acquired() {
#if defined(__SANITIZE_THREAD__)
    // The kernel's hand-over (FUTEX_UNLOCK_PI -> FUTEX_LOCK_PI) is invisible to TSan.
    __tsan_acquire(this);
#endif
  }

  void LockPi(uint32_t tid) {
    while (true) {
      if (word_.load(std::memory_order_relaxed) == 0 && TryLock(tid)) return;
      // Returns with the lock held (taken by the kernel, or handed over by FUTEX_UNLOCK_PI);
      // EAGAIN: the owner is exiting, EINTR: a signal; both: try again.
      if (syscall(SYS_futex, WordAddress(), FUTEX_LOCK_PI_PRIVATE, 0, nullptr, nullptr, 0) == 0) {
        return;
      }
    }
  }

  void LockSleeping(uint32_t tid) {
    while (true) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      const uint32_t seq = wake_seq_.load(std::memory_order_seq_cst);
      if (TryLock(tid)) {
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
      // Returns at once if an unlock woke sleepers since `seq` was read.
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_seq_), FUTEX_WAIT_PRIVATE, seq, nullptr,
              nullptr, 0);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      for (int i = 0; i < kSpins; ++i) {
        if (word_.load(std::memory_order_relaxed) == 0 && TryLock(tid)) return;
        __builtin_ia32_pause();
      }
    }
  }

  uint32_t* WordAddress() { return reinterpret_cast<uint32_t*>(&word_); }

  // The PI futex word: 0, or the owner's thread id (| FUTEX_WAITERS).
  std::atomic<uint32_t> word_{0};
  // Threads of other policies sleeping (or about to) on wake_seq_ for the lock.
  std::atomic<uint32_t> sleepers_{0};
  // Bumped by an unlock that wakes one of them.
  std::atomic<uint32_t> wake_seq_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
