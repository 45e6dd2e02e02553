// Task: the runtime's record of one task — its body, its activation state, where it is
// queued, and its statistics. Internal to the scheduler; users hold a TaskId.
//
// Activation state machine (every transition is an atomic compare-and-swap; the ones into
// and out of kQueued happen under the owning queue's lock):
//   kIdle --notify--> kQueued --processor pops--> kRunning --returns--> kIdle
//   kQueued --notify--> kQueued (coalesced: counted; the pending run covers it)
//   kRunning --notify--> kRunningNotified --returns--> kQueued (runs once more)
//   any --remove--> kRemoved (after a running activation has finished)
//
// The state word also holds the generation of the task's slot (see Task::Word): a removed
// task's slot is given to a later task with the generation incremented, and every
// transition compares the whole word, so a notify through the removed task's TaskId (same
// index, older generation) can never queue or run the task that reuses its slot.
//
// A periodic task (period_ns > 0) is also released by its queue's timer at absolute times
// next = previous + period: a release of an idle task queues it; of a running task makes it
// run once more; of a task whose previous release has not started yet is skipped and counted
// as a deadline miss (so a late task never gets a burst of catch-up runs).
#ifndef CADENCE_SCHEDULER_TASK_H_
#define CADENCE_SCHEDULER_TASK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "scheduler/statistics/latency_histogram.h"

namespace cadence {

class ClassicQueue;

// A handle to a created task; cheap to copy, valid until the task is removed. A removed
// task's slot (index) is reused by a later task under a new generation, so a stale TaskId
// stays invalid (NotFound) rather than naming the new task.
struct TaskId {
  uint32_t index = UINT32_MAX;
  uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
  bool operator==(const TaskId&) const = default;
};

// What only some tasks need: the timing of a periodic task or one with a budget, the
// rate limit of their log lines, and a full wake-latency histogram. Allocated when the task
// is created (never on the hot path) for the tasks the conf names and for periodic tasks;
// a task the conf does not name keeps its wake latency's count and max only, so that it
// costs 192 bytes, not a kilobyte.
struct TaskDetail {
  uint64_t budget_ns = 0;
  uint64_t period_ns = 0;
  // Timer bookkeeping of a periodic task; guarded by the queue's lock.
  int64_t next_release_ns = 0;
  int timer_index = -1;
  // Ideal release time of the pending periodic activation (0: none pending).
  std::atomic<int64_t> release_ns{0};
  // Periodic releases, and releases that started more than one period late or were skipped.
  std::atomic<uint64_t> releases{0};
  std::atomic<uint64_t> deadline_misses{0};
  // Runs longer than budget_ns.
  std::atomic<uint64_t> overruns{0};
  // Rate limit of the deadline-miss and overrun log lines (CLOCK_MONOTONIC ns).
  std::atomic<int64_t> last_log_ns{0};
  // Handed to the reporter with Task::report (see there).
  int64_t report_late_ns = 0;
  uint64_t report_ran_ns = 0;
  LatencyHistogram wake_latency;

};

// Three cache lines, grouped by who writes them: the first is the activation state, which
// notifiers and the processor both touch (it also holds what a run reads, so a run costs
// one line transfer); the second only the processor writes; the third holds the notifiers'
// counters and cold fields.
struct alignas(64) Task {
  enum State : uint32_t { kFree, kIdle, kQueued, kRunning, kRunningNotified, kRemoved };

  // The state word: the State in its low kStateBits bits, the slot's generation above them
  // (below 2^29: a slot is retired before its generation would wrap).
  static constexpr int kStateBits = 3;
  static constexpr uint32_t kStateMask = (1u << kStateBits) - 1;
  static constexpr uint32_t kGenerationMask = UINT32_MAX >> kStateBits;
  static State StateOf(uint32_t word) { return static_cast<State>(word & kStateMask); }
  static uint32_t GenerationOf(uint32_t word) { return word >> kStateBits; }
  static uint32_t Word(uint32_t generation, State s) {
    return (generation & kGenerationMask) << kStateBits | s;
  }
  // `word` with its state replaced (same generation).
  static uint32_t With(uint32_t word, State s) { return (word & ~kStateMask) | s; }

  // --- Line 1: activation state and what a run needs.
  // The state word (see Word): State and generation.
  std::atomic<uint32_t> state{kFree};
  std::atomic<bool> removing{false};
  // Set at creation (0-19).
  uint8_t priority = 0;
  // CPU of its last run (-1: none yet). Here rather than with the processor's counters
  // on line 2 (which is full), away from line 3 that every notify writes.
  std::atomic<int16_t> last_cpu{-1};
  // CLOCK_MONOTONIC time of the notify (or ideal release) that started the pending
  // activation.
  std::atomic<int64_t> notify_ns{0};
  // Set at creation, read-only afterwards: its index in the TaskTable (the queue's inbox
  // links tasks by index, see TaskTable).
  uint32_t index = 0;
  // Events a processor handed to the scheduler's reporter thread, which logs them (a
  // processor never calls the logging library: its lock is not priority-inheriting).
  // Bits of kReport*; the detail's report_* fields belong to the processor while their bit
  // is clear and to the reporter while it is set.
  static constexpr uint8_t kReportMiss = 1, kReportOverrun = 2;
  std::atomic<uint8_t> report{0};
  // Set at creation, before the first notify: its activations are timed (the notify
  // stamps notify_ns, the run reads the clock at its end). Off on a queue whose
  // activations are not timed (QueuePlan::time_activations), unless it has a period or a
  // budget. Atomic (relaxed) because a stale notifier of the slot's previous task may read
  // it while a new task is created there.
  std::atomic<bool> timed{true};
  // Set when the slot is first used, read-only afterwards: a reused slot stays with its
  // queue (a stale notifier may still read it).
  ClassicQueue* queue = nullptr;
  std::function<void()> body;

  // --- Line 2: written by the processor running the task (one at a time).
  alignas(64) std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> run_ns_total{0};
  std::atomic<uint64_t> run_ns_max{0};
  // Bit c set: the task ran on CPU c (CPUs 0-63).
  std::atomic<uint64_t> cpus_mask{0};
  // Notify -> start of the run (periodic: ideal release -> start), the largest so far.
  std::atomic<uint64_t> wake_max_ns{0};
  // Set at creation (nullptr for a task the conf does not name and that is not periodic).
  TaskDetail* detail = nullptr;

  // --- Line 3: notifiers' counters (relaxed increments) and cold fields.
  alignas(64) std::atomic<uint64_t> notifies{0};
  std::atomic<uint64_t> coalesced{0};
  // Set at creation.
  std::string name;
  std::atomic<uint32_t> exceptions{0};
  // Messages its channel readers dropped because their pending queue was full.
  std::atomic<uint32_t> dropped{0};
  // Tracing (scheduler/trace/notifier.h): kernel tid of the thread whose notify started the
  // pending activation; written only while a scheduler of the process records a trace.
  std::atomic<int32_t> trace_notifier{0};

  // The period (0: not periodic) and budget (0: none).
  uint64_t period_ns() const { return detail != nullptr ? detail->period_ns : 0; }
  uint64_t budget_ns() const { return detail != nullptr ? detail->budget_ns : 0; }
};

// The memory budget of a task (issue: <= 256 bytes each, names and index included).
static_assert(sizeof(Task) == 192, "Task is three cache lines");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(Task, body) + sizeof(Task::body) <= 64, "a run reads line 1 only");
static_assert(offsetof(Task, activations) == 64 && offsetof(Task, notifies) == 128,
              "lines 2 and 3 start where the comments say");
#pragma GCC diagnostic pop

// The tasks of a scheduler, in fixed chunks that never move (so a lookup by index needs no
// lock), with two small arrays beside each chunk that the queues use to move notified tasks
// without touching the tasks themselves: the inbox links (see ClassicQueue) and each task's
// level. A processor draining an inbox of N tasks then reads N/16 cache lines that
// notifiers wrote, in order the hardware can prefetch, instead of chasing N task lines one
// miss after the other.
class TaskTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int kChunkBits = 8;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr uint32_t kMaxChunks = 4096;  // up to ~1 M tasks
  static constexpr uint32_t kCapacity = kChunkSize * kMaxChunks;

 private:
  struct Chunk {
    Task tasks[kChunkSize];
    alignas(64) uint32_t links[kChunkSize];
    alignas(64) uint8_t levels[kChunkSize];
  };

 public:
  TaskTable() = default;
  ~TaskTable();
  TaskTable(const TaskTable&) = delete;
  TaskTable& operator=(const TaskTable&) = delete;

  // The task at `index`, allocating its chunk if needed (index < kCapacity; callers
  // serialize Allocate among themselves). Sets the task's index.
  Task* Allocate(uint32_t index);

  // The task at `index`, whose chunk must have been allocated.
  Task* At(uint32_t index) const { return &ChunkOf(index)->tasks[index & (kChunkSize - 1)]; }

  // The task at `index`, or nullptr when its chunk was never allocated.
  Task* Find(uint32_t index) const;

  // Inbox link of task `index` (written by the notifier that pushes it, read and rewritten
  // by the processor that drains it; never both at once, see ClassicQueue::Notify).
  uint32_t& Link(uint32_t index) { return ChunkOf(index)->links[index & (kChunkSize - 1)]; }

  // The level (priority) of task `index`, set at creation before it can be notified.
  uint8_t Level(uint32_t index) const { return ChunkOf(index)->levels[index & (kChunkSize - 1)]; }
  void SetLevel(uint32_t index, uint8_t level) {
    ChunkOf(index)->levels[index & (kChunkSize - 1)] = level;
  }

 private:
  Chunk* ChunkOf(uint32_t index) const {
    return chunks_[index >> kChunkBits].load(std::memory_order_acquire);
  }
  std::atomic<Chunk*> chunks_[kMaxChunks] = {};
};

inline TaskTable::~TaskTable() {
  for (std::atomic<Chunk*>& slot : chunks_) {
    Chunk* chunk = slot.exchange(nullptr);
    if (chunk == nullptr) continue;
    for (Task& task : chunk->tasks) delete task.detail;
    delete chunk;
  }
}

inline Task* TaskTable::Allocate(uint32_t index) {
  std::atomic<Chunk*>& slot = chunks_[index >> kChunkBits];
  Chunk* chunk = slot.load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    chunk = new Chunk;
    for (uint32_t i = 0; i < kChunkSize; ++i) {
      chunk->tasks[i].index = (index & ~(kChunkSize - 1)) + i;
      chunk->links[i] = kNone;
      chunk->levels[i] = 0;
    }
    slot.store(chunk, std::memory_order_release);
  }
  return &chunk->tasks[index & (kChunkSize - 1)];
}

inline Task* TaskTable::Find(uint32_t index) const {
  if (index >= kCapacity) return nullptr;
  Chunk* chunk = ChunkOf(index);
  return chunk == nullptr ? nullptr : &chunk->tasks[index & (kChunkSize - 1)];
}

// CLOCK_MONOTONIC now, in nanoseconds (vDSO: no syscall).
int64_t MonotonicNowNs();

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_TASK_H_
