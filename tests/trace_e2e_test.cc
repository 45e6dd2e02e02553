// End-to-end tests of --trace_out: robot_demo and mainboard run as processes (see
// tests/child_process.h) on the shipped robot DAG and classic conf, and the timeline file
// they write is read back: valid JSON (a strict parser, and python3's json module when
// there is one), a track per processor of conf/robot_classic.conf, every task's runs on
// the tracks of the processors its queue has, notify arrows along the channels. Bad trace
// paths fail with exit 1 and a message: at start-up when the file cannot be created, at
// the end when it cannot be written (/dev/full). Nothing waits for a fixed time: the
// binaries run for their --duration_s and every wait is only guarded.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/plan.h"
#include "scheduler/config/validator.h"
#include "scheduler/testing/chrome_trace_reader.h"
#include "tests/child_process.h"

namespace cadence {
namespace {

using test_support::Json;
using test_support::Outcome;
using test_support::ReadChromeTrace;
using test_support::ReadFile;
using test_support::RunToEnd;
using test_support::TempDir;
using test_support::TraceView;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMainboard[] = "tools/mainboard/mainboard";
constexpr char kRobotDemo[] = "examples/robot/robot_demo";
constexpr char kRobotDag[] = "examples/robot/robot.dag";
// The classic layout itself, not the robot.conf symlink (which a user may re-point).
constexpr char kClassicConf[] = "conf/robot_classic.conf";

// A fresh directory for the test's trace files.
std::string TraceDir() {
  std::string pattern = absl::StrCat(TempDir(), "/trace_XXXXXX");
  EXPECT_NE(mkdtemp(pattern.data()), nullptr) << strerror(errno);
  return pattern;
}

// The trace at `path`, read back and checked (an empty view and a test failure otherwise).
TraceView ReadTrace(const std::string& path) {
  const std::string text = ReadFile(path);
  EXPECT_FALSE(text.empty()) << path << " is empty";
  absl::StatusOr<TraceView> view = ReadChromeTrace(text);
  EXPECT_TRUE(view.ok()) << path << ": " << view.status();
  return view.ok() ? *std::move(view) : TraceView();
}

// A second opinion on "valid JSON": python3's json module, when python3 is installed
// (tools/setup.sh installs it). Constants like NaN are refused, as JSON does.
void ExpectPythonLoadsIt(const std::string& path) {
  for (const char* python : {"/usr/bin/python3", "/usr/local/bin/python3"}) {
    if (access(python, X_OK) != 0) continue;
    const Outcome outcome =
        RunToEnd(python, {"-c",
                          "import json, sys\n"
                          "def bad(name): raise ValueError('not JSON: ' + name)\n"
                          "json.load(open(sys.argv[1], encoding='utf-8'), parse_constant=bad)\n",
                          path});
    EXPECT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
    return;
  }
  GTEST_LOG_(INFO) << "no python3: only the strict C++ parser checked " << path;
}

// The processor names of each task's queue in `plan`.
std::map<std::string, std::set<std::string>> ProcessorsOfTasks(const Plan& plan) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [name, task] : plan.tasks) {
    for (int p : plan.queues[task.queue].processors) out[name].insert(plan.processors[p].name);
  }
  return out;
}

// The names of the tracks task `task` ran on.
std::set<std::string> TracksOf(const TraceView& view, const std::string& task) {
  std::set<std::string> out;
  for (const TraceView::Slice& s : view.slices) {
    if (s.name == task) out.insert(view.TrackName(s.tid));
  }
  return out;
}

// Arrows into a run of `to` that start inside a run of `from`.
int ArrowsBetween(const TraceView& view, const std::string& from, const std::string& to) {
  int n = 0;
  for (const TraceView::Arrow& arrow : view.arrows) {
    const TraceView::Slice* target = view.StartingAt(arrow.to.tid, arrow.to.ts_ns);
    const TraceView::Slice* source = view.Enclosing(arrow.from.tid, arrow.from.ts_ns);
    if (target != nullptr && source != nullptr && target->name == to && source->name == from) ++n;
  }
  return n;
}

class TraceE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "the confs use CPUs 0 and 1";
    dir_ = TraceDir();
  }
  std::string dir_;
};

TEST_F(TraceE2eTest, RobotDemoTraceHasEachTaskOnItsProcessorsTracksAndNotifyArrows) {
  const std::string path = dir_ + "/t.json";
  const Outcome outcome =
      RunToEnd(kRobotDemo, {"--conf", kClassicConf, "--duration_s", "2", "--trace_out", path});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: trace written to " + path + ": "));
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: ok"));
  ExpectPythonLoadsIt(path);
  const TraceView view = ReadTrace(path);

  // What the conf says: which processors exist and which serve each task.
  absl::StatusOr<Validation> validation = LoadAndValidate(kClassicConf, Machine::Read());
  ASSERT_TRUE(validation.ok()) << validation.status();
  const Plan& plan = validation->plan;
  for (size_t p = 0; p < plan.processors.size(); ++p) {
    const int64_t tid = view.TidOf(plan.processors[p].name);
    ASSERT_GT(tid, 0) << "no track named " << plan.processors[p].name;
    EXPECT_EQ(view.sort_index.at(tid), static_cast<int64_t>(p));
  }
  const std::map<std::string, std::set<std::string>> expected = ProcessorsOfTasks(plan);
  for (const char* task : {"motion_sensor", "motion_control", "led_effects", "camera", "preview",
                           "file_source", "parse"}) {
    const std::set<std::string> tracks = TracksOf(view, task);
    ASSERT_FALSE(tracks.empty()) << "no run of " << task << " in the trace";
    ASSERT_EQ(expected.count(task), 1u) << task << " is not in " << kClassicConf;
    for (const std::string& track : tracks) {
      EXPECT_EQ(expected.at(task).count(track), 1u) << task << " ran on " << track;
    }
  }
  // The same, as robot_classic.conf reads: the motion path and LEDs on realtime/0, the
  // background chain on background/*. (parse, the lowest priority in a group kept busy on
  // purpose, may only run in the shutdown drain; it is in the trace all the same.)
  for (const char* task : {"motion_sensor", "motion_control", "led_effects"}) {
    EXPECT_EQ(TracksOf(view, task), std::set<std::string>{"realtime/0"}) << task;
  }
  for (const char* task : {"camera", "preview", "file_source", "parse"}) {
    for (const std::string& track : TracksOf(view, task)) {
      EXPECT_TRUE(absl::StartsWith(track, "background/")) << task << " ran on " << track;
    }
  }

  // Notify arrows along the channels: sensor -> control on realtime/0, camera -> preview
  // and file_source -> parse in the background.
  EXPECT_FALSE(view.arrows.empty());
  EXPECT_GT(ArrowsBetween(view, "motion_sensor", "motion_control"), 0);
  EXPECT_GT(ArrowsBetween(view, "camera", "preview"), 0);
  EXPECT_GT(ArrowsBetween(view, "file_source", "parse"), 0);
  // Timer releases have none.
  for (const TraceView::Slice& s : view.slices) {
    if (s.name != "motion_sensor") continue;
    const Json* periodic = s.args.Find("periodic_release");
    ASSERT_NE(periodic, nullptr) << "a motion_sensor run without periodic_release";
    EXPECT_TRUE(periodic->boolean);
  }

  // Metadata: the clock, and every processor's ring (65536 by default; nothing dropped).
  const Json* metadata = view.root.Find("metadata");
  ASSERT_NE(metadata, nullptr);
  EXPECT_EQ(metadata->StringOf("clock"), "CLOCK_MONOTONIC");
  const Json* processors = metadata->Find("processors");
  ASSERT_NE(processors, nullptr);
  ASSERT_EQ(processors->array.size(), plan.processors.size());
  for (size_t p = 0; p < plan.processors.size(); ++p) {
    EXPECT_EQ(processors->array[p].StringOf("name"), plan.processors[p].name);
    const Json* capacity = processors->array[p].Find("capacity");
    const Json* dropped = processors->array[p].Find("dropped");
    ASSERT_NE(capacity, nullptr) << plan.processors[p].name << " has no capacity";
    ASSERT_NE(dropped, nullptr) << plan.processors[p].name << " has no dropped";
    EXPECT_EQ(capacity->text, "65536");
    EXPECT_EQ(dropped->text, "0");
  }
}

// CLOCK_MONOTONIC, the clock of the trace's timestamps, in nanoseconds.
int64_t MonotonicNs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

TEST_F(TraceE2eTest, SmallTraceBufferKeepsTheNewestRunsAndSaysItWrapped) {
  const std::string path = dir_ + "/small.json";
  // The demo runs for 2 s from when it has started, which is after this: its newest 64
  // runs come after `half_way` however slow start-up is, unless the 1 kHz motion path (and
  // the LED) ran fewer than 64 times in the last second, i.e. the VM stalled it for 0.94 s
  // (its oldest runs, unless start-up took a second, come before).
  const int64_t before_start = MonotonicNs();
  const int64_t half_way = before_start + 1'000'000'000;
  const Outcome outcome = RunToEnd(kRobotDemo, {"--conf", kClassicConf, "--duration_s", "2",
                                                "--trace_out", path, "--trace_events", "64"});
  const int64_t after_end = MonotonicNs();
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("older runs dropped (64 kept per processor)"));
  const TraceView view = ReadTrace(path);
  const int64_t realtime = view.TidOf("realtime/0");
  ASSERT_GT(realtime, 0);
  // The 1 kHz motion path alone runs far more than 64 times a second.
  const std::vector<const TraceView::Slice*> kept = view.SlicesOn(realtime);
  EXPECT_EQ(kept.size(), 64u);
  // The kept runs are from the end of the run: all of them began past half of it.
  for (const TraceView::Slice* slice : kept) {
    EXPECT_GT(slice->ts_ns, half_way)
        << slice->name << " at " << slice->ts_ns - before_start << " ns after the start was kept";
    EXPECT_LT(slice->ts_ns, after_end) << slice->name;
  }
  bool wrapped = false;
  for (const TraceView::Instant& i : view.instants) {
    if (i.name == "trace buffer wrapped" && i.tid == realtime) wrapped = true;
  }
  EXPECT_TRUE(wrapped);
}

TEST_F(TraceE2eTest, MainboardWritesATraceToo) {
  const std::string path = dir_ + "/mainboard.json";
  const Outcome outcome = RunToEnd(kMainboard, {"-d", kRobotDag, "--conf", kClassicConf,
                                                "--duration_s", "1", "--trace_out", path});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: trace written to " + path + ": "));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
  const TraceView view = ReadTrace(path);
  EXPECT_EQ(TracksOf(view, "motion_sensor"), std::set<std::string>{"realtime/0"});
  EXPECT_GT(ArrowsBetween(view, "motion_sensor", "motion_control"), 0);
}

TEST_F(TraceE2eTest, TracePathThatCannotBeCreatedFailsAtStartUp) {
  const std::string path = dir_ + "/no_such_dir/t.json";
  for (const char* binary : {kRobotDemo, kMainboard}) {
    std::vector<std::string> args = {"--conf", kClassicConf,  "--duration_s",
                                     "1",      "--trace_out", path};
    if (binary == kMainboard) args.insert(args.begin(), {"-d", kRobotDag});
    const Outcome outcome = RunToEnd(binary, args);
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
    EXPECT_THAT(outcome.err, HasSubstr("cannot start:"));
    EXPECT_THAT(outcome.err, HasSubstr("cannot open the trace file " + path +
                                       " for writing: No such file or directory"));
    EXPECT_THAT(outcome.out, Not(HasSubstr("running")));
  }
}

TEST_F(TraceE2eTest, FailedStartLeavesNoTraceFileBehind) {
  // A conf named with --conf that does not exist is an error (with or without --strict),
  // found after the trace file was created (the launcher creates it first).
  const std::string path = dir_ + "/never.json";
  const Outcome outcome = RunToEnd(kRobotDemo, {"--conf", dir_ + "/missing.conf",
                                                "--duration_s", "1", "--trace_out", path});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("missing.conf"));
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " was left behind";
}

TEST_F(TraceE2eTest, TraceThatCannotBeWrittenAtTheEndIsExit1WithTheReason) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  const Outcome demo = RunToEnd(
      kRobotDemo, {"--conf", kClassicConf, "--duration_s", "1", "--trace_out", "/dev/full"});
  ASSERT_TRUE(demo.exited && demo.exit_code == 1) << demo.Describe();
  EXPECT_THAT(demo.err, HasSubstr("robot_demo: cannot write the trace file /dev/full: No space "
                                  "left on device"));
  EXPECT_THAT(demo.out, HasSubstr("robot_demo: FAILURES (0 failed or throwing task runs; the "
                                  "trace was not written)"));
  // The run itself was reported.
  EXPECT_THAT(demo.out, HasSubstr("motion_sensor"));

  const Outcome mainboard = RunToEnd(kMainboard, {"-d", kRobotDag, "--conf", kClassicConf,
                                                  "--duration_s", "1", "--trace_out", "/dev/full"});
  ASSERT_TRUE(mainboard.exited && mainboard.exit_code == 1) << mainboard.Describe();
  EXPECT_THAT(mainboard.err, HasSubstr("mainboard: cannot write the trace file /dev/full: No "
                                       "space left on device"));
  EXPECT_THAT(mainboard.out, Not(HasSubstr("stopped cleanly")));
}

TEST_F(TraceE2eTest, ZeroTraceEventsIsAUsageError) {
  const Outcome outcome =
      RunToEnd(kRobotDemo, {"--conf", kClassicConf, "--duration_s", "1", "--trace_out",
                            dir_ + "/t.json", "--trace_events", "0"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("--trace_events must be at least 1, not 0"));
}

}  // namespace
}  // namespace cadence
