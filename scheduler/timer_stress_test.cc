// Stress test of periodic tasks under contention (run under TSan and ASan too): 64 periodic
// tasks with periods from 200 us to 2 ms on a 2-processor classic group and on 2
// choreography processors + a pool, while 2 threads notify them at random and a remover
// thread removes and recreates a quarter of them again and again.
//
// Every release a body sees must be its task's first release plus whole periods (drift-free
// even when processors are contended and timers are handed between processors), strictly
// increasing, and the statistics must add up: each activation was a release or a notify
// (activations <= releases + notifies) and nothing threw. Releases must keep coming during
// the storm: each task that is never removed must run on kReleasesEach releases of its own
// (a timer lost on the way, its runs covered by the notifies, would stop that).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/processor.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/counter.h"

namespace cadence {
namespace {

using namespace std::chrono_literals;

constexpr int kTasks = 64;
// The first kTasks / 4 are removed and recreated during the storm; the others stay.
constexpr int kStableTasks = kTasks - kTasks / 4;
constexpr uint64_t kReleasesEach = 20;

// What one incarnation of a task saw; written only by the processor running the task.
struct Record {
  int64_t period = 0;
  int64_t first = 0;
  int64_t last = 0;
  std::atomic<uint64_t> releases_seen{0};
  std::atomic<uint64_t> drifted{0};
  std::atomic<uint64_t> out_of_order{0};
  bool stable = false;  // Never removed.
};


class Progress {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++count_ % 256 == 0) changed_.notify_all();
  }
  bool WaitFor(uint64_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, 60s, [&] { return count_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t count_ = 0;
};

void RunStress(const std::string& conf, const std::string& prefix) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(conf, "timer_stress.conf");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Validation validation = Validate(*loaded, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.diagnostics.ToString();

  std::vector<std::unique_ptr<Record>> records;  // Every incarnation; outlives the scheduler.
  std::mutex records_mutex;
  Progress progress;
  // Stable tasks whose runs saw kReleasesEach releases.
  test_support::Counter stable_done(60s);
  absl::StatusOr<std::unique_ptr<Scheduler>> started = Scheduler::Start(validation.plan);
  ASSERT_TRUE(started.ok()) << started.status();
  Scheduler& s = **started;

  auto create = [&](int i) -> TaskId {
    auto record = std::make_unique<Record>();
    record->period = 200'000 + 28'000 * i;
    record->stable = i >= kTasks - kStableTasks;
    Record* r = record.get();
    {
      std::lock_guard<std::mutex> lock(records_mutex);
      records.push_back(std::move(record));
    }
    absl::StatusOr<TaskId> id = s.CreatePeriodicTask(
        absl::StrCat(prefix, i), std::chrono::nanoseconds(r->period), [r, &progress, &stable_done] {
          const int64_t release = CurrentRelease();
          if (release > 0) {
            if (r->first == 0) r->first = release;
            if ((release - r->first) % r->period != 0) r->drifted.fetch_add(1);
            if (release <= r->last) r->out_of_order.fetch_add(1);
            r->last = release;
            if (r->releases_seen.fetch_add(1, std::memory_order_relaxed) + 1 == kReleasesEach &&
                r->stable) {
              stable_done.Increment();
            }
          }
          progress.Add();
        });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : TaskId{};
  };

  std::vector<std::atomic<TaskId>> ids(kTasks);
  for (int i = 0; i < kTasks; ++i) ids[i].store(create(i));

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int n = 0; n < 2; ++n) {
    threads.emplace_back([&, n] {
      std::mt19937 random(n);
      while (!stop.load()) {
        // NotFound for a task being removed is expected.
        s.NotifyTask(ids[random() % kTasks].load()).IgnoreError();
        std::this_thread::yield();
      }
    });
  }
  threads.emplace_back([&] {
    std::mt19937 random(99);
    while (!stop.load()) {
      const int i = static_cast<int>(random() % (kTasks / 4));
      EXPECT_TRUE(s.RemoveTask(ids[i].load()).ok());
      ids[i].store(create(i));
      std::this_thread::yield();
    }
  });
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr uint64_t kRuns = 20'000;
#else
  constexpr uint64_t kRuns = 100'000;
#endif
  EXPECT_TRUE(progress.WaitFor(kRuns));
  EXPECT_TRUE(stable_done.WaitAtLeast(kStableTasks))
      << stable_done.value() << " of the " << kStableTasks << " stable tasks ran on "
      << kReleasesEach << " releases";
  stop.store(true);
  for (std::thread& t : threads) t.join();
  s.Shutdown();

  for (const auto& r : records) {
    EXPECT_EQ(r->drifted.load(), 0u) << "period " << r->period;
    EXPECT_EQ(r->out_of_order.load(), 0u) << "period " << r->period;
  }
  for (const TaskStats& t : s.TaskStatistics()) {
    EXPECT_LE(t.activations, t.releases + t.notifies) << t.name;
    EXPECT_EQ(t.exceptions, 0u) << t.name;
  }
}

TEST(TimerStressTest, ClassicPeriodicReleasesStayDriftFreeUnderContention) {
  RunStress(R"(
scheduler_conf {
  policy: "classic"
  classic_conf { groups: [{ name: "g" processor_num: 2 affinity: "range" cpuset: "0-1" }] }
})",
            "c");
}

TEST(TimerStressTest, ChoreographyPeriodicReleasesStayDriftFreeUnderContention) {
  std::string tasks;
  for (int i = 0; i < kTasks; i += 2) {
    absl::StrAppend(&tasks, i == 0 ? "" : ",", "{ name: \"h", i, "\" processor: ", (i / 2) % 2,
                    " }");
  }
  RunStress(absl::StrCat(R"(
scheduler_conf {
  policy: "choreography"
  choreography_conf {
    choreography_processor_num: 2 choreography_affinity: "range" choreography_cpuset: "0-1"
    pool_processor_num: 2 pool_affinity: "range" pool_cpuset: "0-1"
    tasks: [)",
                         tasks, R"(]
  }
})"),
            "h");
}

}  // namespace
}  // namespace cadence
