#include "scheduler/scheduler.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/futex.h"
#include "scheduler/common/thread_creation.h"
#include "scheduler/config/diagnostic.h"
#include "scheduler/trace/notifier.h"

namespace cadence {

Scheduler::Scheduler(const Plan& plan, const SchedulerOptions& options)
    : plan_(plan), options_(options) {}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Start(const Plan& plan,
                                                            const SchedulerOptions& options) {
  std::unique_ptr<Scheduler> scheduler(new Scheduler(plan, options));
  absl::Status status = scheduler->Init();
  if (!status.ok()) {
    scheduler->Shutdown();
    const std::string unrestored = scheduler->RestoreProcessCpus();
    if (!unrestored.empty()) {
      return absl::Status(status.code(), absl::StrCat(status.message(), "; ", unrestored));
    }
    return status;
  }
  scheduler->cpus_before_ = {};  // Only a failed start gives the CPUs back.
  return scheduler;
}

absl::Status Scheduler::ApplyProcessCpus() {
  if (!plan_.restrict_process) return absl::OkStatus();
  const cpu_set_t cpus = plan_.process_cpus.ToNative();
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) {
    return absl::InternalError(absl::StrCat(
        "cannot list /proc/self/task to apply process_level_cpuset: ", std::strerror(errno)));
  }
  absl::Status status;
  int applied = 0;
  while (struct dirent* entry = readdir(dir)) {
    int tid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &tid)) continue;
    cpu_set_t before;
    CPU_ZERO(&before);
    if (sched_getaffinity(tid, sizeof(before), &before) != 0) {
      if (errno == ESRCH) continue;  // The thread has exited.
      status = absl::PermissionDeniedError(
          absl::StrCat("cannot read the CPUs of thread ", tid, " to apply process_level_cpuset ",
                       plan_.process_cpus.ToString(), ": ", std::strerror(errno)));
      break;
    }
    if (sched_setaffinity(tid, sizeof(cpus), &cpus) == 0) {
      cpus_before_.emplace_back(tid, CpuSet::FromNative(before));
    } else if (errno != ESRCH) {
      status = absl::PermissionDeniedError(
          absl::StrCat("cannot apply process_level_cpuset ", plan_.process_cpus.ToString(),
                       " to thread ", tid, ": ", std::strerror(errno)));
      break;
    }
    ++applied;
  }
  closedir(dir);
  if (status.ok()) {
    VLOG(1) << "process_level_cpuset " << plan_.process_cpus.ToString() << " applied to " << applied
            << " threads";
  }
  return status;
}

std::string Scheduler::RestoreProcessCpus() {
  std::string failed;
  for (const auto& [tid, cpus] : cpus_before_) {
    const cpu_set_t native = cpus.ToNative();
    if (sched_setaffinity(tid, sizeof(native), &native) != 0 && errno != ESRCH) {
      absl::StrAppend(&failed, failed.empty() ? "" : ", ", "thread ", tid, " (CPUs ",
                      cpus.ToString(), "): ", std::strerror(errno));
    }
  }
  cpus_before_.clear();
  if (failed.empty()) return "";
  return absl::StrCat("process_level_cpuset ", plan_.process_cpus.ToString(),
                      " could not be undone for ", failed);
}

absl::Status Scheduler::Init() {
  // Processors sleep on futexes: without them they would spin, so that is an error. Without
  // FUTEX_LOCK_PI the queue locks still work but lend no priority (see PiMutex), which
  // matters to real-time threads: a warning, an error in strict mode when the plan has
  // real-time processors.
  std::string pi_refused;
  absl::Status status = CheckFutexes(&pi_refused);
  if (!status.ok()) return status;
  if (!pi_refused.empty()) {
    bool real_time = false;
    for (const ProcessorPlan& p : plan_.processors) real_time |= IsRealTime(p.attributes.policy);
    if (options_.strict && real_time) return absl::FailedPreconditionError(pi_refused);
    LOG(WARNING) << pi_refused << "; going on without it";
  }
  status = ApplyProcessCpus();
  if (!status.ok()) return status;
  for (const QueuePlan& q : plan_.queues) {
    queues_.push_back(std::make_unique<ClassicQueue>(q.name, &tasks_));
  }
  removed_.resize(queues_.size());
  const FallbackMode mode = options_.strict ? FallbackMode::kStrict : FallbackMode::kFallback;
  if (options_.trace_events_per_processor > 0) {
    EnableNotifierTracing();
    records_notifiers_ = true;
  }
  for (const ProcessorPlan& p : plan_.processors) {
    auto processor = std::make_unique<Processor>(p, queues_[p.queue].get(), &report_word_,
                                                 options_.trace_events_per_processor);
    status = processor->Start(mode);
    if (!status.ok()) return status;
    processors_.push_back(std::move(processor));
  }
  // After the processors exist (it reads processors_); what they reported meanwhile is
  // waiting in report_word_. When it cannot be created, Start's Shutdown joins the
  // processors.
  absl::StatusOr<std::thread> reporter =
      CreateThread("reporter cadence/report", [this] { ReportLoop(); });
  if (!reporter.ok()) return reporter.status();
  reporter_ = *std::move(reporter);
  return absl::OkStatus();
}

Scheduler::~Scheduler() {
  Shutdown();
  // Tasks (and their statistics) stay readable after Shutdown; they go with the scheduler
  // (tasks_).
}

void Scheduler::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mutex_);  // Concurrent callers all wait.
  if (shut_down_.exchange(true)) return;
  for (auto& q : queues_) q->Stop();
  for (auto& p : processors_) p->Join();
  joined_.store(true, std::memory_order_release);
  if (records_notifiers_) DisableNotifierTracing();
  reporter_stop_.store(true, std::memory_order_release);
  report_word_.store(1, std::memory_order_release);
  FutexWake(&report_word_, 1);
  if (reporter_.joinable()) reporter_.join();
}

void Scheduler::ReportLoop() {
  pthread_setname_np(pthread_self(), "cadence/report");
  while (true) {
    while (report_word_.load(std::memory_order_acquire) == 0) FutexWait(&report_word_, 0);
    report_word_.exchange(0, std::memory_order_acq_rel);
    LogReports();
    if (reporter_stop_.load(std::memory_order_acquire)) return;
  }
}

void Scheduler::LogReports() {
  const uint32_t tasks = task_count_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < tasks; ++i) {
    // A set report bit keeps the slot from being reused (see TakeRemovedSlot) until it is
    // cleared below, so the name and detail read here are this task's.
    Task* task = Slot(i);
    if (task == nullptr) continue;
    const uint8_t report = task->report.load(std::memory_order_acquire);
    if (report == 0 || task->detail == nullptr) continue;
    const TaskDetail& detail = *task->detail;
    if (report & Task::kReportMiss) {
      LOG(WARNING) << "task " << task->name << ": deadline miss: started "
                   << detail.report_late_ns / 1000 << " us after its release (period "
                   << detail.period_ns / 1000 << " us); "
                   << detail.deadline_misses.load(std::memory_order_relaxed) << " misses so far";
    }
    if (report & Task::kReportOverrun) {
      LOG(WARNING) << "task " << task->name << ": overrun: ran " << detail.report_ran_ns / 1000
                   << " us, budget " << detail.budget_ns / 1000 << " us; "
                   << detail.overruns.load(std::memory_order_relaxed) << " overruns so far";
    }
    task->report.fetch_and(static_cast<uint8_t>(~report), std::memory_order_acq_rel);
  }
  std::string name, what;
  uint64_t thrown = 0;
  for (const auto& processor : processors_) {
    if (processor->TakeExceptionReport(&name, &what, &thrown)) {
      LOG(ERROR) << "task " << name << " threw: " << what << " (caught; the processor goes on); "
                 << thrown << " exceptions so far";
    }
  }
}

Task* Scheduler::TaskAt(uint32_t index) const { return tasks_.At(index); }

Task* Scheduler::Slot(uint32_t index) const {
  if (index >= task_count_.load(std::memory_order_acquire)) return nullptr;
  return tasks_.Find(index);
}

Task* Scheduler::Lookup(TaskId id) const {
  Task* task = Slot(id.index);
  if (task == nullptr) return nullptr;
  const uint32_t word = task->state.load(std::memory_order_acquire);
  if (Task::StateOf(word) == Task::kFree || Task::GenerationOf(word) != id.generation) {
    return nullptr;
  }
  return task;
}

int Scheduler::QueueIndexOf(const ClassicQueue* queue) const {
  for (size_t q = 0; q < queues_.size(); ++q) {
    if (queues_[q].get() == queue) return static_cast<int>(q);
  }
  return -1;
}

Task* Scheduler::TakeRemovedSlot(int queue, bool all) {
  std::vector<uint32_t>& removed = removed_[queue];
  // Newest first (its lines are the likeliest to be cached); a slot is ready once its
  // removal is complete (kRemoved: in no list, its body destroyed) and nothing will still
  // read its name (a report for the reporter thread). A task that removed itself may still
  // be running: its slot waits. Unless `all`, a few are looked at, so this stays O(1).
  const size_t n = removed.size();
  for (size_t k = 0; k < (all ? n : std::min<size_t>(n, 4)); ++k) {
    const size_t at = n - 1 - k;
    Task* task = tasks_.At(removed[at]);
    const uint32_t word = task->state.load(std::memory_order_acquire);
    if (Task::StateOf(word) == Task::kRemoved &&
        Task::GenerationOf(word) == Task::kGenerationMask) {
      // Its generation would wrap, and a TaskId kept since generation 0 would name the
      // next task again: the slot is retired instead (192 bytes per 2^29 reuses).
      removed[at] = removed.back();
      removed.pop_back();
      return TakeRemovedSlot(queue, all);
    }
    if (Task::StateOf(word) != Task::kRemoved ||
        task->report.load(std::memory_order_acquire) != 0) {
      continue;
    }
    bool reported = false;
    for (const auto& p : processors_) reported = reported || p->HoldsExceptionReport(task);
    if (reported) continue;
    removed[at] = removed.back();
    removed.pop_back();
    return task;
  }
  return nullptr;
}

void Scheduler::Recycle(Task* task) {
  // A recorded trace refers to its tasks until it is written (after Shutdown), so slots
  // are not reused while one is recorded.
  if (options_.trace_events_per_processor > 0) return;
  std::lock_guard<std::mutex> lock(table_mutex_);
  removed_[QueueIndexOf(task->queue)].push_back(task->index);
}

namespace {
// A removed task's slot, made ready for a new task: statistics zeroed. The caller sets the
// rest (name, body, priority, detail) and then the state word.
void ClearForReuse(Task* task) {
  task->removing.store(false, std::memory_order_relaxed);
  task->last_cpu.store(-1, std::memory_order_relaxed);
  task->notify_ns.store(0, std::memory_order_relaxed);
  task->activations.store(0, std::memory_order_relaxed);
  task->run_ns_total.store(0, std::memory_order_relaxed);
  task->run_ns_max.store(0, std::memory_order_relaxed);
  task->cpus_mask.store(0, std::memory_order_relaxed);
  task->wake_max_ns.store(0, std::memory_order_relaxed);
  task->notifies.store(0, std::memory_order_relaxed);
  task->coalesced.store(0, std::memory_order_relaxed);
  task->exceptions.store(0, std::memory_order_relaxed);
  task->dropped.store(0, std::memory_order_relaxed);
  task->trace_notifier.store(0, std::memory_order_relaxed);
  delete task->detail;
  task->detail = nullptr;
}
}  // namespace

absl::StatusOr<TaskId> Scheduler::CreateTask(const std::string& name, std::function<void()> body) {
  return Create(name, 0, std::move(body));
}

absl::StatusOr<TaskId> Scheduler::CreatePeriodicTask(const std::string& name,
                                                     std::chrono::nanoseconds period,
                                                     std::function<void()> body) {
  if (period.count() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "periodic task \"", name, "\": the period must be > 0, got ", period.count(), " ns"));
  }
  return Create(name, period.count(), std::move(body));
}

void Scheduler::CountDropped(TaskId id, uint64_t count) {
  // Not for a task whose removal has begun (its slot may be reused: see RemoveTask).
  Task* task = Lookup(id);
  if (task != nullptr && !task->removing.load(std::memory_order_acquire)) {
    task->dropped.fetch_add(count, std::memory_order_relaxed);
  }
}

std::string CpusOfMask(uint64_t mask) {
  CpuSet cpus;
  for (int cpu = 0; cpu < 64; ++cpu) {
    if (mask & (uint64_t{1} << cpu)) cpus.Add(cpu);
  }
  return cpus.ToString();
}

absl::StatusOr<TaskId> Scheduler::Create(const std::string& name, int64_t period_ns,
                                         std::function<void()> body) {
  if (shut_down_.load()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create task \"", name, "\": the scheduler is shut down"));
  }
  if (!body) return absl::InvalidArgumentError(absl::StrCat("task \"", name, "\" has no body"));
  TaskPlan placement;
  bool named = false;
  if (!plan_.Placement(name, &placement, &named)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task \"", name, "\" is not named in the config and there is no queue for such tasks (",
        plan_.kind == SchedulerKind::kChoreography ? "the pool is empty"
                                                   : "no group has processors",
        ")"));
  }
  std::lock_guard<std::mutex> lock(table_mutex_);
  if (names_.contains(absl::string_view(name))) {
    return absl::AlreadyExistsError(absl::StrCat("a task named \"", name, "\" already exists"));
  }
  // A removed task's slot of the same queue when one is ready, else a new one.
  Task* task = TakeRemovedSlot(placement.queue, /*all=*/false);
  if (task == nullptr && task_count_.load(std::memory_order_relaxed) >= TaskTable::kCapacity) {
    task = TakeRemovedSlot(placement.queue, /*all=*/true);  // The table is full: look at all.
  }
  uint32_t generation = 0;
  if (task != nullptr) {
    generation =
        (Task::GenerationOf(task->state.load(std::memory_order_relaxed)) + 1) & Task::kGenerationMask;
    ClearForReuse(task);
    task->queue->ReuseTask(task->priority, placement.priority);
  } else {
    const uint32_t fresh = task_count_.load(std::memory_order_relaxed);
    if (fresh >= TaskTable::kCapacity) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot create task \"", name, "\": a scheduler holds at most ",
                       TaskTable::kCapacity,
                       " tasks at once (live, or removed and not reusable yet: still running "
                       "after removing themselves, or with a report not logged yet)"));
    }
    task = tasks_.Allocate(fresh);
    task->queue = queues_[placement.queue].get();
    task->queue->AddTask(placement.priority);
  }
  const uint32_t index = task->index;
  task->name = name;
  task->body = std::move(body);
  task->priority = static_cast<uint8_t>(placement.priority);
  tasks_.SetLevel(index, task->priority);
  uint64_t period = placement.period_us * 1000;
  if (period_ns > 0 && period == 0) {
    period = static_cast<uint64_t>(period_ns);
  } else if (period_ns > 0 && period != static_cast<uint64_t>(period_ns)) {
    LOG(WARNING) << "task \"" << name << "\" asked for a period of " << period_ns / 1000
                 << " us; the config's period_us " << placement.period_us << " applies"
                 << (placement.where.line > 0 ? " (" + placement.where.ToString() + ")" : "");
  }
  // Tasks the conf names, and periodic ones, get the full statistics (see TaskDetail).
  if ((named || period > 0) && task->detail == nullptr) task->detail = new TaskDetail;
  if (task->detail != nullptr) {
    task->detail->budget_ns = placement.budget_us * 1000;
    task->detail->period_ns = period;
  }
  // Release and budget checks need the clock, whatever the queue says, and so does a trace
  // (every run in it has a start and an end).
  task->timed.store(plan_.queues[placement.queue].time_activations || period > 0 ||
                        placement.budget_us > 0 || options_.trace_events_per_processor > 0,
                    std::memory_order_relaxed);
  task->state.store(Task::Word(generation, Task::kIdle), std::memory_order_release);
  names_.insert(index);
  if (index >= task_count_.load(std::memory_order_relaxed)) {
    task_count_.store(index + 1, std::memory_order_release);
  }
  if (period > 0) {
    task->queue->AddTimer(task, MonotonicNowNs() + static_cast<int64_t>(period));
  }
  if (!named) {
    // Logged for the first such task only (a program may create thousands); VLOG(1) for
    // every one.
    if (unnamed_tasks_++ == 0) {
      LOG(INFO) << "task \"" << name << "\" is not named in the config: it runs on queue "
                << plan_.queues[placement.queue].name
                << " at priority 0 (further tasks the config does not name are logged with "
                   "--v=1 only)";
    } else {
      VLOG(1) << "task \"" << name << "\" is not named in the config: it runs on queue "
              << plan_.queues[placement.queue].name << " at priority 0";
    }
  }
  return TaskId{index, generation};
}

// NotifyTask's errors, made once: a Status with a message lives on the heap, and copying
// one only counts a reference, so the hot path allocates nothing even when it fails.
namespace {
enum class NotifyFailure { kUnknown, kRemoved, kStopped };
const absl::Status& NotifyError(NotifyFailure failure) {
  static const absl::Status* const kErrors = new absl::Status[3]{
      absl::NotFoundError("no such task"), absl::NotFoundError("the task was removed"),
      absl::FailedPreconditionError("the scheduler is shut down")};
  return kErrors[static_cast<int>(failure)];
}
}  // namespace

absl::Status Scheduler::NotifyTask(TaskId id) {
  // The generation is checked by Notify, atomically with each transition.
  Task* task = Slot(id.index);
  if (task == nullptr) return NotifyError(NotifyFailure::kUnknown);
  switch (task->queue->Notify(task, id.generation)) {
    case ClassicQueue::NotifyResult::kQueued:
    case ClassicQueue::NotifyResult::kCoalesced:
    case ClassicQueue::NotifyResult::kRunAgain:
      return absl::OkStatus();
    case ClassicQueue::NotifyResult::kStopped:
      return NotifyError(NotifyFailure::kStopped);
    case ClassicQueue::NotifyResult::kRemoved:
      break;
  }
  return NotifyError(NotifyFailure::kRemoved);
}

absl::Status Scheduler::RemoveTask(TaskId id) {
  Task* task = nullptr;
  {
    // Under the table's lock the slot cannot be reused meanwhile (TakeRemovedSlot), so the
    // generation checked here is the one `removing` is set for.
    std::lock_guard<std::mutex> lock(table_mutex_);
    task = Slot(id.index);
    if (task == nullptr || Task::StateOf(task->state.load()) == Task::kFree) {
      return absl::NotFoundError("no such task");
    }
    if (Task::GenerationOf(task->state.load()) != id.generation) {
      return absl::NotFoundError("the task was already removed (its slot holds another task now)");
    }
    if (task->removing.exchange(true, std::memory_order_seq_cst)) {
      return absl::NotFoundError(absl::StrCat("task \"", task->name, "\" is already removed"));
    }
    names_.erase(absl::string_view(task->name));
  }
  if (task->period_ns() > 0) task->queue->RemoveTimer(task);
  if (CurrentTask() == task) {
    // Completes when the body returns; its slot is reused only after that.
    Recycle(task);
    return absl::OkStatus();
  }
  // Until Recycle, nobody else can reuse the slot: the generation stays id's.
  while (true) {
    uint32_t state = task->state.load(std::memory_order_seq_cst);
    switch (Task::StateOf(state)) {
      case Task::kIdle:
        if (task->state.compare_exchange_strong(state, Task::With(state, Task::kRemoved))) {
          task->body = nullptr;
          Recycle(task);
          return absl::OkStatus();
        }
        break;
      case Task::kQueued:
        if (task->queue->Unlink(task)) {
          task->body = nullptr;
          Recycle(task);
          return absl::OkStatus();
        }
        // Not in a level list yet: the processor that pops it drops it and wakes us.
        FutexWait(&task->state, state);
        break;
      case Task::kRunning:
      case Task::kRunningNotified:
        FutexWait(&task->state, state);
        break;
      default:
        Recycle(task);
        return absl::OkStatus();
    }
  }
}

absl::StatusOr<TaskId> Scheduler::FindTask(const std::string& name) const {
  std::lock_guard<std::mutex> lock(table_mutex_);
  auto it = names_.find(absl::string_view(name));
  if (it == names_.end()) return absl::NotFoundError(absl::StrCat("no task named \"", name, "\""));
  return TaskId{*it, Task::GenerationOf(TaskAt(*it)->state.load(std::memory_order_acquire))};
}

absl::StatusOr<AppliedAttributes> Scheduler::ApplyThreadConfig(const std::string& name, pid_t tid) {
  const InnerThreadPlan* entry = nullptr;
  for (const InnerThreadPlan& t : plan_.inner_threads) {
    if (t.name == name) entry = &t;
  }
  if (entry == nullptr) {
    std::lock_guard<std::mutex> lock(table_mutex_);
    if (reported_.insert("thread:" + name).second) {
      LOG(WARNING) << "thread \"" << name
                   << "\" is not listed in the config's `threads`: it keeps the process's "
                      "defaults";
    }
    return absl::NotFoundError(
        absl::StrCat("thread \"", name, "\" is not listed in the config's `threads`"));
  }
  absl::StatusOr<AppliedAttributes> applied = ApplyThreadAttributes(
      tid, entry->attributes, options_.strict ? FallbackMode::kStrict : FallbackMode::kFallback);
  if (!applied.ok()) {
    return absl::Status(applied.status().code(),
                        absl::StrCat("thread ", name, ": ", applied.status().message()));
  }
  if (applied->fell_back)
    LOG(WARNING) << "thread " << name << " (tid " << tid << "): " << applied->why;
  std::lock_guard<std::mutex> lock(table_mutex_);
  threads_.push_back({"thread", name, tid, *applied});
  return applied;
}

absl::StatusOr<std::thread> Scheduler::StartThread(const std::string& name,
                                                   std::function<void()> body) {
  // Shared with the thread: it may still be inside set_value() when this returns.
  auto ready = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> started = ready->get_future();
  auto configure_and_run = [this, name, body = std::move(body), ready]() mutable {
    // What ps/top show: the kernel keeps 15 bytes; not a character cut in two.
    pthread_setname_np(pthread_self(), Utf8Head(name, 15).c_str());
    absl::StatusOr<AppliedAttributes> applied = ApplyThreadConfig(name, CurrentTid());
    if (!applied.ok() && !absl::IsNotFound(applied.status())) {
      ready->set_value(applied.status());
      return;
    }
    ready->set_value(absl::OkStatus());
    body();
  };
  absl::StatusOr<std::thread> created =
      CreateThread(absl::StrCat("thread \"", name, "\""), std::move(configure_and_run));
  if (!created.ok()) return created.status();
  std::thread thread = *std::move(created);
  absl::Status status = started.get();
  if (!status.ok()) {
    thread.join();
    return status;
  }
  return thread;
}

TaskStats Scheduler::StatsOf(const Task& task) const {
  TaskStats s;
  s.name = task.name;
  s.queue = task.queue->name();
  s.priority = task.priority;
  TaskPlan placement;
  bool named = false;
  if (plan_.Placement(task.name, &placement, &named) && placement.processor >= 0) {
    s.processor = plan_.processors[placement.processor].name;
  }
  s.notifies = task.notifies.load(std::memory_order_relaxed);
  s.coalesced = task.coalesced.load(std::memory_order_relaxed);
  s.activations = task.activations.load(std::memory_order_relaxed);
  s.exceptions = task.exceptions.load(std::memory_order_relaxed);
  s.run_ns_total = task.run_ns_total.load(std::memory_order_relaxed);
  s.run_ns_max = task.run_ns_max.load(std::memory_order_relaxed);
  s.last_cpu = task.last_cpu.load(std::memory_order_relaxed);
  s.cpus_mask = task.cpus_mask.load(std::memory_order_relaxed);
  s.dropped = task.dropped.load(std::memory_order_relaxed);
  s.timed = task.timed.load(std::memory_order_relaxed);
  if (task.detail != nullptr) {
    const TaskDetail& detail = *task.detail;
    s.overruns = detail.overruns.load(std::memory_order_relaxed);
    s.period_ns = detail.period_ns;
    s.releases = detail.releases.load(std::memory_order_relaxed);
    s.deadline_misses = detail.deadline_misses.load(std::memory_order_relaxed);
    s.budget_ns = detail.budget_ns;
    LatencyHistogram::Counts counts;
    uint64_t max_ns = 0;
    detail.wake_latency.Snapshot(&counts, &max_ns);
    s.wake_latency = LatencyHistogram::SummaryOf(counts, max_ns);
    s.wake_counts.assign(counts.begin(), counts.end());
  } else if (s.timed) {
    // Count and max only (see TaskDetail).
    s.wake_latency.count = s.activations;
    s.wake_latency.max_ns = task.wake_max_ns.load(std::memory_order_relaxed);
  }
  return s;
}

std::vector<TaskStats> Scheduler::TaskStatistics() const {
  std::vector<TaskStats> out;
  const uint32_t count = task_count_.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; ++i) {
    // The lock keeps the slot from being reused (its name rewritten, its detail replaced)
    // while it is read. Taken per task: a thread that creates or removes tasks (a real-time
    // task's body, maybe) waits for one task's copy at most, not for the whole table's.
    std::lock_guard<std::mutex> lock(table_mutex_);
    const Task* task = Slot(i);
    if (task == nullptr) continue;
    const Task::State state = Task::StateOf(task->state.load(std::memory_order_acquire));
    if (state == Task::kFree || state == Task::kRemoved) continue;
    out.push_back(StatsOf(*task));
  }
  return out;
}

absl::StatusOr<TaskStats> Scheduler::TaskStatistics(TaskId id) const {
  std::lock_guard<std::mutex> lock(table_mutex_);
  const Task* task = Lookup(id);
  if (task == nullptr) return absl::NotFoundError("no such task");
  return StatsOf(*task);
}

std::vector<ProcessorStats> Scheduler::ProcessorStatistics() const {
  std::vector<ProcessorStats> out;
  for (const auto& p : processors_) out.push_back(p->Stats());
  return out;
}

std::vector<ThreadRecord> Scheduler::Threads() const {
  std::vector<ThreadRecord> out;
  for (const auto& p : processors_)
    out.push_back({"processor", p->plan().name, p->tid(), p->applied()});
  std::lock_guard<std::mutex> lock(table_mutex_);
  out.insert(out.end(), threads_.begin(), threads_.end());
  return out;
}

absl::StatusOr<TraceSummary> Scheduler::WriteTrace(const std::string& path) const {
  if (options_.trace_events_per_processor == 0) {
    return absl::FailedPreconditionError(
        "no trace was recorded: the scheduler was started with trace_events_per_processor 0");
  }
  if (!joined_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError(
        "the trace can be written once the scheduler is shut down (its processors still run)");
  }
  TraceInput input;
  for (const auto& p : processors_) {
    const TraceRing* ring = p->trace_ring();
    if (ring == nullptr) continue;
    input.processors.push_back(
        {p->plan().name, p->tid(), ring->Events(), ring->capacity(), ring->dropped()});
  }
  return WriteChromeTrace(input, path);
}

}  // namespace cadence
