#include "scheduler/policy/classic_queue.h"

#include <bit>
#include <mutex>

#include "scheduler/common/futex.h"

namespace cadence {

void ClassicQueue::PushLocked(Task* task) {
  const int level = task->priority;
  task->next = nullptr;
  task->prev = tail_[level];
  if (tail_[level] != nullptr) {
    tail_[level]->next = task;
  } else {
    head_[level] = task;
  }
  tail_[level] = task;
  nonempty_.store(nonempty_.load(std::memory_order_relaxed) | (1u << level),
                  std::memory_order_release);
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

Task* ClassicQueue::PopLocked() {
  const uint32_t bits = nonempty_.load(std::memory_order_relaxed);
  if (bits == 0) return nullptr;
  const int level = 31 - std::countl_zero(bits);
  Task* task = head_[level];
  head_[level] = task->next;
  if (head_[level] != nullptr) {
    head_[level]->prev = nullptr;
  } else {
    tail_[level] = nullptr;
    nonempty_.store(bits & ~(1u << level), std::memory_order_relaxed);
  }
  task->next = task->prev = nullptr;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return task;
}

ClassicQueue::Waiter* ClassicQueue::TakeWaiterLocked() {
  Waiter* waiter = idle_;
  if (waiter != nullptr) {
    idle_ = waiter->next;
    waiter->next = nullptr;
    waiter->word.store(1, std::memory_order_release);
  }
  return waiter;
}

ClassicQueue::NotifyResult ClassicQueue::Notify(Task* task) {
  task->notifies.fetch_add(1, std::memory_order_relaxed);
  // A task whose removal has begun (RemoveTask returned, or is waiting for the running
  // activation) takes no more notifies, also while its last run is still going.
  if (task->removing.load(std::memory_order_acquire)) return NotifyResult::kRemoved;
  uint32_t state = task->state.load(std::memory_order_acquire);
  while (true) {
    switch (state) {
      case Task::kIdle: {
        if (task->removing.load(std::memory_order_acquire)) return NotifyResult::kRemoved;
        Waiter* wake = nullptr;
        {
          std::lock_guard<PiMutex> lock(mutex_);
          if (stopped_.load(std::memory_order_relaxed)) return NotifyResult::kStopped;
          if (!task->state.compare_exchange_strong(state, Task::kQueued,
                                                   std::memory_order_acq_rel)) {
            continue;  // Changed meanwhile; `state` holds the new value.
          }
          task->notify_ns.store(MonotonicNowNs(), std::memory_order_relaxed);
          PushLocked(task);
          wake = TakeWaiterLocked();
        }
        if (wake != nullptr && !wake->busy_spin) FutexWake(&wake->word, 1);
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
        if (task->state.compare_exchange_weak(state, Task::kRunningNotified,
                                              std::memory_order_acq_rel)) {
          task->notify_ns.store(MonotonicNowNs(), std::memory_order_relaxed);
          return NotifyResult::kRunAgain;
        }
        continue;
      default:
        return NotifyResult::kRemoved;
    }
  }
}

Task* ClassicQueue::WaitPop(Waiter* self, uint64_t* waits) {
  while (true) {
    {
      std::lock_guard<PiMutex> lock(mutex_);
      Task* task = PopLocked();
      if (task != nullptr) {
        // An RMW, not a store: it reads the last coalescing notify's CAS (acq_rel), so what
        // that notifier wrote before notifying happens-before the run.
        task->state.exchange(Task::kRunning, std::memory_order_acq_rel);
        return task;
      }
      if (stopped_.load(std::memory_order_relaxed)) return nullptr;
      self->word.store(0, std::memory_order_relaxed);
      self->next = idle_;
      idle_ = self;
    }
    ++*waits;
    if (self->busy_spin) {
      while (self->word.load(std::memory_order_acquire) == 0) {
        __builtin_ia32_pause();
      }
    } else {
      while (self->word.load(std::memory_order_acquire) == 0) FutexWait(&self->word, 0);
    }
  }
}

void ClassicQueue::Requeue(Task* task) {
  Waiter* wake = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    // An RMW for the same reason as in WaitPop: notifies coalesced while the task was
    // kRunningNotified must happen-before the run that covers them.
    task->state.exchange(Task::kQueued, std::memory_order_seq_cst);
    PushLocked(task);
    wake = TakeWaiterLocked();
  }
  if (wake != nullptr && !wake->busy_spin) FutexWake(&wake->word, 1);
}

bool ClassicQueue::Unlink(Task* task) {
  std::lock_guard<PiMutex> lock(mutex_);
  if (task->state.load(std::memory_order_acquire) != Task::kQueued) return false;
  const int level = task->priority;
  if (task->prev != nullptr) {
    task->prev->next = task->next;
  } else {
    head_[level] = task->next;
  }
  if (task->next != nullptr) {
    task->next->prev = task->prev;
  } else {
    tail_[level] = task->prev;
  }
  if (head_[level] == nullptr) {
    nonempty_.store(nonempty_.load(std::memory_order_relaxed) & ~(1u << level),
                    std::memory_order_relaxed);
  }
  task->next = task->prev = nullptr;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  task->state.store(Task::kRemoved, std::memory_order_release);
  return true;
}

void ClassicQueue::Stop() {
  Waiter* wake_all = nullptr;
  {
    std::lock_guard<PiMutex> lock(mutex_);
    stopped_.store(true, std::memory_order_relaxed);
    wake_all = idle_;
    idle_ = nullptr;
    for (Waiter* w = wake_all; w != nullptr; w = w->next) {
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
