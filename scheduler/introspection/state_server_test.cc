// The state server and its client against a real Scheduler: what is published (threads
// with requested vs effective attributes, processors and their tasks, task statistics with
// the wake histogram), the socket's mode and its removal, stale sockets, directories that
// cannot be used, and another user refused — by the socket's mode, by the server's
// SO_PEERCRED check, and by the client before it connects.
#include "scheduler/introspection/state_server.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "scheduler/introspection/runtime_state.h"
#include "scheduler/introspection/state_client.h"
#include "scheduler/introspection/state_socket.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kConf[] = R"(
scheduler_conf {
  policy: "classic"
  threads: [ { name: "helper" cpuset: "0" policy: "SCHED_OTHER" nice: 0 } ]
  classic_conf {
    groups: [
      {
        name: "work"
        processor_num: 2
        affinity: "range"
        cpuset: "0"
        processor_policy: "SCHED_OTHER"
        processor_prio: 0
        tasks: [ { name: "named" prio: 10 }, { name: "planned_only" prio: 3 } ]
      }
    ]
  }
}
)";

// A directory under /tmp that every user may enter (mode 0755), removed at scope exit:
// user nobody must be able to reach the socket for the socket's own mode to be what
// refuses it (Bazel's TEST_TMPDIR lies under root's private home).
class OpenTempDir {
 public:
  OpenTempDir() {
    std::string pattern = "/tmp/cadence_state_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
      return;
    }
    EXPECT_EQ(chmod(pattern.c_str(), 0755), 0) << std::strerror(errno);
    path_ = pattern;
  }
  ~OpenTempDir() {
    std::error_code error;
    if (!path_.empty()) std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A started scheduler with a task "named" (in the conf) and "unnamed" (not), each run
// `runs` times, and the conf's "helper" thread running until the fixture ends.
class StateServerTest : public ::testing::Test {
 protected:
  void StartScheduler(int runs = 3, const std::string& conf = kConf) {
    plan_ = test_support::PlanFromText(conf);
    scheduler_ = test_support::StartOrNull(plan_);
    ASSERT_NE(scheduler_, nullptr);
    for (const char* name : {"named", "unnamed"}) {
      absl::StatusOr<TaskId> id = scheduler_->CreateTask(name, [this] {
        std::lock_guard<std::mutex> lock(mutex_);
        ++body_runs_;
        changed_.notify_all();
      });
      ASSERT_TRUE(id.ok()) << id.status();
      for (int i = 0; i < runs; ++i) {
        const int before = Runs();
        ASSERT_TRUE(scheduler_->NotifyTask(*id).ok());
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return body_runs_ > before; });
      }
    }
    absl::StatusOr<std::thread> helper = scheduler_->StartThread("helper", [this] {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_helper_; });
    });
    ASSERT_TRUE(helper.ok()) << helper.status();
    helper_ = *std::move(helper);
  }

  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_helper_ = true;
      changed_.notify_all();
    }
    if (helper_.joinable()) helper_.join();
  }

  int Runs() {
    std::lock_guard<std::mutex> lock(mutex_);
    return body_runs_;
  }

  std::unique_ptr<StateServer> StartServer(const std::string& dir) {
    absl::StatusOr<std::unique_ptr<StateServer>> server = StateServer::Start(
        scheduler_.get(),
        {.program = "state_test", .conf_path = "conf/test.conf", .real_conf_path = ""}, dir);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  Plan plan_;
  std::unique_ptr<Scheduler> scheduler_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int body_runs_ = 0;
  bool stop_helper_ = false;
  std::thread helper_;
};

const proto::TaskState* FindTask(const proto::RuntimeState& state, const std::string& name) {
  for (const proto::TaskState& t : state.tasks()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

TEST_F(StateServerTest, PublishesThreadsProcessorsAndTasks) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(3));
  OpenTempDir dir;
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->socket_path(), absl::StrCat(dir.path(), "/", getpid(), ".sock"));
  // Quiet statistics: every activation has been counted.
  const std::vector<ThreadRecord> threads = scheduler_->Threads();
  scheduler_->Shutdown();

  const int64_t before = MonotonicNowNs();
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), dir.path());
  const int64_t after = MonotonicNowNs();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(server->answered(), 1u);
  EXPECT_EQ(state->pid(), getpid());
  EXPECT_EQ(state->uid(), geteuid());
  EXPECT_EQ(state->program(), "state_test");
  EXPECT_EQ(state->conf_path(), "conf/test.conf");
  EXPECT_EQ(state->scheduler_kind(), "classic");
  EXPECT_GE(state->statistics_from_ns(), before);
  EXPECT_LE(state->statistics_from_ns(), state->monotonic_ns());
  EXPECT_LE(state->monotonic_ns(), after);
  EXPECT_TRUE(HistogramCompatible(*state));

  // Threads: both processors and the helper, requested vs effective as recorded.
  ASSERT_EQ(state->threads_size(), static_cast<int>(threads.size()));
  ASSERT_EQ(threads.size(), 3u);
  for (size_t i = 0; i < threads.size(); ++i) {
    const proto::ThreadState& t = state->threads(static_cast<int>(i));
    EXPECT_EQ(t.kind(), threads[i].kind);
    EXPECT_EQ(t.name(), threads[i].name);
    EXPECT_EQ(t.tid(), threads[i].tid);
    EXPECT_EQ(t.fell_back(), threads[i].applied.fell_back);
    ThreadAttributes requested, effective;
    ASSERT_TRUE(FromState(t.requested(), &requested));
    ASSERT_TRUE(FromState(t.effective(), &effective));
    EXPECT_EQ(requested, threads[i].applied.requested) << t.name();
    EXPECT_EQ(effective, threads[i].applied.effective) << t.name();
  }
  EXPECT_EQ(state->threads(2).kind(), "thread");
  EXPECT_EQ(state->threads(2).name(), "helper");
  EXPECT_EQ(state->threads(0).requested().policy(), "SCHED_OTHER");
  EXPECT_EQ(state->threads(0).requested().cpus(), "0");

  // Processors: the conf's tasks and the live ones (the unnamed task went to the default
  // queue, the first group's).
  ASSERT_EQ(state->processors_size(), 2);
  const proto::ProcessorState& p0 = state->processors(0);
  EXPECT_EQ(p0.name(), "work/0");
  EXPECT_EQ(p0.tid(), threads[0].tid);
  EXPECT_EQ(p0.queue(), "work");
  EXPECT_THAT(p0.queue_peers(), ElementsAre("work/1"));
  EXPECT_EQ(p0.cpus(), "0");
  EXPECT_THAT(p0.conf_tasks(), UnorderedElementsAre("named", "planned_only"));
  EXPECT_THAT(p0.live_tasks(), UnorderedElementsAre("named", "unnamed"));
  EXPECT_GT(p0.alive_ns(), 0u);
  EXPECT_EQ(state->processors(0).activations() + state->processors(1).activations(), 6u);

  // Tasks: the counts and the histogram's buckets add up.
  ASSERT_EQ(state->tasks_size(), 2);
  for (const char* name : {"named", "unnamed"}) {
    const proto::TaskState* t = FindTask(*state, name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->activations(), 3u) << name;
    EXPECT_FALSE(t->untimed()) << name;
    EXPECT_EQ(t->wake_count(), 3u) << name;
    uint64_t bucket_sum = 0;
    for (const proto::WakeBucket& b : t->wake_buckets()) {
      EXPECT_GT(b.count(), 0u) << "only non-empty buckets are sent";
      bucket_sum += b.count();
    }
    // A task the conf does not name keeps no histogram (count and max only).
    EXPECT_EQ(bucket_sum, std::string(name) == "named" ? 3u : 0u) << name;
    EXPECT_GT(t->wake_max_ns(), 0u) << name;
    const LatencySummary summary = LatencyHistogram::SummaryOf(WakeCountsOf(*t), t->wake_max_ns());
    EXPECT_EQ(summary.p50_ns, t->wake_p50_ns()) << name;
    EXPECT_EQ(summary.p99_ns, t->wake_p99_ns()) << name;
  }
  EXPECT_TRUE(FindTask(*state, "named")->named_in_conf());
  EXPECT_EQ(FindTask(*state, "named")->priority(), 10);
  EXPECT_FALSE(FindTask(*state, "unnamed")->named_in_conf());
  EXPECT_EQ(FindTask(*state, "unnamed")->queue(), "work");
}

TEST_F(StateServerTest, TasksOfAQueueThatDoesNotTimeActivationsArePublishedUntimed) {
  std::string conf = kConf;
  conf.insert(conf.find("        tasks:"), "        time_activations: false\n");
  ASSERT_NO_FATAL_FAILURE(StartScheduler(3, conf));
  OpenTempDir dir;
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  scheduler_->Shutdown();  // Quiet statistics.
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), dir.path());
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->tasks_size(), 2);
  for (const char* name : {"named", "unnamed"}) {
    const proto::TaskState* t = FindTask(*state, name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_TRUE(t->untimed()) << name;
    EXPECT_EQ(t->activations(), 3u) << name;
    EXPECT_EQ(t->notifies(), 3u) << name;
    EXPECT_EQ(t->wake_count(), 0u) << name;
    EXPECT_EQ(t->wake_max_ns(), 0u) << name;
    EXPECT_EQ(t->run_ns_total(), 0u) << name;
  }
  // The processors' busy time holds the untimed runs.
  EXPECT_GT(state->processors(0).busy_ns() + state->processors(1).busy_ns(), 0u);
}

TEST_F(StateServerTest, SocketIsMode0600AndRemovedOnStop) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  struct stat st;
  ASSERT_EQ(lstat(server->socket_path().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
  // Nothing else is left in the directory (the temporary name was renamed).
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);

  server->Stop();
  EXPECT_NE(lstat(server->socket_path().c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), dir.path());
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(absl::IsNotFound(state.status())) << state.status();
  EXPECT_THAT(state.status().message(),
              HasSubstr(absl::StrCat("process ", getpid(),
                                     " does not publish cadence state (not a cadence process, "
                                     "or started with --nopublish_state)")));
  server->Stop();  // Idempotent.
}

TEST_F(StateServerTest, ProcessPublishingInAnotherDirectoryIsFoundAndTheFlagNamed) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  EXPECT_EQ(HeldStateSocket(getpid()), "");  // Before the server: no state socket held.
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(HeldStateSocket(getpid()), server->socket_path());
  // Looked up in a directory where it is not (the defaults, for a reader without the flag).
  OpenTempDir elsewhere;
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), elsewhere.path());
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(absl::IsNotFound(state.status())) << state.status();
  EXPECT_THAT(state.status().message(),
              HasSubstr(absl::StrCat("process ", getpid(),
                                     " publishes its cadence state in another directory: it "
                                     "holds ",
                                     server->socket_path())));
  EXPECT_THAT(state.status().message(),
              HasSubstr(absl::StrCat("give the same --state_dir: --state_dir=", dir.path())));
  // Once it stops, it holds none.
  server->Stop();
  EXPECT_EQ(HeldStateSocket(getpid()), "");
}

TEST_F(StateServerTest, HeldSocketInADirectoryWithBlanksOrRemovedOrRelativeIsFound) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  // A --state_dir with blanks in its path.
  const std::string spaced = dir.path() + "/a dir with blanks";
  std::unique_ptr<StateServer> server = StartServer(spaced);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->socket_path(), StateSocketPath(spaced, getpid()));
  EXPECT_EQ(HeldStateSocket(getpid()), server->socket_path());
  // The socket file removed while the server runs: said so, not "another directory".
  ASSERT_EQ(unlink(server->socket_path().c_str()), 0);
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), spaced);
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(state.status().message(),
              HasSubstr(absl::StrCat("process ", getpid(), " listens on ", server->socket_path(),
                                     " but that file was removed while it runs")));
  server->Stop();

  // A relative --state_dir: the socket's path is made absolute, so it means the same from
  // any directory.
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  server = StartServer("relative");
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->socket_path(), StateSocketPath(dir.path() + "/relative", getpid()));
  EXPECT_EQ(HeldStateSocket(getpid()), server->socket_path());
  EXPECT_TRUE(FetchState(getpid(), dir.path() + "/relative").ok());
}

TEST_F(StateServerTest, StaleSocketIsReportedThenReplacedOnStart) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  // What a killed process leaves: a socket file nothing listens on.
  const std::string path = StateSocketPath(dir.path(), getpid());
  {
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof(address.sun_path));
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(bind(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof(address)), 0)
        << std::strerror(errno);
    close(fd);
  }
  absl::StatusOr<proto::RuntimeState> stale = FetchState(getpid(), dir.path());
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(stale.status())) << stale.status();
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("stale state socket ", path, ": nothing listens on it")));

  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), dir.path());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->pid(), getpid());
}

TEST_F(StateServerTest, SecondServerOnTheSamePathIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  std::unique_ptr<StateServer> first = StartServer(dir.path());
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<StateServer>> second =
      StateServer::Start(scheduler_.get(), {}, dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
  // The first one still answers.
  EXPECT_TRUE(FetchState(getpid(), dir.path()).ok());
}

TEST_F(StateServerTest, UnusableDirectoryIsAnErrorNamingIt) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  const std::string file = dir.path() + "/a_file";
  { std::ofstream(file) << "not a directory"; }
  absl::StatusOr<std::unique_ptr<StateServer>> server =
      StateServer::Start(scheduler_.get(), {}, file);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(),
              HasSubstr(absl::StrCat("cannot publish the state in ", file, ": ", file,
                                     " is not a directory")));
}

TEST_F(StateServerTest, NoSuchProcessIsNotFound) {
  int pid_max = 4194304;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  absl::StatusOr<proto::RuntimeState> state = FetchState(pid_max + 1, "/tmp");
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(absl::IsNotFound(state.status())) << state.status();
  EXPECT_THAT(state.status().message(), HasSubstr("no process with pid"));
}

TEST_F(StateServerTest, AThreadIdIsNotAProcess) {
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  const pid_t helper = scheduler_->Threads().back().tid;
  ASSERT_NE(helper, getpid());
  absl::StatusOr<proto::RuntimeState> state = FetchState(helper, "/tmp");
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(absl::IsNotFound(state.status())) << state.status();
  EXPECT_THAT(state.status().message(),
              HasSubstr(absl::StrCat(helper, " is a thread of process ", getpid())));
}

// Another user: the child is forked before any thread starts, becomes nobody, and reads the
// state once the server runs.
TEST_F(StateServerTest, AnotherUserIsRefusedBySocketModeAndBeforeConnecting) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const pid_t pid = getpid();
  test_support::ChildAsNobody child([pid](const std::string& socket_dir) {
    std::string report;
    absl::StatusOr<proto::RuntimeState> direct =
        FetchStateFrom(StateSocketPath(socket_dir, pid), pid);
    report +=
        test_support::ReportLine("direct_code", absl::StatusCodeToString(direct.status().code()));
    report += test_support::ReportLine("direct", std::string(direct.status().message()));
    absl::StatusOr<proto::RuntimeState> checked = FetchState(pid, socket_dir);
    report +=
        test_support::ReportLine("checked_code", absl::StatusCodeToString(checked.status().code()));
    report += test_support::ReportLine("checked", std::string(checked.status().message()));
    return report;
  });
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);

  std::map<std::string, std::string> report = child.Run(dir.path());
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  const std::string refusal =
      absl::StrCat("process ", pid,
                   " belongs to user root (uid 0); you are nobody (uid 65534): "
                   "only its user and root may read its cadence state");
  // The socket's mode refuses the connection.
  EXPECT_EQ(report["direct_code"], "PERMISSION_DENIED");
  EXPECT_EQ(report["direct"], refusal);
  // FetchState refuses before it connects.
  EXPECT_EQ(report["checked_code"], "PERMISSION_DENIED");
  EXPECT_EQ(report["checked"], refusal);
  EXPECT_EQ(server->answered(), 0u);
  EXPECT_EQ(server->refused(), 0u);
}

TEST_F(StateServerTest, AnotherUserIsRefusedByTheServersPeerCheck) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  const pid_t pid = getpid();
  test_support::ChildAsNobody child([pid](const std::string& socket_path) {
    absl::StatusOr<proto::RuntimeState> state = FetchStateFrom(socket_path, pid);
    return test_support::ReportLine("code", absl::StatusCodeToString(state.status().code())) +
           test_support::ReportLine("message", std::string(state.status().message()));
  });
  ASSERT_NO_FATAL_FAILURE(StartScheduler(1));
  OpenTempDir dir;
  std::unique_ptr<StateServer> server = StartServer(dir.path());
  ASSERT_NE(server, nullptr);
  // Open the socket to everyone: only the server's own check is left.
  ASSERT_EQ(chmod(server->socket_path().c_str(), 0666), 0) << std::strerror(errno);

  std::map<std::string, std::string> report = child.Run(server->socket_path());
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  EXPECT_EQ(report["code"], "PERMISSION_DENIED");
  EXPECT_EQ(report["message"],
            absl::StrCat("process ", pid,
                         " belongs to user root (uid 0); you are nobody (uid "
                         "65534): only its user and root may read its cadence state"));
  EXPECT_EQ(server->refused(), 1u);
  EXPECT_EQ(server->answered(), 0u);
}

// As a user who may not write /run, the default directory falls back to a private one in
// /tmp, and FetchState finds it there. The child is forked first and builds its own
// scheduler.
TEST(StateServerFallbackTest, UnprivilegedUserPublishesInAPrivateTmpDir) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  test_support::ChildAsNobody child([](const std::string&) {
    std::string report;
    const Plan plan = test_support::PlanFromText(kConf);
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan);
    if (!scheduler.ok()) return test_support::ReportLine("error", scheduler.status().ToString());
    const std::string dir = FallbackStateDir(test_support::kNobodyUid);
    const bool existed = access(dir.c_str(), F_OK) == 0;
    absl::StatusOr<std::unique_ptr<StateServer>> server =
        StateServer::Start(scheduler->get(), {}, "");
    if (!server.ok()) return test_support::ReportLine("error", server.status().ToString());
    report += test_support::ReportLine("socket", (*server)->socket_path());
    struct stat st;
    if (lstat(dir.c_str(), &st) == 0) {
      report += test_support::ReportLine("dir_mode", absl::StrFormat("%04o", st.st_mode & 07777));
      report += test_support::ReportLine("dir_uid", absl::StrCat(st.st_uid));
    }
    std::string found;
    absl::StatusOr<proto::RuntimeState> state = FetchState(getpid(), "", &found);
    report += test_support::ReportLine("fetch", state.ok() ? "ok" : state.status().ToString());
    report += test_support::ReportLine("found", found);
    (*server)->Stop();
    report += test_support::ReportLine("removed", absl::StrCat(access(found.c_str(), F_OK) != 0));
    if (!existed) rmdir(dir.c_str());  // Only what this test created, and only when empty.
    return report;
  });
  std::map<std::string, std::string> report = child.Run("");
  ASSERT_EQ(report.count("error"), 0u) << report["error"];
  const std::string dir = absl::StrCat("/tmp/cadence-", test_support::kNobodyUid);
  EXPECT_EQ(report["socket"].rfind(dir + "/", 0), 0u) << report["socket"];
  EXPECT_EQ(report["dir_mode"], "0700");
  EXPECT_EQ(report["dir_uid"], absl::StrCat(test_support::kNobodyUid));
  EXPECT_EQ(report["fetch"], "ok");
  EXPECT_EQ(report["found"], report["socket"]);
  EXPECT_EQ(report["removed"], "1");
}

}  // namespace
}  // namespace cadence
