// The Scheduler when the kernel refuses new threads (pthread_create fails with EAGAIN, as
// under a low `ulimit -u` or a cgroup's pids.max): start-up returns ResourceExhausted
// naming the thread that could not be created and the limit, every thread already started
// is stopped and joined, and the process goes on — no std::terminate.
//
// Real, not mocked: each test forks a child from the test's main thread (while the process
// has no other thread). The child drops CAP_SYS_RESOURCE and CAP_SYS_ADMIN (either lifts
// RLIMIT_NPROC), becomes a uid of its own — root's uid is never held to RLIMIT_NPROC, and a
// uid no other process uses makes the count exact (RLIMIT_NPROC counts every task of the
// real uid) — and sets RLIMIT_NPROC so that exactly `allowed` more threads can be created.
// It then runs the test's body, reports key=value lines through a pipe, and _exits; the
// parent checks that it exited normally (not by a signal) and what it reported.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/futex.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "scheduler/introspection/state_server.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using test_support::ReportLine;

constexpr int kCapSysAdmin = 21;
constexpr int kCapSysResource = 24;

// Four SCHED_OTHER processors (nothing to fall back from: no log line, no privilege).
constexpr char kFourProcessorsConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "rt"
        processor_num: 4
        affinity: "range"
        cpuset: "0-1"
        tasks: [ { name: "work" prio: 5 } ]
      }
    ]
  }
}
)";
constexpr int kProcessors = 4;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The process's threads (their tids).
std::set<int> Tasks() {
  std::set<int> tids;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  while (struct dirent* entry = readdir(dir)) {
    int tid = 0;
    if (absl::SimpleAtoi(entry->d_name, &tid)) tids.insert(tid);
  }
  closedir(dir);
  return tids;
}

// How many of the process's threads have `uid` as their real uid.
int TasksOfUid(uid_t uid) {
  int count = 0;
  for (int tid : Tasks()) {
    for (absl::string_view line :
         absl::StrSplit(ReadFile(absl::StrCat("/proc/self/task/", tid, "/status")), '\n')) {
      if (!absl::ConsumePrefix(&line, "Uid:")) continue;
      std::vector<absl::string_view> ids = absl::StrSplit(line, '\t', absl::SkipWhitespace());
      uint32_t real = 0;
      if (!ids.empty() && absl::SimpleAtoi(ids[0], &real) && real == uid) ++count;
    }
  }
  return count;
}

// Waits (up to 5 s) until the process's threads are at most `before`: a joined thread
// leaves /proc (and RLIMIT_NPROC's count) a moment after pthread_join returns. Returns the
// tids left beyond `before` (empty: none leaked).
std::string LeftoverTasks(const std::set<int>& before) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string left;
  do {
    left.clear();
    for (int tid : Tasks()) {
      if (before.count(tid) == 0) absl::StrAppend(&left, left.empty() ? "" : ",", tid);
    }
    if (left.empty()) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  return left;
}

// The effective and permitted capability bits (first word: capabilities 0-31).
bool HasCapability(int cap) {
  __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return true;  // Unknown: assume the worst.
  const uint32_t bit = 1u << cap;
  return (data[0].effective & bit) != 0 || (data[0].permitted & bit) != 0;
}

// In the child: drops CAP_SYS_RESOURCE and CAP_SYS_ADMIN, becomes `uid`, and limits the
// threads to `allowed` more. Returns "" on success, else the step that failed.
std::string LimitThreads(uid_t uid, int allowed) {
  __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return "capget";
  const uint32_t bits = (1u << kCapSysResource) | (1u << kCapSysAdmin);
  data[0].effective &= ~bits;
  data[0].permitted &= ~bits;
  data[0].inheritable &= ~bits;
  if (syscall(SYS_capset, &header, data) != 0) return "capset";
  // Root's uid is exempt from RLIMIT_NPROC whatever its capabilities: another uid.
  if (setgroups(0, nullptr) != 0) return "setgroups(0)";
  if (setresgid(uid, uid, uid) != 0) return "setresgid";
  if (setresuid(uid, uid, uid) != 0) return "setresuid";
  if (getuid() != uid) return "checking the new uid";
  if (HasCapability(kCapSysResource) || HasCapability(kCapSysAdmin)) {
    return "checking that CAP_SYS_RESOURCE and CAP_SYS_ADMIN are gone";
  }
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);  // /proc/self stays this uid's to read.
  // Whatever the runtime (e.g. TSan's background thread) starts with the first thread is
  // started now, before the count, and the thread's exit is seen in /proc (and so in the
  // count) before the limit is set.
  std::atomic<int> warm_tid{0};
  std::thread warm([&warm_tid] { warm_tid = static_cast<int>(syscall(SYS_gettid)); });
  warm.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Tasks().count(warm_tid.load()) > 0) {
    if (std::chrono::steady_clock::now() > deadline) return "waiting for a joined thread";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const rlim_t limit = static_cast<rlim_t>(TasksOfUid(uid) + allowed);
  const struct rlimit nproc = {limit, limit};
  if (setrlimit(RLIMIT_NPROC, &nproc) != 0) return "setrlimit(RLIMIT_NPROC)";
  return "";
}

struct ChildResult {
  int wait_status = 0;
  std::map<std::string, std::string> report;
  // "exited 0", "killed by signal 6 (Aborted)", ...
  std::string how;
};

// Forks a child that can create `allowed` more threads, runs `body` in it (after the
// limit is set) and returns its report plus "leftover_threads" (the threads the body left
// running, "" when none). Call from the test's main thread while it has no other thread.
ChildResult RunWithThreadLimit(int allowed, const std::function<std::string()>& body) {
  ChildResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    // A uid nobody else has: the child's own pid, well above any real user's.
    const uid_t uid = 100000000 + static_cast<uid_t>(getpid());
    const std::string failed = LimitThreads(uid, allowed);
    std::string report;
    if (!failed.empty()) {
      report = ReportLine("error", absl::StrCat(failed, " failed: ", std::strerror(errno)));
    } else {
      const std::set<int> before = Tasks();
      // As in a real program, an exception escaping the body ends the child in
      // std::terminate (SIGABRT); it never unwinds into gtest's handler in the child.
      report = ReportLine("uid", absl::StrCat(uid)) + [&body]() noexcept { return body(); }();
      report += ReportLine("leftover_threads", LeftoverTasks(before));
    }
    const char* data = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(2);
      data += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  EXPECT_EQ(waitpid(child, &result.wait_status, 0), child);
  if (WIFEXITED(result.wait_status)) {
    result.how = absl::StrCat("exited ", WEXITSTATUS(result.wait_status));
  } else if (WIFSIGNALED(result.wait_status)) {
    result.how = absl::StrCat("killed by signal ", WTERMSIG(result.wait_status), " (",
                              strsignal(WTERMSIG(result.wait_status)), ")");
  } else {
    result.how = absl::StrCat("wait status ", result.wait_status);
  }
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    result.report[kv.first] = kv.second;
  }
  return result;
}

// The status as report lines "<prefix>_code" and "<prefix>_message".
std::string StatusLines(const std::string& prefix, const absl::Status& status) {
  return ReportLine(prefix + "_code", absl::StatusCodeToString(status.code())) +
         ReportLine(prefix + "_message", std::string(status.message()));
}

class SchedulerResourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Parsed before the fork; the child only starts the scheduler.
    plan_ = test_support::PlanFromText(kFourProcessorsConf);
    ASSERT_EQ(plan_.processors.size(), static_cast<size_t>(kProcessors));
    ASSERT_EQ(Tasks().size(), 1u) << "the test must fork while the process has one thread";
  }

  // Runs `body` in a child limited to `allowed` more threads; checks that the child
  // exited normally, dropped what it had to, and left no thread running.
  std::map<std::string, std::string> Run(int allowed, const std::function<std::string()>& body) {
    ChildResult child = RunWithThreadLimit(allowed, body);
    EXPECT_TRUE(WIFEXITED(child.wait_status) && WEXITSTATUS(child.wait_status) == 0)
        << "the child was to report and exit 0; it was " << child.how;
    EXPECT_EQ(child.report.count("error"), 0u) << child.report["error"];
    EXPECT_EQ(child.report["leftover_threads"], "") << "threads still running after the body";
    return child.report;
  }

  // The limit as the message names it: RLIMIT_NPROC, with the hint and the uid.
  static void ExpectNamesTheLimit(const std::string& message, const std::string& uid) {
    EXPECT_THAT(message, HasSubstr("cannot create its thread"));
    EXPECT_THAT(message, HasSubstr("EAGAIN"));
    EXPECT_THAT(message, HasSubstr("RLIMIT_NPROC"));
    EXPECT_THAT(message, HasSubstr("ulimit -u"));
    EXPECT_THAT(message, HasSubstr("pids.max"));
    EXPECT_THAT(message, HasSubstr(absl::StrCat("for real uid ", uid)));
  }

  Plan plan_;
};

TEST_F(SchedulerResourceTest, NoThreadAtAllFailsOnTheFirstProcessor) {
  std::map<std::string, std::string> report = Run(0, [this] {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan_);
    return StatusLines("start", scheduler.status());
  });
  EXPECT_EQ(report["start_code"], "RESOURCE_EXHAUSTED") << report["start_message"];
  EXPECT_THAT(report["start_message"], HasSubstr("processor rt/0: cannot create its thread"));
  EXPECT_THAT(report["start_message"], HasSubstr("Resource temporarily unavailable"));
  ExpectNamesTheLimit(report["start_message"], report["uid"]);
}

TEST_F(SchedulerResourceTest, ProcessorsAlreadyStartedAreJoinedWhenALaterOneFails) {
  std::map<std::string, std::string> report = Run(2, [this] {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan_);
    return StatusLines("start", scheduler.status());
  });
  EXPECT_EQ(report["start_code"], "RESOURCE_EXHAUSTED") << report["start_message"];
  EXPECT_THAT(report["start_message"], HasSubstr("processor rt/2: cannot create its thread"));
  ExpectNamesTheLimit(report["start_message"], report["uid"]);
}

TEST_F(SchedulerResourceTest, ReporterThreadRefusedFailsStartAndJoinsTheProcessors) {
  std::map<std::string, std::string> report = Run(kProcessors, [this] {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan_);
    return StatusLines("start", scheduler.status());
  });
  EXPECT_EQ(report["start_code"], "RESOURCE_EXHAUSTED") << report["start_message"];
  EXPECT_THAT(report["start_message"], HasSubstr("reporter cadence/report"));
  ExpectNamesTheLimit(report["start_message"], report["uid"]);
}

TEST_F(SchedulerResourceTest, StartThreadRefusedIsAnErrorAndTheSchedulerGoesOn) {
  std::map<std::string, std::string> report = Run(kProcessors + 1, [this] {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan_);
    std::string out = StatusLines("start", scheduler.status());
    if (!scheduler.ok()) return out;
    bool ran = false;
    absl::StatusOr<std::thread> thread =
        (*scheduler)->StartThread("helper", [&ran] { ran = true; });
    out += StatusLines("thread", thread.status());
    if (thread.ok()) thread->join();
    out += ReportLine("helper_ran", absl::StrCat(ran));
    // The processors still run tasks.
    std::atomic<uint32_t> done{0};
    absl::StatusOr<TaskId> task = (*scheduler)->CreateTask("work", [&done] {
      done.store(1);
      FutexWake(&done, 1);
    });
    if (task.ok()) {
      out += StatusLines("notify", (*scheduler)->NotifyTask(*task));
      while (done.load() == 0) FutexWait(&done, 0);
      out += ReportLine("task_ran", "1");
    }
    (*scheduler)->Shutdown();
    return out;
  });
  ASSERT_EQ(report["start_code"], "OK") << report["start_message"];
  EXPECT_EQ(report["thread_code"], "RESOURCE_EXHAUSTED") << report["thread_message"];
  EXPECT_THAT(report["thread_message"], HasSubstr("thread \"helper\": cannot create its thread"));
  ExpectNamesTheLimit(report["thread_message"], report["uid"]);
  EXPECT_EQ(report["helper_ran"], "0");
  EXPECT_EQ(report["notify_code"], "OK");
  EXPECT_EQ(report["task_ran"], "1");
}

TEST_F(SchedulerResourceTest, StateServerThreadRefusedIsAnErrorAndLeavesNoSocket) {
  std::map<std::string, std::string> report = Run(kProcessors + 1, [this] {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan_);
    std::string out = StatusLines("start", scheduler.status());
    if (!scheduler.ok()) return out;
    char dir[] = "/tmp/cadence-resource-test-XXXXXX";
    if (mkdtemp(dir) == nullptr) return out + ReportLine("error", "mkdtemp");
    absl::StatusOr<std::unique_ptr<StateServer>> server =
        StateServer::Start(scheduler->get(), {}, dir);
    out += StatusLines("server", server.status());
    server = absl::UnknownError("gone");  // Stops a server that did start.
    std::string entries;
    DIR* listing = opendir(dir);
    while (listing != nullptr) {
      struct dirent* entry = readdir(listing);
      if (entry == nullptr) break;
      const std::string name = entry->d_name;
      if (name != "." && name != "..") absl::StrAppend(&entries, " ", name);
    }
    if (listing != nullptr) closedir(listing);
    out += ReportLine("dir_entries", entries);
    rmdir(dir);
    (*scheduler)->Shutdown();
    return out;
  });
  ASSERT_EQ(report["start_code"], "OK") << report["start_message"];
  EXPECT_EQ(report["server_code"], "RESOURCE_EXHAUSTED") << report["server_message"];
  EXPECT_THAT(report["server_message"], HasSubstr("state server cadence/state"));
  ExpectNamesTheLimit(report["server_message"], report["uid"]);
  EXPECT_EQ(report["dir_entries"], "") << "the socket file was left behind";
}

// A start that fails after process_level_cpuset was applied gives every thread its earlier
// CPUs back: a program that goes on (e.g. with another conf) is not left confined.
TEST_F(SchedulerResourceTest, FailedStartGivesTheThreadsTheirEarlierCpusBack) {
  const Plan confined = test_support::PlanFromText(R"(
scheduler_conf {
  policy: "classic"
  process_level_cpuset: "1"
  classic_conf {
    groups: [ { name: "rt" processor_num: 4 affinity: "range" cpuset: "1" } ]
  }
}
)");
  ASSERT_TRUE(confined.restrict_process);
  ASSERT_EQ(confined.process_cpus, CpuSet::Of({1}));
  // The CPUs of thread `tid` of this process, "?" when unreadable.
  auto cpus_of = [](pid_t tid) {
    cpu_set_t native;
    CPU_ZERO(&native);
    if (sched_getaffinity(tid, sizeof(native), &native) != 0) return std::string("?");
    return CpuSet::FromNative(native).ToString();
  };
  // The main thread and one more (which exists before the start), before and after it.
  auto body = [&confined, &cpus_of] {
    std::atomic<uint32_t> release{0};
    std::atomic<pid_t> other_tid{0};
    std::thread other([&] {
      other_tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
      while (release.load() == 0) FutexWait(&release, 0);
    });
    while (other_tid.load() == 0) std::this_thread::yield();
    std::string out = ReportLine("before", cpus_of(0) + " " + cpus_of(other_tid.load()));
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(confined);
    out += StatusLines("start", scheduler.status());
    out += ReportLine("after", cpus_of(0) + " " + cpus_of(other_tid.load()));
    if (scheduler.ok()) (*scheduler)->Shutdown();
    release.store(1);
    FutexWake(&release, 1);
    other.join();
    return out;
  };
  // Control: a start that succeeds confines both threads (and leaves them so).
  std::map<std::string, std::string> started = Run(2 + kProcessors, body);
  ASSERT_EQ(started["start_code"], "OK") << started["start_message"];
  // Else the test shows nothing: the threads must have had more than CPU 1 before.
  ASSERT_NE(started["before"], "1 1") << "needs a test process allowed more than CPU 1";
  EXPECT_EQ(started["after"], "1 1");

  // The other thread, rt/0 and rt/1 can be created; rt/2 cannot.
  std::map<std::string, std::string> failed = Run(3, body);
  EXPECT_EQ(failed["start_code"], "RESOURCE_EXHAUSTED") << failed["start_message"];
  EXPECT_THAT(failed["start_message"], HasSubstr("processor rt/2: cannot create its thread"));
  EXPECT_EQ(failed["after"], failed["before"]);
  EXPECT_EQ(failed["before"], started["before"]);
}

}  // namespace
}  // namespace cadence
