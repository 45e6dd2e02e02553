// Tests of the report tables: the thread table shows what the kernel reports when it is
// printed, says when a thread was changed after start-up, and says when it cannot read one.
#include "scheduler/launcher/report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The row of thread `name` in a thread table.
std::string RowOf(const std::string& table, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<absl::string_view> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cells.size() > 1 && cells[1] == name) return std::string(line);
  }
  ADD_FAILURE() << "no row " << name << " in:\n" << table;
  return "";
}

TEST(ReportTest, ThreadTableShowsTheKernelsViewNowAndWhatChangedSinceStartUp) {
  const Plan plan = test_support::PlanFromText(R"(
scheduler_conf {
  classic_conf {
    groups: [ { name: "bg" processor_num: 2 processor_policy: "SCHED_BATCH" processor_nice: 5 } ]
  }
}
)");
  std::unique_ptr<Scheduler> scheduler = test_support::StartOrNull(plan);
  ASSERT_NE(scheduler, nullptr);
  const std::vector<ThreadRecord> threads = scheduler->Threads();
  ASSERT_EQ(threads.size(), 2u);
  const std::string asked = Describe(threads[0].applied.requested);
  ASSERT_THAT(asked, HasSubstr("SCHED_BATCH nice 5"));

  std::string table = FormatThreadTable(threads);
  for (const char* name : {"bg/0", "bg/1"}) {
    EXPECT_THAT(RowOf(table, name), HasSubstr("as asked")) << table;
  }

  // Someone renices bg/1 (as `renice` or `chrt` would): the table says so and shows it.
  ASSERT_EQ(setpriority(PRIO_PROCESS, threads[1].tid, 3), 0);
  absl::StatusOr<ThreadAttributes> now = ReadThreadAttributes(threads[1].tid);
  ASSERT_TRUE(now.ok()) << now.status();
  table = FormatThreadTable(threads);
  const std::string changed = RowOf(table, "bg/1");
  EXPECT_THAT(changed, HasSubstr(Describe(*now))) << table;
  EXPECT_THAT(changed, HasSubstr("SCHED_BATCH nice 3")) << table;
  EXPECT_THAT(changed, HasSubstr(absl::StrCat("changed since start-up (it got ",
                                              Describe(threads[1].applied.effective), ")")))
      << table;
  EXPECT_THAT(changed, Not(HasSubstr("as asked"))) << table;
  EXPECT_THAT(RowOf(table, "bg/0"), HasSubstr("as asked")) << table;

  // A tid that is not a thread of this process (here our parent's) is not read: a thread
  // that exited may have left its tid to another process.
  std::vector<ThreadRecord> foreign = {threads[0]};
  foreign[0].tid = getppid();
  const std::string foreign_row = RowOf(FormatThreadTable(foreign), "bg/0");
  EXPECT_THAT(foreign_row, HasSubstr(absl::StrCat("thread ", getppid(), " is gone")));
  EXPECT_THAT(foreign_row, HasSubstr(asked));

  // Once the threads are gone, the table says it shows what was recorded.
  scheduler->Shutdown();
  table = FormatThreadTable(threads);
  for (const char* name : {"bg/0", "bg/1"}) {
    const std::string row = RowOf(table, name);
    EXPECT_THAT(row, HasSubstr("not readable now")) << table;
    EXPECT_THAT(row, HasSubstr("as recorded at start-up")) << table;
    EXPECT_THAT(row, HasSubstr(asked)) << table;
  }
}

// The cells of the task table's row of task `name`.
std::vector<std::string> TaskCells(const std::string& table, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<std::string> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cells.empty() && cells[0] == name) return cells;
  }
  ADD_FAILURE() << "no row " << name << " in:\n" << table;
  return {};
}

TEST(ReportTest, TaskTableShowsDashesForTheTimesOfAnUntimedTask) {
  TaskStats timed;
  timed.name = "timed";
  timed.queue = "q";
  timed.activations = 4;
  timed.run_ns_total = 8'000;
  timed.run_ns_max = 3'000;
  timed.wake_latency.count = 4;
  timed.wake_latency.max_ns = 5'000;
  timed.cpus_mask = 2;
  TaskStats untimed = timed;
  untimed.name = "untimed";
  untimed.timed = false;
  untimed.run_ns_total = untimed.run_ns_max = 0;
  untimed.wake_latency = {};
  const std::string table = FormatTaskTable({timed, untimed});
  // TASK QUEUE PRIO PERIOD RUNS WAKE_p50 WAKE_p99 WAKE_max RUN_avg RUN_max MISSES OVERRUNS
  // DROPPED CPUS
  const std::vector<std::string> t = TaskCells(table, "timed");
  ASSERT_EQ(t.size(), 14u) << table;
  EXPECT_EQ(t[4], "4");
  EXPECT_EQ(t[7], "5.0");
  EXPECT_EQ(t[8], "2.0");
  EXPECT_EQ(t[9], "3.0");
  const std::vector<std::string> u = TaskCells(table, "untimed");
  ASSERT_EQ(u.size(), 14u) << table;
  EXPECT_EQ(u[4], "4");
  for (int i : {5, 6, 7, 8, 9}) EXPECT_EQ(u[i], "-") << i;
  EXPECT_EQ(u[13], "1");
  EXPECT_THAT(table, HasSubstr("1 task's activations are not timed"));
  EXPECT_THAT(FormatTaskTable({timed}), Not(HasSubstr("not timed")));
}

}  // namespace
}  // namespace cadence
