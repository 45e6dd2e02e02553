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
// Then a real-time waiter blocks in FUTEX_LOCK_PI, and the unlock hands it the lock. So
// does a thread that holds another PiMutex (it may itself be boosted, and the kernel passes
// a boost down a chain of PI futexes only). Any other waiter (SCHED_OTHER, SCHED_BATCH,
// SCHED_IDLE) cannot lend a priority (the kernel boosts a holder only to a real-time or
// deadline waiter's priority), so it does not queue on the PI futex: it sleeps on a second
// futex word, and an unlock that frees the lock wakes one such sleeper, which then competes
// for the lock like any other thread. A hand-over would make the lock wait for the sleeper
// to be scheduled while the thread that just unlocked wants it back for its next O(1)
// section: a lock convoy, which is what two SCHED_BATCH processors of one queue did under a
// steady load (docs/performance.md, "W2 two workers, by policy").
//
// One 64-bit word holds it all, so that unlock learns from its own compare-and-swap whether
// to wake a sleeper and touches no memory of the mutex after releasing it (a thread that
// takes the lock next may destroy it at once, as std::mutex allows):
// - bits 0-31: the PI futex word, in the kernel's protocol: 0 when free, else the owner's
//   thread id, with FUTEX_WAITERS set by the kernel while real-time waiters are queued
//   (unlock then goes through FUTEX_UNLOCK_PI, which hands the lock to the highest of them;
//   that new owner's unlock wakes the sleepers);
// - bits 32-47: the sleepers (threads of other policies sleeping, or about to, on bits
//   32-63, the second futex word);
// - bits 48-63: a sequence, bumped by every unlock that wakes a sleeper, so that a sleeper
//   about to wait sees the word changed and does not miss that wake-up.
//
// Limits: a thread's id is cached per thread and reset in a fork()ed child (pthread_atfork);
// a child made by _Fork() or a raw clone() must not use a PiMutex its parent's thread used.
// A FUTEX_LOCK_PI error other than EINTR/EAGAIN (a recursive lock, an owner that exited
// holding it, a kernel without PI futexes) makes the waiter sleep as an ordinary one.
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
    ThreadState& self = Self();
    for (int i = 0; i < kSpins; ++i) {
      if (Free(state_.load(std::memory_order_relaxed)) && TryLock(self.tid)) return Acquired(self);
      __builtin_ia32_pause();
    }
    if (self.held > 0 || RealTimeCaller()) {
      LockPi(self.tid);
    } else {
      LockSleeping(self.tid);
    }
    Acquired(self);
  }

  // Locks if the lock is free; true when it did.
  bool try_lock() {
    ThreadState& self = Self();
    if (!TryLock(self.tid)) return false;
    Acquired(self);
    return true;
  }

  // The holder's thread id; 0 when the lock is free.
  uint32_t owner() const {
    return static_cast<uint32_t>(state_.load(std::memory_order_relaxed)) & FUTEX_TID_MASK;
  }

  // Unlocks.
  void unlock() {
#if defined(__SANITIZE_THREAD__)
    __tsan_release(this);
#endif
    --Self().held;
    uint32_t* const pi_word = PiWord();
    uint32_t* const sleep_word = SleepWord();
    uint64_t state = state_.load(std::memory_order_relaxed);
    while (true) {
      if ((state & FUTEX_WAITERS) != 0) {
        // The kernel hands the lock to the highest real-time waiter; the sleepers are woken
        // by that owner's unlock.
        while (syscall(SYS_futex, pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, nullptr, nullptr, 0) != 0 &&
               errno == EINTR) {
        }
        return;
      }
      const bool wake = (state & kSleepersMask) != 0;
      const uint64_t released = (state & ~kOwnerMask) + (wake ? kSequenceOne : 0);
      if (state_.compare_exchange_weak(state, released, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        // By address only: the mutex may be gone already.
        if (wake) syscall(SYS_futex, sleep_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
        return;
      }
    }
  }

 private:
  static constexpr uint64_t kOwnerMask = 0xffffffffu;
  static constexpr uint64_t kSleeperOne = uint64_t{1} << 32;
  static constexpr uint64_t kSleepersMask = uint64_t{0xffff} << 32;
  static constexpr uint64_t kSequenceOne = uint64_t{1} << 48;

  struct ThreadState {
    // The thread's id, 0 until its first lock (and in a fork()ed child).
    uint32_t tid;
    // PiMutexes it holds now.
    uint32_t held;
  };

  static ThreadState& Self() {
    ThreadState& self = Tls();
    if (__builtin_expect(self.tid == 0, 0)) self.tid = static_cast<uint32_t>(syscall(SYS_gettid));
    return self;
  }
  static ThreadState& Tls() {
    // initial-exec: no __tls_get_addr call in position-independent code.
    __attribute__((tls_model("initial-exec"))) static thread_local ThreadState state{0, 0};
    return state;
  }
  // The forking thread is the child's only thread, with an id of its own. Registered when
  // the program starts (registering from within a fork handler would deadlock in glibc).
  static inline const bool reset_tid_on_fork_ =
      pthread_atfork(nullptr, nullptr, [] { Tls().tid = 0; }) == 0;

  static bool Free(uint64_t state) { return (state & kOwnerMask) == 0; }

  // Only on the slow path (the thread is about to sleep anyway): the policy is read when
  // needed, so a thread whose policy changed since its last lock is still served right.
  static bool RealTimeCaller() {
    const int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    return policy == SCHED_FIFO || policy == SCHED_RR || policy == 6 /* SCHED_DEADLINE */;
  }

  bool TryLock(uint32_t tid) {
    uint64_t state = state_.load(std::memory_order_relaxed);
    while (Free(state)) {
      // Fails also when only the sleepers changed: then tries again.
      if (state_.compare_exchange_weak(state, state | tid, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  void Acquired(ThreadState& self) {
    ++self.held;
#if defined(__SANITIZE_THREAD__)
    // The kernel's hand-over (FUTEX_UNLOCK_PI -> FUTEX_LOCK_PI) is invisible to TSan.
    __tsan_acquire(this);
#endif
  }

  void LockPi(uint32_t tid) {
    while (true) {
      if (TryLock(tid)) return;
      // Returns with the lock held (taken by the kernel, or handed over by FUTEX_UNLOCK_PI).
      if (syscall(SYS_futex, PiWord(), FUTEX_LOCK_PI_PRIVATE, 0, nullptr, nullptr, 0) == 0) {
        return;
      }
      // EINTR: a signal; EAGAIN: the owner is exiting. Anything else would fail again.
      if (errno != EINTR && errno != EAGAIN) return LockSleeping(tid);
    }
  }

  void LockSleeping(uint32_t tid) {
    uint64_t state = state_.load(std::memory_order_relaxed);
    while (true) {
      if (Free(state)) {
        if (state_.compare_exchange_weak(state, state | tid, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
          return;
        }
        continue;
      }
      // Counted in the same word the unlock releases: either this sees the lock free, or
      // that unlock sees the sleeper and bumps the sequence this waits on.
      const uint64_t counted = state + kSleeperOne;
      if (!state_.compare_exchange_weak(state, counted, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        continue;
      }
      // Returns at once if the upper half changed meanwhile (a wake-up's sequence, or
      // another sleeper counted).
      syscall(SYS_futex, SleepWord(), FUTEX_WAIT_PRIVATE, static_cast<uint32_t>(counted >> 32),
              nullptr, nullptr, 0);
      state = state_.fetch_sub(kSleeperOne, std::memory_order_relaxed) - kSleeperOne;
      for (int i = 0; i < kSpins && !Free(state); ++i) {
        __builtin_ia32_pause();
        state = state_.load(std::memory_order_relaxed);
      }
    }
  }

  // The two futex words (x86-64 is little-endian: bits 0-31 come first).
  uint32_t* PiWord() { return reinterpret_cast<uint32_t*>(&state_); }
  uint32_t* SleepWord() { return reinterpret_cast<uint32_t*>(&state_) + 1; }

  alignas(8) std::atomic<uint64_t> state_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_PI_MUTEX_H_
