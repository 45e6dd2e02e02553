#include "scheduler/policy/classic_queue.h"

#include <sched.h>

#include <algorithm>
#include <bit>
#include <mutex>
#include <utility>

#include "scheduler/common/futex.h"
#include "scheduler/trace/notifier.h"

namespace cadence {

void ClassicQueue::PushLocked(uint32_t index, int level) {
  LevelRing& ring = levels_[level];
  uint32_t at = ring.head + ring.count;
  if (at >= ring.slots.size()) at -= static_cast<uint32_t>(ring.slots.size());
  ring.slots[at] = index;
  ++ring.count;
  nonempty_.store(nonempty_.load(std::memory_order_relaxed) | (1u << level),
                  std::memory_order_release);
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void ClassicQueue::PushFrontLocked(Task* task, int level) {
  LevelRing& ring = levels_[level];
  ring.head = (ring.head == 0 ? static_cast<uint32_t>(ring.slots.size()) : ring.head) - 1;
  ring.slots[ring.head] = task->index;
  ++ring.count;
  nonempty_.store(nonempty_.load(std::memory_order_relaxed) | (1u << level),
                  std::memory_order_release);
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

Task* ClassicQueue::TakeFromBatch(Waiter* self) {
  // Levels above the batch's: queued in the lists (a requeue, a timer) or pending in the
  // inbox. Then the batch goes back (ReturnBatchLocked) and the lock decides.
  const uint32_t above = ~((2u << self->batch_level) - 1);
  while (self->batch_next < self->batch_size) {
    if (((pending_levels_.load(std::memory_order_acquire) |
          nonempty_.load(std::memory_order_acquire)) & above) != 0) {
      return nullptr;
    }
    Task* task = self->batch[self->batch_next++].exchange(nullptr, std::memory_order_acquire);
    if (task == nullptr) continue;    // Unlinked by a remover.
    if (BeginRun(task)) return task;  // Else its removal began meanwhile, and it is dropped.
  }
  return nullptr;
}

void ClassicQueue::FillBatchLocked(Waiter* self, int level) {
  if (!self->batcher) {
    self->batcher = true;
    self->next_batcher = batchers_;
    batchers_ = self;
  }
  self->batch_next = self->batch_size = 0;
  self->batch_level = static_cast<uint8_t>(level);
  // The task just popped came from `level`, the highest one queued; nothing else pushes
  // while the lock is held, so PopLocked keeps taking from `level` while it has tasks.
  int take = std::min(Waiter::kBatch, size_.load(std::memory_order_relaxed) / 2);
  while (take-- > 0 && (nonempty_.load(std::memory_order_relaxed) & (1u << level)) != 0) {
    Task* task = PopLocked();
    // BeginRun will exchange its state: fetch the line for writing while earlier runs go.
    __builtin_prefetch(task, 1, 3);
    self->batch[self->batch_size++].store(task, std::memory_order_relaxed);
  }
}

Task* ClassicQueue::StealLocked(Waiter* self) {
  for (Waiter* w = batchers_; w != nullptr; w = w->next_batcher) {
    if (w == self) continue;
    for (std::atomic<Task*>& slot : w->batch) {  // Oldest first.
      if (slot.load(std::memory_order_relaxed) == nullptr) continue;
      if (Task* task = slot.exchange(nullptr, std::memory_order_acquire)) return task;
    }
  }
  return nullptr;
}

void ClassicQueue::ReturnBatchLocked(Waiter* self) {
  // Back to the front of the level, in order: they were its oldest tasks.
  while (self->batch_size > self->batch_next) {
    Task* task = self->batch[--self->batch_size].exchange(nullptr, std::memory_order_relaxed);
    if (task != nullptr) PushFrontLocked(task, self->batch_level);
  }
  self->batch_next = self->batch_size = 0;
}

Task* ClassicQueue::PopLocked() {
  const uint32_t bits = nonempty_.load(std::memory_order_relaxed);
  if (bits == 0) return nullptr;
  const int level = 31 - std::countl_zero(bits);
  LevelRing& ring = levels_[level];
  Task* task = tasks_->At(ring.slots[ring.head]);
  // Its run writes its statistics on line 2, which nothing touched since its last run.
  __builtin_prefetch(&task->activations, 1, 3);
  if (++ring.head == ring.slots.size()) ring.head = 0;
  if (--ring.count > 0) {
    // The next pop's task: fetch its first line while this one runs, so that its state
    // exchange does not wait for the notifier's CPU then.
    __builtin_prefetch(tasks_->At(ring.slots[ring.head]), 0, 3);
  } else {
    nonempty_.store(bits & ~(1u << level), std::memory_order_relaxed);
  }
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return task;
}

bool ClassicQueue::EraseLocked(Task* task) {
  const int level = task->priority;
  LevelRing& ring = levels_[level];
  const uint32_t capacity = static_cast<uint32_t>(ring.slots.size());
  auto slot = [&](uint32_t i) -> uint32_t& {
    const uint32_t at = ring.head + i;
    return ring.slots[at >= capacity ? at - capacity : at];
  };
  uint32_t i = 0;
  while (i < ring.count && slot(i) != task->index) ++i;
  if (i == ring.count) return false;
  // The later ones move up one place, in order (removal is rare; the pops stay O(1)).
  for (; i + 1 < ring.count; ++i) slot(i) = slot(i + 1);
  if (--ring.count == 0) {
    nonempty_.store(nonempty_.load(std::memory_order_relaxed) & ~(1u << level),
                    std::memory_order_relaxed);
  }
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return true;
}

ClassicQueue::Waiter* ClassicQueue::TakeWaiterLocked(Task* handoff) {
  // Prefer a waiter that is not the timer waiter, so the timer keeps its sleeper.
  Waiter* waiter = idle_;
  if (waiter != nullptr && waiter == timer_waiter_ && waiter->next != nullptr) {
    waiter = waiter->next;
  }
  if (waiter != nullptr) {
    UnregisterLocked(waiter);
    waiter->handoff = handoff;
    waiter->waker_cpu = sched_getcpu();
    waiter->word.store(1, std::memory_order_release);
  }
  return waiter;
}

void ClassicQueue::UnregisterLocked(Waiter* waiter) {
  if (!waiter->registered) return;
  for (Waiter** link = &idle_; *link != nullptr; link = &(*link)->next) {
    if (*link == waiter) {
      *link = waiter->next;
      break;
    }
  }
  waiter->next = nullptr;
  waiter->registered = false;
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  if (timer_waiter_ == waiter) timer_waiter_ = nullptr;
}

void ClassicQueue::DrainInboxLocked() {
  constexpr uint32_t kNone = TaskTable::kNone;
  // Before the inbox is taken: a push that misses this drain sets its bit again.
  if (pending_levels_.load(std::memory_order_relaxed) != 0) {
    pending_levels_.exchange(0, std::memory_order_seq_cst);
  }
  if (InboxEmpty(std::memory_order_relaxed)) return;
  // Newest first: reverse, so tasks enter their levels in notify order. Only the dense
  // link, level and ring arrays are touched here, not the tasks' own lines.
  uint32_t list = inbox_.exchange(kNone, std::memory_order_acquire);
  size_t n = 0;
  for (; list != kNone; list = tasks_->Link(list)) drain_[n++] = list;
  while (n > 0) {
    const uint32_t index = drain_[--n];
    PushLocked(index, tasks_->Level(index));
  }
}

void ClassicQueue::MaybeDrainLocked() {
  // The inbox holds tasks notified after every task in the level lists. So while the
  // highest level queued is at least the highest level pending in the inbox, the next task
  // to run is in the lists (FIFO within a level holds) and the inbox is left alone; it is
  // drained once the lists have nothing as urgent, in one go.
  const uint32_t queued = nonempty_.load(std::memory_order_relaxed);
  if (queued != 0) {
    const uint32_t pending = pending_levels_.load(std::memory_order_seq_cst);
    if (std::bit_width(pending) <= std::bit_width(queued)) return;
  }
  DrainInboxLocked();
}

void ClassicQueue::AddTask(int level) {
  std::lock_guard<PiMutex> lock(mutex_);
  drain_.push_back(TaskTable::kNone);
  GrowLevelLocked(level);
}

void ClassicQueue::ReuseTask(int old_level, int new_level) {
  std::lock_guard<PiMutex> lock(mutex_);
  --levels_[old_level].tasks;
  GrowLevelLocked(new_level);
}

void ClassicQueue::GrowLevelLocked(int level) {
  // The level's ring holds every task of the level at once; it grows by doubling, with
  // what is queued moved to the front of the new one in order.
  LevelRing& ring = levels_[level];
  if (++ring.tasks <= ring.slots.size()) return;
  std::vector<uint32_t> grown(std::max<size_t>(8, 2 * ring.slots.size()), TaskTable::kNone);
  for (uint32_t i = 0; i < ring.count; ++i) {
    grown[i] = ring.slots[(ring.head + i) % ring.slots.size()];
  }
  ring.slots.swap(grown);
  ring.head = 0;
}

bool ClassicQueue::HandOff(Task* task) {
  Waiter* wake = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    // Only when nothing else is queued (else the task would overtake it); not once stopped
    // (the last processor may be leaving: the inbox, which it waits for, is the safe way).
    if (stopped_.load(std::memory_order_relaxed) ||
        nonempty_.load(std::memory_order_relaxed) != 0 ||
        !InboxEmpty(std::memory_order_seq_cst)) {
      return false;
    }
    wake = TakeWaiterLocked(task);
  }
  if (wake == nullptr) return false;
  if (!wake->busy_spin) FutexWake(&wake->word, 1);
  return true;
}

bool ClassicQueue::BeginRun(Task* task) {
  if (task->removing.load(std::memory_order_seq_cst)) {
    // Removed while it was queued outside the level lists (RemoveTask could not unlink
    // it): drop the activation and wake the remover.
    task->body = nullptr;
    task->state.store(Task::With(task->state.load(std::memory_order_relaxed), Task::kRemoved),
                      std::memory_order_seq_cst);
    FutexWake(&task->state, INT32_MAX);
    return false;
  }
  // kQueued -> kRunning, generation kept: the popped task is in no list, so nothing else
  // changes its state now (coalescing notifies write it unchanged). An RMW, not a store: it
  // reads the last coalescing notify's CAS (acq_rel), so what that notifier wrote before
  // notifying happens-before the run.
  static_assert(Task::kRunning == Task::kQueued + 1);
  task->state.fetch_add(Task::kRunning - Task::kQueued, std::memory_order_acq_rel);
  return true;
}

void ClassicQueue::WakeOneSleeper() {
  Waiter* wake = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    wake = TakeWaiterLocked();
  }
  if (wake != nullptr && !wake->busy_spin) FutexWake(&wake->word, 1);
}

ClassicQueue::NotifyResult ClassicQueue::Notify(Task* task, uint32_t generation) {
  uint32_t state = task->state.load(std::memory_order_acquire);
  // The slot of a removed task, now another task's: nothing of it is touched.
  if (Task::GenerationOf(state) != generation) return NotifyResult::kRemoved;
  task->notifies.fetch_add(1, std::memory_order_relaxed);
  // A task whose removal has begun (RemoveTask returned, or is waiting for the running
  // activation) takes no more notifies, also while its last run is still going.
  if (task->removing.load(std::memory_order_acquire)) return NotifyResult::kRemoved;
  while (true) {
    // Every compare-and-swap below compares the whole word, generation included.
    if (Task::GenerationOf(state) != generation) return NotifyResult::kRemoved;
    switch (Task::StateOf(state)) {
      case Task::kIdle: {
        if (task->removing.load(std::memory_order_acquire)) return NotifyResult::kRemoved;
        notifying_.fetch_add(1, std::memory_order_seq_cst);
        if (stopped_.load(std::memory_order_seq_cst)) {
          notifying_.fetch_sub(1, std::memory_order_release);
          return NotifyResult::kStopped;
        }
        if (!task->state.compare_exchange_strong(state, Task::With(state, Task::kQueued),
                                                 std::memory_order_acq_rel)) {
          notifying_.fetch_sub(1, std::memory_order_release);
          continue;  // Changed meanwhile; `state` holds the new value.
        }
        // Read while the task is surely this generation's (queued, not yet pushed, it can
        // be neither run nor removed).
        const uint32_t level_bit = 1u << task->priority;
        if (task->timed.load(std::memory_order_relaxed)) {
          task->notify_ns.store(MonotonicNowNs(), std::memory_order_relaxed);
        }
        RecordNotifier(task);  // Timeline trace: who started this activation.
        if (sleepers_.load(std::memory_order_seq_cst) > 0 && HandOff(task)) {
          notifying_.fetch_sub(1, std::memory_order_release);
          return NotifyResult::kQueued;
        }
        uint32_t& link = tasks_->Link(task->index);
        uint32_t head = inbox_.load(std::memory_order_relaxed);
        do {
          link = head;
        } while (!inbox_.compare_exchange_weak(head, task->index, std::memory_order_seq_cst,
                                               std::memory_order_relaxed));
        if ((pending_levels_.load(std::memory_order_seq_cst) & level_bit) == 0) {
          pending_levels_.fetch_or(level_bit, std::memory_order_seq_cst);
        }
        notifying_.fetch_sub(1, std::memory_order_release);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) WakeOneSleeper();
        return NotifyResult::kQueued;
      }
      case Task::kQueued:
      case Task::kRunningNotified:
        // A run is pending and will start after this notify: coalesce. The RMW (not a
        // plain load) publishes the notifier's writes to that run.
        if (task->state.compare_exchange_weak(state, state, std::memory_order_acq_rel)) {
          task->coalesced.fetch_add(1, std::memory_order_relaxed);
          return NotifyResult::kCoalesced;
        }
        continue;
      case Task::kRunning:
        if (task->state.compare_exchange_weak(state, Task::With(state, Task::kRunningNotified),
                                              std::memory_order_acq_rel)) {
          if (task->timed.load(std::memory_order_relaxed)) {
            task->notify_ns.store(MonotonicNowNs(), std::memory_order_relaxed);
          }
          RecordNotifier(task);  // Timeline trace: who started this activation.
          return NotifyResult::kRunAgain;
        }
        continue;
      default:
        return NotifyResult::kRemoved;
    }
  }
}

Task* ClassicQueue::TakeBatched(Waiter* self) {
  // A long run gives the rest of the batch back (WaitPop), so that it waits behind one long
  // run at most while other processors may be idle.
  if (self->batching && self->batch_next < self->batch_size) return TakeFromBatch(self);
  return nullptr;
}

Task* ClassicQueue::WaitPop(Waiter* self) {
  bool spun = false;
  while (true) {
    int64_t deadline = 0;
    Task* task = nullptr;
    Waiter* hand_over = nullptr;
    bool wait_for_notifiers = false;
    bool spin = false;
    bool yield = false;
    {
      std::lock_guard<PiMutex> lock(mutex_);
      UnregisterLocked(self);  // After a timeout it is still on the idle list.
      if (self->batch_next < self->batch_size) ReturnBatchLocked(self);
      const bool stopped = stopped_.load(std::memory_order_seq_cst);
      if (self->handoff != nullptr) {
        // Handed over while its sleep timed out (it did not see `word` set).
        task = std::exchange(self->handoff, nullptr);
        if (BeginRun(task)) return task;
      }
      if (!timers_.empty() && !stopped) ReleaseDueLocked(MonotonicNowNs());
      MaybeDrainLocked();
      task = PopLocked();
      if (task != nullptr && self->batching && timers_.empty()) {
        FillBatchLocked(self, task->priority);
      }
      // Nothing queued: what another processor holds in its batch is the next work (it
      // may be preempted, or busy in a run longer than its last).
      if (task == nullptr) task = StealLocked(self);
      if (task != nullptr) {
        // More work queued, or timers nobody sleeps on: wake an idle processor for them.
        if (size_.load(std::memory_order_relaxed) > 0 ||
            pending_levels_.load(std::memory_order_relaxed) != 0 ||
            (!timers_.empty() && timer_waiter_ == nullptr && !stopped)) {
          hand_over = TakeWaiterLocked();
        }
      } else if (stopped) {
        // Drained. A notifier that saw the queue still running may be pushing right now:
        // wait for it, then drain again (it returned kQueued, so its task must run).
        if (notifying_.load(std::memory_order_seq_cst) == 0 &&
            InboxEmpty(std::memory_order_seq_cst)) {
          return nullptr;
        }
        wait_for_notifiers = true;
      } else if (!spun && !self->busy_spin && timers_.empty()) {
        // Below, out of the lock: spin briefly before going to sleep (not on a queue with
        // timers: its processors sleep until the next release at once). On the CPU of the
        // thread that last woke it, yield instead: that thread was preempted by the
        // wake-up, and cannot notify while this processor spins.
        spun = true;
        const int cpu = sched_getcpu();  // -1 when it cannot tell: spin, as before.
        if (cpu >= 0 && self->waker_cpu == cpu) {
          yield = true;
        } else {
          spin = true;
        }
      } else {
        self->word.store(0, std::memory_order_relaxed);
        self->next = idle_;
        idle_ = self;
        self->registered = true;
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        if (!InboxEmpty(std::memory_order_seq_cst)) {
          UnregisterLocked(self);  // A notify raced with registering: take it.
          continue;
        }
        if (!timers_.empty() && timer_waiter_ == nullptr) {
          timer_waiter_ = self;
          deadline = timers_[0]->detail->next_release_ns;
        }
      }
    }
    if (task != nullptr) {
      if (hand_over != nullptr && !hand_over->busy_spin) FutexWake(&hand_over->word, 1);
      // Out of the lock: the exchange usually waits for the task's line, which a notifier
      // wrote last. Popped, the task is in no list, so a remover cannot unlink it and
      // waits for BeginRun to drop it or for the run to end.
      if (BeginRun(task)) return task;
      continue;
    }
    if (wait_for_notifiers) {
      sched_yield();  // Only at shutdown, for the few instructions of a racing push.
      continue;
    }
    if (yield) {
      // Returns at once when nothing else is runnable here (then it sleeps below); else
      // the waker notifies on without waking this processor, which takes all of it next.
      self->yields.store(self->yields.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
      sched_yield();
      continue;
    }
    if (spin) {
      // Just ran out of work: a notify in the next few microseconds is likely (a producer
      // in full flow), and a futex sleep plus wake-up costs far more (tens of us on a VM,
      // and a syscall in the notifier). So look at the inbox for kSpinBeforeSleepNs first,
      // then sleep. Bounded, and only after work: an idle processor does not spin.
      const int64_t until = MonotonicNowNs() + kSpinBeforeSleepNs;
      do {
        for (int i = 0; i < 16 && InboxEmpty(std::memory_order_relaxed); ++i) {
          __builtin_ia32_pause();
        }
      } while (InboxEmpty(std::memory_order_relaxed) && MonotonicNowNs() < until);
      continue;
    }
    self->sleeps.store(self->sleeps.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
    if (self->busy_spin) {
      while (self->word.load(std::memory_order_acquire) == 0) {
        if (deadline > 0 && MonotonicNowNs() >= deadline) break;
        __builtin_ia32_pause();
      }
    } else if (deadline > 0) {
      while (self->word.load(std::memory_order_acquire) == 0) {
        if (!FutexWaitUntil(&self->word, 0, deadline)) break;
      }
    } else {
      while (self->word.load(std::memory_order_acquire) == 0) FutexWait(&self->word, 0);
    }
    // Woken with a task handed over: run it without the lock (the notifier unregistered
    // this waiter, so nobody else writes `handoff` now).
    if (self->word.load(std::memory_order_acquire) != 0 && self->handoff != nullptr) {
      Task* handed = std::exchange(self->handoff, nullptr);
      if (BeginRun(handed)) return handed;
    }
  }
}

void ClassicQueue::Requeue(Task* task) {
  Waiter* wake = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    // An RMW for the same reason as in WaitPop: notifies coalesced while the task was
    // kRunningNotified must happen-before the run that covers them.
    task->state.exchange(Task::With(task->state.load(std::memory_order_relaxed), Task::kQueued),
                         std::memory_order_seq_cst);
    PushLocked(task->index, task->priority);
    wake = TakeWaiterLocked();
  }
  if (wake != nullptr && !wake->busy_spin) FutexWake(&wake->word, 1);
}

bool ClassicQueue::Unlink(Task* task) {
  std::lock_guard<PiMutex> lock(mutex_);
  const uint32_t queued = task->state.load(std::memory_order_acquire);
  if (Task::StateOf(queued) != Task::kQueued) return false;
  // It may still be in the inbox, or a notifier may be about to push it: only a task in a
  // level list can be unlinked here (otherwise the processor that pops it drops it).
  DrainInboxLocked();
  if (!EraseLocked(task)) {
    // Not in its level: in a processor's batch, unless the processor took it first.
    for (Waiter* w = batchers_; w != nullptr; w = w->next_batcher) {
      for (std::atomic<Task*>& slot : w->batch) {
        Task* expected = task;
        if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
          task->state.store(Task::With(queued, Task::kRemoved), std::memory_order_release);
          return true;
        }
      }
    }
    return false;
  }
  task->state.store(Task::With(queued, Task::kRemoved), std::memory_order_release);
  return true;
}

void ClassicQueue::ReleaseLocked(Task* task, int64_t release) {
  task->detail->releases.fetch_add(1, std::memory_order_relaxed);
  uint32_t state = task->state.load(std::memory_order_acquire);
  while (true) {
    switch (Task::StateOf(state)) {
      case Task::kIdle:
        if (task->removing.load(std::memory_order_acquire)) return;
        if (!task->state.compare_exchange_weak(state, Task::With(state, Task::kQueued),
                                               std::memory_order_acq_rel)) {
          continue;
        }
        task->detail->release_ns.store(release, std::memory_order_relaxed);
        task->notify_ns.store(release, std::memory_order_relaxed);
        PushLocked(task->index, task->priority);
        return;
      case Task::kRunning:
        if (!task->state.compare_exchange_weak(state, Task::With(state, Task::kRunningNotified),
                                               std::memory_order_acq_rel)) {
          continue;
        }
        task->detail->release_ns.store(release, std::memory_order_relaxed);
        task->notify_ns.store(release, std::memory_order_relaxed);
        return;
      case Task::kQueued:
      case Task::kRunningNotified:
        // The previous activation has not started yet: this release is skipped, not
        // stacked up behind it.
        task->detail->deadline_misses.fetch_add(1, std::memory_order_relaxed);
        return;
      default:
        return;
    }
  }
}

void ClassicQueue::ReleaseDueLocked(int64_t now) {
  while (!timers_.empty() && timers_[0]->detail->next_release_ns <= now) {
    Task* task = timers_[0];
    if (task->removing.load(std::memory_order_acquire)) {
      TimerRemoveAt(0);
      continue;
    }
    const int64_t release = task->detail->next_release_ns;
    const int64_t period = static_cast<int64_t>(task->period_ns());
    ReleaseLocked(task, release);
    int64_t next = release + period;
    if (next <= now) {
      // Later than a whole period: skip the missed releases (counted), no catch-up burst.
      const int64_t skipped = (now - release) / period;
      task->detail->deadline_misses.fetch_add(static_cast<uint64_t>(skipped), std::memory_order_relaxed);
      next = release + (skipped + 1) * period;
    }
    task->detail->next_release_ns = next;
    TimerSiftDown(0);
  }
}

void ClassicQueue::TimerSiftUp(int i) {
  while (i > 0) {
    const int parent = (i - 1) / 2;
    if (timers_[parent]->detail->next_release_ns <= timers_[i]->detail->next_release_ns) break;
    std::swap(timers_[parent], timers_[i]);
    timers_[parent]->detail->timer_index = parent;
    timers_[i]->detail->timer_index = i;
    i = parent;
  }
}

void ClassicQueue::TimerSiftDown(int i) {
  const int n = static_cast<int>(timers_.size());
  while (true) {
    int least = i;
    for (int child : {2 * i + 1, 2 * i + 2}) {
      if (child < n && timers_[child]->detail->next_release_ns < timers_[least]->detail->next_release_ns) {
        least = child;
      }
    }
    if (least == i) return;
    std::swap(timers_[least], timers_[i]);
    timers_[least]->detail->timer_index = least;
    timers_[i]->detail->timer_index = i;
    i = least;
  }
}

void ClassicQueue::TimerRemoveAt(int i) {
  Task* removed = timers_[i];
  removed->detail->timer_index = -1;
  Task* last = timers_.back();
  timers_.pop_back();
  if (last == removed) return;
  timers_[i] = last;
  last->detail->timer_index = i;
  TimerSiftDown(i);
  TimerSiftUp(i);
}

void ClassicQueue::AddTimer(Task* task, int64_t first_release_ns) {
  Waiter* wake = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    if (task->period_ns() == 0 || task->detail->timer_index >= 0) return;
    task->detail->next_release_ns = first_release_ns;
    task->detail->timer_index = static_cast<int>(timers_.size());
    timers_.push_back(task);
    TimerSiftUp(task->detail->timer_index);
    if (task->detail->timer_index == 0) {
      // The earliest release changed: the timer waiter re-arms (or an idle processor
      // becomes the timer waiter).
      wake = timer_waiter_ != nullptr ? timer_waiter_ : idle_;
      if (wake != nullptr) {
        UnregisterLocked(wake);
        wake->word.store(1, std::memory_order_release);
      }
    }
  }
  if (wake != nullptr && !wake->busy_spin) FutexWake(&wake->word, 1);
}

void ClassicQueue::RemoveTimer(Task* task) {
  std::lock_guard<PiMutex> lock(mutex_);
  if (task->detail != nullptr && task->detail->timer_index >= 0) {
    TimerRemoveAt(task->detail->timer_index);
  }
}

void ClassicQueue::Stop() {
  Waiter* wake_all = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    stopped_.store(true, std::memory_order_seq_cst);
    wake_all = idle_;
    idle_ = nullptr;
    timer_waiter_ = nullptr;
    sleepers_.store(0, std::memory_order_relaxed);
    for (Waiter* w = wake_all; w != nullptr; w = w->next) {
      w->registered = false;
      w->word.store(1, std::memory_order_release);
    }
  }
  for (Waiter* w = wake_all; w != nullptr;) {
    Waiter* next = w->next;  // Read before waking: the waiter may reuse its node.
    if (!w->busy_spin) FutexWake(&w->word, 1);
    w = next;
  }
}

}  // namespace cadence
