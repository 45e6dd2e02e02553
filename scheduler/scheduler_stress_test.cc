// Stress test of the activation contract under contention: 4 producer threads notify
// random tasks out of 2000 (2,000,000 notifies; a tenth under sanitizers) while a remover
// thread removes and recreates a subset of them, on a classic group of 2 processors and on
// 2 choreography processors + a pool of 2.
//
// Before each notify, producer p stores its sequence number into the task's slot for p
// (release); every run reads all slots (acquire) at its start and keeps the highest value
// it saw. When the storm is over, the test waits (no sleeps) until exactly the runs the
// scheduler owes have happened: one per notify that was not coalesced. Then, for every task
// and producer, some run must have seen the last sequence number that producer published
// for it — every notify was followed by a run that saw what was written before it — and the
// statistics must add up: activations + coalesced == successful notifies, no exceptions.
// Notifies of removed tasks return NotFound and nothing crashes.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/scheduler.h"

namespace cadence {
namespace {

using namespace std::chrono_literals;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kScale = 10;
#else
constexpr uint64_t kScale = 1;
#endif

constexpr int kTasks = 2000;
// The last kChurnTasks tasks are removed and recreated while the producers notify them.
constexpr int kChurnTasks = 100;
constexpr int kStableTasks = kTasks - kChurnTasks;
constexpr int kProducers = 4;
constexpr uint64_t kNotifiesPerProducer = 500'000 / kScale;
constexpr int kRounds = 20;
// Iterations of busy work in each run of a stable task.
constexpr int kBodyWork = 300;
constexpr uint64_t kNotifiesPerRound = kNotifiesPerProducer / kRounds;
static_assert(kNotifiesPerRound * kRounds == kNotifiesPerProducer);
constexpr int kChurnCycles = static_cast<int>(5000 / kScale);
// Producer 0 lets the remover do one cycle every this many of its notifies, so removals are
// spread over the whole storm.
constexpr uint64_t kNotifiesPerChurnCycle = kNotifiesPerProducer / kChurnCycles;
static_assert(kProducers * kNotifiesPerProducer * kScale >= 2'000'000);
static_assert(kNotifiesPerProducer % kChurnCycles == 0);

// The failure guard for the waits (far beyond what a passing run needs, even under TSan).
constexpr auto kGuard = 120s;

// The per-task state the producers and the task's runs share.
struct Slot {
  // Producer p's sequence number, stored (release) before each of its notifies.
  std::atomic<uint64_t> published[kProducers] = {};
  // The highest value of published[p] any run read at its start.
  std::atomic<uint64_t> seen[kProducers] = {};
  // NotifyTask calls that returned OK.
  std::atomic<uint64_t> ok_notifies{0};
  // Runs of the body.
  std::atomic<uint64_t> runs{0};
  // What the body computed (so its work is not optimised away).
  std::atomic<uint64_t> work{0};
  TaskId id;
};

// A task the remover removes and recreates; producers notify whatever id it has now.
struct ChurnSlot {
  std::string name;
  std::atomic<TaskId> id{TaskId{}};
};

// Counts runs and lets the test wait, without polling, until the count reaches a target
// set later. A run locks the mutex only once the count has reached the target.
class RunTarget {
 public:
  // Called by every counted run.
  void Count() {
    // seq_cst, as in WaitFor: of a Count() and a WaitFor() racing, at least one sees the
    // other's write, so the last run is never missed.
    const uint64_t count = count_.fetch_add(1) + 1;
    if (count >= target_.load()) {
      std::lock_guard<std::mutex> lock(mutex_);
      reached_.notify_all();
    }
  }
  // Sets the target and waits for the count to reach it (false after the guard time).
  bool WaitFor(uint64_t target) {
    std::unique_lock<std::mutex> lock(mutex_);
    target_.store(target);
    const bool reached = reached_.wait_for(lock, kGuard, [&] { return count_.load() >= target; });
    target_.store(UINT64_MAX);  // runs stop locking the mutex
    return reached;
  }
  uint64_t count() const { return count_.load(); }

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> target_{UINT64_MAX};
  std::mutex mutex_;
  std::condition_variable reached_;
};

std::string StableName(int t) { return absl::StrCat("t", t); }

// A classic conf: one group of 2 processors over `cpuset`; the stable tasks are named with
// priorities 0-19, the churn tasks are not named (they go to the same group).
// `extra`: more fields of the group.
std::string ClassicConf(const std::string& cpuset = "0-1", const std::string& extra = "") {
  std::string tasks;
  for (int t = 0; t < kStableTasks; ++t) {
    absl::StrAppend(&tasks, t == 0 ? "" : ",\n", "{ name: \"", StableName(t), "\" prio: ", t % 20,
                    " }");
  }
  return absl::StrCat(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "stress"
        processor_num: 2
        affinity: "range"
        cpuset: ")",
                      cpuset, R"("
        )",
                      extra, R"(
        tasks: [
)",
                      tasks, R"(
        ]
      }
    ]
  }
}
)");
}

// A choreography conf: 2 choreography processors (one per CPU) and a pool of 2; a third of
// the stable tasks is placed on each choreography processor, the rest and the churn tasks
// go to the pool.
// `extra`: more fields of choreography_conf.
std::string ChoreographyConf(const std::string& extra = "") {
  std::string tasks;
  for (int t = 0; t < kStableTasks; ++t) {
    const std::string processor = t % 3 == 2 ? "" : absl::StrCat(" processor: ", t % 3);
    absl::StrAppend(&tasks, t == 0 ? "" : ",\n", "{ name: \"", StableName(t), "\"", processor,
                    " prio: ", t % 20, " }");
  }
  return absl::StrCat(R"(
scheduler_conf {
  policy: "choreography"
  choreography_conf {
    choreography_processor_num: 2
    choreography_affinity: "1to1"
    choreography_cpuset: "0-1"
    pool_processor_num: 2
    pool_affinity: "range"
    pool_cpuset: "0-1"
    )",
                      extra, R"(
    tasks: [
)",
                      tasks, R"(
    ]
  }
}
)");
}

// `producer_cpu` >= 0: the producers run on that CPU only.
void RunStress(const std::string& conf, int producer_cpu = -1) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(conf, "stress.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  ASSERT_EQ(validation.plan.tasks.size(), static_cast<size_t>(kStableTasks));

  // Everything the bodies touch outlives the scheduler (declared before it).
  std::unique_ptr<Slot[]> slots(new Slot[kStableTasks]);
  std::unique_ptr<ChurnSlot[]> churn(new ChurnSlot[kChurnTasks]);
  RunTarget stable_runs;
  std::atomic<uint64_t> churn_runs{0};

  absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(validation.plan);
  ASSERT_TRUE(started.ok()) << started.status();
  Scheduler& scheduler = **started;

  for (int t = 0; t < kStableTasks; ++t) {
    Slot* slot = &slots[t];
    absl::StatusOr<TaskId> id = scheduler.CreateTask(StableName(t), [slot, &stable_runs] {
      for (int p = 0; p < kProducers; ++p) {
        const uint64_t value = slot->published[p].load(std::memory_order_acquire);
        // Runs of one task never overlap, so a plain max is enough.
        if (value > slot->seen[p].load(std::memory_order_relaxed)) {
          slot->seen[p].store(value, std::memory_order_relaxed);
        }
      }
      // Some work after the reads, so that notifies often arrive while the task runs (and
      // must make it run again).
      uint64_t work = 0;
      for (int i = 0; i < kBodyWork; ++i) {
        work = work * 31 + i;
        std::atomic_signal_fence(std::memory_order_seq_cst);  // keeps the loop
      }
      slot->work.store(work, std::memory_order_relaxed);
      slot->runs.fetch_add(1, std::memory_order_relaxed);
      stable_runs.Count();
    });
    ASSERT_TRUE(id.ok()) << id.status();
    slot->id = *id;
  }
  const auto churn_body = [&churn_runs] { churn_runs.fetch_add(1, std::memory_order_relaxed); };
  for (int c = 0; c < kChurnTasks; ++c) {
    churn[c].name = absl::StrCat("churn", c);
    absl::StatusOr<TaskId> id = scheduler.CreateTask(churn[c].name, churn_body);
    ASSERT_TRUE(id.ok()) << id.status();
    churn[c].id.store(*id);
  }

  // The storm, in rounds: after each, the test waits until every run owed has happened
  // and checks that the last notify of every (task, producer) was seen by a run. (A run
  // that covers a later notify also covers the earlier ones, so only the last one of a
  // quiet point can be checked; more quiet points check more notifies.)
  std::atomic<uint64_t> notify_calls{0};
  std::atomic<uint64_t> stable_failures{0};
  std::atomic<uint64_t> churn_not_found{0};
  std::atomic<uint64_t> churn_other_errors{0};
  std::counting_semaphore<kChurnCycles> churn_tokens(0);
  std::atomic<int> tokens_released{0};
  std::atomic<int> remover_errors{0};
  std::string first_remover_error;  // written by the remover only; read after join
  std::thread remover([&] {
    auto fail = [&](const std::string& what) {
      if (remover_errors.fetch_add(1) == 0) first_remover_error = what;
    };
    for (int cycle = 0; cycle < kChurnCycles; ++cycle) {
      churn_tokens.acquire();
      ChurnSlot& slot = churn[cycle % kChurnTasks];
      const TaskId old = slot.id.load(std::memory_order_relaxed);
      const absl::Status removed = scheduler.RemoveTask(old);
      if (!removed.ok()) fail(absl::StrCat("RemoveTask(", slot.name, "): ", removed.ToString()));
      const absl::Status notify = scheduler.NotifyTask(old);
      if (!absl::IsNotFound(notify)) {
        fail(absl::StrCat("NotifyTask of removed ", slot.name, ": ", notify.ToString()));
      }
      absl::StatusOr<TaskId> created = scheduler.CreateTask(slot.name, churn_body);
      if (!created.ok()) {
        fail(absl::StrCat("CreateTask(", slot.name, "): ", created.status().ToString()));
        continue;
      }
      slot.id.store(*created, std::memory_order_release);
      // The new task may have the old one's slot; the old id still reaches nothing.
      const absl::Status stale = scheduler.NotifyTask(old);
      if (!absl::IsNotFound(stale)) {
        fail(absl::StrCat("NotifyTask of removed ", slot.name, " after its re-creation: ",
                          stale.ToString()));
      }
    }
  });
  std::mt19937 randoms[kProducers];
  for (int p = 0; p < kProducers; ++p) randoms[p].seed(1234 + p);
  uint64_t owed = 0;
  uint64_t coalesced = 0;
  int missed = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p, round] {
        if (producer_cpu >= 0) {
          cpu_set_t cpus;
          CPU_ZERO(&cpus);
          CPU_SET(producer_cpu, &cpus);
          if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0) stable_failures.fetch_add(1);
        }
        std::uniform_int_distribution<int> pick(0, kTasks - 1);
        uint64_t calls = 0;
        const uint64_t first = round * kNotifiesPerRound + 1;
        for (uint64_t seq = first; seq < first + kNotifiesPerRound; ++seq) {
          const int t = pick(randoms[p]);
          ++calls;
          if (p == 0 && seq % kNotifiesPerChurnCycle == 0) {
            tokens_released.fetch_add(1);
            churn_tokens.release();
          }
          if (t < kStableTasks) {
            Slot& slot = slots[t];
            slot.published[p].store(seq, std::memory_order_release);
            if (scheduler.NotifyTask(slot.id).ok()) {
              slot.ok_notifies.fetch_add(1, std::memory_order_relaxed);
            } else {
              stable_failures.fetch_add(1);
            }
          } else {
            const TaskId id = churn[t - kStableTasks].id.load(std::memory_order_acquire);
            const absl::Status status = scheduler.NotifyTask(id);
            if (absl::IsNotFound(status)) {
              churn_not_found.fetch_add(1, std::memory_order_relaxed);
            } else if (!status.ok()) {
              churn_other_errors.fetch_add(1);
            }
          }
        }
        notify_calls.fetch_add(calls);
      });
    }
    for (std::thread& producer : producers) producer.join();

    // Quiescence without sleeping and without Shutdown (which would wake every processor
    // and could hide a lost wake-up): a stable task owes one run per successful notify that
    // was not coalesced. Its notifies are over for now, so its coalesced count is final.
    owed = 0;
    coalesced = 0;
    bool stats_ok = true;
    for (int t = 0; t < kStableTasks && stats_ok; ++t) {
      absl::StatusOr<TaskStats> stats = scheduler.TaskStatistics(slots[t].id);
      EXPECT_TRUE(stats.ok()) << stats.status();
      stats_ok = stats.ok() && stats->coalesced <= slots[t].ok_notifies.load();
      EXPECT_TRUE(stats_ok) << "more notifies coalesced than made";
      if (stats_ok) {
        owed += slots[t].ok_notifies.load() - stats->coalesced;
        coalesced += stats->coalesced;
      }
    }
    if (!stats_ok) break;
    if (!stable_runs.WaitFor(owed)) {
      ADD_FAILURE() << "round " << round << ": only " << stable_runs.count() << " of the " << owed
                    << " runs owed happened";
      break;
    }

    // Every notify was followed by a run that saw what its producer wrote before it.
    for (int t = 0; t < kStableTasks; ++t) {
      for (int p = 0; p < kProducers; ++p) {
        const uint64_t last = slots[t].published[p].load(std::memory_order_acquire);
        const uint64_t seen = slots[t].seen[p].load(std::memory_order_acquire);
        if (seen != last && ++missed <= 10) {
          ADD_FAILURE() << "round " << round << ", task " << StableName(t) << ": producer " << p
                        << " last published " << last
                        << " before a notify, but the runs saw at most " << seen;
        }
      }
    }
  }
  EXPECT_EQ(missed, 0);
  // Let the remover finish (after a failed round it still waits for the remaining tokens).
  churn_tokens.release(kChurnCycles - tokens_released.load());
  remover.join();
  EXPECT_EQ(notify_calls.load(), kProducers * kNotifiesPerProducer);
  EXPECT_EQ(stable_failures.load(), 0u);
  EXPECT_EQ(churn_other_errors.load(), 0u) << "a notify of a churn task failed other than NotFound";
  EXPECT_EQ(remover_errors.load(), 0) << first_remover_error;
  if (::testing::Test::HasFailure()) return;

  // Still alive after the storm: one more notify of every task, one more run each.
  for (int t = 0; t < kStableTasks; ++t) {
    ASSERT_TRUE(scheduler.NotifyTask(slots[t].id).ok());
    slots[t].ok_notifies.fetch_add(1, std::memory_order_relaxed);
  }
  ASSERT_TRUE(stable_runs.WaitFor(owed + kStableTasks))
      << "only " << stable_runs.count() - owed << " of " << kStableTasks << " final runs";

  // Shutdown joins the processors: every statistic is final.
  scheduler.Shutdown();
  uint64_t ok_notifies = 0;
  uint64_t activations = 0;
  uint64_t stat_coalesced = 0;
  for (int t = 0; t < kStableTasks; ++t) {
    absl::StatusOr<TaskStats> stats = scheduler.TaskStatistics(slots[t].id);
    ASSERT_TRUE(stats.ok()) << stats.status();
    const Slot& slot = slots[t];
    EXPECT_EQ(stats->activations, slot.runs.load()) << StableName(t);
    EXPECT_EQ(stats->activations + stats->coalesced, slot.ok_notifies.load()) << StableName(t);
    EXPECT_EQ(stats->notifies, slot.ok_notifies.load()) << StableName(t);
    EXPECT_EQ(stats->exceptions, 0u) << StableName(t);
    // Timed as its queue says: an untimed task's runs leave no run time.
    const bool timed =
        validation.plan.queues[validation.plan.tasks.at(StableName(t)).queue].time_activations;
    EXPECT_EQ(stats->timed, timed) << StableName(t);
    if (timed) {
      EXPECT_GT(stats->run_ns_total, 0u) << StableName(t);
    } else {
      EXPECT_EQ(stats->run_ns_total, 0u) << StableName(t);
      EXPECT_EQ(stats->wake_latency.count, 0u) << StableName(t);
    }
    ok_notifies += slot.ok_notifies.load();
    activations += stats->activations;
    stat_coalesced += stats->coalesced;
  }
  EXPECT_EQ(activations + stat_coalesced, ok_notifies);
  EXPECT_EQ(stat_coalesced, coalesced) << "notifies were coalesced after the storm";
  EXPECT_EQ(activations, stable_runs.count());
  uint64_t processor_activations = 0;
  uint64_t yields = 0;
  for (const ProcessorStats& p : scheduler.ProcessorStatistics()) {
    processor_activations += p.activations;
    yields += p.yields;
  }
  EXPECT_EQ(processor_activations, activations + churn_runs.load());
  if (producer_cpu >= 0) {
    // Every thread that wakes a processor during the rounds runs on the processors' CPU,
    // so each time a woken processor ran out of work it yielded instead of spinning: the
    // runs owed above were all made through that path too.
    EXPECT_GT(yields, 0u);
  }

  std::cout << "notifies " << notify_calls.load() << " (stable OK " << ok_notifies
            << "), activations " << activations << ", coalesced " << stat_coalesced
            << ", churn runs " << churn_runs.load() << ", churn notifies NotFound "
            << churn_not_found.load() << "\n";
}

// Notifies racing Shutdown: each is either refused (FailedPrecondition) or followed by a
// run — none returns OK and is then dropped. 4 producers notify until refused while the
// main thread shuts down once they are well under way.
void RunShutdownRace(const std::string& conf) {
  constexpr int kRaceTasks = 64;
  constexpr uint64_t kBeforeShutdown = 200'000 / kScale;
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(conf, "stress.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  // What the bodies touch outlives the scheduler (declared before it).
  struct RaceSlot {
    std::atomic<uint64_t> ok{0};
    std::atomic<uint64_t> runs{0};
    TaskId id;
  };
  std::vector<RaceSlot> slots(kRaceTasks);
  absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(validation.plan);
  ASSERT_TRUE(started.ok()) << started.status();
  Scheduler& scheduler = **started;
  for (int t = 0; t < kRaceTasks; ++t) {
    absl::StatusOr<TaskId> id = scheduler.CreateTask(StableName(t), [&slots, t] {
      slots[t].runs.fetch_add(1, std::memory_order_relaxed);
    });
    ASSERT_TRUE(id.ok()) << id.status();
    slots[t].id = *id;
  }
  std::atomic<uint64_t> total_ok{0};
  std::atomic<uint64_t> other_errors{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::minstd_rand random(static_cast<uint32_t>(p + 1));
      while (true) {
        RaceSlot& slot = slots[random() % kRaceTasks];
        absl::Status status = scheduler.NotifyTask(slot.id);
        if (status.ok()) {
          slot.ok.fetch_add(1, std::memory_order_relaxed);
          total_ok.fetch_add(1, std::memory_order_relaxed);
        } else {
          if (!absl::IsFailedPrecondition(status)) other_errors.fetch_add(1);
          return;
        }
      }
    });
  }
  // Shut down while the producers are busy (a spin on their progress, not a sleep).
  while (total_ok.load(std::memory_order_relaxed) < kBeforeShutdown) std::this_thread::yield();
  scheduler.Shutdown();
  for (std::thread& producer : producers) producer.join();
  EXPECT_EQ(other_errors.load(), 0u);
  for (int t = 0; t < kRaceTasks; ++t) {
    absl::StatusOr<TaskStats> stats = scheduler.TaskStatistics(slots[t].id);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->activations, slots[t].runs.load()) << StableName(t);
    EXPECT_EQ(stats->activations + stats->coalesced, slots[t].ok.load())
        << StableName(t) << ": an OK notify was neither run nor coalesced into a run";
  }
}

// Slot reuse under contention: a remover removes and re-creates tasks again and again, so
// each new task takes the slot of one just removed (same index, new generation), while
// producers notify the current tasks and, as often, tasks already removed (stale ids). A
// notify through an id whose RemoveTask had returned before the notify began must be
// NotFound, and no on-demand task may run more often than it was notified through its own
// id: a stale notify that reached the task in its old slot would break one or the other.
// The tasks in a slot take turns being plain, periodic (a detail and a timer that come and
// go with the slot), throwing on their first run (an exception report that holds the slot
// until the reporter has logged it) and removing themselves on their first run (the slot
// is offered while the body still runs); a reader takes statistics all along.
void RunSlotReuse(const std::string& conf) {
  constexpr int kSlots = 32;
  constexpr int kStale = 64;
  const int cycles = static_cast<int>(5'000 / kScale);
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(conf, "stress.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  // One task's life in a slot. Never freed before the scheduler (declared before it).
  enum Kind { kPlain, kPeriodic, kThrows, kRemovesItself, kKinds };
  struct Incarnation {
    TaskId id;
    Kind kind = kPlain;
    std::atomic<bool> removed{false};  // set once RemoveTask(id) has returned
    std::atomic<int> removed_itself{0};  // 1: its own RemoveTask was OK, 2: it failed
    std::atomic<uint64_t> ok_notifies{0};
    std::atomic<uint64_t> runs{0};
  };
  std::vector<std::unique_ptr<Incarnation>> all;  // the remover's; read after it is joined
  all.reserve(kSlots + cycles);
  std::atomic<Incarnation*> current[kSlots] = {};
  std::atomic<Incarnation*> stale[kStale] = {};
  absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(validation.plan);
  ASSERT_TRUE(started.ok()) << started.status();
  Scheduler& scheduler = **started;
  auto create = [&](int slot) -> absl::Status {
    all.push_back(std::make_unique<Incarnation>());
    Incarnation* life = all.back().get();
    life->kind = static_cast<Kind>(all.size() % kKinds);
    auto body = [life, &scheduler] {
      const uint64_t run = life->runs.fetch_add(1, std::memory_order_relaxed) + 1;
      if (run != 1) return;
      if (life->kind == kThrows) throw std::runtime_error("first run");
      if (life->kind == kRemovesItself) {
        life->removed_itself.store(scheduler.RemoveTask(life->id).ok() ? 1 : 2);
      }
    };
    const std::string name = absl::StrCat("reuse", slot);
    absl::StatusOr<TaskId> id =
        life->kind == kPeriodic ? scheduler.CreatePeriodicTask(name, 300us, body)
                                : scheduler.CreateTask(name, body);
    if (!id.ok()) return id.status();
    life->id = *id;
    current[slot].store(life, std::memory_order_release);
    return absl::OkStatus();
  };
  for (int slot = 0; slot < kSlots; ++slot) ASSERT_TRUE(create(slot).ok());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> stale_ok{0}, other_errors{0}, notifies{0};
  std::atomic<uint64_t> snapshots{0}, unnamed_entries{0};
  std::vector<std::thread> producers;
  producers.emplace_back([&] {  // The statistics reader.
    while (!stop.load(std::memory_order_relaxed)) {
      for (const TaskStats& task : scheduler.TaskStatistics()) {
        if (task.name.empty()) unnamed_entries.fetch_add(1);
      }
      snapshots.fetch_add(1);
    }
  });
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::minstd_rand random(static_cast<uint32_t>(p + 7));
      while (!stop.load(std::memory_order_relaxed)) {
        const uint32_t r = static_cast<uint32_t>(random());
        Incarnation* life = (r & 1) ? current[r / 2 % kSlots].load(std::memory_order_acquire)
                                    : stale[r / 2 % kStale].load(std::memory_order_acquire);
        if (life == nullptr) continue;
        const bool was_removed = life->removed.load(std::memory_order_acquire);
        const absl::Status status = scheduler.NotifyTask(life->id);
        notifies.fetch_add(1, std::memory_order_relaxed);
        if (status.ok()) {
          life->ok_notifies.fetch_add(1, std::memory_order_relaxed);
          if (was_removed) stale_ok.fetch_add(1);
        } else if (!absl::IsNotFound(status)) {
          other_errors.fetch_add(1);
        }
      }
    });
  }
  int reused = 0;
  std::string remover_error;
  for (int cycle = 0; cycle < cycles && remover_error.empty(); ++cycle) {
    // Paced by the producers' progress (a spin on their count, not a sleep), so that the
    // churn happens while they notify, also when their threads are slow to start.
    while (notifies.load(std::memory_order_relaxed) < static_cast<uint64_t>(cycle + 1) * 16 ||
           snapshots.load(std::memory_order_relaxed) < static_cast<uint64_t>(cycle / 100)) {
      std::this_thread::yield();
    }
    const int slot = cycle % kSlots;
    Incarnation* life = current[slot].load(std::memory_order_relaxed);
    const absl::Status removed = scheduler.RemoveTask(life->id);
    // A task that removes itself may have done so already.
    if (!removed.ok() && !(life->kind == kRemovesItself && absl::IsNotFound(removed))) {
      remover_error = removed.ToString();
    }
    life->removed.store(true, std::memory_order_release);
    stale[cycle % kStale].store(life, std::memory_order_release);
    const absl::Status created = create(slot);
    if (!created.ok()) remover_error = created.ToString();
    if (current[slot].load(std::memory_order_relaxed)->id.index == life->id.index) ++reused;
  }
  stop.store(true);
  for (std::thread& producer : producers) producer.join();
  scheduler.Shutdown();  // Drains what is queued: every run is counted below.
  EXPECT_EQ(remover_error, "");
  EXPECT_EQ(other_errors.load(), 0u);
  EXPECT_EQ(stale_ok.load(), 0u) << "notifies through removed tasks' ids were accepted";
  // Slots were reused (how often the one just freed is taken depends on timing: a task that
  // removed itself may still run, a report may wait for the reporter).
  EXPECT_GT(reused, 0);
  uint64_t runs = 0, over = 0, self_removed = 0, self_removal_failed = 0;
  for (const auto& life : all) {
    runs += life->runs.load();
    // Periodic tasks also run on their releases.
    if (life->kind != kPeriodic && life->runs.load() > life->ok_notifies.load()) ++over;
    self_removed += life->removed_itself.load() == 1;
    // Its own RemoveTask fails only when the remover's came first.
    self_removal_failed += life->removed_itself.load() == 2 && !life->removed.load();
  }
  EXPECT_EQ(over, 0u) << "tasks ran more often than they were notified through their own id";
  EXPECT_GT(runs, 0u);
  EXPECT_GT(self_removed, 0u);
  EXPECT_EQ(self_removal_failed, 0u);
  EXPECT_EQ(unnamed_entries.load(), 0u);
  std::cout << cycles << " re-creations (" << reused << " into the slot just freed), "
            << notifies.load() << " notifies, " << runs << " runs, " << self_removed
            << " tasks removed themselves, " << snapshots.load() << " statistics snapshots\n";
}

TEST(SchedulerStressTest, ClassicStaleIdsNeverReachTheTasksThatReuseTheirSlots) {
  RunSlotReuse(ClassicConf());
}

TEST(SchedulerStressTest, ChoreographyStaleIdsNeverReachTheTasksThatReuseTheirSlots) {
  RunSlotReuse(ChoreographyConf());
}

TEST(SchedulerStressTest, ClassicNotifiesRacingShutdownAreRunOrRefused) {
  RunShutdownRace(ClassicConf());
}

TEST(SchedulerStressTest, ChoreographyNotifiesRacingShutdownAreRunOrRefused) {
  RunShutdownRace(ChoreographyConf());
}

TEST(SchedulerStressTest, ClassicEveryNotifyIsFollowedByARunThatSeesIt) {
  RunStress(ClassicConf());
}

TEST(SchedulerStressTest, ChoreographyEveryNotifyIsFollowedByARunThatSeesIt) {
  RunStress(ChoreographyConf());
}

// Producers and processors on one CPU: the processors yield to the producers that woke
// them whenever they run out of work, and still no notify is lost.
TEST(SchedulerStressTest, ProcessorsYieldingToProducersOnTheirCpuLoseNoNotify) {
  RunStress(ClassicConf("1"), 1);
}

// Activations that read no clock (time_activations: false) go through the same state
// machine and batches: none is lost either.
TEST(SchedulerStressTest, ClassicUntimedEveryNotifyIsFollowedByARunThatSeesIt) {
  RunStress(ClassicConf("0-1", "time_activations: false"));
}

// A notify that finds its task running reads Task::timed after its compare-and-swap; the
// task may then be removed and its slot given to a new task, whose creation writes
// Task::timed. Nothing orders that read before that write (the flags below are relaxed on
// purpose, so that the test adds no order of its own): under ThreadSanitizer this fails
// unless Task::timed is atomic.
TEST(SchedulerStressTest, NotifyOfARunningTaskDoesNotRaceTheNextTaskOfItsSlot) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "u" processor_num: 1 affinity: "range" cpuset: "0"
                time_activations: false } ]
  }
}
)",
                                                        "race.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  std::atomic<int> in_body{0};
  std::atomic<bool> release{false};
  absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(validation.plan);
  ASSERT_TRUE(started.ok()) << started.status();
  Scheduler& scheduler = **started;
  for (int round = 0; round < 20; ++round) {
    in_body.store(0, std::memory_order_relaxed);
    release.store(false, std::memory_order_relaxed);
    absl::StatusOr<TaskId> held = scheduler.CreateTask(absl::StrCat("held", round), [&] {
      in_body.fetch_add(1, std::memory_order_relaxed);
      while (!release.load(std::memory_order_relaxed)) sched_yield();
    });
    ASSERT_TRUE(held.ok()) << held.status();
    ASSERT_TRUE(scheduler.NotifyTask(*held).ok());
    while (in_body.load(std::memory_order_relaxed) == 0) sched_yield();
    std::atomic<bool> notified{false}, leave{false};
    std::thread notifier([&] {
      // kRunning -> kRunningNotified, then the read of Task::timed.
      EXPECT_TRUE(scheduler.NotifyTask(*held).ok());
      notified.store(true, std::memory_order_relaxed);
      while (!leave.load(std::memory_order_relaxed)) sched_yield();
    });
    while (!notified.load(std::memory_order_relaxed)) sched_yield();
    release.store(true, std::memory_order_relaxed);
    ASSERT_TRUE(scheduler.RemoveTask(*held).ok());
    absl::StatusOr<TaskId> next = scheduler.CreateTask(absl::StrCat("next", round), [] {});
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->index, held->index) << "the slot was not reused";
    leave.store(true, std::memory_order_relaxed);
    notifier.join();
    ASSERT_TRUE(scheduler.RemoveTask(*next).ok());
  }
}

TEST(SchedulerStressTest, ChoreographyUntimedEveryNotifyIsFollowedByARunThatSeesIt) {
  RunStress(ChoreographyConf("choreography_time_activations: false pool_time_activations: false"));
}

}  // namespace
}  // namespace cadence
