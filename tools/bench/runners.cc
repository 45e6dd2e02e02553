#include "tools/bench/runners.h"

#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/common/futex.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/thread_creation.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"

namespace cadence::bench {
namespace {

ThreadSetup WorkerThreadSetup(const WorkerSetup& setup) {
  ThreadSetup t;
  t.policy = setup.policy;
  t.rt_priority = setup.rt_priority;
  t.nice = setup.nice;
  t.cpus = setup.cpus;
  return t;
}

// The floor: one thread on a futex word, nothing else.
class FutexRunner : public Runner {
 public:
  explicit FutexRunner(const WorkerSetup& setup) : setup_(setup) {}
  ~FutexRunner() override { Stop(); }

  absl::Status Start() override {
    pending_ = std::make_unique<std::atomic<bool>[]>(bodies_.size());
    activations_ = std::make_unique<std::atomic<uint64_t>[]>(bodies_.size());
    std::atomic<int> started{0};
    absl::Status status;
    absl::StatusOr<std::thread> thread = CreateThread("futex floor worker", [this, &started, &status] {
      tid_ = Gettid();
      status = SetUpCurrentThread(WorkerThreadSetup(setup_));
      started.store(1, std::memory_order_release);
      Loop();
    });
    if (!thread.ok()) return thread.status();
    thread_ = *std::move(thread);
    while (started.load(std::memory_order_acquire) == 0) std::this_thread::yield();
    return status;
  }

  void Notify(int index) override {
    if (pending_[index].exchange(true, std::memory_order_acq_rel)) {
      coalesced_.fetch_add(1, std::memory_order_relaxed);
    }
    word_.fetch_add(1, std::memory_order_release);
    FutexWake(&word_, 1);
  }

  void Stop() override {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    word_.fetch_add(1, std::memory_order_release);
    FutexWake(&word_, 1);
    thread_.join();
  }

  std::vector<pid_t> WorkerTids() const override { return {tid_}; }
  uint64_t Coalesced() const override { return coalesced_.load(std::memory_order_relaxed); }
  std::vector<uint64_t> Activations() const override {
    std::vector<uint64_t> out;
    for (size_t i = 0; i < bodies_.size(); ++i) out.push_back(activations_[i].load());
    return out;
  }

 private:
  void Loop() {
    uint32_t seen = word_.load(std::memory_order_acquire);
    while (true) {
      bool ran = false;
      for (size_t i = 0; i < bodies_.size(); ++i) {
        if (pending_[i].load(std::memory_order_relaxed) &&
            pending_[i].exchange(false, std::memory_order_acq_rel)) {
          std::atomic_thread_fence(std::memory_order_seq_cst);
          bodies_[i]();
          activations_[i].fetch_add(1, std::memory_order_relaxed);
          ran = true;
        }
      }
      if (ran) continue;
      if (stop_.load(std::memory_order_acquire)) return;
      while (word_.load(std::memory_order_acquire) == seen &&
             !stop_.load(std::memory_order_acquire)) {
        FutexWait(&word_, seen);
      }
      seen = word_.load(std::memory_order_acquire);
    }
  }

  const WorkerSetup setup_;
  std::unique_ptr<std::atomic<bool>[]> pending_;
  std::unique_ptr<std::atomic<uint64_t>[]> activations_;
  std::atomic<uint32_t> word_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> coalesced_{0};
  std::thread thread_;
  pid_t tid_ = 0;
};

// The hand-written baseline: mutex + condition variable + deque of std::function.
class NaiveRunner : public Runner {
 public:
  explicit NaiveRunner(const WorkerSetup& setup) : setup_(setup) {}
  ~NaiveRunner() override { Stop(); }

  absl::Status Start() override {
    tasks_ = std::make_unique<TaskState[]>(bodies_.size());
    workers_ = std::make_unique<Worker[]>(setup_.workers);
    for (size_t i = 0; i < bodies_.size(); ++i) tasks_[i].worker = i % setup_.workers;
    absl::Status status;
    std::mutex status_mutex;
    std::atomic<int> started{0};
    int created = 0;
    for (int w = 0; w < setup_.workers; ++w) {
      absl::StatusOr<std::thread> thread = CreateThread(
          absl::StrCat("naive pool worker ", w), [this, w, &started, &status, &status_mutex] {
            workers_[w].tid = Gettid();
            absl::Status s = SetUpCurrentThread(WorkerThreadSetup(setup_));
            if (!s.ok()) {
              std::lock_guard<std::mutex> lock(status_mutex);
              status = s;
            }
            started.fetch_add(1, std::memory_order_release);
            Loop(&workers_[w]);
          });
      if (!thread.ok()) {
        std::lock_guard<std::mutex> lock(status_mutex);
        status = thread.status();
        break;
      }
      workers_[w].thread = *std::move(thread);
      ++created;
    }
    while (started.load(std::memory_order_acquire) < created) std::this_thread::yield();
    return status;  // On an error the caller stops the runner, which joins what started.
  }

  void Notify(int index) override {
    TaskState& task = tasks_[index];
    if (task.pending.exchange(true, std::memory_order_acq_rel)) {
      coalesced_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Worker& worker = workers_[task.worker];
    {
      std::lock_guard<std::mutex> lock(worker.mutex);
      worker.queue.push_back([this, index] { Run(index); });
    }
    worker.cv.notify_one();
  }

  void Stop() override {
    if (!workers_) return;
    for (int w = 0; w < setup_.workers; ++w) {
      {
        std::lock_guard<std::mutex> lock(workers_[w].mutex);
        workers_[w].stop = true;
      }
      workers_[w].cv.notify_all();
    }
    for (int w = 0; w < setup_.workers; ++w) {
      if (workers_[w].thread.joinable()) workers_[w].thread.join();
    }
  }

  std::vector<pid_t> WorkerTids() const override {
    std::vector<pid_t> tids;
    for (int w = 0; w < setup_.workers; ++w) tids.push_back(workers_[w].tid);
    return tids;
  }
  uint64_t Coalesced() const override { return coalesced_.load(std::memory_order_relaxed); }
  std::vector<uint64_t> Activations() const override {
    std::vector<uint64_t> out;
    for (size_t i = 0; i < bodies_.size(); ++i) out.push_back(tasks_[i].activations.load());
    return out;
  }

 private:
  struct TaskState {
    std::atomic<bool> pending{false};
    std::atomic<uint64_t> activations{0};
    int worker = 0;
  };
  struct Worker {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;
    bool stop = false;
    std::thread thread;
    pid_t tid = 0;
  };

  void Run(int index) {
    tasks_[index].pending.exchange(false, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bodies_[index]();
    tasks_[index].activations.fetch_add(1, std::memory_order_relaxed);
  }

  void Loop(Worker* w) {
    std::unique_lock<std::mutex> lock(w->mutex);
    while (true) {
      w->cv.wait(lock, [w] { return w->stop || !w->queue.empty(); });
      if (w->queue.empty()) return;
      std::function<void()> job = std::move(w->queue.front());
      w->queue.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  const WorkerSetup setup_;
  std::unique_ptr<TaskState[]> tasks_;
  std::unique_ptr<Worker[]> workers_;
  std::atomic<uint64_t> coalesced_{0};
};

std::string CpuList(const std::vector<int>& cpus) { return absl::StrJoin(cpus, ","); }

std::string PolicyText(const WorkerSetup& setup) {
  switch (setup.policy) {
    case SCHED_FIFO:
      return "SCHED_FIFO";
    case SCHED_BATCH:
      return "SCHED_BATCH";
    default:
      return "SCHED_OTHER";
  }
}

// The cadence runtime, from conf text.
class CadenceRunner : public Runner {
 public:
  CadenceRunner(RunnerKind kind, const WorkerSetup& setup) : kind_(kind), setup_(setup) {}
  ~CadenceRunner() override { Stop(); }

  absl::Status Start() override {
    const int n = static_cast<int>(bodies_.size());
    const std::string text =
        kind_ == RunnerKind::kChoreography ? ChoreographyConf(setup_, n) : ClassicConf(setup_, {});
    absl::StatusOr<Plan> plan = PlanFromText(text);
    if (!plan.ok()) return plan.status();
    absl::StatusOr<std::unique_ptr<Scheduler>> s = Scheduler::Start(*plan);
    if (!s.ok()) return s.status();
    scheduler_ = std::move(*s);
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<TaskId> id = scheduler_->CreateTask(absl::StrCat("t", i), bodies_[i]);
      if (!id.ok()) return id.status();
      ids_.push_back(*id);
    }
    for (const ThreadRecord& t : scheduler_->Threads()) {
      if (t.applied.fell_back) {
        return absl::FailedPreconditionError(absl::StrCat(t.name, ": ", t.applied.why));
      }
    }
    return absl::OkStatus();
  }

  void Notify(int index) override { scheduler_->NotifyTask(ids_[index]).IgnoreError(); }

  void Stop() override {
    if (scheduler_) scheduler_->Shutdown();
  }

  std::vector<pid_t> WorkerTids() const override {
    std::vector<pid_t> tids;
    for (const ProcessorStats& p : scheduler_->ProcessorStatistics()) {
      // The choreography pool (CPU 0, never given work here) is not a worker, unless the
      // setup puts the workers there.
      if (kind_ == RunnerKind::kChoreography && !setup_.pool && p.name.rfind("pool", 0) == 0) {
        continue;
      }
      tids.push_back(p.tid);
    }
    return tids;
  }
  std::vector<pid_t> AllTids() const override {
    std::vector<pid_t> tids;
    for (const ProcessorStats& p : scheduler_->ProcessorStatistics()) tids.push_back(p.tid);
    return tids;
  }
  uint64_t Coalesced() const override {
    uint64_t total = 0;
    for (const TaskStats& t : scheduler_->TaskStatistics()) total += t.coalesced;
    return total;
  }
  std::vector<uint64_t> Activations() const override {
    std::vector<uint64_t> out;
    for (const TaskStats& t : scheduler_->TaskStatistics()) out.push_back(t.activations);
    return out;
  }

 private:
  const RunnerKind kind_;
  const WorkerSetup setup_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<TaskId> ids_;
};

}  // namespace

const char* RunnerName(RunnerKind kind) {
  switch (kind) {
    case RunnerKind::kFutex:
      return "floor (futex)";
    case RunnerKind::kNaive:
      return "naive pool";
    case RunnerKind::kClassic:
      return "cadence classic";
    case RunnerKind::kChoreography:
      return "cadence choreography";
  }
  return "?";
}

int Runner::AddTask(std::function<void()> body) {
  bodies_.push_back(std::move(body));
  return static_cast<int>(bodies_.size()) - 1;
}

std::unique_ptr<Runner> MakeRunner(RunnerKind kind, const WorkerSetup& setup) {
  switch (kind) {
    case RunnerKind::kFutex:
      return std::make_unique<FutexRunner>(setup);
    case RunnerKind::kNaive:
      return std::make_unique<NaiveRunner>(setup);
    case RunnerKind::kClassic:
    case RunnerKind::kChoreography:
      return std::make_unique<CadenceRunner>(kind, setup);
  }
  return nullptr;
}

std::string ClassicConf(const WorkerSetup& setup, const std::vector<std::string>& task_names) {
  std::string entries;
  for (size_t i = 0; i < task_names.size(); ++i) {
    absl::StrAppend(&entries, i == 0 ? "" : ", ", "{ name: \"", task_names[i], "\" prio: 10 }");
  }
  return absl::StrCat(
      "scheduler_conf {\n policy: \"classic\"\n classic_conf {\n  groups: [{\n"
      "   name: \"bench\"\n   processor_num: ",
      setup.workers, "\n   affinity: \"", setup.workers == 1 ? "1to1" : "range",
      "\"\n   cpuset: \"", CpuList(setup.cpus), "\"\n   processor_policy: \"", PolicyText(setup),
      "\"\n   processor_prio: ", setup.policy == SCHED_FIFO ? setup.rt_priority : 0,
      setup.nice != 0 ? absl::StrCat("\n   processor_nice: ", setup.nice) : "",
      setup.untimed ? "\n   time_activations: false" : "", "\n   tasks: [", entries,
      "]\n  }]\n }\n}\n");
}

std::string ChoreographyConf(const WorkerSetup& setup, int tasks) {
  if (setup.pool) {
    return absl::StrCat(
        "scheduler_conf {\n policy: \"choreography\"\n choreography_conf {\n"
        "  choreography_processor_num: 0\n  pool_processor_num: ",
        setup.workers, "\n  pool_affinity: \"range\"\n  pool_cpuset: \"", CpuList(setup.cpus),
        "\"\n  pool_processor_policy: \"", PolicyText(setup),
        "\"\n  pool_processor_prio: ", setup.policy == SCHED_FIFO ? setup.rt_priority : 0,
        setup.nice != 0 ? absl::StrCat("\n  pool_processor_nice: ", setup.nice) : "",
        setup.untimed ? "\n  pool_time_activations: false" : "", "\n }\n}\n");
  }
  std::string entries;
  for (int i = 0; i < tasks; ++i) {
    absl::StrAppend(&entries, i == 0 ? "" : ",\n", "{ name: \"t", i, "\" processor: ",
                    i % std::max(1, setup.workers), " prio: 10 }");
  }
  return absl::StrCat(
      "scheduler_conf {\n policy: \"choreography\"\n choreography_conf {\n"
      "  choreography_processor_num: ",
      setup.workers, "\n  choreography_affinity: \"", setup.workers == 1 ? "1to1" : "range",
      "\"\n  choreography_cpuset: \"", CpuList(setup.cpus),
      "\"\n  choreography_processor_policy: \"", PolicyText(setup),
      "\"\n  choreography_processor_prio: ", setup.policy == SCHED_FIFO ? setup.rt_priority : 0,
      setup.nice != 0 ? absl::StrCat("\n  choreography_processor_nice: ", setup.nice) : "",
      setup.untimed ? "\n  choreography_time_activations: false" : "",
      "\n  pool_processor_num: 1\n  pool_affinity: \"range\"\n  pool_cpuset: \"0\"\n"
      "  pool_processor_policy: \"SCHED_OTHER\"\n  tasks: [\n",
      entries, "\n  ]\n }\n}\n");
}

absl::StatusOr<Plan> PlanFromText(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "<bench>");
  if (!loaded.ok()) return loaded.status();
  Validation v = Validate(*loaded, Machine::Read());
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bench conf rejected:\n", v.diagnostics.ToString(), "\n", text));
  }
  return v.plan;
}

}  // namespace cadence::bench
