// TraceRing: one processor's timeline buffer — a fixed-capacity ring of TraceEvents, one
// per task run, that keeps the most recent `capacity` runs and counts the older ones it
// overwrote.
//
// It is written by exactly one thread (its processor) and allocates only when it is
// constructed: the events are zero-filled there, so the pages are touched before the
// processor takes work and recording never page-faults, allocates, locks, logs or makes a
// syscall. Readers copy the events out once the writer has stopped (Scheduler::WriteTrace
// runs after the processors are joined); the counters may be read at any time.
#ifndef CADENCE_SCHEDULER_TRACE_TRACE_RING_H_
#define CADENCE_SCHEDULER_TRACE_TRACE_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cadence {

struct Task;

// One task run on a processor (40 bytes). Times are CLOCK_MONOTONIC nanoseconds.
struct TraceEvent {
  // What happened around the run (bits).
  enum Flags : uint16_t {
    kPeriodicRelease = 1,  // The run was a timer release; notify_ns is the ideal release.
    kDeadlineMiss = 2,     // It started more than one period after its release.
    kException = 4,        // The body threw.
    kOverrun = 8,          // It ran longer than the task's budget.
  };
  // `notifier` of a timer release, and of an activation whose notifier is not known (the
  // notify happened before tracing was on).
  static constexpr int32_t kTimerRelease = -1;
  static constexpr int32_t kUnknownNotifier = 0;

  int64_t start_ns = 0;
  int64_t end_ns = 0;
  // The notify that started this activation (for a periodic release: the ideal release
  // time); 0 when unknown.
  int64_t notify_ns = 0;
  // The task (tasks never move and live as long as their scheduler).
  const Task* task = nullptr;
  // Kernel tid of the notifying thread, or kTimerRelease / kUnknownNotifier.
  int32_t notifier = kUnknownNotifier;
  uint16_t flags = 0;
  // The CPU the run ended on (-1: unknown).
  int16_t cpu = -1;
};

class TraceRing {
 public:
  // Allocates and zero-fills room for `capacity` events (at least 1).
  explicit TraceRing(size_t capacity);
  TraceRing(const TraceRing&) = delete;
  TraceRing& operator=(const TraceRing&) = delete;

  // Appends an event, overwriting the oldest one when the ring is full (single writer).
  void Append(const TraceEvent& event) {
    events_[next_] = event;
    if (++next_ == capacity_) next_ = 0;
    appended_.store(appended_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // The events it holds, oldest first. Only while the writer is stopped (or before it
  // started).
  std::vector<TraceEvent> Events() const;

  // How many events it can hold.
  size_t capacity() const { return capacity_; }

  // Events appended since construction (any thread, any time).
  uint64_t appended() const { return appended_.load(std::memory_order_acquire); }

  // Events overwritten because the ring was full (any thread, any time).
  uint64_t dropped() const {
    const uint64_t n = appended();
    return n > capacity_ ? n - capacity_ : 0;
  }

 private:
  const size_t capacity_;
  std::unique_ptr<TraceEvent[]> events_;
  // The writer's next slot.
  size_t next_ = 0;
  std::atomic<uint64_t> appended_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_TRACE_TRACE_RING_H_
