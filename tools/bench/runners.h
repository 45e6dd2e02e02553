// Runners: the things a W-protocol workload runs its tasks on, behind one interface, so
// that the floor, the naive pool and cadence execute exactly the same workload code.
//
//   - FutexRunner: the floor. One thread blocked on a futex word; a notify sets the task's
//     pending flag, bumps the word and calls FUTEX_WAKE. Nothing else.
//   - NaiveRunner: what a user would write by hand: per worker a std::mutex, a
//     std::condition_variable and a std::deque<std::function<void()>>. A task has a
//     pending flag so that, like cadence, a notify of a task that is already queued is
//     coalesced (otherwise W2 would queue millions of jobs); task i runs on worker
//     i % workers.
//   - CadenceRunner: a cadence Scheduler built from conf text (classic group, or
//     choreography processors with every task placed on processor 0).
#ifndef CADENCE_TOOLS_BENCH_RUNNERS_H_
#define CADENCE_TOOLS_BENCH_RUNNERS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scheduler/scheduler.h"
#include "tools/bench/system.h"

namespace cadence::bench {

enum class RunnerKind { kFutex, kNaive, kClassic, kChoreography };

// "floor (futex)", "naive pool", "cadence classic", "cadence choreography".
const char* RunnerName(RunnerKind kind);

// Where and how the workers run.
struct WorkerSetup {
  int workers = 1;
  // SCHED_OTHER, SCHED_BATCH or SCHED_FIFO, and the FIFO priority.
  int policy = 0;
  int rt_priority = 0;
  // The nice value of SCHED_OTHER/SCHED_BATCH workers.
  int nice = 0;
  // The CPUs of the workers; with more than one worker each may use all of them (range).
  std::vector<int> cpus = {1};
  // cadence choreography only: the workers are the pool's processors and the tasks are not
  // placed (they go to the pool); there are no choreography processors.
  bool pool = false;
  // cadence only: the queues do not time activations (time_activations: false).
  bool untimed = false;
};

class Runner {
 public:
  virtual ~Runner() = default;

  // Adds a task (before Start); returns its index (0, 1, ...).
  int AddTask(std::function<void()> body);

  // Starts the workers and creates the tasks.
  virtual absl::Status Start() = 0;

  // Notifies task `index` (any thread, also from inside a task body).
  virtual void Notify(int index) = 0;

  // Lets what is queued finish and stops the workers.
  virtual void Stop() = 0;

  // The worker threads' kernel ids (after Start).
  virtual std::vector<pid_t> WorkerTids() const = 0;

  // Every thread the runner started (after Start): the workers and any that get no work
  // here (cadence choreography's pool processor).
  virtual std::vector<pid_t> AllTids() const { return WorkerTids(); }

  // Notifies coalesced so far (the task was already pending).
  virtual uint64_t Coalesced() const = 0;

  // Completed activations per task, in task order.
  virtual std::vector<uint64_t> Activations() const = 0;

 protected:
  std::vector<std::function<void()>> bodies_;
};

// A runner of the given kind (a FutexRunner always has exactly one worker).
std::unique_ptr<Runner> MakeRunner(RunnerKind kind, const WorkerSetup& setup);

// The conf text of a classic group `name` with `setup`'s processors (policy, priority,
// CPUs; 1to1 for one worker, range otherwise), with `task_names` placed at priority 10.
std::string ClassicConf(const WorkerSetup& setup, const std::vector<std::string>& task_names);

// The conf text of setup.workers choreography processors on setup.cpus (1to1 for one
// worker, range otherwise, as ClassicConf), with tasks "t0".."t<tasks-1>" placed on processor i % workers, and a 1-processor
// SCHED_OTHER pool on CPU 0 that gets no work (tasks the conf does not name go there).
// With setup.pool: no choreography processor, a pool of setup.workers processors on
// setup.cpus (range) with setup's policy, and no task placed (all go to the pool).
std::string ChoreographyConf(const WorkerSetup& setup, int tasks);

// Builds a Plan from conf text (ParseConfigText + Validate against this machine). Errors
// carry the diagnostics.
absl::StatusOr<Plan> PlanFromText(const std::string& text);

}  // namespace cadence::bench

#endif  // CADENCE_TOOLS_BENCH_RUNNERS_H_
