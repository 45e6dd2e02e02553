// Tests of the Scheduler against the real kernel: processors get the policy, priority, CPUs
// and name the plan asks for (read back from /proc), tasks run where and in the order the
// plan says, and the activation contracts of task.h hold (coalescing, run-again, removal,
// shutdown). Synchronisation is by futures, condition variables and atomics only; the two
// places that poll (a thread's /proc state, a name leaving the task table) poll for a state
// the kernel or the scheduler reports, with a generous bound as a failure guard.
#include "scheduler/scheduler.h"

#include <dirent.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/testing/thread_state.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/plan.h"
#include "scheduler/config/validator.h"
#include "scheduler/testing/counter.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {

// Reaches into a Scheduler for what a test cannot reach through its API.
class SchedulerTestPeer {
 public:
  // Gives the slot at `index` the generation `generation` (its state unchanged).
  static void SetGeneration(Scheduler* scheduler, uint32_t index, uint32_t generation) {
    std::lock_guard<std::mutex> lock(scheduler->table_mutex_);
    std::atomic<uint32_t>& word = scheduler->tasks_.At(index)->state;
    word.store(Task::Word(generation, Task::StateOf(word.load())));
  }
};

namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The failure guard for every wait: far beyond anything a passing run needs.
constexpr auto kGuard = 30s;

// ---------------------------------------------------------------------------------------
// /proc readers.

// What the kernel reports for a thread of this process (/proc/self/task/<tid>/).
ProcThread Proc(pid_t tid) {
  absl::StatusOr<ProcThread> thread = ReadProcThread(0, tid);
  EXPECT_TRUE(thread.ok()) << thread.status();
  return thread.ok() ? *thread : ProcThread{};
}

// Polls the kernel-reported state of a thread (not a synchronisation: the state is what is
// checked) until it is `want`, for at most a few seconds; returns the last state read.
char WaitForStatState(pid_t tid, char want) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  char state = Proc(tid).state;
  while (state != want && std::chrono::steady_clock::now() < deadline) {
    sched_yield();
    state = Proc(tid).state;
  }
  return state;
}

using test_support::SleepsInFutex;

// ---------------------------------------------------------------------------------------
// Helpers.

using test_support::Counter;

// A one-shot gate: Open() once; Wait() blocks until then (bounded by the guard).
class Gate {
 public:
  void Open() { promise_.set_value(); }
  bool Wait() { return future_.wait_for(kGuard) == std::future_status::ready; }
  bool IsOpen() const { return future_.wait_for(0s) == std::future_status::ready; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
};

// Waits until *word is not 0 (futex; at most the guard time). It makes no happens-before
// edge (relaxed loads, and ThreadSanitizer does not model futex as synchronisation), so a
// test can check that an ordering comes from the scheduler alone.
bool WaitUnordered(std::atomic<uint32_t>* word) {
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  while (word->load(std::memory_order_relaxed) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec recheck = {1, 0};  // only re-checks the guard; the wake is the futex's
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, 0, &recheck, nullptr,
            0);
  }
  return true;
}

// Sets *word to 1 and wakes WaitUnordered (no happens-before edge either).
void SetUnordered(std::atomic<uint32_t>* word) {
  word->store(1, std::memory_order_relaxed);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
          nullptr, 0);
}

using test_support::StartOrNull;

// Parses and validates a config text against this machine; fails the test on any error.
Plan PlanFrom(const std::string& text) { return test_support::PlanFromText(text); }

// The thread record of a processor or named thread.
const ThreadRecord* FindRecord(const std::vector<ThreadRecord>& records, const std::string& kind,
                               const std::string& name) {
  for (const ThreadRecord& r : records) {
    if (r.kind == kind && r.name == name) return &r;
  }
  return nullptr;
}

// The kernel tid of the processor named `name` (0 when there is none).
pid_t ProcessorTid(const Scheduler& scheduler, const std::string& name) {
  const std::vector<ThreadRecord> records = scheduler.Threads();
  const ThreadRecord* record = FindRecord(records, "processor", name);
  return record == nullptr ? 0 : record->tid;
}

// The tids of the processors that serve queue `queue` of the plan.
std::set<pid_t> QueueTids(const Scheduler& scheduler, int queue) {
  std::set<pid_t> tids;
  for (int p : scheduler.plan().queues[queue].processors) {
    tids.insert(ProcessorTid(scheduler, scheduler.plan().processors[p].name));
  }
  return tids;
}

// The index of the queue named `name` in the plan, -1 when there is none.
int QueueIndex(const Plan& plan, const std::string& name) {
  for (size_t i = 0; i < plan.queues.size(); ++i) {
    if (plan.queues[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Checks that the kernel granted what was requested. SCHED_RESET_ON_FORK is compared only
// for real-time policies: it is only ever set for them (sched_policy.h), although a plan
// carries reset_on_fork = true for every policy by default.
void ExpectGranted(const AppliedAttributes& applied) {
  const ThreadAttributes& want = applied.requested;
  const ThreadAttributes& got = applied.effective;
  SCOPED_TRACE(DescribeApplied(applied));
  EXPECT_EQ(got.policy, want.policy);
  EXPECT_EQ(got.rt_priority, want.rt_priority);
  EXPECT_EQ(got.nice, want.nice);
  EXPECT_EQ(got.runtime_ns, want.runtime_ns);
  EXPECT_EQ(got.deadline_ns, want.deadline_ns);
  EXPECT_EQ(got.period_ns, want.period_ns);
  EXPECT_EQ(got.cpus, want.cpus);
  if (IsRealTime(want.policy)) {
    EXPECT_EQ(got.reset_on_fork, want.reset_on_fork);
  }
}

// Checks that every processor of the scheduler runs with exactly what its plan entry asks,
// as recorded by the scheduler and as /proc reports.
void ExpectProcessorsHaveTheirAttributes(const Scheduler& scheduler) {
  const std::vector<ThreadRecord> records = scheduler.Threads();
  ASSERT_FALSE(scheduler.plan().processors.empty());
  for (const ProcessorPlan& p : scheduler.plan().processors) {
    SCOPED_TRACE(p.name);
    const ThreadRecord* record = FindRecord(records, "processor", p.name);
    ASSERT_NE(record, nullptr) << "no thread record for processor " << p.name;
    ASSERT_GT(record->tid, 0);
    // What the scheduler recorded: requested is the plan's, effective is requested.
    EXPECT_EQ(record->applied.requested, p.attributes);
    EXPECT_FALSE(record->applied.fell_back) << record->applied.why;
    ExpectGranted(record->applied);
    // What the kernel reports.
    EXPECT_EQ(Proc(record->tid).policy, NativePolicy(p.attributes.policy)) << "policy";
    EXPECT_EQ(Proc(record->tid).rt_priority, p.attributes.rt_priority) << "rt_priority";
    if (UsesNice(p.attributes.policy)) {
      EXPECT_EQ(Proc(record->tid).nice, p.attributes.nice) << "nice";
    }
    EXPECT_EQ(Proc(record->tid).cpus_allowed, p.attributes.cpus)
        << "Cpus_allowed_list " << Proc(record->tid).cpus_allowed.ToString() << " vs plan "
        << p.attributes.cpus.ToString();
    EXPECT_EQ(Proc(record->tid).name, p.thread_name);
  }
}

void ExpectOk(const absl::Status& status) { EXPECT_TRUE(status.ok()) << status; }

// Every test may change the affinity of every thread of the process (process_level_cpuset);
// the fixture puts it back so tests do not depend on each other.
class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sched_getaffinity(0, sizeof(initial_), &initial_), 0); }
  void TearDown() override {
    DIR* dir = opendir("/proc/self/task");
    ASSERT_NE(dir, nullptr);
    while (struct dirent* entry = readdir(dir)) {
      int tid = 0;
      if (absl::SimpleAtoi(entry->d_name, &tid))
        sched_setaffinity(tid, sizeof(initial_), &initial_);
    }
    closedir(dir);
  }

 private:
  cpu_set_t initial_;
};

// One classic group with one processor on every CPU: its tasks run one at a time, in queue
// order.
constexpr char kSoloConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "solo"
        processor_num: 1
        affinity: "range"
        cpuset: "0-1"
        tasks: [
          { name: "blocker" prio: 19 },
          { name: "p3" prio: 3 },
          { name: "p17a" prio: 17 },
          { name: "p0" prio: 0 },
          { name: "p17b" prio: 17 },
          { name: "p10" prio: 10 }
        ]
      }
    ]
  }
}
)";

// kSoloConf's one processor, held by a run of "blocker" (Hold) until Release, so that
// what is notified meanwhile queues up behind it.
struct HeldSolo {
  // Declared before the scheduler, which is destroyed first (its blocker may still wait).
  Gate running;
  Gate release;
  std::unique_ptr<Scheduler> scheduler;
  TaskId blocker;

  // Notifies the blocker and waits until it runs (false: it did not start in time).
  bool Hold() { return scheduler->NotifyTask(blocker).ok() && running.Wait(); }
  void Release() { release.Open(); }
};

// nullptr (and a test failure) when the scheduler or the blocker could not be created.
std::unique_ptr<HeldSolo> StartHeldSolo() {
  const Plan plan = PlanFrom(kSoloConf);
  if (plan.processors.size() != 1u) {
    ADD_FAILURE() << "kSoloConf has " << plan.processors.size() << " processors";
    return nullptr;
  }
  auto held = std::make_unique<HeldSolo>();
  held->scheduler = StartOrNull(plan);
  if (held->scheduler == nullptr) return nullptr;
  HeldSolo* h = held.get();
  absl::StatusOr<TaskId> blocker = h->scheduler->CreateTask("blocker", [h] {
    h->running.Open();
    h->release.Wait();
  });
  if (!blocker.ok()) {
    ADD_FAILURE() << blocker.status();
    return nullptr;
  }
  h->blocker = *blocker;
  return held;
}

// ---------------------------------------------------------------------------------------
// Processors and threads get their attributes.

TEST_F(SchedulerTest, ClassicProcessorsGetPolicyPriorityNiceCpusAndName) {
  const Plan plan = PlanFrom(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "fifo"
        processor_num: 1
        affinity: "1to1"
        cpuset: "1"
        processor_policy: "SCHED_FIFO"
        processor_prio: 30
      },
      {
        name: "batch"
        processor_num: 1
        affinity: "range"
        cpuset: "0"
        processor_policy: "SCHED_BATCH"
        processor_nice: 7
      }
    ]
  }
}
)");
  // The plan says what the conf says (so the /proc checks below check the conf).
  ASSERT_EQ(plan.processors.size(), 2u);
  EXPECT_EQ(plan.processors[0].attributes.policy, SchedPolicy::kFifo);
  EXPECT_EQ(plan.processors[0].attributes.rt_priority, 30);
  EXPECT_EQ(plan.processors[0].attributes.cpus, CpuSet::Of({1}));
  EXPECT_EQ(plan.processors[1].attributes.policy, SchedPolicy::kBatch);
  EXPECT_EQ(plan.processors[1].attributes.nice, 7);
  EXPECT_EQ(plan.processors[1].attributes.cpus, CpuSet::Of({0}));

  std::unique_ptr<Scheduler> scheduler = StartOrNull(plan);
  ASSERT_NE(scheduler, nullptr);
  ExpectProcessorsHaveTheirAttributes(*scheduler);
}

TEST_F(SchedulerTest, RobotChoreographyConfProcessorsGetTheirAttributes) {
  // Bazel runs the test in its runfiles tree, whose root is the workspace: the conf data
  // dependency is at conf/ relative to the working directory.
  const std::string path = "conf/robot_choreography.conf";
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->real_path, ::testing::EndsWith("/conf/robot_choreography.conf"));
  Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  ASSERT_EQ(validation.plan.kind, SchedulerKind::kChoreography);

  std::unique_ptr<Scheduler> scheduler = StartOrNull(validation.plan);
  ASSERT_NE(scheduler, nullptr);
  ExpectProcessorsHaveTheirAttributes(*scheduler);
}

TEST_F(SchedulerTest, ProcessLevelCpusetAppliesToThreadsThatExistedBeforeStart) {
  const Plan plan = PlanFrom(R"(
scheduler_conf {
  policy: "classic"
  process_level_cpuset: "1"
  classic_conf {
    groups: [ { name: "only" processor_num: 1 cpuset: "1" } ]
  }
}
)");
  ASSERT_TRUE(plan.restrict_process);
  ASSERT_EQ(plan.process_cpus, CpuSet::Of({1}));

  std::promise<pid_t> tid_promise;
  std::promise<void> release;
  std::thread earlier([&tid_promise, released = release.get_future()] {
    tid_promise.set_value(CurrentTid());
    released.wait();
  });
  const pid_t tid = tid_promise.get_future().get();
  // Before: the thread may use more than the process_level_cpuset (else the test is moot).
  EXPECT_NE(Proc(tid).cpus_allowed, plan.process_cpus);

  std::unique_ptr<Scheduler> scheduler = StartOrNull(plan);
  EXPECT_NE(scheduler, nullptr);
  EXPECT_EQ(Proc(tid).cpus_allowed, plan.process_cpus) << Proc(tid).cpus_allowed.ToString();
  EXPECT_EQ(Proc(getpid()).cpus_allowed, plan.process_cpus) << "the main thread";
  release.set_value();
  earlier.join();
}

// ---------------------------------------------------------------------------------------
// Queue order and placement.

TEST_F(SchedulerTest, HigherPriorityRunsFirstFifoWithinALevel) {
  std::unique_ptr<HeldSolo> held = StartHeldSolo();
  ASSERT_NE(held, nullptr);
  Scheduler* const scheduler = held->scheduler.get();
  const Plan plan = PlanFrom(kSoloConf);

  const std::vector<std::string> notify_order = {"p3", "p17a", "p0", "p17b", "p10"};
  std::mutex ran_mutex;
  std::vector<std::string> ran;
  Counter finished;
  std::map<std::string, TaskId> ids;
  for (const std::string& name : notify_order) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(name, [&, name] {
      {
        std::lock_guard<std::mutex> lock(ran_mutex);
        ran.push_back(name);
      }
      finished.Increment();
    });
    ASSERT_TRUE(id.ok()) << id.status();
    ids[name] = *id;
  }
  // The priorities under test are those of the conf: 3, 17, 0, 17, 10.
  std::vector<int> priorities;
  for (const std::string& name : notify_order) priorities.push_back(plan.tasks.at(name).priority);
  ASSERT_EQ(priorities, (std::vector<int>{3, 17, 0, 17, 10}));

  // Hold the only processor, so every notify below queues its task.
  ASSERT_TRUE(held->Hold());
  for (const std::string& name : notify_order) ExpectOk(scheduler->NotifyTask(ids[name]));
  held->Release();
  ASSERT_TRUE(finished.WaitAtLeast(notify_order.size()));

  // Expected: by priority, highest first, and in notify order within a level.
  std::vector<std::string> expected = notify_order;
  std::stable_sort(expected.begin(), expected.end(),
                   [&](const std::string& a, const std::string& b) {
                     return plan.tasks.at(a).priority > plan.tasks.at(b).priority;
                   });
  std::lock_guard<std::mutex> lock(ran_mutex);
  EXPECT_EQ(ran, expected);
  EXPECT_EQ(ran, (std::vector<std::string>{"p17a", "p17b", "p10", "p3", "p0"}));
}

// A processor working through queued tasks takes up what was notified meanwhile in the
// same order as if it had all been queued at once: a higher level overtakes the queued
// tasks below it, an equal level goes after them.
TEST_F(SchedulerTest, TasksNotifiedDuringABacklogOvertakeLowerLevelsAndFollowEqualOnes) {
  std::unique_ptr<HeldSolo> held = StartHeldSolo();
  ASSERT_NE(held, nullptr);
  Scheduler* const scheduler = held->scheduler.get();
  std::mutex ran_mutex;
  std::vector<std::string> ran;
  Counter finished;
  std::map<std::string, TaskId> ids;
  auto record = [&](const std::string& name) {
    std::lock_guard<std::mutex> lock(ran_mutex);
    ran.push_back(name);
  };
  // "late0" is not in the conf: level 0, like p0.
  for (const std::string name : {"p17a", "p10", "p0", "late0"}) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(name, [&, name] {
      record(name);
      finished.Increment();
    });
    ASSERT_TRUE(id.ok()) << id.status();
    ids[name] = *id;
  }
  absl::StatusOr<TaskId> p3 = scheduler->CreateTask("p3", [&] {
    record("p3");
    // p0 is queued behind this run. Notified now: two levels above it and one equal.
    ExpectOk(scheduler->NotifyTask(ids["late0"]));
    ExpectOk(scheduler->NotifyTask(ids["p17a"]));
    ExpectOk(scheduler->NotifyTask(ids["p10"]));
    finished.Increment();
  });
  ASSERT_TRUE(p3.ok()) << p3.status();

  ASSERT_TRUE(held->Hold());
  ExpectOk(scheduler->NotifyTask(*p3));
  ExpectOk(scheduler->NotifyTask(ids["p0"]));
  held->Release();
  ASSERT_TRUE(finished.WaitAtLeast(5));
  std::lock_guard<std::mutex> lock(ran_mutex);
  EXPECT_EQ(ran, (std::vector<std::string>{"p3", "p17a", "p10", "p0", "late0"}));
}

// A processor working through a backlog of short runs pops several tasks of the top level
// at once (see ClassicQueue::WaitPop). That must not show: a task notified meanwhile at a
// higher level still runs right after the run that notified it, the level's FIFO order
// holds, and a task removed while it waits among them — here by a run on that very
// processor — is removed at once and never runs.
TEST_F(SchedulerTest, BacklogOfShortRunsKeepsPriorityFifoAndRemovalOfQueuedTasks) {
  std::unique_ptr<HeldSolo> held = StartHeldSolo();
  ASSERT_NE(held, nullptr);
  Scheduler* const scheduler = held->scheduler.get();
  // Bodies stay short (no lock, no allocation) so that the processor batches them.
  constexpr int kBacklog = 24;
  std::atomic<int> ran_count{0};
  std::array<int, kBacklog + 1> ran{};  // Task numbers; kBacklog stands for "p17a".
  std::vector<TaskId> ids(kBacklog);
  std::atomic<int> failed{0};
  Counter finished;
  absl::StatusOr<TaskId> urgent = scheduler->CreateTask("p17a", [&] {
    ran[ran_count.fetch_add(1, std::memory_order_relaxed)] = kBacklog;
    finished.Increment();
  });
  ASSERT_TRUE(urgent.ok()) << urgent.status();
  for (int i = 0; i < kBacklog; ++i) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(absl::StrCat("b", i), [&, i] {
      ran[ran_count.fetch_add(1, std::memory_order_relaxed)] = i;
      if (i == 2 && !scheduler->NotifyTask(*urgent).ok()) failed.fetch_add(1);
      if (i == 3 && !scheduler->RemoveTask(ids[6]).ok()) failed.fetch_add(1);
      finished.Increment();
    });
    ASSERT_TRUE(id.ok()) << id.status();
    ids[i] = *id;
  }

  ASSERT_TRUE(held->Hold());
  for (int i = 0; i < kBacklog; ++i) ExpectOk(scheduler->NotifyTask(ids[i]));
  held->Release();
  // Everything but b6, plus p17a.
  ASSERT_TRUE(finished.WaitAtLeast(kBacklog));
  EXPECT_TRUE(absl::IsNotFound(scheduler->NotifyTask(ids[6])));
  scheduler->Shutdown();  // Whatever else was queued has run now.
  EXPECT_EQ(failed.load(), 0);
  std::vector<int> expected = {0, 1, 2, kBacklog, 3};
  for (int i = 4; i < kBacklog; ++i) {
    if (i != 6) expected.push_back(i);
  }
  ASSERT_EQ(ran_count.load(), kBacklog);
  EXPECT_EQ(std::vector<int>(ran.begin(), ran.begin() + ran_count.load()), expected);
}

// A queued task can be removed wherever it stands in its level (first, last, in between),
// round after round, while the level's ring of queued tasks wraps around many times (see
// ClassicQueue::EraseLocked): it never runs, and the others of the level run once each, in
// notify order.
TEST_F(SchedulerTest, RemovedQueuedTaskNeverRunsAndTheRestKeepNotifyOrderOverManyRounds) {
  constexpr int kTasks = 30;
  constexpr int kRounds = 24;
  // Declared before the scheduler, which its bodies use: they outlive it.
  std::mutex ran_mutex;
  std::vector<int> ran;
  Counter finished;
  std::vector<std::unique_ptr<Gate>> running(kRounds), release(kRounds);
  for (int r = 0; r < kRounds; ++r) {
    running[r] = std::make_unique<Gate>();
    release[r] = std::make_unique<Gate>();
  }
  std::atomic<int> round_now{0};
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  // Every task is created up front (the ring is sized then, and never again), all of level
  // 0 as the conf does not name them. The blocker holds the only processor while a round's
  // tasks are queued.
  absl::StatusOr<TaskId> blocker = scheduler->CreateTask("hold", [&] {
    const int r = round_now.load();
    running[r]->Open();
    release[r]->Wait();
  });
  ASSERT_TRUE(blocker.ok()) << blocker.status();
  std::vector<int> live;
  std::vector<TaskId> ids;
  for (int i = 0; i < kTasks; ++i) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(absl::StrCat("r", i), [&, i] {
      {
        std::lock_guard<std::mutex> lock(ran_mutex);
        ran.push_back(i);
      }
      finished.Increment();
    });
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
    live.push_back(i);
  }
  uint64_t runs = 0;
  for (int round = 0; round < kRounds; ++round) {
    round_now.store(round);
    // Each round notifies the live tasks in a rotated order and removes the first, the
    // last, or one in between (a position that moves round by round).
    const int n = static_cast<int>(live.size());
    std::vector<int> order;
    for (int k = 0; k < n; ++k) order.push_back(live[(round + k) % n]);
    const int position = round % 3 == 0 ? 0 : round % 3 == 1 ? n - 1 : 1 + (round * 7) % (n - 2);
    const int removed = order[position];
    ExpectOk(scheduler->NotifyTask(*blocker));
    ASSERT_TRUE(running[round]->Wait());
    for (int i : order) ExpectOk(scheduler->NotifyTask(ids[i]));
    ExpectOk(scheduler->RemoveTask(ids[removed]));
    release[round]->Open();
    runs += n - 1;
    ASSERT_TRUE(finished.WaitAtLeast(runs));
    order.erase(order.begin() + position);
    live.erase(std::find(live.begin(), live.end(), removed));
    std::lock_guard<std::mutex> lock(ran_mutex);
    EXPECT_EQ(ran, order) << "round " << round << ", removed task " << removed
                          << " at position " << position;
    ran.clear();
  }
  scheduler->Shutdown();
  std::lock_guard<std::mutex> lock(ran_mutex);
  EXPECT_TRUE(ran.empty()) << "a task ran after its round";
  EXPECT_EQ(finished.value(), runs);
}

constexpr char kChoreographyConf[] = R"(
scheduler_conf {
  policy: "choreography"
  choreography_conf {
    choreography_processor_num: 2
    choreography_affinity: "1to1"
    choreography_cpuset: "0-1"
    pool_processor_num: 2
    pool_affinity: "range"
    pool_cpuset: "0-1"
    tasks: [
      { name: "on0" processor: 0 prio: 5 },
      { name: "on1" processor: 1 prio: 5 },
      { name: "pooled" prio: 5 }
    ]
  }
}
)";

TEST_F(SchedulerTest, ChoreographyTasksRunOnlyOnTheirProcessor) {
  constexpr int kRounds = 200;
  std::mutex mutex;
  std::map<std::string, std::vector<pid_t>> tids;  // task -> tid of each run
  Counter runs0, runs1;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kChoreographyConf));
  ASSERT_NE(scheduler, nullptr);
  const pid_t choreo0 = ProcessorTid(*scheduler, "choreo/0");
  const pid_t choreo1 = ProcessorTid(*scheduler, "choreo/1");
  ASSERT_GT(choreo0, 0);
  ASSERT_GT(choreo1, 0);
  ASSERT_NE(choreo0, choreo1);

  absl::StatusOr<TaskId> on0 = scheduler->CreateTask("on0", [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      tids["on0"].push_back(CurrentTid());
    }
    runs0.Increment();
  });
  absl::StatusOr<TaskId> on1 = scheduler->CreateTask("on1", [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      tids["on1"].push_back(CurrentTid());
    }
    runs1.Increment();
  });
  ASSERT_TRUE(on0.ok()) << on0.status();
  ASSERT_TRUE(on1.ok()) << on1.status();
  EXPECT_EQ(scheduler->TaskStatistics(*on0)->processor, "choreo/0");
  EXPECT_EQ(scheduler->TaskStatistics(*on1)->processor, "choreo/1");

  for (int i = 1; i <= kRounds; ++i) {
    ExpectOk(scheduler->NotifyTask(*on0));
    ExpectOk(scheduler->NotifyTask(*on1));
    ASSERT_TRUE(runs0.WaitAtLeast(i));
    ASSERT_TRUE(runs1.WaitAtLeast(i));
  }
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(tids["on0"].size(), static_cast<size_t>(kRounds));
  ASSERT_EQ(tids["on1"].size(), static_cast<size_t>(kRounds));
  for (pid_t tid : tids["on0"]) ASSERT_EQ(tid, choreo0);
  for (pid_t tid : tids["on1"]) ASSERT_EQ(tid, choreo1);
}

// Creates a task the conf does not name, runs it `runs` times and returns the tids it ran
// on; *stats receives its statistics.
std::set<pid_t> RunUnnamedTask(Scheduler& scheduler, const std::string& name, int runs,
                               TaskStats* stats) {
  std::mutex mutex;
  std::set<pid_t> tids;
  Counter counter;
  absl::StatusOr<TaskId> id = scheduler.CreateTask(name, [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      tids.insert(CurrentTid());
    }
    counter.Increment();
  });
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return {};
  for (int i = 1; i <= runs; ++i) {
    ExpectOk(scheduler.NotifyTask(*id));
    EXPECT_TRUE(counter.WaitAtLeast(i));
  }
  absl::StatusOr<TaskStats> s = scheduler.TaskStatistics(*id);
  EXPECT_TRUE(s.ok()) << s.status();
  if (s.ok()) *stats = *s;
  // The body must not outlive this frame's captures.
  ExpectOk(scheduler.RemoveTask(*id));
  std::lock_guard<std::mutex> lock(mutex);
  return tids;
}

TEST_F(SchedulerTest, UnnamedTaskGoesToTheFirstClassicGroupAtPriorityZero) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      { name: "first" processor_num: 2 cpuset: "0-1" tasks: [ { name: "named" prio: 7 } ] },
      { name: "second" processor_num: 1 cpuset: "0-1" }
    ]
  }
}
)"));
  ASSERT_NE(scheduler, nullptr);
  const int first = QueueIndex(scheduler->plan(), "first");
  ASSERT_GE(first, 0);
  ASSERT_EQ(scheduler->plan().default_queue, first);
  const std::set<pid_t> group_tids = QueueTids(*scheduler, first);
  ASSERT_EQ(group_tids.size(), 2u);

  TaskStats stats;
  const std::set<pid_t> ran_on = RunUnnamedTask(*scheduler, "not_in_the_conf", 50, &stats);
  EXPECT_EQ(stats.queue, "first");
  EXPECT_EQ(stats.priority, 0);
  EXPECT_EQ(stats.processor, "");
  ASSERT_FALSE(ran_on.empty());
  for (pid_t tid : ran_on) EXPECT_TRUE(group_tids.count(tid)) << "ran on tid " << tid;
}

TEST_F(SchedulerTest, UnnamedTaskGoesToTheChoreographyPool) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kChoreographyConf));
  ASSERT_NE(scheduler, nullptr);
  const int pool = scheduler->plan().default_queue;
  ASSERT_GE(pool, 0);
  const std::set<pid_t> pool_tids = QueueTids(*scheduler, pool);
  ASSERT_EQ(pool_tids.size(), 2u);
  EXPECT_FALSE(pool_tids.count(ProcessorTid(*scheduler, "choreo/0")));
  EXPECT_FALSE(pool_tids.count(ProcessorTid(*scheduler, "choreo/1")));

  TaskStats stats;
  const std::set<pid_t> ran_on = RunUnnamedTask(*scheduler, "not_in_the_conf", 50, &stats);
  EXPECT_EQ(stats.queue, scheduler->plan().queues[pool].name);
  EXPECT_EQ(stats.priority, 0);
  EXPECT_EQ(stats.processor, "");
  ASSERT_FALSE(ran_on.empty());
  for (pid_t tid : ran_on) EXPECT_TRUE(pool_tids.count(tid)) << "ran on tid " << tid;
}

// ---------------------------------------------------------------------------------------
// Activation semantics.

TEST_F(SchedulerTest, NotifiesWhileRunningMakeItRunExactlyOnceMore) {
  Gate running;
  std::atomic<uint32_t> release{0};  // no happens-before edge but the scheduler's
  std::atomic<int> runs{0};
  // Written before each notify and read by the second run with no synchronisation of its
  // own: it must see the value written before the last (coalesced) notify.
  int written_before_notify = 0;
  int seen_by_second_run = -1;
  // Opened by the second run only, after its read: the first run synchronises with nothing
  // the test thread does after the notifies (a lock taken there would order the test's
  // writes before the second run whatever the scheduler does).
  Gate second_ran;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreateTask("held", [&] {
    if (runs.fetch_add(1) == 0) {
      running.Open();
      EXPECT_TRUE(WaitUnordered(&release));
    } else {
      seen_by_second_run = written_before_notify;
      second_ran.Open();
    }
  });
  ASSERT_TRUE(id.ok()) << id.status();

  ExpectOk(scheduler->NotifyTask(*id));
  ASSERT_TRUE(running.Wait());
  constexpr int kNotifies = 5;
  for (int i = 1; i <= kNotifies; ++i) {
    written_before_notify = i;
    ExpectOk(scheduler->NotifyTask(*id));
  }
  SetUnordered(&release);
  ASSERT_TRUE(second_ran.Wait());
  // Shutdown runs whatever is still queued and joins: no run can come after it.
  scheduler->Shutdown();

  EXPECT_EQ(runs.load(), 2);
  EXPECT_EQ(seen_by_second_run, kNotifies) << "the run again did not follow every notify";
  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->activations, 2u);
  EXPECT_EQ(stats->notifies, 1u + kNotifies);
  // The first notify while running asked for the run again; the other four coalesced.
  EXPECT_EQ(stats->coalesced, kNotifies - 1u);
}

TEST_F(SchedulerTest, NotifyOfAQueuedTaskIsCoalescedAndItsRunFollowsTheNotify) {
  Gate busy_running;
  // Released with a relaxed store and a futex wake: no happens-before edge from the test
  // thread to the processor except the scheduler's own.
  std::atomic<uint32_t> release_busy{0};
  // Written by the test thread between the two notifies and read by the run with no
  // synchronisation of its own: the notify -> run ordering of the scheduler must publish
  // it (a plain int, so ThreadSanitizer checks that happens-before edge).
  int written_before_second_notify = 0;
  int seen_by_run = -1;
  Gate queued_ran;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> busy = scheduler->CreateTask("busy", [&] {
    busy_running.Open();
    EXPECT_TRUE(WaitUnordered(&release_busy));
  });
  ASSERT_TRUE(busy.ok()) << busy.status();
  absl::StatusOr<TaskId> queued = scheduler->CreateTask("queued", [&] {
    seen_by_run = written_before_second_notify;
    queued_ran.Open();
  });
  ASSERT_TRUE(queued.ok()) << queued.status();

  ExpectOk(scheduler->NotifyTask(*busy));
  ASSERT_TRUE(busy_running.Wait());
  ExpectOk(scheduler->NotifyTask(*queued));  // queued behind the busy processor
  written_before_second_notify = 1;
  ExpectOk(scheduler->NotifyTask(*queued));  // coalesced
  SetUnordered(&release_busy);
  ASSERT_TRUE(queued_ran.Wait());
  scheduler->Shutdown();

  EXPECT_EQ(seen_by_run, 1) << "the run did not follow the coalesced notify";
  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*queued);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->notifies, 2u);
  EXPECT_EQ(stats->coalesced, 1u);
  EXPECT_EQ(stats->activations, 1u);
}

TEST_F(SchedulerTest, TaskRemovesItselfFromItsBody) {
  std::atomic<int> runs{0};
  TaskId self;
  absl::Status removed = absl::UnknownError("not run");
  absl::Status notify_after_remove = absl::UnknownError("not run");
  Gate done;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreateTask("self", [&] {
    if (runs.fetch_add(1) != 0) return;
    removed = scheduler->RemoveTask(self);
    notify_after_remove = scheduler->NotifyTask(self);
    done.Open();
  });
  ASSERT_TRUE(id.ok()) << id.status();
  self = *id;
  ExpectOk(scheduler->NotifyTask(self));
  ASSERT_TRUE(done.Wait());

  EXPECT_TRUE(removed.ok()) << removed;
  EXPECT_TRUE(absl::IsNotFound(notify_after_remove)) << notify_after_remove;
  absl::Status notify = scheduler->NotifyTask(self);
  EXPECT_TRUE(absl::IsNotFound(notify)) << notify;
  absl::Status remove_again = scheduler->RemoveTask(self);
  EXPECT_TRUE(absl::IsNotFound(remove_again)) << remove_again;
  EXPECT_TRUE(absl::IsNotFound(scheduler->FindTask("self").status()));

  // The name is free again.
  Gate again_ran;
  absl::StatusOr<TaskId> again = scheduler->CreateTask("self", [&] { again_ran.Open(); });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(*again, self);  // Its slot may be reused, under a new generation.
  ExpectOk(scheduler->NotifyTask(*again));
  ASSERT_TRUE(again_ran.Wait());

  scheduler->Shutdown();  // drains: a stray run of the removed task would show up now
  EXPECT_EQ(runs.load(), 1);
}

// A removed task's slot goes to the next task created on the same queue, under a new
// generation: the old TaskId stays NotFound for every call, and a notify through it never
// queues or runs the new task, whose statistics start from zero.
TEST_F(SchedulerTest, StaleTaskIdNeverReachesTheTaskThatReusesItsSlot) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  std::atomic<int> old_runs{0};
  Gate old_ran;
  absl::StatusOr<TaskId> old = scheduler->CreateTask("old", [&] {
    old_runs.fetch_add(1);
    old_ran.Open();
  });
  ASSERT_TRUE(old.ok()) << old.status();
  ExpectOk(scheduler->NotifyTask(*old));
  ASSERT_TRUE(old_ran.Wait());
  ExpectOk(scheduler->RemoveTask(*old));

  std::atomic<int> new_runs{0};
  Counter new_ran;
  absl::StatusOr<TaskId> reused = scheduler->CreateTask("new", [&] {
    new_runs.fetch_add(1);
    new_ran.Increment();
  });
  ASSERT_TRUE(reused.ok()) << reused.status();
  ASSERT_EQ(reused->index, old->index) << "the removed task's slot was not reused";
  EXPECT_NE(reused->generation, old->generation);

  // Through the old id: nothing, however often.
  for (int i = 0; i < 100; ++i) {
    absl::Status notify = scheduler->NotifyTask(*old);
    ASSERT_TRUE(absl::IsNotFound(notify)) << notify;
  }
  EXPECT_TRUE(absl::IsNotFound(scheduler->RemoveTask(*old)));
  EXPECT_TRUE(absl::IsNotFound(scheduler->TaskStatistics(*old).status()));
  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*reused);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->name, "new");
  EXPECT_EQ(stats->notifies, 0u);
  EXPECT_EQ(stats->activations, 0u);
  absl::StatusOr<TaskId> found = scheduler->FindTask("new");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, *reused);

  // Through the new id: it runs.
  ExpectOk(scheduler->NotifyTask(*reused));
  ASSERT_TRUE(new_ran.WaitAtLeast(1));
  scheduler->Shutdown();  // Drains: a run the stale notifies had queued would show now.
  EXPECT_EQ(new_runs.load(), 1);
  EXPECT_EQ(old_runs.load(), 1);
  stats = scheduler->TaskStatistics(*reused);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->notifies, 1u);
  EXPECT_EQ(stats->activations, 1u);
}

// Creating and removing tasks for ever does not run out: the table holds
// TaskTable::kCapacity tasks at once, and every creation here reuses the one slot.
TEST_F(SchedulerTest, CreatingAndRemovingPastTheTableCapacityReusesOneSlot) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  uint32_t slot = UINT32_MAX;
  for (uint32_t i = 0; i < TaskTable::kCapacity + 1000; ++i) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask("churn", [] {});
    ASSERT_TRUE(id.ok()) << "creation " << i << ": " << id.status();
    if (i == 0) slot = id->index;
    ASSERT_EQ(id->index, slot) << "creation " << i << " took a new slot";
    ASSERT_EQ(id->generation, i) << "creation " << i << " did not get the next generation";
    absl::Status removed = scheduler->RemoveTask(*id);
    ASSERT_TRUE(removed.ok()) << "removal " << i << ": " << removed;
  }
  // The last reuse is a working task.
  Gate ran;
  absl::StatusOr<TaskId> id = scheduler->CreateTask("last", [&] { ran.Open(); });
  ASSERT_TRUE(id.ok()) << id.status();
  ExpectOk(scheduler->NotifyTask(*id));
  EXPECT_TRUE(ran.Wait());
}

// A reused slot takes the level of its new task, up and down. Raised: the slots of 16
// removed priority-0 tasks go to 16 tasks of priority 12, queued behind a held processor
// after a priority-0 task (so the level-12 ring must have grown, and they must run before
// it). Lowered: those 16 slots go to 16 priority-0 tasks, queued before a priority-6 task,
// which must run first.
TEST_F(SchedulerTest, ReusedSlotsQueueAtTheirNewTasksLevel) {
  constexpr int kTasks = 16;
  std::string tasks;
  for (int i = 0; i < kTasks; ++i) absl::StrAppend(&tasks, ", { name: \"h", i, "\" prio: 12 }");
  const std::string conf = absl::StrCat(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "solo"
        processor_num: 1
        affinity: "range"
        cpuset: "0-1"
        tasks: [ { name: "blocker" prio: 19 }, { name: "mid" prio: 6 })", tasks, R"( ]
      }
    ]
  }
})");
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(conf));
  ASSERT_NE(scheduler, nullptr);
  std::mutex ran_mutex;
  std::vector<std::string> ran;
  Counter finished;
  auto create = [&](const std::string& name) -> TaskId {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(name, [&, name] {
      {
        std::lock_guard<std::mutex> lock(ran_mutex);
        ran.push_back(name);
      }
      finished.Increment();
    });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : TaskId{};
  };
  // Holds the only processor in a run of "blocker" while `queue` notifies, then lets go
  // and returns the names in run order.
  auto run_held = [&](const std::vector<TaskId>& queue) {
    Gate running, release;
    absl::StatusOr<TaskId> blocker = scheduler->CreateTask("blocker", [&] {
      running.Open();
      release.Wait();
    });
    EXPECT_TRUE(blocker.ok()) << blocker.status();
    if (!blocker.ok()) return std::vector<std::string>{};
    const uint64_t before = finished.value();
    {
      std::lock_guard<std::mutex> lock(ran_mutex);
      ran.clear();
    }
    ExpectOk(scheduler->NotifyTask(*blocker));
    EXPECT_TRUE(running.Wait());
    for (const TaskId& id : queue) ExpectOk(scheduler->NotifyTask(id));
    release.Open();
    EXPECT_TRUE(finished.WaitAtLeast(before + queue.size()));
    ExpectOk(scheduler->RemoveTask(*blocker));  // Waits for its run to end.
    std::lock_guard<std::mutex> lock(ran_mutex);
    return ran;
  };

  const TaskId low = create("low");  // Priority 0, before any slot is free.
  // 16 removed priority-0 slots.
  std::vector<TaskId> unnamed;
  for (int i = 0; i < kTasks; ++i) unnamed.push_back(create(absl::StrCat("u", i)));
  std::set<uint32_t> removed_slots;
  for (const TaskId& id : unnamed) {
    removed_slots.insert(id.index);
    ExpectOk(scheduler->RemoveTask(id));
  }

  // Raised to 12.
  std::vector<TaskId> high;
  std::set<uint32_t> high_slots;
  std::vector<TaskId> queue = {low};
  std::vector<std::string> expected;
  for (int i = 0; i < kTasks; ++i) {
    high.push_back(create(absl::StrCat("h", i)));
    high_slots.insert(high.back().index);
    queue.push_back(high.back());
    expected.push_back(absl::StrCat("h", i));
  }
  expected.push_back("low");
  EXPECT_EQ(high_slots, removed_slots) << "the priority-12 tasks did not reuse the removed slots";
  EXPECT_EQ(run_held(queue), expected);
  for (const TaskId& id : high) {
    absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(id);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->priority, 12);
  }

  // Lowered to 0.
  for (const TaskId& id : high) ExpectOk(scheduler->RemoveTask(id));
  std::vector<TaskId> lowered;
  std::set<uint32_t> lowered_slots;
  for (int i = 0; i < kTasks; ++i) {
    lowered.push_back(create(absl::StrCat("w", i)));
    lowered_slots.insert(lowered.back().index);
  }
  EXPECT_EQ(lowered_slots, removed_slots) << "the priority-0 tasks did not reuse the slots";
  const TaskId mid = create("mid");
  queue = lowered;
  queue.push_back(mid);
  expected = {"mid"};
  for (int i = 0; i < kTasks; ++i) expected.push_back(absl::StrCat("w", i));
  EXPECT_EQ(run_held(queue), expected);
}

// A slot whose generation would wrap is retired, not reused: a TaskId kept since the
// slot's first task would otherwise name a task again.
TEST_F(SchedulerTest, SlotWhoseGenerationWouldWrapIsRetired) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> first = scheduler->CreateTask("first", [] {});
  ASSERT_TRUE(first.ok()) << first.status();
  ExpectOk(scheduler->RemoveTask(*first));
  // As if the slot had been reused 2^29 - 2 times: the next task gets the last generation.
  SchedulerTestPeer::SetGeneration(scheduler.get(), first->index, Task::kGenerationMask - 1);
  absl::StatusOr<TaskId> last = scheduler->CreateTask("last", [] {});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->index, first->index);
  EXPECT_EQ(last->generation, Task::kGenerationMask);
  ExpectOk(scheduler->RemoveTask(*last));

  absl::StatusOr<TaskId> next = scheduler->CreateTask("next", [] {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE(next->index, first->index) << "the slot was reused with its generation wrapped";
  // The stale ids name nothing.
  EXPECT_TRUE(absl::IsNotFound(scheduler->NotifyTask(*first)));
  EXPECT_TRUE(absl::IsNotFound(scheduler->NotifyTask(*last)));
  // Other slots are still reused.
  ExpectOk(scheduler->RemoveTask(*next));
  absl::StatusOr<TaskId> again = scheduler->CreateTask("again", [] {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->index, next->index);
}

TEST_F(SchedulerTest, RemoveFromAnotherThreadWaitsForTheRunningActivation) {
  Gate running;
  Gate release;
  std::atomic<bool> body_finished{false};
  std::atomic<int> runs{0};
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreateTask("held", [&] {
    runs.fetch_add(1);
    running.Open();
    release.Wait();
    body_finished.store(true);
  });
  ASSERT_TRUE(id.ok()) << id.status();
  ExpectOk(scheduler->NotifyTask(*id));
  ASSERT_TRUE(running.Wait());

  struct Removal {
    absl::Status status;
    bool body_finished_before_return = false;
  };
  std::promise<pid_t> remover_tid;
  std::promise<Removal> removal;
  std::future<Removal> removed = removal.get_future();
  std::thread remover([&] {
    remover_tid.set_value(CurrentTid());
    Removal r;
    r.status = scheduler->RemoveTask(*id);
    r.body_finished_before_return = body_finished.load();
    removal.set_value(r);
  });
  const pid_t tid = remover_tid.get_future().get();

  // RemoveTask takes the name out of the table first, then waits: once the name is gone the
  // remover is inside RemoveTask. Poll for that (bounded), then for the remover to be asleep.
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  while (scheduler->FindTask("held").ok() && std::chrono::steady_clock::now() < deadline) {
    sched_yield();
  }
  EXPECT_FALSE(scheduler->FindTask("held").ok()) << "RemoveTask never started";
  EXPECT_EQ(WaitForStatState(tid, 'S'), 'S') << "the remover should sleep while it waits";
  // The body is still held: RemoveTask must not have returned.
  EXPECT_NE(removed.wait_for(0s), std::future_status::ready);
  EXPECT_FALSE(body_finished.load());

  release.Open();
  remover.join();
  ASSERT_EQ(removed.wait_for(0s), std::future_status::ready);
  const Removal r = removed.get();
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.body_finished_before_return);
  absl::Status notify = scheduler->NotifyTask(*id);
  EXPECT_TRUE(absl::IsNotFound(notify)) << notify;
  scheduler->Shutdown();
  EXPECT_EQ(runs.load(), 1);
}

TEST_F(SchedulerTest, ShutdownLetsRunningAndQueuedActivationsFinishThenRefusesNotifies) {
  Gate running;
  Gate release;
  std::atomic<int> held_runs{0};
  constexpr int kQueued = 3;
  std::atomic<int> queued_runs[kQueued] = {};
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> held = scheduler->CreateTask("held", [&] {
    if (held_runs.fetch_add(1) == 0) {
      running.Open();
      release.Wait();
    }
  });
  ASSERT_TRUE(held.ok()) << held.status();
  std::vector<TaskId> queued;
  for (int i = 0; i < kQueued; ++i) {
    absl::StatusOr<TaskId> id =
        scheduler->CreateTask(absl::StrCat("queued", i), [&, i] { queued_runs[i].fetch_add(1); });
    ASSERT_TRUE(id.ok()) << id.status();
    queued.push_back(*id);
  }

  ExpectOk(scheduler->NotifyTask(*held));
  ASSERT_TRUE(running.Wait());
  for (TaskId id : queued) ExpectOk(scheduler->NotifyTask(id));
  ExpectOk(scheduler->NotifyTask(*held));  // runs once more after the held run

  std::promise<void> shut_down;
  std::future<void> shutdown_done = shut_down.get_future();
  std::thread shutter([&] {
    scheduler->Shutdown();
    shut_down.set_value();
  });
  // Shutdown has begun once CreateTask is refused (probe tasks are never notified).
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  absl::Status probe;
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    probe = scheduler->CreateTask(absl::StrCat("probe", i), [] {}).status();
    if (!probe.ok()) break;
    sched_yield();
  }
  EXPECT_TRUE(absl::IsFailedPrecondition(probe)) << probe;
  // The held run is still going, so Shutdown cannot have joined.
  EXPECT_NE(shutdown_done.wait_for(0s), std::future_status::ready);

  release.Open();
  EXPECT_EQ(shutdown_done.wait_for(kGuard), std::future_status::ready);
  shutter.join();

  EXPECT_EQ(held_runs.load(), 2);
  for (int i = 0; i < kQueued; ++i) EXPECT_EQ(queued_runs[i].load(), 1) << "queued" << i;
  for (TaskId id : queued) {
    absl::Status notify = scheduler->NotifyTask(id);
    EXPECT_TRUE(absl::IsFailedPrecondition(notify)) << notify;
  }
  absl::Status notify = scheduler->NotifyTask(*held);
  EXPECT_TRUE(absl::IsFailedPrecondition(notify)) << notify;
  EXPECT_TRUE(absl::IsFailedPrecondition(scheduler->CreateTask("late", [] {}).status()));
}

TEST_F(SchedulerTest, DuplicateTaskNameIsAlreadyExists) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  ASSERT_TRUE(scheduler->CreateTask("p3", [] {}).ok());
  absl::Status duplicate = scheduler->CreateTask("p3", [] {}).status();
  EXPECT_TRUE(absl::IsAlreadyExists(duplicate)) << duplicate;
  EXPECT_THAT(std::string(duplicate.message()), HasSubstr("p3"));
  duplicate = scheduler->CreateTask("unnamed", [] {}).status();
  EXPECT_TRUE(duplicate.ok()) << duplicate;
  duplicate = scheduler->CreateTask("unnamed", [] {}).status();
  EXPECT_TRUE(absl::IsAlreadyExists(duplicate)) << duplicate;
}

TEST_F(SchedulerTest, ThrowingBodyIsCaughtCountedAndTheProcessorGoesOn) {
  std::atomic<int> throws{0};
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kSoloConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> thrower = scheduler->CreateTask("thrower", [&] {
    // One std::exception, then one that is not.
    if (throws.fetch_add(1) == 0) throw std::runtime_error("task failure");
    throw 42;
  });
  ASSERT_TRUE(thrower.ok()) << thrower.status();
  Counter after_runs;
  absl::StatusOr<TaskId> after = scheduler->CreateTask("after", [&] { after_runs.Increment(); });
  ASSERT_TRUE(after.ok()) << after.status();

  for (int i = 1; i <= 2; ++i) {
    ExpectOk(scheduler->NotifyTask(*thrower));
    ExpectOk(scheduler->NotifyTask(*after));
    // One processor: `after` runs after the throwing run only if the processor survived it.
    ASSERT_TRUE(after_runs.WaitAtLeast(i));
  }
  scheduler->Shutdown();
  EXPECT_EQ(throws.load(), 2);
  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*thrower);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->exceptions, 2u);
  EXPECT_EQ(stats->activations, 2u);
  stats = scheduler->TaskStatistics(*after);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->exceptions, 0u);
  EXPECT_EQ(stats->activations, 2u);
}

// ---------------------------------------------------------------------------------------
// Named threads.

constexpr char kThreadsConf[] = R"(
scheduler_conf {
  policy: "classic"
  threads: [ { name: "logger" cpuset: "1" policy: "SCHED_BATCH" nice: 3 } ]
  classic_conf { groups: [ { name: "g" processor_num: 1 cpuset: "0-1" } ] }
}
)";

const InnerThreadPlan* InnerThread(const Plan& plan, const std::string& name) {
  for (const InnerThreadPlan& t : plan.inner_threads) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST_F(SchedulerTest, ApplyThreadConfigAppliesTheConfEntry) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kThreadsConf));
  ASSERT_NE(scheduler, nullptr);
  const InnerThreadPlan* logger = InnerThread(scheduler->plan(), "logger");
  ASSERT_NE(logger, nullptr);
  ASSERT_EQ(logger->attributes.policy, SchedPolicy::kBatch);
  ASSERT_EQ(logger->attributes.nice, 3);
  ASSERT_EQ(logger->attributes.cpus, CpuSet::Of({1}));

  std::promise<pid_t> tid_promise;
  std::promise<void> release;
  std::thread thread([&tid_promise, released = release.get_future()] {
    tid_promise.set_value(CurrentTid());
    released.wait();
  });
  const pid_t tid = tid_promise.get_future().get();
  absl::StatusOr<AppliedAttributes> applied = scheduler->ApplyThreadConfig("logger", tid);
  EXPECT_TRUE(applied.ok()) << applied.status();
  if (applied.ok()) {
    EXPECT_FALSE(applied->fell_back) << applied->why;
    EXPECT_EQ(applied->requested, logger->attributes);
    ExpectGranted(*applied);
  }
  EXPECT_EQ(Proc(tid).policy, NativePolicy(logger->attributes.policy));
  EXPECT_EQ(Proc(tid).nice, logger->attributes.nice);
  EXPECT_EQ(Proc(tid).cpus_allowed, logger->attributes.cpus);
  const std::vector<ThreadRecord> records = scheduler->Threads();
  const ThreadRecord* record = FindRecord(records, "thread", "logger");
  EXPECT_NE(record, nullptr);
  if (record != nullptr) {
    EXPECT_EQ(record->tid, tid);
  }

  absl::StatusOr<AppliedAttributes> unknown = scheduler->ApplyThreadConfig("no_such_thread", tid);
  EXPECT_TRUE(absl::IsNotFound(unknown.status())) << unknown.status();
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("no_such_thread"));
  release.set_value();
  thread.join();
}

TEST_F(SchedulerTest, StartThreadRunsTheBodyWithTheAttributesApplied) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kThreadsConf));
  ASSERT_NE(scheduler, nullptr);
  const InnerThreadPlan* logger = InnerThread(scheduler->plan(), "logger");
  ASSERT_NE(logger, nullptr);

  std::promise<absl::StatusOr<ThreadAttributes>> inside;
  std::future<absl::StatusOr<ThreadAttributes>> read = inside.get_future();
  absl::StatusOr<std::thread> thread = scheduler->StartThread(
      "logger", [&inside] { inside.set_value(ReadThreadAttributes(CurrentTid())); });
  ASSERT_TRUE(thread.ok()) << thread.status();
  thread->join();
  ASSERT_EQ(read.wait_for(0s), std::future_status::ready);
  absl::StatusOr<ThreadAttributes> attributes = read.get();
  ASSERT_TRUE(attributes.ok()) << attributes.status();
  EXPECT_EQ(attributes->policy, logger->attributes.policy);
  EXPECT_EQ(attributes->nice, logger->attributes.nice);
  EXPECT_EQ(attributes->rt_priority, logger->attributes.rt_priority);
  EXPECT_EQ(attributes->cpus, logger->attributes.cpus);
}

// ---------------------------------------------------------------------------------------
// Statistics and idling.

constexpr char kPairConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "pair" processor_num: 2 affinity: "range" cpuset: "0-1"
                tasks: [ { name: "counted" prio: 4 } ] } ]
  }
}
)";

// Tasks a processor popped in a batch (see ClassicQueue::WaitPop) are not tied to it: when
// one of them blocks in its run, the other processor of the group runs the rest.
TEST_F(SchedulerTest, TasksBatchedBehindABlockedRunAreRunByTheOtherProcessor) {
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kPairConf));
  ASSERT_NE(scheduler, nullptr);
  // Both processors held, so that the backlog below queues up.
  Counter blockers_running;
  Gate release_blockers;
  std::vector<TaskId> blockers;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(absl::StrCat("blocker", i), [&] {
      blockers_running.Increment();
      EXPECT_TRUE(release_blockers.Wait());
    });
    ASSERT_TRUE(id.ok()) << id.status();
    blockers.push_back(*id);
  }
  constexpr int kTasks = 24;
  constexpr int kWaiter = 4;  // Early in the backlog: behind it, a batch is still held.
  Counter others_ran;
  std::atomic<bool> waiter_saw_all{false};
  std::vector<TaskId> ids;
  for (int i = 0; i < kTasks; ++i) {
    absl::StatusOr<TaskId> id = scheduler->CreateTask(absl::StrCat("t", i), [&, i] {
      if (i == kWaiter) {
        waiter_saw_all.store(others_ran.WaitAtLeast(kTasks - 1));
      } else {
        others_ran.Increment();
      }
    });
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  for (TaskId id : blockers) ExpectOk(scheduler->NotifyTask(id));
  ASSERT_TRUE(blockers_running.WaitAtLeast(2));
  for (TaskId id : ids) ExpectOk(scheduler->NotifyTask(id));
  release_blockers.Open();
  scheduler->Shutdown();  // Returns once every queued activation has run.
  EXPECT_TRUE(waiter_saw_all.load());
  EXPECT_EQ(others_ran.value(), static_cast<uint64_t>(kTasks - 1));
}

TEST_F(SchedulerTest, StatisticsCountEveryActivation) {
  Counter runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kPairConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreateTask("counted", [&] { runs.Increment(); });
  ASSERT_TRUE(id.ok()) << id.status();
  constexpr uint64_t kRuns = 100;
  for (uint64_t i = 1; i <= kRuns; ++i) {
    ExpectOk(scheduler->NotifyTask(*id));
    ASSERT_TRUE(runs.WaitAtLeast(i));  // each run completes before the next notify
  }
  // Shutdown joins the processors, so every statistic written after the last body is in.
  scheduler->Shutdown();

  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->name, "counted");
  EXPECT_EQ(stats->queue, "pair");
  EXPECT_EQ(stats->priority, scheduler->plan().tasks.at("counted").priority);
  EXPECT_EQ(stats->notifies, kRuns);
  EXPECT_EQ(stats->coalesced, 0u);
  EXPECT_EQ(stats->activations, kRuns);
  EXPECT_EQ(stats->exceptions, 0u);
  EXPECT_EQ(stats->wake_latency.count, kRuns);
  EXPECT_LE(stats->wake_latency.p50_ns, stats->wake_latency.p99_ns);
  EXPECT_GE(stats->run_ns_total, stats->run_ns_max);
  CpuSet group_cpus;
  for (const ProcessorPlan& p : scheduler->plan().processors) {
    group_cpus = group_cpus.Union(p.attributes.cpus);
  }
  EXPECT_TRUE(group_cpus.Contains(stats->last_cpu))
      << "last_cpu " << stats->last_cpu << " not in " << group_cpus.ToString();

  uint64_t processor_activations = 0;
  const std::vector<ProcessorStats> processors = scheduler->ProcessorStatistics();
  ASSERT_EQ(processors.size(), scheduler->plan().processors.size());
  for (const ProcessorStats& p : processors) processor_activations += p.activations;
  EXPECT_EQ(processor_activations, kRuns);

  const std::vector<TaskStats> all = scheduler->TaskStatistics();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].activations, kRuns);
}

TEST_F(SchedulerTest, NamedTasksKeepAHistogramUnnamedTasksKeepCountAndMax) {
  Counter named_runs;
  Counter unnamed_runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kPairConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> named = scheduler->CreateTask("counted", [&] { named_runs.Increment(); });
  absl::StatusOr<TaskId> unnamed =
      scheduler->CreateTask("ad_hoc", [&] { unnamed_runs.Increment(); });
  ASSERT_TRUE(named.ok()) << named.status();
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  constexpr uint64_t kRuns = 30;
  for (uint64_t i = 1; i <= kRuns; ++i) {
    ExpectOk(scheduler->NotifyTask(*named));
    ExpectOk(scheduler->NotifyTask(*unnamed));
    ASSERT_TRUE(named_runs.WaitAtLeast(i));
    ASSERT_TRUE(unnamed_runs.WaitAtLeast(i));
  }
  scheduler->Shutdown();

  absl::StatusOr<TaskStats> n = scheduler->TaskStatistics(*named);
  absl::StatusOr<TaskStats> u = scheduler->TaskStatistics(*unnamed);
  ASSERT_TRUE(n.ok() && u.ok());
  // The conf names it: full histogram, percentiles within the max.
  EXPECT_EQ(n->wake_latency.count, kRuns);
  EXPECT_EQ(n->wake_counts.size(), static_cast<size_t>(LatencyHistogram::kBuckets));
  EXPECT_GT(n->wake_latency.p50_ns, 0u);
  EXPECT_LE(n->wake_latency.p99_ns, n->wake_latency.max_ns);
  // Not named, not periodic: count and max only.
  EXPECT_EQ(u->activations, kRuns);
  EXPECT_EQ(u->wake_latency.count, kRuns);
  EXPECT_GT(u->wake_latency.max_ns, 0u);
  EXPECT_EQ(u->wake_latency.p50_ns, 0u);
  EXPECT_TRUE(u->wake_counts.empty());
}

// Creates task `name`, whose run lasts until *release is set, notifies it and returns
// once the run has begun.
absl::StatusOr<TaskId> StartHeldRun(Scheduler& scheduler, const std::string& name,
                                    const std::atomic<bool>* release) {
  auto started = std::make_shared<std::atomic<bool>>(false);
  absl::StatusOr<TaskId> id = scheduler.CreateTask(name, [started, release] {
    started->store(true);
    while (!release->load()) std::this_thread::yield();  // a long run, ended by the test
  });
  if (!id.ok()) return id.status();
  if (absl::Status notified = scheduler.NotifyTask(*id); !notified.ok()) return notified;
  while (!started->load()) std::this_thread::yield();
  return id;
}

// The busy time of all the scheduler's processors together.
uint64_t BusyNs(const Scheduler& scheduler) {
  uint64_t sum = 0;
  for (const ProcessorStats& p : scheduler.ProcessorStatistics()) sum += p.busy_ns;
  return sum;
}

// Lets `ns` of CLOCK_MONOTONIC pass.
void Pass(int64_t ns) {
  const int64_t later = MonotonicNowNs() + ns;
  while (MonotonicNowNs() < later) std::this_thread::yield();
}

TEST_F(SchedulerTest, ProcessorBusyTimeCountsTheRunInProgress) {
  std::atomic<bool> release{false};  // Outlives the scheduler, whose run reads it.
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kPairConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = StartHeldRun(*scheduler, "counted", &release);
  ASSERT_TRUE(id.ok()) << id.status();
  const uint64_t first = BusyNs(*scheduler);
  Pass(2'000'000);  // let 2 ms of the run pass
  const uint64_t second = BusyNs(*scheduler);
  uint64_t activations = 0;  // Finished runs, read while the run is still held.
  for (const ProcessorStats& p : scheduler->ProcessorStatistics()) activations += p.activations;
  release.store(true);
  // No run had finished, yet the busy time grew by the time that passed: it is the run in
  // progress that is counted.
  EXPECT_EQ(activations, 0u);
  EXPECT_GE(first, 1u);
  EXPECT_GE(second - first, 2'000'000u);
}

// One processor on CPU 1, SCHED_OTHER.
constexpr char kCpuOneConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "one" processor_num: 1 affinity: "range" cpuset: "1"
                tasks: [ { name: "counted" prio: 4 } ] } ]
  }
}
)";

// Notifies kCpuOneConf's task once from a thread on `notifier_cpu`, while the processor
// sleeps, and waits until it sleeps again; returns the processor's statistics read then
// (and checks that stopping the scheduler changes neither count).
ProcessorStats NotifyOnceFromCpu(int notifier_cpu) {
  Counter runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kCpuOneConf));
  if (scheduler == nullptr) return {};
  absl::StatusOr<TaskId> id = scheduler->CreateTask("counted", [&] { runs.Increment(); });
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return {};
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(notifier_cpu, &cpus);
  EXPECT_EQ(sched_setaffinity(0, sizeof(cpus), &cpus), 0) << "CPU " << notifier_cpu;
  const pid_t processor = scheduler->ProcessorStatistics().at(0).tid;
  EXPECT_EQ(Proc(processor).cpus_allowed.ToString(), "1");  // Else the CPUs compared vary.
  // Asleep in its futex (registered as idle), so the notify below wakes it and records
  // this CPU.
  EXPECT_EQ(WaitForStatState(processor, 'S'), 'S');
  EXPECT_EQ(SleepsInFutex(processor), "");
  ExpectOk(scheduler->NotifyTask(*id));
  EXPECT_TRUE(runs.WaitAtLeast(1));
  // Out of work again: it yielded or spun, and went back to sleep.
  EXPECT_EQ(WaitForStatState(processor, 'S'), 'S');
  EXPECT_EQ(SleepsInFutex(processor), "");
  // Read while it sleeps: its counts are current then, not only once it runs again.
  const ProcessorStats asleep = scheduler->ProcessorStatistics().at(0);
  scheduler->Shutdown();  // Joins it: its counters are final.
  const ProcessorStats after = scheduler->ProcessorStatistics().at(0);
  EXPECT_EQ(asleep.sleeps, after.sleeps);
  EXPECT_EQ(asleep.yields, after.yields);
  return asleep;
}

// A processor that runs out of work on the CPU of the thread that woke it yields once
// (sched_yield) instead of spinning, then sleeps: the waker, preempted there, could not
// notify while it spins. (Whether the waker then runs is the kernel's choice; what is
// checked here is that the processor took the yield and not the spin.)
TEST_F(SchedulerTest, ProcessorOutOfWorkOnItsWakersCpuYieldsOnceThenSleeps) {
  const ProcessorStats p = NotifyOnceFromCpu(1);
  EXPECT_EQ(p.activations, 1u);
  EXPECT_EQ(p.yields, 1u);
  EXPECT_EQ(p.sleeps, 2u);  // Before the notify, and after its run.
}

TEST_F(SchedulerTest, ProcessorWokenFromAnotherCpuDoesNotYield) {
  const ProcessorStats p = NotifyOnceFromCpu(0);
  EXPECT_EQ(p.activations, 1u);
  EXPECT_EQ(p.yields, 0u);
  EXPECT_EQ(p.sleeps, 2u);
}

// One processor on CPU 1 whose activations are not timed, except those of "budgeted",
// whose budget needs the clock.
constexpr char kUntimedConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "untimed" processor_num: 1 affinity: "range" cpuset: "1"
                time_activations: false
                tasks: [ { name: "counted" prio: 4 },
                         { name: "budgeted" prio: 4 budget_us: 1000000 } ] } ]
  }
}
)";

TEST_F(SchedulerTest, UntimedQueueCountsActivationsButKeepsNoTimes) {
  Counter counted_runs, budgeted_runs, unnamed_runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kUntimedConf));
  ASSERT_NE(scheduler, nullptr);
  ASSERT_FALSE(scheduler->plan().queues[0].time_activations);
  absl::StatusOr<TaskId> counted =
      scheduler->CreateTask("counted", [&] { counted_runs.Increment(); });
  absl::StatusOr<TaskId> budgeted =
      scheduler->CreateTask("budgeted", [&] { budgeted_runs.Increment(); });
  // Not named: it goes to the same (default) queue, untimed too.
  absl::StatusOr<TaskId> unnamed =
      scheduler->CreateTask("ad_hoc", [&] { unnamed_runs.Increment(); });
  ASSERT_TRUE(counted.ok() && budgeted.ok() && unnamed.ok());
  constexpr uint64_t kRuns = 30;
  for (uint64_t i = 1; i <= kRuns; ++i) {
    ExpectOk(scheduler->NotifyTask(*counted));
    ExpectOk(scheduler->NotifyTask(*budgeted));
    ExpectOk(scheduler->NotifyTask(*unnamed));
    ASSERT_TRUE(counted_runs.WaitAtLeast(i));
    ASSERT_TRUE(budgeted_runs.WaitAtLeast(i));
    ASSERT_TRUE(unnamed_runs.WaitAtLeast(i));
  }
  scheduler->Shutdown();

  for (const TaskId id : {*counted, *unnamed}) {
    absl::StatusOr<TaskStats> s = scheduler->TaskStatistics(id);
    ASSERT_TRUE(s.ok()) << s.status();
    SCOPED_TRACE(s->name);
    EXPECT_FALSE(s->timed);
    // The counts are kept...
    EXPECT_EQ(s->notifies, kRuns);
    EXPECT_EQ(s->activations, kRuns);
    EXPECT_EQ(s->last_cpu, 1);
    EXPECT_EQ(s->cpus_mask, uint64_t{1} << 1);
    // ...the times are not.
    EXPECT_EQ(s->run_ns_total, 0u);
    EXPECT_EQ(s->run_ns_max, 0u);
    EXPECT_EQ(s->wake_latency.count, 0u);
    EXPECT_EQ(s->wake_latency.max_ns, 0u);
  }
  absl::StatusOr<TaskStats> b = scheduler->TaskStatistics(*budgeted);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->timed);
  EXPECT_EQ(b->activations, kRuns);
  EXPECT_EQ(b->wake_latency.count, kRuns);
  EXPECT_GT(b->wake_latency.max_ns, 0u);
  EXPECT_GT(b->run_ns_total, 0u);
  uint64_t processor_activations = 0;
  for (const ProcessorStats& p : scheduler->ProcessorStatistics()) {
    processor_activations += p.activations;
  }
  EXPECT_EQ(processor_activations, 3 * kRuns);
}

// A periodic task created from code on a queue that does not time activations is timed:
// its releases and their jitter need the clock.
TEST_F(SchedulerTest, PeriodicTaskOnAnUntimedQueueIsTimed) {
  Counter runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kUntimedConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreatePeriodicTask("tick", std::chrono::milliseconds(1),
                                                            [&] { runs.Increment(); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(runs.WaitAtLeast(3));
  // Three bodies have run, so three starts were timed and at least two runs have ended.
  absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->timed);
  EXPECT_GE(stats->wake_latency.count, 3u);
  EXPECT_GT(stats->run_ns_total, 0u);
  ExpectOk(scheduler->RemoveTask(*id));
}

// Untimed runs read no clock, yet the processor's busy time holds them: the stretch of
// untimed runs counts while it lasts (a run in progress included) and stops counting when
// the processor waits for work.
TEST_F(SchedulerTest, UntimedRunsCountAsBusyUntilTheProcessorWaits) {
  std::atomic<bool> release{false};  // Outlives the scheduler, whose run reads it.
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kUntimedConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = StartHeldRun(*scheduler, "counted", &release);
  ASSERT_TRUE(id.ok()) << id.status();
  const uint64_t first = BusyNs(*scheduler);
  Pass(2'000'000);
  const uint64_t second = BusyNs(*scheduler);
  release.store(true);
  EXPECT_GE(second - first, 2'000'000u);

  // The run is over and the processor sleeps: its busy time no longer grows.
  const pid_t tid = ProcessorTid(*scheduler, "untimed/0");
  ASSERT_EQ(WaitForStatState(tid, 'S'), 'S');
  const uint64_t asleep = BusyNs(*scheduler);
  Pass(2'000'000);
  EXPECT_EQ(BusyNs(*scheduler), asleep);
  EXPECT_GE(asleep, second);
  const absl::StatusOr<TaskStats> stats = scheduler->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->activations, 1u);
  EXPECT_EQ(stats->run_ns_total, 0u);
}

// One processor and one level holding timed tasks (t<i>: a budget) and untimed ones (u<i>:
// not named, so on the untimed default queue) queued together behind a held run, so that
// its batches mix them: every run is counted once and only once, a second notify of a
// queued untimed task coalesces, a throwing untimed body is caught and counted, the
// timed tasks keep their times and the untimed ones none, and the processor's busy time
// over the burst holds the timed runs and stays within the time that passed.
TEST_F(SchedulerTest, MixedTimedAndUntimedRunsInOneLevelAreEachCountedOnce) {
  constexpr int kEach = 100;
  std::string tasks;
  for (int i = 0; i < kEach; ++i) {
    absl::StrAppend(&tasks, i == 0 ? "" : ", ", "{ name: \"t", i,
                    "\" prio: 0 budget_us: 1000000 }");
  }
  const std::string conf = absl::StrCat(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "mixed" processor_num: 1 affinity: "range" cpuset: "1"
                time_activations: false tasks: [ )",
                                        tasks, R"( ] } ]
  }
}
)");
  std::atomic<bool> release{false};  // Outlives the scheduler, whose run reads it.
  Counter runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(conf));
  ASSERT_NE(scheduler, nullptr);
  const pid_t tid = ProcessorTid(*scheduler, "mixed/0");
  std::vector<TaskId> timed, untimed;
  for (int i = 0; i < kEach; ++i) {
    absl::StatusOr<TaskId> t =
        scheduler->CreateTask(absl::StrCat("t", i), [&] { runs.Increment(); });
    absl::StatusOr<TaskId> u =
        scheduler->CreateTask(absl::StrCat("u", i), [&] { runs.Increment(); });
    ASSERT_TRUE(t.ok() && u.ok());
    timed.push_back(*t);
    untimed.push_back(*u);
  }
  absl::StatusOr<TaskId> boom = scheduler->CreateTask("boom", [&] {
    runs.Increment();
    throw std::runtime_error("untimed boom");
  });
  ASSERT_TRUE(boom.ok()) << boom.status();

  ASSERT_EQ(WaitForStatState(tid, 'S'), 'S');
  const uint64_t busy_before = BusyNs(*scheduler);
  const int64_t before = MonotonicNowNs();
  absl::StatusOr<TaskId> gate = StartHeldRun(*scheduler, "gate", &release);
  ASSERT_TRUE(gate.ok()) << gate.status();
  for (int i = 0; i < kEach; ++i) {
    ExpectOk(scheduler->NotifyTask(timed[i]));
    ExpectOk(scheduler->NotifyTask(untimed[i]));
  }
  ExpectOk(scheduler->NotifyTask(untimed[0]));  // Queued already: coalesced.
  ExpectOk(scheduler->NotifyTask(*boom));
  release.store(true);
  ASSERT_TRUE(runs.WaitAtLeast(2 * kEach + 1));
  ASSERT_EQ(WaitForStatState(tid, 'S'), 'S');
  const int64_t passed = MonotonicNowNs() - before;
  const uint64_t busy = BusyNs(*scheduler) - busy_before;

  uint64_t timed_run_ns = 0;
  for (int i = 0; i < kEach; ++i) {
    absl::StatusOr<TaskStats> t = scheduler->TaskStatistics(timed[i]);
    absl::StatusOr<TaskStats> u = scheduler->TaskStatistics(untimed[i]);
    ASSERT_TRUE(t.ok() && u.ok());
    EXPECT_TRUE(t->timed);
    EXPECT_EQ(t->activations, 1u);
    EXPECT_EQ(t->wake_latency.count, 1u);
    timed_run_ns += t->run_ns_total;
    EXPECT_FALSE(u->timed);
    EXPECT_EQ(u->activations, 1u);
    EXPECT_EQ(u->run_ns_total, 0u);
    EXPECT_EQ(u->wake_latency.count, 0u);
  }
  absl::StatusOr<TaskStats> first = scheduler->TaskStatistics(untimed[0]);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->notifies, 2u);
  EXPECT_EQ(first->coalesced, 1u);
  absl::StatusOr<TaskStats> b = scheduler->TaskStatistics(*boom);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->activations, 1u);
  EXPECT_EQ(b->exceptions, 1u);
  const std::vector<ProcessorStats> processors = scheduler->ProcessorStatistics();
  ASSERT_EQ(processors.size(), 1u);
  EXPECT_EQ(processors[0].activations, 2u * kEach + 2);  // The gate and boom too.
  EXPECT_GE(busy, timed_run_ns);
  EXPECT_LE(busy, static_cast<uint64_t>(passed));
}

TEST_F(SchedulerTest, IdleProcessorsSleep) {
  Counter runs;
  std::unique_ptr<Scheduler> scheduler = StartOrNull(PlanFrom(kPairConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> id = scheduler->CreateTask("counted", [&] { runs.Increment(); });
  ASSERT_TRUE(id.ok()) << id.status();
  constexpr uint64_t kRuns = 20;
  for (uint64_t i = 1; i <= kRuns; ++i) {
    ExpectOk(scheduler->NotifyTask(*id));
    ASSERT_TRUE(runs.WaitAtLeast(i));
  }
  // The work is done: every processor goes to sleep (futex wait) and stays asleep, none
  // spins.
  for (const ThreadRecord& r : scheduler->Threads()) {
    if (r.kind != "processor") continue;
    ASSERT_EQ(WaitForStatState(r.tid, 'S'), 'S') << r.name << " (tid " << r.tid << ")";
    EXPECT_EQ(SleepsInFutex(r.tid), "") << r.name << " (tid " << r.tid << ")";
  }
}

}  // namespace
}  // namespace cadence
