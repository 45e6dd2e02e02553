#include "scheduler/processor.h"

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <future>
#include <memory>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "scheduler/common/futex.h"
#include "scheduler/common/thread_creation.h"

namespace cadence {
namespace {

thread_local Task* current_task = nullptr;
thread_local int64_t current_release = 0;

void UpdateMax(std::atomic<uint64_t>* max, uint64_t value) {
  if (value > max->load(std::memory_order_relaxed)) max->store(value, std::memory_order_relaxed);
}

// Deadline misses and overruns are logged at most once a second per task (they are also
// counted, always).
bool ShouldLog(TaskDetail* detail, int64_t now) {
  int64_t last = detail->last_log_ns.load(std::memory_order_relaxed);
  return now - last >= 1000000000 &&
         detail->last_log_ns.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

}  // namespace

int64_t MonotonicNowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Task* CurrentTask() { return current_task; }

int64_t CurrentRelease() { return current_release; }

Processor::Processor(const ProcessorPlan& plan, ClassicQueue* queue,
                     std::atomic<uint32_t>* report_word, size_t trace_events)
    : plan_(plan),
      queue_(queue),
      report_word_(report_word),
      trace_(trace_events > 0 ? std::make_unique<TraceRing>(trace_events) : nullptr) {
  waiter_.busy_spin = plan.busy_spin;
}

Processor::~Processor() { Join(); }

absl::Status Processor::Start(FallbackMode mode) {
  // Shared with the thread: it may still be inside set_value() when Start() returns.
  auto ready = std::make_shared<std::promise<void>>();
  std::future<void> started = ready->get_future();
  auto start_and_run = [this, mode, ready] {
    tid_ = CurrentTid();
    pthread_setname_np(pthread_self(), plan_.thread_name.c_str());
    absl::StatusOr<AppliedAttributes> applied = ApplyThreadAttributes(tid_, plan_.attributes, mode);
    if (!applied.ok()) {
      start_status_ =
          absl::Status(applied.status().code(),
                       absl::StrCat("processor ", plan_.name, ": ", applied.status().message()));
      ready->set_value();
      return;
    }
    applied_ = *applied;
    // Timers (periodic releases) fire on time: no timer slack (the default is 50 us, and
    // futex timeouts apply it even to real-time threads on older kernels). 1 ns is the
    // smallest value; 0 would mean "back to the default".
    if (prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) != 0) {
      LOG(WARNING) << "processor " << plan_.name
                   << ": cannot set the timer slack to 1 ns: " << std::strerror(errno);
    }
    start_ns_ = MonotonicNowNs();
    ready->set_value();
    Run();
  };
  absl::StatusOr<std::thread> thread =
      CreateThread(absl::StrCat("processor ", plan_.name), std::move(start_and_run));
  // Not created (e.g. RLIMIT_NPROC reached): nothing runs, nothing to join.
  if (!thread.ok()) return thread.status();
  thread_ = *std::move(thread);
  started.wait();
  if (!start_status_.ok()) {
    thread_.join();
    return start_status_;
  }
  if (applied_.fell_back) {
    LOG(WARNING) << "processor " << plan_.name << " (tid " << tid_ << "): " << applied_.why;
  }
  return absl::OkStatus();
}

void Processor::Join() {
  if (thread_.joinable()) thread_.join();
}

void Processor::Run() {
  // The clock is read as rarely as the statistics allow. `mark` is a reading taken when the
  // last timed run ended, or when the stretch of untimed runs in progress began
  // (`stretch_runs` > 0); 0 after a wait, whose end nobody read. A timed run straight from a batch
  // starts where the last one ended: one clock read per run (the lock-free step in between
  // belongs to the wait, a few tens of ns). Untimed runs (Task::timed) read no clock: a
  // stretch of them counts as busy as a whole, from its first run's start to the next
  // timed run or the next call to WaitPop (two clock reads per stretch, which lasts a
  // batch when there is a backlog).
  int64_t mark = 0;
  int stretch_runs = 0;  // Untimed runs in the stretch in progress (0: none).
  while (true) {
    Task* task = queue_->TakeBatched(&waiter_);
    if (task == nullptr) {
      if (stretch_runs > 0) {
        EndUntimedStretch(mark, MonotonicNowNs(), stretch_runs);
        stretch_runs = 0;
      }
      mark = 0;
      task = queue_->WaitPop(&waiter_);
      if (task == nullptr) return;
    }
    if (task->timed.load(std::memory_order_relaxed)) {
      if (stretch_runs > 0) {
        const int64_t now = MonotonicNowNs();
        EndUntimedStretch(mark, now, stretch_runs);
        stretch_runs = 0;
        mark = now;
      }
      mark = RunOne(task, mark);
    } else {
      if (stretch_runs == 0) {
        if (mark == 0) mark = MonotonicNowNs();
        running_since_.store(mark, std::memory_order_relaxed);
      }
      ++stretch_runs;
      RunUntimed(task);
    }
  }
}

void Processor::EndUntimedStretch(int64_t since, int64_t now, int runs) {
  // Cleared first, as after a timed run: a Stats() in between may miss the stretch for a
  // moment, but never counts it twice.
  running_since_.store(0, std::memory_order_relaxed);
  const int64_t took = now > since ? now - since : 0;
  busy_ns_.store(busy_ns_.load(std::memory_order_relaxed) + static_cast<uint64_t>(took),
                 std::memory_order_relaxed);
  // Batching as after timed runs, by the stretch's average run: under kBatchRunNs.
  waiter_.batching = took < runs * ClassicQueue::kBatchRunNs;
}

bool Processor::RunBody(Task* task) {
  try {
    task->body();
    return false;
  } catch (const std::exception& e) {
    ReportException(task, e.what());
  } catch (...) {
    ReportException(task, "a non-std exception");
  }
  return true;
}

int Processor::NoteCpu(Task* task) {
  const int cpu = sched_getcpu();
  if (task->last_cpu.load(std::memory_order_relaxed) != cpu) {
    task->last_cpu.store(static_cast<int16_t>(cpu), std::memory_order_relaxed);
  }
  if (cpu >= 0 && cpu < 64) {
    const uint64_t bit = uint64_t{1} << cpu;
    if ((task->cpus_mask.load(std::memory_order_relaxed) & bit) == 0) {
      task->cpus_mask.fetch_or(bit, std::memory_order_relaxed);
    }
  }
  return cpu;
}

void Processor::RunUntimed(Task* task) {
  current_task = task;
  RunBody(task);
  current_task = nullptr;
  task->activations.store(task->activations.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  NoteCpu(task);
  activations_.store(activations_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  EndActivation(task);
}

int64_t Processor::RunOne(Task* task, int64_t start_ns) {
  const int64_t start = start_ns > 0 ? start_ns : MonotonicNowNs();
  const int64_t notified = task->notify_ns.load(std::memory_order_relaxed);
  TaskDetail* const detail = task->detail;
  if (notified > 0 && start >= notified) {
    const uint64_t wake = static_cast<uint64_t>(start - notified);
    UpdateMax(&task->wake_max_ns, wake);
    if (detail != nullptr) detail->wake_latency.Record(wake);
  }
  // Tracing: who notified, read before the body runs (a notify during the run is for the
  // next activation).
  int32_t notifier = TraceEvent::kUnknownNotifier;
  if (trace_ != nullptr) [[unlikely]] {
    notifier = task->trace_notifier.load(std::memory_order_relaxed);
  }
  int64_t release = 0;
  bool missed = false;
  if (detail != nullptr && detail->period_ns > 0 &&
      detail->release_ns.load(std::memory_order_relaxed) != 0) {
    release = detail->release_ns.exchange(0, std::memory_order_relaxed);
    if (release > 0 && start - release > static_cast<int64_t>(detail->period_ns)) {
      missed = true;
      detail->deadline_misses.fetch_add(1, std::memory_order_relaxed);
      if ((task->report.load(std::memory_order_acquire) & Task::kReportMiss) == 0 &&
          ShouldLog(detail, start)) {
        detail->report_late_ns = start - release;
        Report(task, Task::kReportMiss);
      }
    }
  }
  current_task = task;
  current_release = release;
  running_since_.store(start, std::memory_order_relaxed);
  const bool threw = RunBody(task);
  current_task = nullptr;
  current_release = 0;
  const int64_t end = MonotonicNowNs();
  const uint64_t ran = static_cast<uint64_t>(end - start);
  task->activations.store(task->activations.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
  task->run_ns_total.store(task->run_ns_total.load(std::memory_order_relaxed) + ran,
                           std::memory_order_relaxed);
  UpdateMax(&task->run_ns_max, ran);
  waiter_.batching = ran < static_cast<uint64_t>(ClassicQueue::kBatchRunNs);
  const bool overran = detail != nullptr && detail->budget_ns > 0 && ran > detail->budget_ns;
  if (overran) {
    detail->overruns.fetch_add(1, std::memory_order_relaxed);
    if ((task->report.load(std::memory_order_acquire) & Task::kReportOverrun) == 0 &&
        ShouldLog(detail, end)) {
      detail->report_ran_ns = ran;
      Report(task, Task::kReportOverrun);
    }
  }
  const int cpu = NoteCpu(task);
  running_since_.store(0, std::memory_order_relaxed);
  activations_.store(activations_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  busy_ns_.store(busy_ns_.load(std::memory_order_relaxed) + ran, std::memory_order_relaxed);
  if (trace_ != nullptr) [[unlikely]] {
    TraceEvent event;
    event.start_ns = start;
    event.end_ns = end;
    event.notify_ns = release != 0 ? release : notified;
    event.task = task;
    event.notifier = release != 0 ? TraceEvent::kTimerRelease : notifier;
    event.flags = static_cast<uint16_t>((release != 0 ? TraceEvent::kPeriodicRelease : 0) |
                                        (missed ? TraceEvent::kDeadlineMiss : 0) |
                                        (threw ? TraceEvent::kException : 0) |
                                        (overran ? TraceEvent::kOverrun : 0));
    event.cpu = static_cast<int16_t>(cpu);
    trace_->Append(event);
  }
  EndActivation(task);
  return end;
}

void Processor::EndActivation(Task* task) {
  // Finish the activation: Running -> Idle, or run once more if notified meanwhile, or
  // complete a removal. The seq_cst pair (state CAS here, `removing` store in Remove) makes
  // sure a remover waiting for the run to end is always woken.
  // Until then the slot is this task's (its generation cannot change), so the expected
  // word is kRunning with the generation it holds.
  const uint32_t running = Task::With(task->state.load(std::memory_order_relaxed), Task::kRunning);
  uint32_t expected = running;
  if (!task->removing.load(std::memory_order_seq_cst)) {
    if (task->state.compare_exchange_strong(expected, Task::With(running, Task::kIdle),
                                            std::memory_order_seq_cst)) {
      // The slot may belong to a new task already (removed, then reused); a spurious wake
      // of its futex is harmless, and the table's memory is never freed while it runs.
      if (task->removing.load(std::memory_order_seq_cst)) FutexWake(&task->state, INT32_MAX);
      return;
    }
    if (Task::StateOf(expected) == Task::kRunningNotified &&
        !task->removing.load(std::memory_order_seq_cst)) {
      queue_->Requeue(task);
      if (task->removing.load(std::memory_order_seq_cst)) FutexWake(&task->state, INT32_MAX);
      return;
    }
  }
  task->body = nullptr;  // Nobody else touches a task that is being removed.
  task->state.store(Task::With(running, Task::kRemoved), std::memory_order_seq_cst);
  FutexWake(&task->state, INT32_MAX);
}

void Processor::Report(Task* task, uint8_t what) {
  task->report.fetch_or(what, std::memory_order_release);
  WakeReporter();
}

void Processor::WakeReporter() {
  // One wake when the reporter is asleep; nothing when it already has work.
  if (report_word_ != nullptr && report_word_->exchange(1, std::memory_order_acq_rel) == 0) {
    FutexWake(report_word_, 1);
  }
}

void Processor::ReportException(Task* task, const char* what) {
  task->exceptions.fetch_add(1, std::memory_order_relaxed);
  // One message at a time per processor; while the reporter has not logged the last one,
  // further exceptions are counted only.
  if (exception_task_.load(std::memory_order_acquire) != nullptr) return;
  std::strncpy(exception_what_, what, sizeof(exception_what_) - 1);
  exception_what_[sizeof(exception_what_) - 1] = '\0';
  exception_task_.store(task, std::memory_order_release);
  WakeReporter();
}

bool Processor::TakeExceptionReport(std::string* task_name, std::string* what,
                                    uint64_t* count) {
  Task* task = exception_task_.load(std::memory_order_acquire);
  if (task == nullptr) return false;
  *task_name = task->name;
  *what = exception_what_;
  *count = task->exceptions.load(std::memory_order_relaxed);
  exception_task_.store(nullptr, std::memory_order_release);
  return true;
}

ProcessorStats Processor::Stats() const {
  ProcessorStats s;
  s.name = plan_.name;
  s.tid = tid_;
  s.activations = activations_.load(std::memory_order_relaxed);
  s.sleeps = waiter_.sleeps.load(std::memory_order_relaxed);
  s.yields = waiter_.yields.load(std::memory_order_relaxed);
  s.busy_ns = busy_ns_.load(std::memory_order_relaxed);
  // A run in progress counts up to now (else a processor in a long run would look idle).
  const int64_t since = running_since_.load(std::memory_order_relaxed);
  const int64_t now = MonotonicNowNs();
  if (since > 0 && now > since) s.busy_ns += static_cast<uint64_t>(now - since);
  s.alive_ns = start_ns_ > 0 ? static_cast<uint64_t>(now - start_ns_) : 0;
  if (trace_ != nullptr) {
    s.trace_capacity = trace_->capacity();
    s.trace_recorded = trace_->appended();
    s.trace_dropped = trace_->dropped();
  }
  return s;
}

}  // namespace cadence
