#include "tools/schedctl/ps.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/thread_attributes.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;

// A thread named `name` that spins until stopped; tid() once it runs.
class Spinner {
 public:
  explicit Spinner(const std::string& name)
      : thread_([this, name] {
          pthread_setname_np(pthread_self(), name.c_str());
          tid_ = CurrentTid();
          while (!stop_.load(std::memory_order_relaxed)) {
          }
        }) {
    while (tid_.load() == 0) std::this_thread::yield();
  }
  ~Spinner() {
    stop_ = true;
    thread_.join();
  }
  pid_t tid() const { return tid_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

// The row of `tid` in a table, "" when there is none.
std::string RowOf(const std::string& table, pid_t tid) {
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    pid_t first = 0;
    if (!fields.empty() && absl::SimpleAtoi(fields[0], &first) && first == tid) {
      return std::string(line);
    }
  }
  return "";
}

// The CPUs thread `tid` may run on, as the kernel's affinity call reports them.
std::string AffinityOf(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return "(sched_getaffinity failed)";
  return CpuSet::FromNative(set).ToString();
}

bool Contains(const std::vector<pid_t>& tids, pid_t tid) {
  return std::find(tids.begin(), tids.end(), tid) != tids.end();
}

TEST(PsTest, ListsEveryThreadWithPolicyCpusAndCpuShare) {
  Spinner spinner("ps_spinner");
  // Not the default policy, so that the POLICY column is shown to follow the kernel.
  struct sched_param batch {};
  ASSERT_EQ(sched_setscheduler(spinner.tid(), SCHED_BATCH, &batch), 0) << std::strerror(errno);
  // The interval runs from before the first sample to after the last, so it covers both
  // reads of every thread's CPU time (as elapsed time, it is what the tool measures too).
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ProcessSample> first = SampleProcess(getpid());
  ASSERT_TRUE(first.ok()) << first.status();
  // Wait (not for a time: for the kernel to report it) until the spinner used 200 ms of
  // CPU. The kernel brings a running thread's CPU time up to date at scheduler ticks (at
  // most 10 ms apart), so its share can read up to 10 ms more than it had; over an
  // interval that long (at least 190 ms) that is at most about 5%.
  absl::StatusOr<ProcThread> spun = ReadProcThread(0, spinner.tid());
  ASSERT_TRUE(spun.ok()) << spun.status();
  const uint64_t ticks_wanted = spun->cpu_ticks + sysconf(_SC_CLK_TCK) / 5;
  const auto give_up = start + std::chrono::seconds(30);
  while (spun.ok() && spun->cpu_ticks < ticks_wanted &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
    spun = ReadProcThread(0, spinner.tid());
  }
  ASSERT_TRUE(spun.ok()) << spun.status();
  ASSERT_GE(spun->cpu_ticks, ticks_wanted) << "the spinner did not get 200 ms of CPU in 30 s";
  absl::StatusOr<std::vector<pid_t>> listed = ListThreads(0);
  ASSERT_TRUE(listed.ok()) << listed.status();
  absl::StatusOr<ProcessSample> last = SampleProcess(getpid());
  ASSERT_TRUE(last.ok()) << last.status();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(last->threads.size(), 2u);
  EXPECT_EQ(last->uid, getuid());

  const std::string table = FormatThreadTable(&*first, *last, elapsed);
  EXPECT_THAT(table, HasSubstr(absl::StrCat("pid ", getpid(), " (")));
  EXPECT_THAT(table,
              HasSubstr(absl::StrCat(
                  "CPU% over ",
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), " ms")));
  EXPECT_THAT(table, HasSubstr("TID  NAME"));

  // Every thread listed before the last sample and still there after it has a row, with
  // the CPUs the kernel lets it run on (threads that exited in between are left out).
  absl::StatusOr<std::vector<pid_t>> still = ListThreads(0);
  ASSERT_TRUE(still.ok()) << still.status();
  ASSERT_TRUE(Contains(*listed, spinner.tid()));
  ASSERT_TRUE(Contains(*listed, getpid()));
  for (pid_t tid : *listed) {
    if (!Contains(*still, tid)) continue;
    const std::string row = RowOf(table, tid);
    ASSERT_FALSE(row.empty()) << "no row for thread " << tid << ":\n" << table;
    std::vector<absl::string_view> fields = absl::StrSplit(row, ' ', absl::SkipEmpty());
    // TID NAME S POLICY RTPRIO NICE CPUS LAST CPU% TIME
    ASSERT_EQ(fields.size(), 10u) << row;
    EXPECT_EQ(fields[6], AffinityOf(tid)) << row;
    // The policy the kernel reports for it now.
    const int native = sched_getscheduler(tid);
    SchedPolicy policy;
    ASSERT_TRUE(FromNativePolicy(native & ~SCHED_RESET_ON_FORK, &policy)) << native;
    EXPECT_EQ(fields[3], PolicyName(policy)) << row;
  }

  const std::string row = RowOf(table, spinner.tid());
  ASSERT_FALSE(row.empty()) << table;
  EXPECT_THAT(row, HasSubstr("ps_spinner"));
  EXPECT_THAT(row, HasSubstr("SCHED_BATCH"));
  std::vector<absl::string_view> fields = absl::StrSplit(row, ' ', absl::SkipEmpty());
  ASSERT_EQ(fields.size(), 10u) << row;
  double percent = 0;
  ASSERT_TRUE(absl::SimpleAtod(fields[8], &percent)) << row;
  // The spinner's share is its CPU time between the samples over the measured interval.
  uint64_t before_ns = 0, after_ns = 0;
  for (const ThreadSample& t : first->threads) {
    if (t.thread.tid == spinner.tid()) before_ns = t.cpu_ns;
  }
  for (const ThreadSample& t : last->threads) {
    if (t.thread.tid == spinner.tid()) after_ns = t.cpu_ns;
  }
  ASSERT_GT(after_ns, before_ns) << "a spinning thread used no CPU between the samples";
  const double expected = 100.0 * static_cast<double>(after_ns - before_ns) /
                          std::chrono::duration<double, std::nano>(elapsed).count();
  EXPECT_NEAR(percent, expected, 0.051) << row;
  EXPECT_GT(percent, 0.0) << row;
  // One thread uses at most one CPU: 100%, plus what a late update of its time can add.
  EXPECT_LE(percent, 110.0) << row;
}

TEST(PsTest, WithoutAFirstSampleCpuShareIsNotMeasured) {
  absl::StatusOr<ProcessSample> sample = SampleProcess(getpid());
  ASSERT_TRUE(sample.ok()) << sample.status();
  const std::string table = FormatThreadTable(nullptr, *sample, std::chrono::nanoseconds(0));
  EXPECT_THAT(table, HasSubstr("CPU% not measured"));
  const std::string row = RowOf(table, getpid());
  ASSERT_FALSE(row.empty()) << table;
  std::vector<absl::string_view> fields = absl::StrSplit(row, ' ', absl::SkipEmpty());
  ASSERT_EQ(fields.size(), 10u) << row;
  EXPECT_EQ(fields[8], "-");
}

TEST(PsTest, NoSuchProcessIsNotFound) {
  int pid_max = 4194304;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  absl::StatusOr<ProcessSample> sample = SampleProcess(pid_max + 1);
  ASSERT_FALSE(sample.ok());
  EXPECT_TRUE(absl::IsNotFound(sample.status())) << sample.status();
  EXPECT_THAT(sample.status().message(), HasSubstr("no process with pid"));
}

TEST(PsTest, AThreadIdIsNotAProcess) {
  Spinner spinner("ps_other");
  absl::StatusOr<ProcessSample> sample = SampleProcess(spinner.tid());
  ASSERT_FALSE(sample.ok());
  EXPECT_THAT(sample.status().message(),
              HasSubstr(absl::StrCat("is a thread of process ", getpid())));
}

}  // namespace
}  // namespace cadence
