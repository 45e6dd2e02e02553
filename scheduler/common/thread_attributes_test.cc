#include "scheduler/common/thread_attributes.h"

#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/testing/unprivileged_child.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;

// A thread that publishes its tid and then blocks until the object is destroyed, so a test
// can change its attributes and inspect it while it is alive.
class BlockedThread {
 public:
  BlockedThread() {
    std::future<pid_t> tid = tid_.get_future();
    thread_ = std::thread([this, release = release_.get_future()] {
      tid_.set_value(CurrentTid());
      release.wait();
    });
    tid_value_ = tid.get();
  }
  ~BlockedThread() {
    release_.set_value();
    thread_.join();
  }
  pid_t tid() const { return tid_value_; }

 private:
  std::promise<pid_t> tid_;
  std::promise<void> release_;
  std::thread thread_;
  pid_t tid_value_ = 0;
};

// Reads a whole file.
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields of /proc/self/task/<tid>/stat numbered as in proc(5) (1 = pid, 2 = comm).
std::map<int, std::string> StatFields(pid_t tid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/self/task/", tid, "/stat"));
  std::map<int, std::string> fields;
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return fields;
  int number = 3;
  for (absl::string_view field :
       absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipWhitespace())) {
    fields[number++] = std::string(absl::StripAsciiWhitespace(field));
  }
  return fields;
}

// A numeric field of /proc/self/task/<tid>/stat: 19 nice, 40 rt_priority, 41 policy.
int StatField(pid_t tid, int number) {
  int value = -1000;
  EXPECT_TRUE(absl::SimpleAtoi(StatFields(tid)[number], &value)) << "stat field " << number;
  return value;
}

// Cpus_allowed_list of /proc/self/task/<tid>/status, parsed.
CpuSet ProcCpusAllowed(pid_t tid) {
  std::istringstream status(ReadFile(absl::StrCat("/proc/self/task/", tid, "/status")));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest(line);
    if (absl::ConsumePrefix(&rest, "Cpus_allowed_list:")) {
      CpuSet cpus;
      CpuSet::ParseError error;
      EXPECT_TRUE(CpuSet::Parse(std::string(absl::StripAsciiWhitespace(rest)), &cpus, &error))
          << line;
      return cpus;
    }
  }
  ADD_FAILURE() << "no Cpus_allowed_list for thread " << tid;
  return CpuSet();
}

ThreadAttributes Attributes(SchedPolicy policy, int priority_or_nice = 0) {
  ThreadAttributes a;
  a.policy = policy;
  if (policy == SchedPolicy::kFifo || policy == SchedPolicy::kRr) a.rt_priority = priority_or_nice;
  if (UsesNice(policy)) a.nice = priority_or_nice;
  return a;
}

// Applies in strict mode (the test host grants everything) and checks it did not fall back.
AppliedAttributes ApplyStrict(pid_t tid, const ThreadAttributes& requested) {
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(tid, requested, FallbackMode::kStrict);
  EXPECT_TRUE(applied.ok()) << applied.status();
  if (!applied.ok()) return AppliedAttributes();
  EXPECT_FALSE(applied->fell_back) << applied->why;
  return *applied;
}

TEST(CurrentTidTest, IsTheKernelThreadIdOfTheCallingThread) {
  EXPECT_EQ(CurrentTid(), getpid());  // The test body runs on the main thread.
  pid_t other = 0;
  std::thread([&other] { other = CurrentTid(); }).join();
  EXPECT_NE(other, getpid());
  EXPECT_GT(other, 0);
}

TEST(ReadThreadAttributesTest, MissingThreadIsNotFoundNamingTheTid) {
  // Thread ids are below pid_max, so pid_max itself never names a thread.
  int pid_max = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile("/proc/sys/kernel/pid_max")), &pid_max));
  absl::StatusOr<ThreadAttributes> read = ReadThreadAttributes(pid_max);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(absl::StrCat("thread ", pid_max)));
  EXPECT_THAT(read.status().message(), HasSubstr("ESRCH"));
}

TEST(ApplyThreadAttributesTest, FifoOnCpu0OfAnotherThreadIsWhatKernelAndProcReport) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kFifo, 10);
  requested.cpus = CpuSet::Of({0});
  requested.reset_on_fork = true;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), requested);
  EXPECT_EQ(applied.requested, requested);
  EXPECT_EQ(applied.effective, requested);

  absl::StatusOr<ThreadAttributes> read = ReadThreadAttributes(thread.tid());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->policy, SchedPolicy::kFifo);
  EXPECT_EQ(read->rt_priority, 10);
  EXPECT_EQ(read->cpus, CpuSet::Of({0}));
  EXPECT_TRUE(read->reset_on_fork);

  EXPECT_EQ(StatField(thread.tid(), 40), 10);          // rt_priority
  EXPECT_EQ(StatField(thread.tid(), 41), SCHED_FIFO);  // policy
  EXPECT_EQ(ProcCpusAllowed(thread.tid()), CpuSet::Of({0}));
}

TEST(ApplyThreadAttributesTest, FifoWithoutResetOnForkLeavesTheFlagClear) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kFifo, 10);
  requested.reset_on_fork = false;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), requested);
  EXPECT_EQ(applied.effective.policy, SchedPolicy::kFifo);
  EXPECT_FALSE(applied.effective.reset_on_fork);
}

TEST(ApplyThreadAttributesTest, OtherNice5) {
  BlockedThread thread;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), Attributes(SchedPolicy::kOther, 5));
  EXPECT_EQ(applied.effective.policy, SchedPolicy::kOther);
  EXPECT_EQ(applied.effective.nice, 5);
  EXPECT_EQ(StatField(thread.tid(), 19), 5);  // nice
  EXPECT_EQ(StatField(thread.tid(), 41), SCHED_OTHER);
}

TEST(ApplyThreadAttributesTest, BatchNice3) {
  BlockedThread thread;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), Attributes(SchedPolicy::kBatch, 3));
  EXPECT_EQ(applied.effective.policy, SchedPolicy::kBatch);
  EXPECT_EQ(applied.effective.nice, 3);
  EXPECT_EQ(StatField(thread.tid(), 19), 3);
  EXPECT_EQ(StatField(thread.tid(), 41), SCHED_BATCH);
}

TEST(ApplyThreadAttributesTest, Idle) {
  BlockedThread thread;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), Attributes(SchedPolicy::kIdle));
  EXPECT_EQ(applied.effective.policy, SchedPolicy::kIdle);
  EXPECT_EQ(StatField(thread.tid(), 41), SCHED_IDLE);
}

TEST(ApplyThreadAttributesTest, Rr20) {
  BlockedThread thread;
  const AppliedAttributes applied = ApplyStrict(thread.tid(), Attributes(SchedPolicy::kRr, 20));
  EXPECT_EQ(applied.effective.policy, SchedPolicy::kRr);
  EXPECT_EQ(applied.effective.rt_priority, 20);
  EXPECT_TRUE(applied.effective.reset_on_fork);
  EXPECT_EQ(StatField(thread.tid(), 40), 20);
  EXPECT_EQ(StatField(thread.tid(), 41), SCHED_RR);
}

TEST(ApplyThreadAttributesTest, Deadline1msEvery10ms) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kDeadline);
  requested.runtime_ns = 1'000'000;
  requested.deadline_ns = 10'000'000;
  requested.period_ns = 10'000'000;
  // cpus stay empty: a DEADLINE thread's affinity must span its whole root domain.
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(thread.tid(), requested, FallbackMode::kStrict);
  ASSERT_TRUE(applied.ok()) << "SCHED_DEADLINE 1/10/10ms was refused on this host (admission "
                               "control or privileges), so it cannot be tested: "
                            << applied.status();
  EXPECT_FALSE(applied->fell_back);
  EXPECT_EQ(applied->effective.policy, SchedPolicy::kDeadline);
  EXPECT_EQ(applied->effective.runtime_ns, 1'000'000u);
  EXPECT_EQ(applied->effective.deadline_ns, 10'000'000u);
  EXPECT_EQ(applied->effective.period_ns, 10'000'000u);
  EXPECT_TRUE(applied->effective.reset_on_fork);
  EXPECT_EQ(StatField(thread.tid(), 41), 6);  // SCHED_DEADLINE
}

TEST(ApplyThreadAttributesTest, NoUsableCpuIsAnErrorNamingTheCpus) {
  BlockedThread thread;
  const CpuSet before = ProcCpusAllowed(thread.tid());
  ThreadAttributes requested = Attributes(SchedPolicy::kOther, 0);
  requested.cpus = CpuSet::Of({1000});
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(thread.tid(), requested, FallbackMode::kFallback);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(applied.status().message(), HasSubstr("CPUs 1000"));
  EXPECT_THAT(applied.status().message(), HasSubstr(absl::StrCat("thread ", thread.tid())));
  EXPECT_EQ(ProcCpusAllowed(thread.tid()), before);
}

TEST(ApplyThreadAttributesTest, PartlyUsableCpusFallBackToTheUsableOnesAndSaySo) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kOther, 0);
  requested.cpus = CpuSet::Of({0, 1000});
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(thread.tid(), requested, FallbackMode::kFallback);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->fell_back);
  EXPECT_EQ(applied->effective.cpus, CpuSet::Of({0}));
  EXPECT_THAT(applied->why, HasSubstr("wanted cpus 0,1000, got cpus 0"));
  EXPECT_EQ(ProcCpusAllowed(thread.tid()), CpuSet::Of({0}));
}

TEST(ApplyThreadAttributesTest, PartlyUsableCpusAreAnErrorInStrictMode) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kOther, 0);
  requested.cpus = CpuSet::Of({0, 1000});
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(thread.tid(), requested, FallbackMode::kStrict);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.status().message(), HasSubstr("1000"));
}

TEST(ApplyThreadAttributesTest, OutOfRangeValuesAreRejectedNotClamped) {
  BlockedThread thread;
  absl::StatusOr<AppliedAttributes> nice = ApplyThreadAttributes(
      thread.tid(), Attributes(SchedPolicy::kOther, 25), FallbackMode::kFallback);
  ASSERT_FALSE(nice.ok());
  EXPECT_EQ(nice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nice.status().message(), HasSubstr("nice 25"));
  absl::StatusOr<AppliedAttributes> fifo = ApplyThreadAttributes(
      thread.tid(), Attributes(SchedPolicy::kFifo, 100), FallbackMode::kFallback);
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fifo.status().message(), HasSubstr("priority 100"));
}

TEST(ApplyThreadAttributesTest, InvalidDeadlineParametersAreAnErrorNotAFallback) {
  BlockedThread thread;
  ThreadAttributes requested = Attributes(SchedPolicy::kDeadline);
  requested.runtime_ns = 20'000'000;  // runtime > deadline
  requested.deadline_ns = 10'000'000;
  requested.period_ns = 10'000'000;
  absl::StatusOr<AppliedAttributes> applied =
      ApplyThreadAttributes(thread.tid(), requested, FallbackMode::kFallback);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(applied.status().message(), HasSubstr("EINVAL"));
  EXPECT_THAT(applied.status().message(), HasSubstr("runtime <= deadline <= period"));
}

TEST(DescribeAppliedTest, SaysRequestedAndEffective) {
  AppliedAttributes applied;
  applied.requested = Attributes(SchedPolicy::kFifo, 60);
  applied.requested.cpus = CpuSet::Of({0});
  applied.effective = Attributes(SchedPolicy::kOther, 0);
  applied.effective.cpus = CpuSet::Of({0});
  EXPECT_EQ(DescribeApplied(applied),
            "requested: SCHED_FIFO 60 cpus 0, effective: SCHED_OTHER nice 0 cpus 0");
}

// --- Without privileges: a forked child drops CAP_SYS_NICE and its rlimits. ---

// Runs `body` in a child without CAP_SYS_NICE and with RLIMIT_RTPRIO/RLIMIT_NICE 0, and
// checks that the child really lost the privilege.
std::map<std::string, std::string> RunUnprivileged(std::string (*body)()) {
  std::map<std::string, std::string> out = test_support::RunUnprivileged(body);
  EXPECT_EQ(out.count("error"), 0u) << out["error"];
  EXPECT_EQ(out["cap_sys_nice"], "0") << "the child still has CAP_SYS_NICE";
  return out;
}

// Reports an apply result as key=value lines under `prefix`.
std::string Report(const std::string& prefix, const absl::StatusOr<AppliedAttributes>& applied) {
  if (!applied.ok()) {
    return absl::StrCat(prefix, ".code=", absl::StatusCodeToString(applied.status().code()), "\n",
                        prefix, ".message=", applied.status().message(), "\n");
  }
  return absl::StrCat(prefix, ".code=OK\n", prefix, ".fell_back=", applied->fell_back, "\n", prefix,
                      ".policy=", std::string(PolicyName(applied->effective.policy)), "\n", prefix,
                      ".nice=", applied->effective.nice, "\n", prefix, ".why=", applied->why, "\n");
}

TEST(UnprivilegedTest, FifoFallsBackToOtherNice0AndSaysHowToGrantIt) {
  std::map<std::string, std::string> r = RunUnprivileged([] {
    return Report("fifo", ApplyThreadAttributes(CurrentTid(), Attributes(SchedPolicy::kFifo, 60),
                                                FallbackMode::kFallback));
  });
  ASSERT_EQ(r["fifo.code"], "OK") << r["fifo.message"];
  EXPECT_EQ(r["fifo.fell_back"], "1");
  EXPECT_EQ(r["fifo.policy"], "SCHED_OTHER");
  EXPECT_EQ(r["fifo.nice"], "0");
  EXPECT_THAT(r["fifo.why"], HasSubstr("wanted SCHED_FIFO 60, got SCHED_OTHER nice 0"));
  EXPECT_THAT(r["fifo.why"], HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(r["fifo.why"], HasSubstr("setcap cap_sys_nice+ep"));
  EXPECT_THAT(r["fifo.why"], HasSubstr("ulimit -r 60"));
}

TEST(UnprivilegedTest, StrictFifoIsPermissionDeniedAndLeavesThePolicy) {
  std::map<std::string, std::string> r = RunUnprivileged([] {
    std::string report =
        Report("strict", ApplyThreadAttributes(CurrentTid(), Attributes(SchedPolicy::kFifo, 60),
                                               FallbackMode::kStrict));
    absl::StatusOr<ThreadAttributes> after = ReadThreadAttributes(CurrentTid());
    return absl::StrCat(
        report, "after=", after.ok() ? std::string(PolicyName(after->policy)) : "error", "\n");
  });
  EXPECT_EQ(r["strict.code"], "PERMISSION_DENIED");
  EXPECT_THAT(r["strict.message"], HasSubstr("wanted SCHED_FIFO 60"));
  EXPECT_THAT(r["strict.message"], HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(r["strict.message"], HasSubstr("setcap cap_sys_nice+ep"));
  EXPECT_EQ(r["after"], "SCHED_OTHER");
}

TEST(UnprivilegedTest, NegativeNiceFallsBackToNice0) {
  std::map<std::string, std::string> r = RunUnprivileged([] {
    return Report("nice", ApplyThreadAttributes(CurrentTid(), Attributes(SchedPolicy::kOther, -5),
                                                FallbackMode::kFallback));
  });
  ASSERT_EQ(r["nice.code"], "OK") << r["nice.message"];
  EXPECT_EQ(r["nice.fell_back"], "1");
  EXPECT_EQ(r["nice.policy"], "SCHED_OTHER");
  EXPECT_EQ(r["nice.nice"], "0");
  EXPECT_THAT(r["nice.why"], HasSubstr("wanted SCHED_OTHER nice -5, got SCHED_OTHER nice 0"));
  EXPECT_THAT(r["nice.why"], HasSubstr("RLIMIT_NICE"));
}

}  // namespace
}  // namespace cadence
