// The Chrome trace writer on hand-made runs (no threads, no clock): what lands on which
// track, arrows from processors and from other threads, deadline-miss, exception and
// wrapped-buffer instants, metadata, JSON escaping, and file errors. Every output is read
// back through the strict parser and shape checks of chrome_trace_reader.h.
#include "scheduler/trace/chrome_trace.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "scheduler/task.h"
#include "scheduler/testing/chrome_trace_reader.h"
#include "scheduler/trace/trace_ring.h"

namespace cadence {
namespace {

using test_support::Json;
using test_support::ReadChromeTrace;
using test_support::TraceView;

constexpr pid_t kPid = 7;
constexpr pid_t kRt = 101;  // processor "rt/0"
constexpr pid_t kBg = 102;  // processor "bg/0"

// A task as the scheduler makes it (a periodic one has a TaskDetail, which the scheduler
// owns; here the deleter does).
struct DeleteTask {
  void operator()(Task* task) const {
    delete task->detail;
    delete task;
  }
};

std::unique_ptr<Task, DeleteTask> MakeTask(const std::string& name, uint64_t period_ns = 0) {
  std::unique_ptr<Task, DeleteTask> task(new Task);
  task->name = name;
  if (period_ns > 0) {
    task->detail = new TaskDetail;
    task->detail->period_ns = period_ns;
  }
  return task;
}

TraceEvent RunOf(const Task& task, int64_t start, int64_t end, int64_t notify = 0,
                 int32_t notifier = TraceEvent::kUnknownNotifier, uint16_t flags = 0) {
  TraceEvent e;
  e.task = &task;
  e.start_ns = start;
  e.end_ns = end;
  e.notify_ns = notify;
  e.notifier = notifier;
  e.flags = flags;
  e.cpu = 1;
  return e;
}

TraceInput TwoProcessors(std::vector<TraceEvent> rt, std::vector<TraceEvent> bg) {
  TraceInput input;
  input.pid = kPid;
  input.process_name = "demo";
  input.processors.push_back({"rt/0", kRt, std::move(rt), 1024, 0});
  input.processors.push_back({"bg/0", kBg, std::move(bg), 1024, 0});
  input.thread_name = [](pid_t tid) { return "producer " + std::to_string(tid); };
  return input;
}

TraceView Read(const TraceInput& input, TraceSummary* summary = nullptr) {
  const std::string text = ChromeTraceJson(input, summary);
  absl::StatusOr<TraceView> view = ReadChromeTrace(text);
  EXPECT_TRUE(view.ok()) << view.status() << "\n" << text;
  return view.ok() ? *std::move(view) : TraceView();
}

std::vector<const TraceView::Instant*> InstantsNamed(const TraceView& view,
                                                     const std::string& name) {
  std::vector<const TraceView::Instant*> out;
  for (const TraceView::Instant& i : view.instants) {
    if (i.name == name) out.push_back(&i);
  }
  return out;
}

TEST(ChromeTraceTest, ProcessorTracksAreNamedAndSortedInPlanOrder) {
  const TraceView view = Read(TwoProcessors({}, {}));
  EXPECT_EQ(view.process_name, "demo");
  EXPECT_EQ(view.TrackName(kRt), "rt/0");
  EXPECT_EQ(view.TrackName(kBg), "bg/0");
  EXPECT_EQ(view.sort_index.at(kRt), 0);
  EXPECT_EQ(view.sort_index.at(kBg), 1);
  EXPECT_EQ(view.thread_names.size(), 2u);
  EXPECT_TRUE(view.slices.empty());
}

TEST(ChromeTraceTest, EachRunIsASliceOnItsProcessorsTrackWithItsArgs) {
  auto a = MakeTask("alpha");
  auto b = MakeTask("beta");
  auto t = MakeTask("tick", 1'000'000);
  TraceSummary summary;
  const TraceView view =
      Read(TwoProcessors({RunOf(*a, 10'000, 12'345, 8'500), RunOf(*a, 20'000, 20'001)},
                         {RunOf(*b, 30'000, 40'000, 0, 0, TraceEvent::kOverrun),
                          RunOf(*t, 1'000'250, 1'000'750, 1'000'000, TraceEvent::kTimerRelease,
                                TraceEvent::kPeriodicRelease)}),
           &summary);
  EXPECT_EQ(summary.runs, 4u);
  ASSERT_EQ(view.slices.size(), 4u);
  const std::vector<const TraceView::Slice*> rt = view.SlicesOn(kRt);
  const std::vector<const TraceView::Slice*> bg = view.SlicesOn(kBg);
  ASSERT_EQ(rt.size(), 2u);
  ASSERT_EQ(bg.size(), 2u);
  EXPECT_EQ(rt[0]->name, "alpha");
  EXPECT_EQ(rt[0]->ts_ns, 10'000);
  EXPECT_EQ(rt[0]->dur_ns, 2'345);
  EXPECT_EQ(rt[0]->args.Find("wake_latency_us")->text, "1.500");
  EXPECT_FALSE(rt[0]->args.Find("periodic_release")->boolean);
  EXPECT_FALSE(rt[0]->args.Find("overran")->boolean);
  EXPECT_EQ(rt[0]->args.Find("cpu")->text, "1");
  EXPECT_EQ(rt[1]->dur_ns, 1);
  // No notify time known: no wake latency.
  EXPECT_EQ(rt[1]->args.Find("wake_latency_us"), nullptr);
  EXPECT_EQ(bg[0]->name, "beta");
  EXPECT_TRUE(bg[0]->args.Find("overran")->boolean);
  EXPECT_EQ(bg[1]->name, "tick");
  EXPECT_TRUE(bg[1]->args.Find("periodic_release")->boolean);
  EXPECT_EQ(bg[1]->args.Find("wake_latency_us")->text, "0.250");
  // A timer release has no notifying thread: no arrow.
  EXPECT_TRUE(view.arrows.empty());
  EXPECT_EQ(summary.arrows, 0u);
}

TEST(ChromeTraceTest, ArrowFromAProcessorStartsInsideTheNotifyingRun) {
  auto sensor = MakeTask("sensor");
  auto control = MakeTask("control");
  TraceSummary summary;
  const TraceView view = Read(
      TwoProcessors({RunOf(*sensor, 1'000, 2'000)}, {RunOf(*control, 3'000, 3'500, 1'500, kRt)}),
      &summary);
  ASSERT_EQ(view.arrows.size(), 1u);
  EXPECT_EQ(summary.arrows, 1u);
  const TraceView::Arrow& arrow = view.arrows[0];
  EXPECT_EQ(arrow.from.tid, kRt);
  EXPECT_EQ(arrow.from.ts_ns, 1'500);
  const TraceView::Slice* from = view.Enclosing(kRt, arrow.from.ts_ns);
  ASSERT_NE(from, nullptr);
  EXPECT_EQ(from->name, "sensor");
  EXPECT_EQ(arrow.to.tid, kBg);
  const TraceView::Slice* to = view.StartingAt(kBg, arrow.to.ts_ns);
  ASSERT_NE(to, nullptr);
  EXPECT_EQ(to->name, "control");
  // The notifier is a processor: no extra track.
  EXPECT_EQ(view.thread_names.size(), 2u);
  EXPECT_EQ(summary.notifier_tracks, 0);
}

TEST(ChromeTraceTest, ArrowFromAnotherThreadGetsItsOwnTrackAndANotifySlice) {
  auto beta = MakeTask("beta");
  TraceSummary summary;
  const TraceView view = Read(TwoProcessors({}, {RunOf(*beta, 5'000, 6'000, 4'000, 555),
                                                 RunOf(*beta, 7'000, 8'000, 6'500, 555)}),
                              &summary);
  EXPECT_EQ(view.TrackName(555), "producer 555");
  EXPECT_EQ(view.sort_index.at(555), 2);  // After the processors.
  EXPECT_EQ(summary.notifier_tracks, 1);
  ASSERT_EQ(view.arrows.size(), 2u);
  for (const TraceView::Arrow& arrow : view.arrows) {
    EXPECT_EQ(arrow.from.tid, 555);
    const TraceView::Slice* notify = view.Enclosing(555, arrow.from.ts_ns);
    ASSERT_NE(notify, nullptr);
    EXPECT_EQ(notify->name, "notify beta");
    EXPECT_EQ(notify->ts_ns, arrow.from.ts_ns);
    EXPECT_EQ(notify->dur_ns, 1);
    ASSERT_NE(view.StartingAt(kBg, arrow.to.ts_ns), nullptr);
    EXPECT_EQ(view.StartingAt(kBg, arrow.to.ts_ns)->name, "beta");
  }
}

TEST(ChromeTraceTest, NoArrowWhenTheNotifyingRunIsNotInTheTrace) {
  auto beta = MakeTask("beta");
  auto alpha = MakeTask("alpha");
  TraceSummary summary;
  // rt/0 notified at 1'500, but its ring only holds a run from 9'000 on.
  const TraceView view =
      Read(TwoProcessors({RunOf(*alpha, 9'000, 9'500)}, {RunOf(*beta, 3'000, 3'500, 1'500, kRt)}),
           &summary);
  EXPECT_TRUE(view.arrows.empty());
  EXPECT_EQ(summary.arrows, 0u);
  EXPECT_EQ(view.SlicesOn(kBg).size(), 1u);
}

TEST(ChromeTraceTest, UnknownNotifierHasNoArrow) {
  auto beta = MakeTask("beta");
  const TraceView view = Read(TwoProcessors({}, {RunOf(*beta, 3'000, 3'500, 2'000)}));
  EXPECT_TRUE(view.arrows.empty());
  EXPECT_EQ(view.thread_names.size(), 2u);
}

TEST(ChromeTraceTest, ReleaseStartedMoreThanAPeriodLateIsADeadlineMissInstant) {
  auto tick = MakeTask("tick", 1'000);
  TraceSummary summary;
  const TraceView view =
      Read(TwoProcessors({RunOf(*tick, 2'500, 2'600, 1'000, TraceEvent::kTimerRelease,
                                TraceEvent::kPeriodicRelease | TraceEvent::kDeadlineMiss)},
                         {}),
           &summary);
  const auto misses = InstantsNamed(view, "deadline miss");
  ASSERT_EQ(misses.size(), 1u);
  EXPECT_EQ(misses[0]->tid, kRt);
  EXPECT_EQ(misses[0]->ts_ns, 2'500);
  EXPECT_EQ(misses[0]->args.StringOf("task"), "tick");
  EXPECT_EQ(misses[0]->args.Find("late_us")->text, "1.500");
  EXPECT_EQ(misses[0]->args.Find("period_us")->text, "1.000");
  EXPECT_EQ(summary.deadline_misses, 1u);
}

TEST(ChromeTraceTest, SkippedReleasesAreADeadlineMissInstantAtTheGap) {
  auto tick = MakeTask("tick", 1'000);
  const uint16_t periodic = TraceEvent::kPeriodicRelease;
  TraceSummary summary;
  // Releases at 1000 and 2000 (on rt/0), then 5000 (on bg/0): 3000 and 4000 were skipped.
  const TraceView view =
      Read(TwoProcessors({RunOf(*tick, 1'010, 1'020, 1'000, TraceEvent::kTimerRelease, periodic),
                          RunOf(*tick, 2'010, 2'020, 2'000, TraceEvent::kTimerRelease, periodic)},
                         {RunOf(*tick, 5'010, 5'020, 5'000, TraceEvent::kTimerRelease, periodic)}),
           &summary);
  const auto misses = InstantsNamed(view, "deadline miss");
  ASSERT_EQ(misses.size(), 1u);
  EXPECT_EQ(misses[0]->ts_ns, 3'000);
  EXPECT_EQ(misses[0]->tid, kBg);  // Where the next release ran.
  EXPECT_EQ(misses[0]->args.Find("skipped_releases")->text, "2");
  EXPECT_EQ(misses[0]->args.StringOf("task"), "tick");
  EXPECT_EQ(summary.deadline_misses, 1u);
}

TEST(ChromeTraceTest, NoSkippedReleasesAreInferredFromBeforeARingWrapped) {
  auto tick = MakeTask("tick", 1'000);
  auto other = MakeTask("other");
  const uint16_t periodic = TraceEvent::kPeriodicRelease;
  TraceInput input =
      TwoProcessors({RunOf(*tick, 1'010, 1'020, 1'000, TraceEvent::kTimerRelease, periodic),
                     RunOf(*tick, 5'010, 5'020, 5'000, TraceEvent::kTimerRelease, periodic)},
                    {RunOf(*other, 4'000, 4'500)});
  // bg/0 lost what it ran before 4'000: releases 2000-4000 may have run there.
  input.processors[1].dropped = 3;
  const TraceView view = Read(input);
  EXPECT_TRUE(InstantsNamed(view, "deadline miss").empty());
}

TEST(ChromeTraceTest, ExceptionIsAnInstantAtTheEndOfTheRun) {
  auto bad = MakeTask("bad");
  TraceSummary summary;
  const TraceView view =
      Read(TwoProcessors({}, {RunOf(*bad, 1'000, 1'800, 0, 0, TraceEvent::kException)}), &summary);
  const auto exceptions = InstantsNamed(view, "exception");
  ASSERT_EQ(exceptions.size(), 1u);
  EXPECT_EQ(exceptions[0]->tid, kBg);
  EXPECT_EQ(exceptions[0]->ts_ns, 1'800);
  EXPECT_EQ(exceptions[0]->args.StringOf("task"), "bad");
  EXPECT_EQ(summary.exceptions, 1u);
}

TEST(ChromeTraceTest, WrappedRingIsNotedOnItsTrackAndInTheMetadata) {
  auto a = MakeTask("alpha");
  TraceInput input = TwoProcessors({RunOf(*a, 1'000, 1'100), RunOf(*a, 2'000, 2'100)}, {});
  input.processors[0].capacity = 2;
  input.processors[0].dropped = 5;
  TraceSummary summary;
  const TraceView view = Read(input, &summary);
  EXPECT_EQ(summary.dropped, 5u);
  const auto wrapped = InstantsNamed(view, "trace buffer wrapped");
  ASSERT_EQ(wrapped.size(), 1u);
  EXPECT_EQ(wrapped[0]->tid, kRt);
  EXPECT_EQ(wrapped[0]->ts_ns, 1'000);  // The oldest run it still holds.
  EXPECT_EQ(wrapped[0]->args.Find("dropped_events")->text, "5");
  EXPECT_EQ(wrapped[0]->args.Find("capacity")->text, "2");

  const Json* metadata = view.root.Find("metadata");
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->StringOf("clock"), "CLOCK_MONOTONIC");
  const Json* processors = metadata->Find("processors");
  ASSERT_NE(processors, nullptr);
  ASSERT_EQ(processors->array.size(), 2u);
  const Json& rt = processors->array[0];
  EXPECT_EQ(rt.StringOf("name"), "rt/0");
  EXPECT_EQ(rt.Find("capacity")->text, "2");
  EXPECT_EQ(rt.Find("recorded")->text, "7");
  EXPECT_EQ(rt.Find("dropped")->text, "5");
  EXPECT_EQ(processors->array[1].Find("dropped")->text, "0");
}

TEST(ChromeTraceTest, TaskNamesAreEscaped) {
  const std::string tricky = "q\"b\\s/n\nt\tc\x01 \xc3\xa9 bad\xff end";
  auto task = MakeTask(tricky);
  const TraceView view = Read(TwoProcessors({RunOf(*task, 1'000, 2'000)}, {}));
  ASSERT_EQ(view.slices.size(), 1u);
  // Everything survives but the invalid byte, which becomes U+FFFD.
  EXPECT_EQ(view.slices[0].name, "q\"b\\s/n\nt\tc\x01 \xc3\xa9 bad\xef\xbf\xbd end");
}

TEST(ChromeTraceTest, JsonStringEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(JsonString("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(JsonString("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(JsonString(std::string("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(JsonString("\x1f\x7f"), "\"\\u001f\\u007f\"");
  EXPECT_EQ(JsonString("\xe2\x82\xac"), "\"\xe2\x82\xac\"");           // A valid 3-byte sequence.
  EXPECT_EQ(JsonString("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // Overlong.
  EXPECT_EQ(JsonString("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // A surrogate.
  EXPECT_EQ(JsonString("\xe2\x82"), "\"\\ufffd\\ufffd\"");             // Truncated.
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(ChromeTraceTest, WriteChromeTraceWritesTheSameTextToTheFile) {
  auto a = MakeTask("alpha");
  const TraceInput input = TwoProcessors({RunOf(*a, 1'000, 2'000)}, {});
  const std::string path = TempPath("written.json");
  absl::StatusOr<TraceSummary> summary = WriteChromeTrace(input, path);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->runs, 1u);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), ChromeTraceJson(input));
  std::remove(path.c_str());
}

TEST(ChromeTraceTest, WriteErrorsNameThePathAndTheReason) {
  const TraceInput input = TwoProcessors({}, {});
  absl::StatusOr<TraceSummary> full = WriteChromeTrace(input, "/dev/full");
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.status().message().find("cannot write the trace file /dev/full"),
            std::string::npos)
      << full.status();
  EXPECT_NE(full.status().message().find("No space left on device"), std::string::npos)
      << full.status();

  const std::string missing = TempPath("no_such_dir/t.json");
  absl::StatusOr<TraceSummary> absent = WriteChromeTrace(input, missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("cannot create the trace file " + missing),
            std::string::npos)
      << absent.status();
  EXPECT_NE(absent.status().message().find("No such file or directory"), std::string::npos)
      << absent.status();
}

}  // namespace
}  // namespace cadence
