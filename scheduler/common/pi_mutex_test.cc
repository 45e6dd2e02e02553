#include "scheduler/common/pi_mutex.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/testing/thread_state.h"
#include "scheduler/common/thread_attributes.h"

namespace cadence {
namespace {

using test_support::SleepsInFutex;
using test_support::WaitForThread;

// Sets the calling thread's policy (strictly: the test machines allow every policy).
void Become(SchedPolicy policy, int rt_priority, const CpuSet& cpus = CpuSet()) {
  ThreadAttributes attributes;
  attributes.policy = policy;
  attributes.rt_priority = rt_priority;
  attributes.cpus = cpus;
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(CurrentTid(), attributes, FallbackMode::kStrict);
  ASSERT_TRUE(applied.ok()) << applied.status();
}

TEST(PiMutexTest, OwnerIsTheLockingThreadAndZeroWhenFree) {
  PiMutex mutex;
  EXPECT_EQ(mutex.owner(), 0u);
  mutex.lock();
  EXPECT_EQ(mutex.owner(), static_cast<uint32_t>(CurrentTid()));
  mutex.unlock();
  EXPECT_EQ(mutex.owner(), 0u);
  EXPECT_TRUE(mutex.try_lock());
  std::thread other([&] { EXPECT_FALSE(mutex.try_lock()); });
  other.join();
  mutex.unlock();
}

// The kernel lends a real-time waiter's priority to the holder it waits for: an ordinary
// holder then runs at the waiter's priority until it unlocks.
TEST(PiMutexTest, RealTimeWaiterBoostsAnOrdinaryHolderToItsPriority) {
  PiMutex mutex;
  std::atomic<pid_t> holder_tid{0};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    mutex.lock();
    holder_tid.store(CurrentTid());
    holder_tid.notify_all();
    release.wait(false);
    mutex.unlock();
  });
  holder_tid.wait(0);
  const pid_t tid = holder_tid.load();
  std::atomic<bool> locked{false};
  std::thread waiter([&] {
    Become(SchedPolicy::kFifo, 30);
    mutex.lock();
    locked.store(true);
    mutex.unlock();
  });
  // -1 - 30: SCHED_FIFO 30, lent by the waiter; the holder itself stays SCHED_OTHER.
  EXPECT_TRUE(WaitForThread(tid, [](const ProcThread& t) { return t.priority == -31; }));
  absl::StatusOr<ProcThread> boosted = ReadProcThread(0, tid);
  ASSERT_TRUE(boosted.ok());
  EXPECT_EQ(boosted->policy, SCHED_OTHER);
  EXPECT_FALSE(locked.load());
  release.store(true);
  release.notify_all();
  holder.join();
  waiter.join();
  EXPECT_TRUE(locked.load());
}

// A real-time waiter blocked in the kernel is handed the lock by the unlock itself, so the
// thread that unlocked cannot take it back before the waiter ran.
TEST(PiMutexTest, RealTimeWaiterIsHandedTheLockOnUnlock) {
  PiMutex mutex;
  std::atomic<pid_t> holder_tid{0};
  std::atomic<bool> unlock_now{false};
  std::atomic<bool> retaken{true};
  std::thread holder([&] {
    mutex.lock();
    holder_tid.store(CurrentTid());
    holder_tid.notify_all();
    unlock_now.wait(false);
    mutex.unlock();
    const bool took = mutex.try_lock();
    retaken.store(took);
    if (took) mutex.unlock();
  });
  holder_tid.wait(0);
  const pid_t tid = holder_tid.load();
  std::atomic<bool> waiter_owns{false};
  std::atomic<bool> waiter_release{false};
  std::thread waiter([&] {
    Become(SchedPolicy::kFifo, 30);
    mutex.lock();
    waiter_owns.store(mutex.owner() == static_cast<uint32_t>(CurrentTid()));
    waiter_release.wait(false);
    mutex.unlock();
  });
  // Boosted: the waiter is queued on the PI futex.
  ASSERT_TRUE(WaitForThread(tid, [](const ProcThread& t) { return t.priority == -31; }));
  unlock_now.store(true);
  unlock_now.notify_all();
  holder.join();
  EXPECT_FALSE(retaken.load());
  waiter_release.store(true);
  waiter_release.notify_all();
  waiter.join();
  EXPECT_TRUE(waiter_owns.load());
}

// A waiter of an ordinary policy cannot lend a priority, so it is not handed the lock: an
// unlock frees it, and the thread that unlocked may take it again at once (else two
// processors of one queue convoy on the lock). The waiter is SCHED_IDLE on the holder's
// CPU, so it cannot run between the unlock and the try_lock.
TEST(PiMutexTest, OrdinaryWaiterDoesNotKeepTheUnlockingThreadFromRelocking) {
  PiMutex mutex;
  const CpuSet cpu0 = CpuSet::Of({0});
  std::atomic<bool> held{false};
  std::atomic<bool> unlock_now{false};
  std::atomic<bool> retaken{false};
  std::thread holder([&] {
    Become(SchedPolicy::kOther, 0, cpu0);
    mutex.lock();
    held.store(true);
    held.notify_all();
    unlock_now.wait(false);
    mutex.unlock();
    const bool took = mutex.try_lock();
    retaken.store(took);
    if (took) mutex.unlock();
  });
  std::atomic<pid_t> waiter_tid{0};
  std::atomic<bool> locked{false};
  std::thread waiter([&] {
    Become(SchedPolicy::kIdle, 0, cpu0);
    held.wait(false);
    waiter_tid.store(CurrentTid());
    waiter_tid.notify_all();
    mutex.lock();
    locked.store(true);
    mutex.unlock();
  });
  waiter_tid.wait(0);
  // Asleep: the only place it can sleep after publishing its id is in lock().
  ASSERT_TRUE(WaitForThread(waiter_tid.load(), [](const ProcThread& t) { return t.state == 'S'; }));
  EXPECT_FALSE(locked.load());
  unlock_now.store(true);
  unlock_now.notify_all();
  holder.join();
  EXPECT_TRUE(retaken.load());
  waiter.join();
  EXPECT_TRUE(locked.load());
}

// A boost passes down a chain of holders: a real-time thread waits for A, held by a
// thread that waits for B; B's holder runs at the real-time priority too.
TEST(PiMutexTest, BoostPassesDownAChainOfHolders) {
  PiMutex a;
  PiMutex b;
  std::atomic<pid_t> last_tid{0};
  std::atomic<bool> release{false};
  std::thread last([&] {  // Holds B.
    b.lock();
    last_tid.store(CurrentTid());
    last_tid.notify_all();
    release.wait(false);
    b.unlock();
  });
  last_tid.wait(0);
  std::atomic<pid_t> middle_tid{0};
  std::thread middle([&] {  // Holds A, waits for B.
    a.lock();
    middle_tid.store(CurrentTid());
    middle_tid.notify_all();
    b.lock();
    b.unlock();
    a.unlock();
  });
  middle_tid.wait(0);
  ASSERT_TRUE(WaitForThread(middle_tid.load(), [](const ProcThread& t) { return t.state == 'S'; }));
  std::thread first([&] {  // Waits for A.
    Become(SchedPolicy::kFifo, 30);
    a.lock();
    a.unlock();
  });
  EXPECT_TRUE(
      WaitForThread(middle_tid.load(), [](const ProcThread& t) { return t.priority == -31; }));
  EXPECT_TRUE(
      WaitForThread(last_tid.load(), [](const ProcThread& t) { return t.priority == -31; }));
  release.store(true);
  release.notify_all();
  last.join();
  middle.join();
  first.join();
}

// As with std::mutex, the next holder may destroy the mutex as soon as it has unlocked it:
// the unlock that let it in touches no memory of the mutex after releasing it (under
// AddressSanitizer, a touch would be reported here).
TEST(PiMutexTest, NextHolderMayDestroyTheMutexRightAfterUnlock) {
  constexpr int kRounds = 20000;
  std::atomic<PiMutex*> handed{nullptr};
  std::atomic<int> done{0};
  std::thread next([&] {
    for (int i = 0; i < kRounds; ++i) {
      PiMutex* mutex;
      while ((mutex = handed.load(std::memory_order_acquire)) == nullptr) {
        std::this_thread::yield();
      }
      handed.store(nullptr, std::memory_order_relaxed);
      while (!mutex->try_lock()) {
      }
      mutex->unlock();
      delete mutex;
      done.store(i + 1, std::memory_order_release);
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    PiMutex* mutex = new PiMutex;
    mutex->lock();
    handed.store(mutex, std::memory_order_release);
    while (handed.load(std::memory_order_relaxed) != nullptr) {
      std::this_thread::yield();
    }
    mutex->unlock();
    while (done.load(std::memory_order_acquire) != i + 1) std::this_thread::yield();
  }
  next.join();
  EXPECT_EQ(done.load(), kRounds);
}

// FUTEX_LOCK_PI fails for good when the holder exited without unlocking (ESRCH): the
// real-time waiter then sleeps as an ordinary one (forever, as with any mutex whose owner
// is gone) instead of retrying the syscall in a loop at its real-time priority.
TEST(PiMutexTest, RealTimeWaiterForALockWhoseOwnerExitedSleepsInsteadOfSpinning) {
  static PiMutex abandoned;  // Static: the waiter below never returns.
  std::thread owner([] { abandoned.lock(); });
  owner.join();
  std::atomic<pid_t> waiter_tid{0};
  std::thread waiter([&waiter_tid] {
    Become(SchedPolicy::kFifo, 30);
    waiter_tid.store(CurrentTid());
    waiter_tid.notify_all();
    abandoned.lock();
  });
  waiter_tid.wait(0);
  const pid_t tid = waiter_tid.load();
  waiter.detach();
  ASSERT_TRUE(WaitForThread(tid, [](const ProcThread& t) { return t.state == 'S'; }));
  // And it stays asleep in futex, using no CPU (a retry loop would be seen running).
  EXPECT_EQ(SleepsInFutex(tid), "");
}

// Threads of every kind of policy hammer one lock: each increment of the (plain) counter is
// done by exactly one holder at a time, and none is lost. Under ThreadSanitizer this also
// checks that a lock handed over by the kernel orders the holders' accesses.
TEST(PiMutexTest, ExcludesThreadsOfMixedPoliciesUnderContention) {
  PiMutex mutex;
  constexpr int kRounds = 20000;
  const SchedPolicy policies[] = {SchedPolicy::kOther, SchedPolicy::kOther, SchedPolicy::kBatch,
                                  SchedPolicy::kFifo, SchedPolicy::kRr};
  uint64_t counter = 0;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::latch ready(std::size(policies));
  std::vector<std::thread> threads;
  for (SchedPolicy policy : policies) {
    threads.emplace_back([&, policy] {
      const bool real_time = policy == SchedPolicy::kFifo || policy == SchedPolicy::kRr;
      Become(policy, real_time ? 20 : 0);
      ready.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        mutex.lock();
        // Relaxed: only the lock may order one holder's increment before the next's.
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0) overlaps.fetch_add(1);
        ++counter;
        inside.fetch_sub(1, std::memory_order_relaxed);
        mutex.unlock();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(counter, std::size(policies) * static_cast<uint64_t>(kRounds));
  EXPECT_EQ(mutex.owner(), 0u);
}

// The owner id is cached per thread; a forked child's thread has an id of its own, and the
// lock must carry that one (the kernel finds the holder to boost, and checks the unlocker,
// by it).
TEST(PiMutexTest, ForkedChildLocksWithItsOwnThreadId) {
  PiMutex mutex;
  mutex.lock();  // Caches this thread's id.
  mutex.unlock();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    mutex.lock();
    const bool own = mutex.owner() == static_cast<uint32_t>(CurrentTid());
    mutex.unlock();
    _exit(own && mutex.owner() == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace cadence
