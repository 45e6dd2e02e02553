// ClassicQueue: one multi-priority task queue — 20 levels (0-19, higher runs first, FIFO
// within a level) — served by one or more processors. A classic group has one; in
// choreography each processor has its own (so a task placed there runs only on that
// thread) and the pool has one.
//
// A notify takes no lock: it moves the task kIdle -> kQueued with one compare-and-swap and
// pushes it onto the queue's lock-free inbox (a Treiber stack of task indices, linked in the
// TaskTable's dense link arrays so that draining it does not chase one task cache line
// after another); a coalesced notify is a
// single compare-and-swap. Only the processors take the queue's priority-inheritance lock,
// for O(1) critical sections: move the inbox into the 20 level lists (FIFO order restored),
// pop the highest level. So a producer never waits for a processor, and a processor never
// waits for a producer. An idle processor registers itself (`sleepers_`) and sleeps on its
// own futex word with no timeout; a notify that finds a sleeper takes the lock just to
// wake exactly one of them (the Dekker pair: the sleeper increments `sleepers_` then
// re-reads the inbox; the notifier pushes then reads `sleepers_`, all sequentially
// consistent). When the queue is empty and a processor sleeps, the notifier hands the task
// to it directly (Waiter::handoff): the woken processor then starts the run without taking
// the lock or reading the inbox, which the notifier just wrote. A processor whose runs are
// short (under kBatchRunNs) pops a batch of up to Waiter::kBatch tasks of the top level per
// lock hold and runs them without the lock; the batch goes back to the front of its level
// when something more urgent is queued or after a long run, and an idle processor takes
// from another's batch before it sleeps (see WaitPop). A processor that runs out of work
// watches the inbox for kSpinBeforeSleepNs before it sleeps, unless it runs on the CPU of
// the thread that last woke it: that thread (a producer in full flow) was preempted by the
// wake-up and cannot notify while the processor spins, so the processor yields once
// (sched_yield: to that thread when both are SCHED_OTHER/BATCH; a real-time processor's
// yield passes only to its own priority) and, if nothing came meanwhile, sleeps. Without
// that, a producer and a processor sharing a CPU ping-pong on every notify (wake, preempt,
// one run, sleep); with it, the producer notifies on without waking anyone and the
// processor takes what it queued in one go when it gets the CPU. Nothing here allocates or
// logs.
//
// Periodic tasks are released by the queue itself: it keeps their next release times in a
// min-heap, and one idle processor (the timer waiter) sleeps on its futex with the earliest
// release as an absolute CLOCK_MONOTONIC deadline. The kernel's high-resolution timer then
// wakes the very thread that runs the task — one wake-up, as in cyclictest, no timer thread
// and no tick. The other idle processors sleep with no timeout.
#ifndef CADENCE_SCHEDULER_POLICY_CLASSIC_QUEUE_H_
#define CADENCE_SCHEDULER_POLICY_CLASSIC_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/pi_mutex.h"
#include "scheduler/task.h"

namespace cadence {

class alignas(64) ClassicQueue {
 public:
  static constexpr int kLevels = 20;
  // How long a processor that just ran out of work watches the inbox before it sleeps.
  static constexpr int64_t kSpinBeforeSleepNs = 5000;

  // What a notify did.
  enum class NotifyResult { kQueued, kCoalesced, kRunAgain, kRemoved, kStopped };

  // An idle processor's wait slot.
  struct Waiter {
    std::atomic<uint32_t> word{0};
    // A task a notifier handed straight to this sleeping processor (state kQueued), set
    // under the lock before `word`; read after `word` is seen set, or under the lock.
    Task* handoff = nullptr;
    Waiter* next = nullptr;
    // CPU the thread that last woke this waiter ran on (-1: none yet), set under the lock.
    int waker_cpu = -1;
    // Times its owner slept for lack of work, and times it ran out of work on the waker's
    // CPU and yielded there (see WaitPop). Written by the owner only, just before it
    // sleeps or yields (so a sleeping processor's counts are current); read by anyone.
    std::atomic<uint64_t> sleeps{0};
    std::atomic<uint64_t> yields{0};
    bool busy_spin = false;
    // On the idle list (guarded by the queue's lock).
    bool registered = false;

    // Run batching (see WaitPop). Tasks popped together with a task WaitPop returned (all
    // of one level, state kQueued, in no list), to be run next without taking the lock.
    // Filled under the lock; a slot is emptied by the owner (exchange, when it takes the
    // task), by Unlink (compare-and-swap under the lock, when the task is removed) or by
    // another processor that found nothing queued (exchange under the lock, to run it):
    // whichever empties it owns the task. The rest only the owner touches.
    static constexpr int kBatch = 16;
    std::atomic<Task*> batch[kBatch] = {};
    // On the queue's list of waiters that took a batch (guarded by the lock).
    Waiter* next_batcher = nullptr;
    bool batcher = false;
    uint8_t batch_next = 0;
    uint8_t batch_size = 0;
    uint8_t batch_level = 0;
    // Set by the processor: its last run (or its last stretch of untimed runs, on average)
    // took less than kBatchRunNs, so it may take a batch.
    bool batching = false;
  };

  // `tasks` holds the tasks that will be queued here (their inbox links and levels).
  ClassicQueue(std::string name, TaskTable* tasks) : name_(std::move(name)), tasks_(tasks) {}

  const std::string& name() const { return name_; }

  // Notifies a task of this queue (see task.h for the state machine); wakes one idle
  // processor when it queued the task. `generation` is the notified TaskId's: a slot that
  // holds another generation now (its task was removed, the slot reused) gives kRemoved.
  NotifyResult Notify(Task* task, uint32_t generation);

  // A processor whose last run was shorter than this may pop a batch of runs at once.
  static constexpr int64_t kBatchRunNs = 2000;

  // The next task of the caller's batch (see WaitPop), in state kRunning, without locking
  // or waiting; nullptr when the batch is empty or must go back to the queue (a more urgent
  // task is pending), and then the caller calls WaitPop.
  Task* TakeBatched(Waiter* self);

  // Blocks until a task can run (returned in state kRunning) or the queue is stopped and
  // empty (returns nullptr). Counts the caller's sleeps and yields in `self`. The caller
  // tries TakeBatched first.
  //
  // Batching: while a processor's runs are short (self->batching) and the queue has a
  // backlog, one lock hold pops up to Waiter::kBatch tasks of the top level (at most half of
  // what is queued, so that other processors find as much), and TakeBatched returns them
  // without the lock. A batch is given back to the front of its level as soon as a more
  // urgent task is queued or pending, so priorities hold as before; within a level, FIFO
  // holds per processor. A run that turns out long gives the rest of its batch back at the
  // next call, and a processor that finds nothing queued takes from another processor's
  // batch before it sleeps, so a blocked run holds nothing another processor could run.
  // Not on queues with timers (their releases are checked at each pop).
  Task* WaitPop(Waiter* self);

  // After a run that was notified meanwhile (kRunningNotified): queues the task again.
  // Returns false when the task is being removed instead.
  void Requeue(Task* task);

  // Removes a queued task from its level or from a processor's batch (state kQueued ->
  // kRemoved); returns false when it could not: not queued any more, or still being pushed
  // by its notifier, or just taken from a batch — then the processor that runs it drops it
  // (its `removing` is set) and wakes futex waiters on its state.
  bool Unlink(Task* task);

  // Counts a task of level `level` created for this queue (before its first notify): the
  // processors' drain buffer and the level's ring grow to hold every task of the queue at
  // once. Allocates; call it when the task is created.
  void AddTask(int level);

  // A removed task's slot of this queue (state kRemoved, so in no list) is reused for a new
  // task of level `new_level`: the level rings are sized again, the drain buffer stays.
  // Allocates when the new level's ring grows.
  void ReuseTask(int old_level, int new_level);

  // Starts releasing a periodic task (task->period_ns > 0) at first_release_ns, then every
  // period. Allocates (the heap may grow): call it when the task is created.
  void AddTimer(Task* task, int64_t first_release_ns);

  // Stops releasing a periodic task (no-op when it has no timer).
  void RemoveTimer(Task* task);

  // Stops the queue: notifies are refused; processors drain what is queued, then exit.
  void Stop();

  // Number of tasks queued now in the level lists (not counting the inbox).
  int Size() const { return size_.load(std::memory_order_relaxed); }

 private:
  // Counts one more task of `level`; grows its ring when it is full.
  void GrowLevelLocked(int level);
  void PushLocked(uint32_t index, int level);
  void PushFrontLocked(Task* task, int level);
  Task* TakeFromBatch(Waiter* self);
  void FillBatchLocked(Waiter* self, int level);
  void ReturnBatchLocked(Waiter* self);
  Task* StealLocked(Waiter* self);
  Task* PopLocked();
  // Takes a task out of its level's ring; false when it is not there.
  bool EraseLocked(Task* task);
  bool InboxEmpty(std::memory_order order) const {
    return inbox_.load(order) == TaskTable::kNone;
  }
  void DrainInboxLocked();
  void MaybeDrainLocked();
  void WakeOneSleeper();
  Waiter* TakeWaiterLocked(Task* handoff = nullptr);
  bool HandOff(Task* task);
  bool BeginRun(Task* task);
  void UnregisterLocked(Waiter* waiter);
  void ReleaseDueLocked(int64_t now);
  void ReleaseLocked(Task* task, int64_t release);
  void TimerSiftUp(int i);
  void TimerSiftDown(int i);
  void TimerRemoveAt(int i);

  // Cache lines by who writes them (a notifier must not share a line with what the
  // processors write for every pop, nor the other way round).
  // Read by notifiers, written at creation and by Stop only.
  const std::string name_;
  TaskTable* const tasks_;
  std::atomic<bool> stopped_{false};

  // The processors' side, under the lock.
  alignas(64) PiMutex mutex_;
  // The level lists: per level, a ring of task indices in FIFO order (dense, so that moving
  // a task through its level touches no line of the task itself), sized by AddTask to the
  // tasks of the level, as a task is queued at most once.
  struct LevelRing {
    std::vector<uint32_t> slots;
    uint32_t head = 0;   // The oldest queued task's slot.
    uint32_t count = 0;  // Tasks queued.
    uint32_t tasks = 0;  // Tasks of this level created for the queue.
  };
  LevelRing levels_[kLevels];
  // Bit i set: level i is not empty. Written under the lock; busy-spinning processors
  // read it without.
  std::atomic<uint32_t> nonempty_{0};
  std::atomic<int> size_{0};
  Waiter* idle_ = nullptr;
  // Waiters that ever took a batch, for Unlink to look into.
  Waiter* batchers_ = nullptr;
  // The inbox's indices, newest first, while DrainInboxLocked reverses them; sized to the
  // tasks of the queue (each is in the inbox at most once), so draining never allocates.
  std::vector<uint32_t> drain_;
  // Periodic tasks by next release (min-heap on Task::next_release_ns).
  std::vector<Task*> timers_;
  // The idle processor sleeping until timers_[0]'s release, if any.
  Waiter* timer_waiter_ = nullptr;

  // Written by every queuing notify.
  // Notified tasks not yet in the level lists: the index of the newest, linked to the older
  // ones by TaskTable::Link (TaskTable::kNone: empty).
  alignas(64) std::atomic<uint32_t> inbox_{TaskTable::kNone};
  // Notifiers between their `stopped_` check and the end of their push: a stopped queue's
  // last processor waits for them before it exits, so no queued notify is ever stranded.
  alignas(64) std::atomic<int> notifying_{0};

  // Bit l set: the inbox may hold a task of level l. Set by a notifier after its push (read
  // first, so while it is set notifiers only read it), cleared by the drain before it takes
  // the inbox. A processor working through a backlog reads this word, which stays in its
  // cache, instead of the inbox, which every queuing notify writes (see MaybeDrainLocked).
  alignas(64) std::atomic<uint32_t> pending_levels_{0};

  // Processors registered on idle_ (read by notifiers without the lock).
  alignas(64) std::atomic<int> sleepers_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_POLICY_CLASSIC_QUEUE_H_
