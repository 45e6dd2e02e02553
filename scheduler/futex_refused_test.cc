// When the kernel refuses a futex operation the runtime needs (as under a seccomp profile
// that does not allow it), start-up says which one instead of leaving processors to spin.
//
// Real, not mocked: each case forks a child that installs a seccomp filter failing exactly
// one futex operation with ENOSYS, then runs the check or starts a scheduler, and reports
// back "key=value" lines through a pipe.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/futex.h"
#include "scheduler/common/pi_mutex.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/common/testing/thread_state.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using test_support::ReportLine;

// In the calling (single-threaded) process: futex(op) fails with ENOSYS from now on; every
// other call, and futex with other operations, is allowed. Returns "" on success.
std::string RefuseFutexOp(int op) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_futex, 0, 3),
      // The operation: the low half of the second argument (x86-64 is little-endian).
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(op), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])),
                               filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "prctl(PR_SET_NO_NEW_PRIVS)";
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return "prctl(PR_SET_SECCOMP)";
  // The filter really refuses the operation (else the test would show nothing).
  uint32_t word = 1;
  if (syscall(SYS_futex, &word, op, 0, nullptr, nullptr, 0) != -1 || errno != ENOSYS) {
    return "checking that the filter refuses the operation";
  }
  return "";
}

// Forks a child (call while the process has one thread) that refuses `op`, runs `body`
// and reports its lines, or "error" when the filter could not be installed.
std::map<std::string, std::string> RunRefusing(int op, const std::function<std::string()>& body) {
  return test_support::RunInChild([op, &body] {
    const std::string failed = RefuseFutexOp(op);
    return failed.empty() ? body() : ReportLine("error", failed);
  });
}

// The threads of this process.
std::vector<pid_t> Threads() {
  absl::StatusOr<std::vector<pid_t>> tids = ListThreads(0);
  return tids.ok() ? *tids : std::vector<pid_t>();
}

std::string StatusLines(const std::string& prefix, const absl::Status& status) {
  return ReportLine(prefix + "_code", absl::StatusCodeToString(status.code())) +
         ReportLine(prefix + "_message", std::string(status.message()));
}

constexpr char kConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "g" processor_num: 2 affinity: "range" cpuset: "0-1"
                tasks: [ { name: "work" prio: 1 } ] } ]
  }
}
)";

// Two SCHED_FIFO processors sharing one queue (and its lock).
constexpr char kRealTimeConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "g" processor_num: 2 affinity: "range" cpuset: "0-1"
                processor_policy: "SCHED_FIFO" processor_prio: 10
                tasks: [ { name: "work" prio: 1 } ] } ]
  }
}
)";

TEST(FutexRefusedTest, EveryOperationIsAvailableHere) {
  std::string pi_refused = "not set";
  const absl::Status status = CheckFutexes(&pi_refused);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(pi_refused, "");
}

TEST(FutexRefusedTest, EachRefusedSleepOperationIsNamed) {
  const std::map<int, std::string> ops = {
      {FUTEX_WAIT_PRIVATE, "FUTEX_WAIT_PRIVATE"},
      {FUTEX_WAIT_BITSET_PRIVATE, "FUTEX_WAIT_BITSET_PRIVATE"},
      {FUTEX_WAKE_PRIVATE, "FUTEX_WAKE_PRIVATE"},
  };
  for (const auto& [op, name] : ops) {
    SCOPED_TRACE(name);
    std::map<std::string, std::string> report = RunRefusing(op, [] {
      std::string pi_refused;
      return StatusLines("check", CheckFutexes(&pi_refused));
    });
    ASSERT_EQ(report.count("error"), 0u) << report["error"];
    EXPECT_EQ(report["check_code"], "FAILED_PRECONDITION") << report["check_message"];
    EXPECT_THAT(report["check_message"],
                HasSubstr(absl::StrCat("the kernel refuses futex(", name, "): ")));
    EXPECT_THAT(report["check_message"], HasSubstr("Function not implemented"));
    EXPECT_THAT(report["check_message"], HasSubstr("seccomp profile must allow"));
  }
}

TEST(FutexRefusedTest, RefusedLockPiIsNoErrorButSaysWhatIsLost) {
  std::map<std::string, std::string> report = RunRefusing(FUTEX_LOCK_PI_PRIVATE, [] {
    std::string pi_refused;
    const std::string check = StatusLines("check", CheckFutexes(&pi_refused));
    return check + ReportLine("pi", pi_refused);
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["check_code"], "OK") << report["check_message"];
  EXPECT_THAT(report["pi"], HasSubstr("the kernel refuses futex(FUTEX_LOCK_PI_PRIVATE): Function "
                                      "not implemented"));
  EXPECT_THAT(report["pi"], HasSubstr("cannot lend its priority"));
}

TEST(FutexRefusedTest, RefusedUnlockPiAloneIsAnError) {
  std::map<std::string, std::string> report = RunRefusing(FUTEX_UNLOCK_PI_PRIVATE, [] {
    std::string pi_refused;
    return StatusLines("check", CheckFutexes(&pi_refused));
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["check_code"], "FAILED_PRECONDITION") << report["check_message"];
  EXPECT_THAT(report["check_message"],
              HasSubstr("refuses futex(FUTEX_UNLOCK_PI_PRIVATE) but allows FUTEX_LOCK_PI"));
  EXPECT_THAT(report["check_message"], HasSubstr("could never be released"));
}

TEST(FutexRefusedTest, RefusedSleepFailsStartAndLeavesNoThread) {
  const Plan plan = test_support::PlanFromText(kConf);
  std::map<std::string, std::string> report = RunRefusing(FUTEX_WAIT_BITSET_PRIVATE, [&plan] {
    const size_t before = Threads().size();
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan);
    const std::string start = StatusLines("start", scheduler.status());
    return start + ReportLine("threads_before", absl::StrCat(before)) +
           ReportLine("threads_after", absl::StrCat(Threads().size()));
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["start_code"], "FAILED_PRECONDITION") << report["start_message"];
  EXPECT_THAT(report["start_message"], HasSubstr("futex(FUTEX_WAIT_BITSET_PRIVATE)"));
  ASSERT_NE(report["threads_before"], "0") << "the child's threads could not be listed";
  EXPECT_EQ(report["threads_after"], report["threads_before"])
      << "threads were started (or left running)";
}

TEST(FutexRefusedTest, RefusedUnlockPiFailsStartWithoutRealTimeToo) {
  const Plan plan = test_support::PlanFromText(kConf);
  std::map<std::string, std::string> report = RunRefusing(FUTEX_UNLOCK_PI_PRIVATE, [&plan] {
    return StatusLines("start", Scheduler::Start(plan).status());
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["start_code"], "FAILED_PRECONDITION") << report["start_message"];
  EXPECT_THAT(report["start_message"], HasSubstr("futex(FUTEX_UNLOCK_PI_PRIVATE)"));
}

TEST(FutexRefusedTest, RefusedLockPiIsAnErrorOnlyInStrictModeWithRealTime) {
  const Plan plan = test_support::PlanFromText(kRealTimeConf);
  const Plan ordinary = test_support::PlanFromText(kConf);
  std::map<std::string, std::string> report = RunRefusing(FUTEX_LOCK_PI_PRIVATE, [&] {
    std::string out = StatusLines("strict", Scheduler::Start(plan, {.strict = true}).status());
    // Without real-time processors there is no priority to lend: nothing to refuse.
    out += StatusLines("ordinary", Scheduler::Start(ordinary, {.strict = true}).status());
    // Declared before the scheduler, which runs what is queued when it is destroyed.
    std::atomic<uint32_t> runs{0};
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan);
    out += StatusLines("start", scheduler.status());
    if (!scheduler.ok()) return out;
    // Every notify is run or coalesced into a run by the two SCHED_FIFO processors.
    constexpr uint32_t kRuns = 20000;
    absl::StatusOr<TaskId> task = (*scheduler)->CreateTask("work", [&runs] {
      runs.fetch_add(1);
      FutexWake(&runs, 1);
    });
    if (!task.ok()) return out + StatusLines("task", task.status());
    for (uint32_t i = 1; i <= kRuns; ++i) {
      // Every 8th notify waits for its run: a run that starts after it, so one more than
      // had started before it.
      const uint32_t before = runs.load();
      if (!(*scheduler)->NotifyTask(*task).ok()) return out + ReportLine("notify", "failed");
      if (i % 8 != 0) continue;
      for (uint32_t seen = runs.load(); seen <= before; seen = runs.load()) FutexWait(&runs, seen);
    }
    // What the kernel says of each processor while they run.
    for (const ThreadRecord& record : (*scheduler)->Threads()) {
      if (record.kind != "processor") continue;
      absl::StatusOr<ProcThread> proc = ReadProcThread(0, record.tid);
      out += ReportLine(absl::StrCat("proc_policy ", record.name),
                        proc.ok() ? absl::StrCat(proc->policy, "/", proc->rt_priority)
                                  : proc.status().ToString());
    }
    (*scheduler)->Shutdown();  // Runs what is queued.
    const TaskStats stats = (*scheduler)->TaskStatistics()[0];
    return out + ReportLine("accounted", absl::StrCat(stats.activations + stats.coalesced)) +
           ReportLine("activations", absl::StrCat(stats.activations)) +
           ReportLine("runs", absl::StrCat(runs.load()));
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["strict_code"], "FAILED_PRECONDITION") << report["strict_message"];
  EXPECT_THAT(report["strict_message"], HasSubstr("futex(FUTEX_LOCK_PI_PRIVATE)"));
  EXPECT_THAT(report["strict_message"], HasSubstr("cannot lend its priority"));
  EXPECT_EQ(report["ordinary_code"], "OK") << report["ordinary_message"];
  ASSERT_EQ(report["start_code"], "OK") << report["start_message"];
  // Both processors really run SCHED_FIFO at the conf's priority.
  int processors = 0;
  for (const ProcessorPlan& p : plan.processors) {
    ++processors;
    EXPECT_EQ(report["proc_policy " + p.name], absl::StrCat(SCHED_FIFO, "/", p.attributes.rt_priority))
        << p.name;
  }
  EXPECT_EQ(processors, 2);
  // Every notify ran or was coalesced into a run, and the bodies ran as often as counted.
  EXPECT_EQ(report["accounted"], "20000");
  EXPECT_EQ(report["runs"], report["activations"]);
}

// The fallback itself: a SCHED_FIFO thread waiting for a held PiMutex, whose FUTEX_LOCK_PI
// is refused, sleeps in futex (it does not spin) and takes the lock when it is released.
TEST(FutexRefusedTest, RealTimeWaiterSleepsWhenLockPiIsRefused) {
  std::map<std::string, std::string> report = RunRefusing(FUTEX_LOCK_PI_PRIVATE, [] {
    PiMutex mutex;
    mutex.lock();
    std::atomic<pid_t> tid{0};
    std::atomic<bool> took{false};
    std::string out;
    std::thread waiter([&] {
      tid.store(CurrentTid());
      struct sched_param param = {};
      param.sched_priority = 10;
      if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) != 0) return;
      mutex.lock();
      took.store(true);
      mutex.unlock();
    });
    while (tid.load() == 0) std::this_thread::yield();
    // Seen blocked (20 s at most: a waiter that spun would never be), then asleep in futex
    // without using CPU for 50 ms.
    const pid_t waiter_tid = tid.load();
    std::string seen = "never blocked in futex";
    if (test_support::WaitForThread(waiter_tid, [waiter_tid](const ProcThread& t) {
          return t.state == 'S' &&
                 test_support::BlockedInSyscall(waiter_tid) == std::to_string(SYS_futex);
        })) {
      absl::StatusOr<ProcThread> t = ReadProcThread(0, waiter_tid);
      seen = test_support::SleepsInFutex(waiter_tid);
      if (seen.empty()) seen = absl::StrCat("policy ", t.ok() ? t->policy : -1, " asleep in futex");
    }
    out += ReportLine("seen", seen);
    const bool took_while_held = took.load();
    mutex.unlock();
    waiter.join();
    return out + ReportLine("took_while_held", absl::StrCat(took_while_held)) +
           ReportLine("took", absl::StrCat(took.load()));
  });
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["seen"], absl::StrCat("policy ", SCHED_FIFO, " asleep in futex"));
  EXPECT_EQ(report["took_while_held"], "0");
  EXPECT_EQ(report["took"], "1");
}

}  // namespace
}  // namespace cadence
