// Timeline traces from a running Scheduler: with tracing off there is no ring and the
// notify hook records nothing; with it on, each processor's runs, the arrows from the
// threads that notified (a named thread, and a processor notifying from inside a task),
// deadline misses of a periodic task forced late, exceptions and a wrapped ring end up in
// the JSON file Scheduler::WriteTrace writes, which is read back through a strict JSON
// parser. Synchronisation is by condition variables and joins only; nothing sleeps, and
// nothing depends on how long anything takes (the late task busy-waits for a bound it
// computes from its own release time).
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
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

#include "gtest/gtest.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/processor.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/chrome_trace_reader.h"
#include "scheduler/testing/counter.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using namespace std::chrono_literals;
using test_support::Json;
using test_support::ReadChromeTrace;
using test_support::TraceView;

constexpr auto kGuard = 30s;

// Two single-processor groups: "a" (processor a/0) and "b" (processor b/0).
constexpr char kTwoProcessors[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "a" processor_num: 1 affinity: "range" cpuset: "0" processor_policy: "SCHED_OTHER"
        tasks: [{ name: "alpha" prio: 10 }, { name: "late" prio: 5 }]
      },
      {
        name: "b" processor_num: 1 affinity: "range" cpuset: "0" processor_policy: "SCHED_OTHER"
        tasks: [{ name: "beta" prio: 10 }, { name: "gamma" prio: 5 }, { name: "boom" prio: 1 }]
      }
    ]
  }
})";

std::unique_ptr<Scheduler> Start(size_t trace_events) {
  return test_support::StartOrNull(test_support::PlanFromText(kTwoProcessors),
                                   {.trace_events_per_processor = trace_events});
}

std::string TracePath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes the trace and reads it back (an empty view and a test failure on any error).
TraceView WriteAndRead(const Scheduler& s, const std::string& name, TraceSummary* summary) {
  const std::string path = TracePath(name);
  absl::StatusOr<TraceSummary> written = s.WriteTrace(path);
  EXPECT_TRUE(written.ok()) << written.status();
  if (!written.ok()) return TraceView();
  *summary = *written;
  absl::StatusOr<TraceView> view = ReadChromeTrace(ReadFile(path));
  EXPECT_TRUE(view.ok()) << view.status();
  return view.ok() ? *std::move(view) : TraceView();
}

using test_support::Counter;

std::vector<const TraceView::Slice*> SlicesNamed(const TraceView& view, const std::string& name) {
  std::vector<const TraceView::Slice*> out;
  for (const TraceView::Slice& s : view.slices) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

std::vector<const TraceView::Instant*> InstantsFor(const TraceView& view, const std::string& name,
                                                   const std::string& task) {
  std::vector<const TraceView::Instant*> out;
  for (const TraceView::Instant& i : view.instants) {
    if (i.name == name && i.args.StringOf("task") == task) out.push_back(&i);
  }
  return out;
}

// The arrow that ends at the run starting at `ts` on track `tid`, or nullptr.
const TraceView::Arrow* ArrowInto(const TraceView& view, int64_t tid, int64_t ts) {
  for (const TraceView::Arrow& a : view.arrows) {
    if (a.to.tid == tid && a.to.ts_ns == ts) return &a;
  }
  return nullptr;
}

TEST(SchedulerTraceTest, TracingOffHasNoRingAndTheNotifyHookRecordsNothing) {
  std::unique_ptr<Scheduler> s = Start(0);
  ASSERT_NE(s, nullptr);
  for (const ProcessorStats& p : s->ProcessorStatistics()) {
    EXPECT_EQ(p.trace_capacity, 0u) << p.name << " has a trace ring";
  }
  std::promise<int32_t> seen;
  absl::StatusOr<TaskId> id = s->CreateTask("alpha", [&] {
    seen.set_value(CurrentTask()->trace_notifier.load(std::memory_order_relaxed));
  });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(s->NotifyTask(*id).ok());
  std::future<int32_t> notifier = seen.get_future();
  ASSERT_EQ(notifier.wait_for(kGuard), std::future_status::ready);
  EXPECT_EQ(notifier.get(), 0);
  s->Shutdown();
  for (const ProcessorStats& p : s->ProcessorStatistics()) {
    EXPECT_EQ(p.trace_capacity, 0u);
    EXPECT_EQ(p.trace_recorded, 0u);
  }
  absl::StatusOr<TraceSummary> written = s->WriteTrace(TracePath("off.json"));
  EXPECT_TRUE(absl::IsFailedPrecondition(written.status())) << written.status();
}

TEST(SchedulerTraceTest, TracingOnGivesEachProcessorARingAndRecordsTheNotifier) {
  std::unique_ptr<Scheduler> s = Start(128);
  ASSERT_NE(s, nullptr);
  for (const ProcessorStats& p : s->ProcessorStatistics()) {
    EXPECT_EQ(p.trace_capacity, 128u) << p.name;
  }
  std::promise<int32_t> seen;
  absl::StatusOr<TaskId> id = s->CreateTask("alpha", [&] {
    seen.set_value(CurrentTask()->trace_notifier.load(std::memory_order_relaxed));
  });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(s->NotifyTask(*id).ok());
  std::future<int32_t> notifier = seen.get_future();
  ASSERT_EQ(notifier.wait_for(kGuard), std::future_status::ready);
  EXPECT_EQ(notifier.get(), CurrentTid());
}

// A trace gives every run a start and an end, so while one is recorded the tasks of a
// queue that does not time its activations are timed too.
TEST(SchedulerTraceTest, TracingTimesTheTasksOfAQueueThatDoesNotTimeActivations) {
  std::string conf = kTwoProcessors;
  conf.insert(conf.find("tasks: [{ name: \"alpha\""), "time_activations: false ");
  const Plan plan = test_support::PlanFromText(conf);
  ASSERT_FALSE(plan.queues[0].time_activations);
  std::unique_ptr<Scheduler> s =
      test_support::StartOrNull(plan, {.trace_events_per_processor = 64});
  ASSERT_NE(s, nullptr);
  Counter runs;
  absl::StatusOr<TaskId> id = s->CreateTask("alpha", [&] { runs.Increment(); });
  ASSERT_TRUE(id.ok()) << id.status();
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(s->NotifyTask(*id).ok());
    ASSERT_TRUE(runs.WaitAtLeast(i));
  }
  s->Shutdown();
  absl::StatusOr<TaskStats> stats = s->TaskStatistics(*id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->timed);
  EXPECT_EQ(stats->wake_latency.count, 3u);
  EXPECT_GT(stats->run_ns_total, 0u);
  TraceSummary summary;
  const TraceView view = WriteAndRead(*s, "untimed_queue.json", &summary);
  EXPECT_EQ(SlicesNamed(view, "alpha").size(), 3u);
}

TEST(SchedulerTraceTest, WriteTraceWhileRunningIsAFailedPrecondition) {
  std::unique_ptr<Scheduler> s = Start(16);
  ASSERT_NE(s, nullptr);
  absl::StatusOr<TraceSummary> written = s->WriteTrace(TracePath("running.json"));
  EXPECT_TRUE(absl::IsFailedPrecondition(written.status())) << written.status();
  s->Shutdown();
  EXPECT_TRUE(s->WriteTrace(TracePath("stopped.json")).ok());
}

TEST(SchedulerTraceTest, TraceHasRunsPerProcessorArrowsFromNotifiersMissesAndExceptions) {
  constexpr int kNotifies = 20;
  constexpr int64_t kPeriod = 2'000'000;
  std::unique_ptr<Scheduler> s = Start(4096);
  ASSERT_NE(s, nullptr);

  Counter alpha_runs, beta_runs, late_runs;
  absl::StatusOr<TaskId> gamma = s->CreateTask("gamma", [] {});
  ASSERT_TRUE(gamma.ok()) << gamma.status();
  // alpha (on a/0) notifies gamma (on b/0): an arrow from inside a run on another processor.
  absl::StatusOr<TaskId> alpha = s->CreateTask("alpha", [&] {
    EXPECT_TRUE(s->NotifyTask(*gamma).ok());
    alpha_runs.Increment();
  });
  absl::StatusOr<TaskId> beta = s->CreateTask("beta", [&] { beta_runs.Increment(); });
  absl::StatusOr<TaskId> boom =
      s->CreateTask("boom", [] { throw std::runtime_error("traced exception"); });
  ASSERT_TRUE(alpha.ok() && beta.ok() && boom.ok());
  // late (on a/0): its first run lasts until 3.5 periods after its release, so the next
  // release starts more than a period late and the two after it are skipped.
  std::atomic<bool> first_late_run{true};
  absl::StatusOr<TaskId> late =
      s->CreatePeriodicTask("late", std::chrono::nanoseconds(kPeriod), [&] {
        if (first_late_run.exchange(false)) {
          const int64_t until = CurrentRelease() + 7 * kPeriod / 2;
          while (MonotonicNowNs() < until) {
          }
        }
        late_runs.Increment();
      });
  ASSERT_TRUE(late.ok()) << late.status();

  // A named thread notifies alpha and beta, one run at a time (no coalescing), and lives
  // until the trace is written so that its name can be read from /proc.
  std::promise<pid_t> notifier_tid;
  std::mutex mutex;
  std::condition_variable written_cv;
  bool written = false;
  std::thread notifier([&] {
    pthread_setname_np(pthread_self(), "trace-notify");
    notifier_tid.set_value(CurrentTid());
    for (int i = 1; i <= kNotifies; ++i) {
      EXPECT_TRUE(s->NotifyTask(*alpha).ok());
      EXPECT_TRUE(s->NotifyTask(*beta).ok());
      ASSERT_TRUE(alpha_runs.WaitAtLeast(i));
      ASSERT_TRUE(beta_runs.WaitAtLeast(i));
    }
    std::unique_lock<std::mutex> lock(mutex);
    written_cv.wait_for(lock, kGuard, [&] { return written; });
  });
  const pid_t notifier_id = notifier_tid.get_future().get();
  ASSERT_TRUE(alpha_runs.WaitAtLeast(kNotifies));
  ASSERT_TRUE(beta_runs.WaitAtLeast(kNotifies));
  ASSERT_TRUE(late_runs.WaitAtLeast(3));
  ASSERT_TRUE(s->RemoveTask(*late).ok());
  ASSERT_TRUE(s->NotifyTask(*boom).ok());
  s->Shutdown();  // Runs boom (queued) first.

  TraceSummary summary;
  const TraceView view = WriteAndRead(*s, "trace.json", &summary);
  {
    std::lock_guard<std::mutex> lock(mutex);
    written = true;
  }
  written_cv.notify_all();
  notifier.join();

  // Tracks: the processors in plan order, then the notifying thread by its name.
  const int64_t a0 = view.TidOf("a/0");
  const int64_t b0 = view.TidOf("b/0");
  ASSERT_GT(a0, 0) << "no track a/0";
  ASSERT_GT(b0, 0) << "no track b/0";
  EXPECT_EQ(view.sort_index.at(a0), 0);
  EXPECT_EQ(view.sort_index.at(b0), 1);
  EXPECT_EQ(view.TrackName(notifier_id), "trace-notify");
  // ... and this thread, which notified boom.
  EXPECT_EQ(summary.notifier_tracks, 2);
  EXPECT_FALSE(view.TrackName(CurrentTid()).empty());

  // Slices: every run, on its own processor's track.
  const auto alphas = SlicesNamed(view, "alpha");
  const auto betas = SlicesNamed(view, "beta");
  EXPECT_EQ(alphas.size(), static_cast<size_t>(kNotifies));
  EXPECT_EQ(betas.size(), static_cast<size_t>(kNotifies));
  for (const auto* slice : alphas) EXPECT_EQ(slice->tid, a0);
  for (const auto* slice : betas) EXPECT_EQ(slice->tid, b0);
  const auto lates = SlicesNamed(view, "late");
  EXPECT_GE(lates.size(), 3u);
  for (const auto* slice : lates) EXPECT_EQ(slice->tid, a0);
  const auto gammas = SlicesNamed(view, "gamma");
  EXPECT_GE(gammas.size(), 1u);
  for (const auto* slice : gammas) EXPECT_EQ(slice->tid, b0);
  ASSERT_EQ(SlicesNamed(view, "boom").size(), 1u);
  EXPECT_EQ(SlicesNamed(view, "boom")[0]->tid, b0);
  const uint64_t task_runs = alphas.size() + betas.size() + lates.size() + gammas.size() + 1;
  EXPECT_EQ(summary.runs, task_runs);

  // Arrows from the named thread: one into every alpha and beta run, starting in a
  // "notify <task>" slice on the thread's track.
  for (const std::vector<const TraceView::Slice*>* runs : {&alphas, &betas}) {
    for (const TraceView::Slice* run : *runs) {
      const TraceView::Arrow* arrow = ArrowInto(view, run->tid, run->ts_ns);
      ASSERT_NE(arrow, nullptr) << "no arrow into " << run->name << " at " << run->ts_ns;
      EXPECT_EQ(arrow->from.tid, notifier_id);
      const TraceView::Slice* notify = view.Enclosing(notifier_id, arrow->from.ts_ns);
      ASSERT_NE(notify, nullptr);
      EXPECT_EQ(notify->name, "notify " + run->name);
    }
  }
  // Arrows from a processor: alpha's notifies of gamma start inside an alpha run on a/0.
  int from_alpha = 0;
  for (const TraceView::Slice* run : gammas) {
    const TraceView::Arrow* arrow = ArrowInto(view, b0, run->ts_ns);
    if (arrow == nullptr) continue;  // A coalesced notify starts no run of its own.
    EXPECT_EQ(arrow->from.tid, a0);
    const TraceView::Slice* from = view.Enclosing(a0, arrow->from.ts_ns);
    ASSERT_NE(from, nullptr);
    EXPECT_EQ(from->name, "alpha");
    ++from_alpha;
  }
  EXPECT_GE(from_alpha, 1);
  // Periodic releases come from the timer: no arrow.
  for (const TraceView::Slice* run : lates) {
    EXPECT_EQ(ArrowInto(view, a0, run->ts_ns), nullptr);
    const Json* periodic = run->args.Find("periodic_release");
    ASSERT_NE(periodic, nullptr) << "a late run without periodic_release";
    EXPECT_TRUE(periodic->boolean);
  }
  EXPECT_EQ(summary.arrows, view.arrows.size());

  // The late release is a deadline miss at its start, and the skipped ones one at the gap.
  const auto misses = InstantsFor(view, "deadline miss", "late");
  bool started_late = false;
  bool skipped = false;
  for (const TraceView::Instant* miss : misses) {
    EXPECT_EQ(miss->tid, a0);
    if (miss->args.Find("late_us") != nullptr) {
      started_late = true;
      EXPECT_NE(view.StartingAt(a0, miss->ts_ns), nullptr);
      EXPECT_GT(test_support::NanosOf(*miss->args.Find("late_us")), kPeriod);
    }
    if (const auto* n = miss->args.Find("skipped_releases"); n != nullptr) {
      skipped = true;
      EXPECT_GE(n->Number(), 1);
    }
  }
  EXPECT_TRUE(started_late) << "no deadline miss at the late release's start";
  EXPECT_TRUE(skipped) << "no deadline miss for the skipped releases";
  EXPECT_EQ(summary.deadline_misses, misses.size());

  // The exception, at the end of boom's run on b/0.
  const auto exceptions = InstantsFor(view, "exception", "boom");
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]->tid, b0);
  const TraceView::Slice* boom_run = SlicesNamed(view, "boom")[0];
  const TraceView::Arrow* into_boom = ArrowInto(view, b0, boom_run->ts_ns);
  ASSERT_NE(into_boom, nullptr);
  EXPECT_EQ(into_boom->from.tid, CurrentTid());
  EXPECT_EQ(exceptions[0]->ts_ns, boom_run->ts_ns + boom_run->dur_ns);

  // Nothing was dropped.
  EXPECT_EQ(summary.dropped, 0u);
  EXPECT_TRUE(InstantsFor(view, "trace buffer wrapped", "").empty());
}

TEST(SchedulerTraceTest, SmallRingKeepsTheNewestRunsAndSaysHowManyItDropped) {
  constexpr int kRuns = 10;
  std::unique_ptr<Scheduler> s = Start(4);
  ASSERT_NE(s, nullptr);
  Counter runs;
  // When each run's body began: the runs are one after another (each notify waits for the
  // run before), so each time lies inside exactly one run's slice.
  std::vector<int64_t> began;  // Written by the runs, read after the wait for them.
  absl::StatusOr<TaskId> alpha = s->CreateTask("alpha", [&] {
    began.push_back(MonotonicNowNs());
    runs.Increment();
  });
  ASSERT_TRUE(alpha.ok()) << alpha.status();
  for (int i = 1; i <= kRuns; ++i) {
    ASSERT_TRUE(s->NotifyTask(*alpha).ok());
    ASSERT_TRUE(runs.WaitAtLeast(i));
  }
  s->Shutdown();
  const std::vector<ProcessorStats> stats = s->ProcessorStatistics();
  ASSERT_EQ(stats[0].name, "a/0");
  EXPECT_EQ(stats[0].trace_capacity, 4u);
  EXPECT_EQ(stats[0].trace_recorded, static_cast<uint64_t>(kRuns));
  EXPECT_EQ(stats[0].trace_dropped, static_cast<uint64_t>(kRuns - 4));

  TraceSummary summary;
  const TraceView view = WriteAndRead(*s, "small.json", &summary);
  const int64_t a0 = view.TidOf("a/0");
  ASSERT_GT(a0, 0);
  const auto kept = view.SlicesOn(a0);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(summary.dropped, static_cast<uint64_t>(kRuns - 4));
  // The kept slices are the last 4 runs, oldest first.
  ASSERT_EQ(began.size(), static_cast<size_t>(kRuns));
  for (size_t k = 0; k < kept.size(); ++k) {
    const int64_t run_began = began[kRuns - kept.size() + k];
    EXPECT_LE(kept[k]->ts_ns, run_began) << "slice " << k << " is not run " << kRuns - 4 + k;
    EXPECT_GE(kept[k]->ts_ns + kept[k]->dur_ns, run_began)
        << "slice " << k << " is not run " << kRuns - 4 + k;
  }
  int wrapped = 0;
  for (const TraceView::Instant& i : view.instants) {
    if (i.name != "trace buffer wrapped") continue;
    ++wrapped;
    EXPECT_EQ(i.tid, a0);
    EXPECT_EQ(i.ts_ns, kept[0]->ts_ns);
    const Json* dropped = i.args.Find("dropped_events");
    ASSERT_NE(dropped, nullptr) << "the wrapped instant has no dropped_events";
    EXPECT_EQ(dropped->text, std::to_string(kRuns - 4));
  }
  EXPECT_EQ(wrapped, 1);
}

}  // namespace
}  // namespace cadence
