// Tests of periodic tasks: releases at absolute, drift-free times (first + k * period), no
// catch-up burst after a late run (skipped releases counted as deadline misses), the conf's
// period_us taking precedence, timers on multi-processor and busy-spinning groups, and
// removal stopping releases. Synchronisation is by condition variables only; nothing here
// sleeps to wait for the scheduler.
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <numeric>
#include <mutex>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/processor.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using namespace std::chrono_literals;

constexpr auto kGuard = 30s;

std::unique_ptr<Scheduler> StartOrNull(const std::string& conf) {
  return test_support::StartOrNull(test_support::PlanFromText(conf));
}

// The release times a task body saw, with a wait for "at least n".
class Releases {
 public:
  void Add(int64_t release) {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(release);
    changed_.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kGuard, [&] { return seen_.size() >= n; });
  }
  std::vector<int64_t> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int64_t> seen_;
};

constexpr char kOneProcessor[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [{
      name: "rt" processor_num: 1 affinity: "range" cpuset: "0"
      processor_policy: "SCHED_FIFO" processor_prio: 50
      tasks: [{ name: "conf_periodic" prio: 10 period_us: 1000 }]
    }]
  }
})";

TEST(TimerTest, PeriodicReleasesAreDriftFreeMultiplesOfThePeriod) {
  Releases releases;
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  constexpr int64_t kPeriod = 1'000'000;
  absl::StatusOr<TaskId> id = s->CreatePeriodicTask("loop", std::chrono::nanoseconds(kPeriod),
                                                    [&] { releases.Add(CurrentRelease()); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(releases.WaitFor(200));
  ASSERT_TRUE(s->RemoveTask(*id).ok());
  const std::vector<int64_t> seen = releases.Get();
  const absl::StatusOr<TaskStats> stats = s->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok());
  // Every activation was a release, and each release is the first plus whole periods:
  // nothing accumulates from wake-up latency.
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_GT(seen[i], 0) << "activation " << i << " was not a periodic release";
    EXPECT_EQ((seen[i] - seen[0]) % kPeriod, 0) << "release " << i << " drifted";
    if (i > 0) {
      EXPECT_GT(seen[i], seen[i - 1]) << "releases out of order";
    }
  }
  // Releases that were skipped appear as gaps; each is a counted deadline miss.
  uint64_t gaps = 0;
  for (size_t i = 1; i < seen.size(); ++i) gaps += (seen[i] - seen[i - 1]) / kPeriod - 1;
  EXPECT_GE(stats->deadline_misses, gaps);
  EXPECT_EQ(stats->period_ns, static_cast<uint64_t>(kPeriod));
  // The release jitter (release -> start) is recorded once per activation.
  EXPECT_EQ(stats->wake_latency.count, stats->activations);
  EXPECT_GE(stats->releases, stats->activations);
}

TEST(TimerTest, LateRunSkipsMissedReleasesInsteadOfBursting) {
  constexpr int64_t kPeriod = 2'000'000;
  Releases releases;
  int64_t long_run_end = 0;  // Written by the first run only; read after WaitFor.
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  absl::StatusOr<TaskId> id = s->CreatePeriodicTask("late", std::chrono::nanoseconds(kPeriod), [&] {
    const int64_t release = CurrentRelease();
    if (long_run_end == 0) {
      // The first run takes 3.5 periods past its release.
      while (MonotonicNowNs() < release + 7 * kPeriod / 2) {
      }
      long_run_end = MonotonicNowNs();
    }
    releases.Add(release);
  });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(releases.WaitFor(6));
  ASSERT_TRUE(s->RemoveTask(*id).ok());
  const std::vector<int64_t> seen = releases.Get();
  const int64_t first = seen[0];
  // Releases due while the long run went on: at least 3 (first + 1, 2, 3 periods). At most
  // one of them runs (the run-once-more of a task notified while running).
  int64_t due_during = 0;
  for (int64_t r = first + kPeriod; r < long_run_end; r += kPeriod) ++due_during;
  ASSERT_GE(due_during, 3);
  const int64_t ran_for_them = std::count_if(
      seen.begin() + 1, seen.end(), [&](int64_t r) { return r > first && r < long_run_end; });
  EXPECT_LE(ran_for_them, 1) << "missed releases were run as a burst";
  const absl::StatusOr<TaskStats> stats = s->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok());
  // The skipped ones, and the one that ran late (more than a period after its release).
  EXPECT_GE(stats->deadline_misses, static_cast<uint64_t>(due_during));
}

// The greatest common divisor of the gaps between consecutive values (0 for fewer than two).
int64_t GapsGcd(const std::vector<int64_t>& values) {
  int64_t gcd = 0;
  for (size_t i = 1; i < values.size(); ++i) gcd = std::gcd(gcd, values[i] - values[i - 1]);
  return gcd;
}

TEST(TimerTest, ConfPeriodMakesCreateTaskPeriodicAndTakesPrecedence) {
  Releases releases;
  Releases again;
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  // Asked for 7 ms; the conf says 1000 us.
  absl::StatusOr<TaskId> id =
      s->CreatePeriodicTask("conf_periodic", 7ms, [&] { releases.Add(CurrentRelease()); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(releases.WaitFor(20));  // Never notified: only the timer runs it.
  ASSERT_TRUE(s->RemoveTask(*id).ok());
  absl::StatusOr<TaskStats> stats = s->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->period_ns, 1'000'000u);
  EXPECT_EQ(stats->notifies, 0u);
  // The releases (ideal times) are 1 ms apart, not 7: the greatest common divisor of the
  // gaps between them is 1 ms (a skipped release only makes one gap a multiple of it).
  EXPECT_EQ(GapsGcd(releases.Get()), 1'000'000);

  // Plain CreateTask of the same name is periodic too, at the conf's period.
  id = s->CreateTask("conf_periodic", [&] { again.Add(CurrentRelease()); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(again.WaitFor(20));
  for (int64_t r : again.Get()) EXPECT_GT(r, 0);
  EXPECT_EQ(GapsGcd(again.Get()), 1'000'000);
}

TEST(TimerTest, NonPositivePeriodIsRefused) {
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  absl::StatusOr<TaskId> id = s->CreatePeriodicTask("zero", 0ns, [] {});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  id = s->CreatePeriodicTask("negative", -1ms, [] {});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  // Neither was created.
  EXPECT_FALSE(s->FindTask("zero").ok());
  EXPECT_FALSE(s->FindTask("negative").ok());
}

TEST(TimerTest, ManyTimersOnATwoProcessorGroupAllRelease) {
  constexpr int kTasks = 6;
  std::vector<std::unique_ptr<Releases>> releases;
  std::unique_ptr<Scheduler> s = StartOrNull(R"(
scheduler_conf {
  policy: "classic"
  classic_conf { groups: [{ name: "pool" processor_num: 2 affinity: "range" cpuset: "0-1" }] }
})");
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < kTasks; ++i) {
    releases.push_back(std::make_unique<Releases>());
    Releases* r = releases.back().get();
    ASSERT_TRUE(s->CreatePeriodicTask("t" + std::to_string(i),
                                      std::chrono::microseconds(500 + 300 * i),
                                      [r] { r->Add(CurrentRelease()); })
                    .ok());
  }
  for (int i = 0; i < kTasks; ++i) {
    EXPECT_TRUE(releases[i]->WaitFor(30)) << "task t" << i << " stopped being released";
  }
}

TEST(TimerTest, BusySpinningProcessorReleasesTimers) {
  Releases releases;
  std::unique_ptr<Scheduler> s = StartOrNull(R"(
scheduler_conf {
  policy: "classic"
  classic_conf { groups: [{ name: "spin" processor_num: 1 affinity: "range" cpuset: "1"
                            busy_spin: true }] }
})");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->CreatePeriodicTask("spun", 1ms, [&] { releases.Add(CurrentRelease()); }).ok());
  ASSERT_TRUE(releases.WaitFor(20));
  for (int64_t r : releases.Get()) EXPECT_GT(r, 0);
}

TEST(TimerTest, RemovedPeriodicTaskIsNoLongerReleased) {
  Releases removed, witness;
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  absl::StatusOr<TaskId> id =
      s->CreatePeriodicTask("removed", 1ms, [&] { removed.Add(CurrentRelease()); });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(removed.WaitFor(3));
  ASSERT_TRUE(s->RemoveTask(*id).ok());
  const size_t runs_at_removal = removed.Get().size();
  // A second timer on the same queue, with the same period: 20 of its releases span 20
  // periods in which the removed one would have been released too.
  ASSERT_TRUE(s->CreatePeriodicTask("witness", 1ms, [&] { witness.Add(CurrentRelease()); }).ok());
  ASSERT_TRUE(witness.WaitFor(20));
  EXPECT_EQ(removed.Get().size(), runs_at_removal);
}

TEST(TimerTest, NotifiedActivationsOfAPeriodicTaskAreNotReleases) {
  Releases releases;
  std::unique_ptr<Scheduler> s = StartOrNull(kOneProcessor);
  ASSERT_NE(s, nullptr);
  // A long period, so the notify comes well before the first release.
  absl::StatusOr<TaskId> id =
      s->CreatePeriodicTask("mixed", 10s, [&] { releases.Add(CurrentRelease()); });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(s->NotifyTask(*id).ok());
  ASSERT_TRUE(releases.WaitFor(1));
  EXPECT_EQ(releases.Get()[0], 0) << "a notify is not a periodic release";
  absl::StatusOr<TaskStats> stats = s->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->releases, 0u);
  EXPECT_EQ(stats->deadline_misses, 0u);
}

// Records log lines with the name of the thread that logged them.
class RecordingSink : public google::LogSink {
 public:
  void send(google::LogSeverity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t length) override {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back({std::string(name), std::string(message, length)});
    changed_.notify_all();
  }
  // Waits for a line containing `text`; returns the name of the thread that logged it.
  std::string WaitForLine(const std::string& text) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::string thread;
    changed_.wait_for(lock, kGuard, [&] {
      for (const auto& [name, line] : lines_) {
        if (line.find(text) != std::string::npos) {
          thread = name;
          return true;
        }
      }
      return false;
    });
    return thread;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, std::string>> lines_;
};

// "logged_late" is periodic (forced late once); "logged_long" has a 100 us budget and runs
// once for longer. Two tasks: a task's misses and overruns share one log line a second.
constexpr char kBudgeted[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [{
      name: "rt" processor_num: 1 affinity: "range" cpuset: "0"
      processor_policy: "SCHED_FIFO" processor_prio: 50
      tasks: [{ name: "logged_late" prio: 10 period_us: 1000 },
              { name: "logged_long" prio: 5 budget_us: 100 }]
    }]
  }
})";

TEST(TimerTest, DeadlineMissesAndOverrunsAreLoggedByTheReporterNotTheProcessor) {
  // The logging library's lock is not priority-inheriting: a real-time processor must
  // never take it. Misses and overruns are handed to the scheduler's reporter thread.
  RecordingSink sink;
  google::AddLogSink(&sink);
  {
    std::unique_ptr<Scheduler> s = StartOrNull(kBudgeted);
    ASSERT_NE(s, nullptr);
    std::atomic<bool> late{false};
    absl::StatusOr<TaskId> id = s->CreatePeriodicTask("logged_late", 1ms, [&] {
      if (late.exchange(true)) return;
      const int64_t release = CurrentRelease();
      while (MonotonicNowNs() < release + 3'000'000) {
      }
    });
    ASSERT_TRUE(id.ok());
    // Not periodic (no miss can be logged first): one run, 10 times its budget.
    absl::StatusOr<TaskId> long_id = s->CreateTask("logged_long", [] {
      const int64_t until = MonotonicNowNs() + 1'000'000;
      while (MonotonicNowNs() < until) {
      }
    });
    ASSERT_TRUE(long_id.ok());
    ASSERT_TRUE(s->NotifyTask(*long_id).ok());
    EXPECT_EQ(sink.WaitForLine("task logged_late: deadline miss"), "cadence/report");
    EXPECT_EQ(sink.WaitForLine("task logged_long: overrun: ran "), "cadence/report");
    ASSERT_TRUE(s->RemoveTask(*id).ok());
    ASSERT_TRUE(s->RemoveTask(*long_id).ok());
    const absl::StatusOr<TaskStats> late_stats = s->TaskStatistics(*id);
    ASSERT_TRUE(late_stats.ok()) << late_stats.status();
    EXPECT_GE(late_stats->deadline_misses, 1u);
    const absl::StatusOr<TaskStats> long_stats = s->TaskStatistics(*long_id);
    ASSERT_TRUE(long_stats.ok()) << long_stats.status();
    EXPECT_EQ(long_stats->budget_ns, 100'000u);
    EXPECT_EQ(long_stats->activations, 1u);
    EXPECT_GE(long_stats->overruns, 1u);
  }
  google::RemoveLogSink(&sink);
}

}  // namespace
}  // namespace cadence
