// schedctl top's screen from two hand-built snapshots: interval rates and deltas, wake
// percentiles of the interval only (not since start), "-" for a task that did not run,
// tasks new in the interval, busy share of the interval.
#include "tools/schedctl/top.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/introspection/runtime_state.h"
#include "scheduler/statistics/latency_histogram.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;

proto::RuntimeState Snapshot(int64_t monotonic_ns) {
  proto::RuntimeState s;
  s.set_pid(4242);
  s.set_program("robot_demo");
  s.set_conf_path("conf/robot.conf");
  s.set_real_conf_path("/etc/cadence/robot_classic.conf");
  s.set_scheduler_kind("classic");
  s.set_monotonic_ns(monotonic_ns);
  s.set_histogram_buckets(LatencyHistogram::kBuckets);
  s.set_histogram_sub_bits(LatencyHistogram::kSubBits);
  return s;
}

// Adds `count` wake samples of `ns` to a task's histogram.
void AddWakes(proto::TaskState* t, uint64_t ns, uint64_t count) {
  const uint32_t bucket = static_cast<uint32_t>(LatencyHistogram::Bucket(ns));
  bool found = false;
  for (proto::WakeBucket& b : *t->mutable_wake_buckets()) {
    if (b.index() == bucket) {
      b.set_count(b.count() + count);
      found = true;
    }
  }
  if (!found) {
    proto::WakeBucket* b = t->add_wake_buckets();
    b->set_index(bucket);
    b->set_count(count);
  }
  t->set_wake_count(t->wake_count() + count);
  t->set_wake_max_ns(std::max<uint64_t>(t->wake_max_ns(), ns));
}

// The cells of the row that starts with `name` (split on blanks), and the header's.
std::map<std::string, std::string> Row(const std::string& screen, const std::string& header_first,
                                       const std::string& name) {
  std::vector<std::string> header;
  std::map<std::string, std::string> row;
  for (absl::string_view line : absl::StrSplit(screen, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cells.empty()) continue;
    if (cells[0] == header_first) header = cells;
    if (cells[0] == name && !header.empty()) {
      EXPECT_EQ(cells.size(), header.size()) << line;
      for (size_t i = 0; i < cells.size() && i < header.size(); ++i) row[header[i]] = cells[i];
      return row;
    }
  }
  ADD_FAILURE() << "no row " << name << " in:\n" << screen;
  return row;
}

class TopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    before_ = Snapshot(1'000'000'000);
    after_ = Snapshot(1'500'000'000);  // 500 ms later.

    // motion_sensor: 100 runs at 10 us before; 500 more in the interval at 50 us (and one at
    // 400 us, a new maximum).
    proto::TaskState* sensor = before_.add_tasks();
    sensor->set_name("motion_sensor");
    sensor->set_queue("realtime");
    sensor->set_activations(100);
    sensor->set_run_ns_total(100 * 5'000);
    sensor->set_run_ns_max(9'000);
    sensor->set_deadline_misses(2);
    sensor->set_coalesced(1);
    AddWakes(sensor, 10'000, 100);
    proto::TaskState* sensor_after = after_.add_tasks();
    *sensor_after = *sensor;
    sensor_after->set_activations(601);
    sensor_after->set_run_ns_total(100 * 5'000 + 501 * 7'000);
    sensor_after->set_deadline_misses(5);
    sensor_after->set_overruns(1);
    sensor_after->set_coalesced(4);
    sensor_after->set_dropped(7);
    AddWakes(sensor_after, 50'000, 500);
    AddWakes(sensor_after, 400'000, 1);

    // idle: ran before, not in the interval.
    proto::TaskState* idle = before_.add_tasks();
    idle->set_name("idle");
    idle->set_queue("background");
    idle->set_activations(3);
    idle->set_run_ns_max(1'000);
    AddWakes(idle, 2'000, 3);
    *after_.add_tasks() = *idle;

    // fresh: created in the interval, ran 10 times.
    proto::TaskState* fresh = after_.add_tasks();
    fresh->set_name("fresh");
    fresh->set_queue("background");
    fresh->set_activations(10);
    fresh->set_run_ns_total(10 * 2'000);
    AddWakes(fresh, 3'000, 10);

    proto::ProcessorState* p = before_.add_processors();
    p->set_name("realtime/0");
    p->set_tid(4250);
    p->set_busy_ns(100'000'000);
    p->set_alive_ns(1'000'000'000);
    p->set_activations(100);
    p->set_sleeps(90);
    p->set_yields(7);
    proto::ProcessorState* q = after_.add_processors();
    *q = *p;
    q->set_busy_ns(100'000'000 + 125'000'000);  // 125 of 500 ms: 25%.
    q->set_alive_ns(1'500'000'000);
    q->set_activations(600);
    q->set_sleeps(590);
    q->set_yields(7 + 40);
    q->add_live_tasks("motion_sensor");
    q->add_live_tasks("motion_control");
  }

  proto::RuntimeState before_, after_;
};

TEST_F(TopTest, HeaderNamesProcessConfAndInterval) {
  const std::string screen = FormatTop(before_, after_);
  EXPECT_THAT(screen, HasSubstr("pid 4242 (robot_demo), conf conf/robot.conf -> "
                                "/etc/cadence/robot_classic.conf (classic): over the last "
                                "500.0 ms"));
}

TEST_F(TopTest, IntervalRunsFromWhenTheFirstSnapshotBeganToReadTheStatistics) {
  // The first snapshot's reader was preempted for 125 ms between reading the statistics
  // and its clock: the 501 runs may have happened over 625 ms, not 500.
  before_.set_statistics_from_ns(before_.monotonic_ns() - 125'000'000);
  const std::string screen = FormatTop(before_, after_);
  EXPECT_THAT(screen, HasSubstr("over the last 625.0 ms"));
  EXPECT_EQ(Row(screen, "TASK", "motion_sensor").at("RUNS/s"), "802");  // 501 / 0.625 s.
  // The second snapshot's own start does not matter.
  after_.set_statistics_from_ns(after_.monotonic_ns() - 300'000'000);
  EXPECT_EQ(Row(FormatTop(before_, after_), "TASK", "motion_sensor").at("RUNS/s"), "802");
}

TEST_F(TopTest, TaskFiguresAreThoseOfTheInterval) {
  const std::map<std::string, std::string> row =
      Row(FormatTop(before_, after_), "TASK", "motion_sensor");
  EXPECT_EQ(row.at("QUEUE"), "realtime");
  EXPECT_EQ(row.at("RUNS/s"), "1002");  // 501 runs in 0.5 s.
  // The 100 runs at 10 us before the interval do not count: p50 is the 50 us bucket's bound.
  const uint64_t p50 = LatencyHistogram::BucketUpperBound(LatencyHistogram::Bucket(50'000));
  double value = 0;
  ASSERT_TRUE(absl::SimpleAtod(row.at("WAKE_p50"), &value));
  EXPECT_NEAR(value, p50 / 1e3, 0.05);
  ASSERT_TRUE(absl::SimpleAtod(row.at("WAKE_p99"), &value));
  EXPECT_NEAR(value, p50 / 1e3, 0.05);
  // A new all-time maximum in the interval: exact.
  EXPECT_EQ(row.at("WAKE_max"), "400.0");
  EXPECT_EQ(row.at("RUN_avg"), "7.0");
  EXPECT_EQ(row.at("RUN_max"), "9.0");
  EXPECT_EQ(row.at("MISSES"), "3");
  EXPECT_EQ(row.at("OVERRUNS"), "1");
  EXPECT_EQ(row.at("COALESCED"), "3");
  EXPECT_EQ(row.at("DROPPED"), "7");
  EXPECT_EQ(row.at("RUNS"), "601");
}

TEST_F(TopTest, IntervalMaxWithoutNewMaximumIsItsBucketsBound) {
  // Before the interval the max was 400 us already; the interval's runs were all 50 us.
  AddWakes(before_.mutable_tasks(0), 400'000, 1);
  before_.mutable_tasks(0)->set_activations(101);
  const std::map<std::string, std::string> row =
      Row(FormatTop(before_, after_), "TASK", "motion_sensor");
  const uint64_t bound = LatencyHistogram::BucketUpperBound(LatencyHistogram::Bucket(50'000));
  double value = 0;
  ASSERT_TRUE(absl::SimpleAtod(row.at("WAKE_max"), &value));
  EXPECT_NEAR(value, bound / 1e3, 0.05);
  EXPECT_EQ(row.at("RUNS/s"), "1000");
}

TEST_F(TopTest, TaskThatDidNotRunShowsDashes) {
  const std::map<std::string, std::string> row = Row(FormatTop(before_, after_), "TASK", "idle");
  EXPECT_EQ(row.at("RUNS/s"), "0");
  EXPECT_EQ(row.at("WAKE_p50"), "-");
  EXPECT_EQ(row.at("WAKE_p99"), "-");
  EXPECT_EQ(row.at("WAKE_max"), "-");
  EXPECT_EQ(row.at("RUN_avg"), "-");
  EXPECT_EQ(row.at("RUN_max"), "1.0");
  EXPECT_EQ(row.at("RUNS"), "3");
}

TEST_F(TopTest, TaskNewInTheIntervalCountsFromZero) {
  const std::map<std::string, std::string> row = Row(FormatTop(before_, after_), "TASK", "fresh");
  EXPECT_EQ(row.at("RUNS/s"), "20");
  EXPECT_EQ(row.at("WAKE_max"), "3.0");
  EXPECT_EQ(row.at("RUN_avg"), "2.0");
}

TEST_F(TopTest, UntimedTaskShowsItsRunsAndDashesForTimes) {
  proto::TaskState* bulk = before_.add_tasks();
  bulk->set_name("bulk");
  bulk->set_queue("background");
  bulk->set_untimed(true);
  bulk->set_activations(1'000);
  proto::TaskState* bulk_after = after_.add_tasks();
  *bulk_after = *bulk;
  bulk_after->set_activations(21'000);
  bulk_after->set_coalesced(5);
  const std::string screen = FormatTop(before_, after_);
  const std::map<std::string, std::string> row = Row(screen, "TASK", "bulk");
  EXPECT_EQ(row.at("RUNS/s"), "40000");
  EXPECT_EQ(row.at("WAKE_p50"), "-");
  EXPECT_EQ(row.at("WAKE_p99"), "-");
  EXPECT_EQ(row.at("WAKE_max"), "-");
  EXPECT_EQ(row.at("RUN_avg"), "-");
  EXPECT_EQ(row.at("RUN_max"), "-");
  EXPECT_EQ(row.at("COALESCED"), "5");
  EXPECT_EQ(row.at("RUNS"), "21000");
  EXPECT_THAT(screen, HasSubstr("(1 task's activations are not timed, their queue's "
                                "time_activations being false: WAKE and RUN show -)"));
  // The line stays while the untimed task is there (here over an empty interval)...
  EXPECT_THAT(FormatTop(after_, after_), HasSubstr("not timed"));
  // ...and is not printed when every task is timed.
  after_.mutable_tasks()->RemoveLast();
  before_.mutable_tasks()->RemoveLast();
  EXPECT_THAT(FormatTop(before_, after_), Not(HasSubstr("not timed")));
}

TEST_F(TopTest, ProcessorBusyShareOfTheInterval) {
  const std::map<std::string, std::string> row =
      Row(FormatTop(before_, after_), "PROCESSOR", "realtime/0");
  EXPECT_EQ(row.at("TID"), "4250");
  EXPECT_EQ(row.at("BUSY%"), "25.0");
  EXPECT_EQ(row.at("RUNS/s"), "1000");
  EXPECT_EQ(row.at("SLEEPS/s"), "1000");
  EXPECT_EQ(row.at("YIELDS/s"), "80");
  EXPECT_EQ(row.at("TASKS"), "motion_sensor,motion_control");
}

TEST_F(TopTest, NamesWithBlanksStayOneCell) {
  // Names may hold blanks (any printable UTF-8): each row still splits into one cell per
  // column, a blank written \x20, a backslash \\, a comma in the TASKS list \x2c.
  for (proto::RuntimeState* s : {&before_, &after_}) {
    proto::TaskState* t = s->add_tasks();
    t->set_name("my task");
    t->set_queue("my group");
    t->set_activations(s == &before_ ? 1 : 6);
    proto::ProcessorState* p = s->add_processors();
    p->set_name("my group/0");
    p->set_alive_ns(s == &before_ ? 0 : 500'000'000);
    p->add_live_tasks("my task");
    p->add_live_tasks("a,b\\c");
    // Tasks the conf does not name are not checked for their names: control characters
    // and an empty name.
    for (const char* name : {"tab\there", "new\nline", ""}) {
      proto::TaskState* odd = s->add_tasks();
      odd->set_name(name);
      odd->set_queue("q");
    }
  }
  const std::string screen = FormatTop(before_, after_);
  const std::map<std::string, std::string> task = Row(screen, "TASK", "my\\x20task");
  EXPECT_EQ(task.at("QUEUE"), "my\\x20group");
  EXPECT_EQ(task.at("RUNS/s"), "10");
  EXPECT_EQ(task.at("RUNS"), "6");
  const std::map<std::string, std::string> processor =
      Row(screen, "PROCESSOR", "my\\x20group/0");
  EXPECT_EQ(processor.at("TASKS"), "my\\x20task,a\\x2cb\\\\c");
  for (const char* name : {"tab\\x09here", "new\\x0aline", "\"\""}) {
    EXPECT_EQ(Row(screen, "TASK", name).at("QUEUE"), "q") << name;
  }
  // The other rows are as before.
  EXPECT_EQ(Row(screen, "TASK", "motion_sensor").at("RUNS/s"), "1002");
}

TEST_F(TopTest, ColumnsLineUpWithNamesInUtf8) {
  // "bewegungssteuerung/\u00fc" is 20 characters in 21 bytes: the QUEUE column starts at
  // the same column in every row (counted in characters, as a terminal shows them).
  for (proto::RuntimeState* s : {&before_, &after_}) {
    proto::TaskState* t = s->add_tasks();
    t->set_name("bewegungssteuerung/\u00fc");
    t->set_queue("realtime");
  }
  const std::string screen = FormatTop(before_, after_);
  std::vector<size_t> queue_columns;
  for (absl::string_view line : absl::StrSplit(screen, '\n')) {
    const size_t at = line.find("realtime");
    if (at == absl::string_view::npos || absl::StartsWith(line, "  realtime/0")) continue;
    size_t column = 0;  // Characters before it.
    for (const char c : line.substr(0, at)) column += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    queue_columns.push_back(column);
  }
  ASSERT_EQ(queue_columns.size(), 2u) << screen;  // motion_sensor's row and the new one.
  EXPECT_EQ(queue_columns[0], queue_columns[1]) << screen;
}

TEST_F(TopTest, BusyShareIsCappedAt100) {
  // A run that began before the interval and ended in it counts whole.
  after_.mutable_processors(0)->set_busy_ns(100'000'000 + 600'000'000);
  const std::map<std::string, std::string> row =
      Row(FormatTop(before_, after_), "PROCESSOR", "realtime/0");
  EXPECT_EQ(row.at("BUSY%"), "100.0");
}

TEST_F(TopTest, IncompatibleHistogramsAreSaidNotGuessed) {
  after_.set_histogram_buckets(LatencyHistogram::kBuckets + 1);
  const std::string screen = FormatTop(before_, after_);
  const std::map<std::string, std::string> row = Row(screen, "TASK", "motion_sensor");
  EXPECT_EQ(row.at("WAKE_p50"), "-");
  EXPECT_EQ(row.at("RUNS/s"), "1002");
  EXPECT_THAT(screen, HasSubstr("wake figures not shown"));
}

}  // namespace
}  // namespace cadence
