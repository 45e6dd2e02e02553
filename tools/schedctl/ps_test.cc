#include "tools/schedctl/ps.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

TEST(PsTest, ListsEveryThreadWithPolicyCpusAndCpuShare) {
  Spinner spinner("ps_spinner");
  absl::StatusOr<ProcessSample> first = SampleProcess(getpid());
  ASSERT_TRUE(first.ok()) << first.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  absl::StatusOr<ProcessSample> last = SampleProcess(getpid());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_GE(last->threads.size(), 2u);
  EXPECT_EQ(last->uid, getuid());

  const std::string table = FormatThreadTable(&*first, *last, std::chrono::milliseconds(300));
  EXPECT_THAT(table, HasSubstr(absl::StrCat("pid ", getpid(), " (")));
  EXPECT_THAT(table, HasSubstr("CPU% over 300 ms"));
  EXPECT_THAT(table, HasSubstr("TID  NAME"));
  const std::string row = RowOf(table, spinner.tid());
  ASSERT_FALSE(row.empty()) << table;
  EXPECT_THAT(row, HasSubstr("ps_spinner"));
  EXPECT_THAT(row, HasSubstr("SCHED_OTHER"));
  std::vector<absl::string_view> fields = absl::StrSplit(row, ' ', absl::SkipEmpty());
  // TID NAME S POLICY RTPRIO NICE CPUS LAST CPU% TIME
  ASSERT_EQ(fields.size(), 10u) << row;
  double percent = 0;
  ASSERT_TRUE(absl::SimpleAtod(fields[8], &percent)) << row;
  EXPECT_GT(percent, 1.0) << "a spinning thread used no CPU? " << row;
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
