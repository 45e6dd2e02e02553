// End-to-end tests of the launcher binaries: mainboard and robot_demo run as processes
// (fork + execv) from the test's runfiles tree, on the shipped robot DAG and confs and on
// the DAGs, confs and component libraries in tests/testdata/.
//
// A child (tests/child_process.h) has its stdout read line by line until its readiness
// line ("mainboard: running", "robot_demo: running for"); its stderr (glog) goes to a file.
// While it runs, its threads are read back from /proc/<pid>/task/*; a stop signal then ends
// it and its exit status and output are checked. Bad inputs run to completion and must fail with
// exit 1 (2 for a usage error) and a message that says what and where. poll() timeouts (30 s) are
// only failure guards: nothing waits for a fixed time.
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "tests/child_process.h"
#include "tests/shared_dirs.h"

namespace cadence {
namespace {

using test_support::Child;
using test_support::kGuard;
using test_support::Names;
using test_support::Outcome;
using test_support::ReadFile;
using test_support::RunToEnd;
using test_support::TempDir;
using test_support::ThreadsOf;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMainboard[] = "tools/mainboard/mainboard";
constexpr char kRobotDemo[] = "examples/robot/robot_demo";
constexpr char kRobotDag[] = "examples/robot/robot.dag";
constexpr char kTestData[] = "tests/testdata";

constexpr int kSchedOther = 0;
constexpr int kSchedFifo = 1;
constexpr int kSchedRr = 2;
constexpr int kSchedBatch = 3;

std::string TestData(const std::string& name) { return absl::StrCat(kTestData, "/", name); }

std::string PolicyNameOf(int native) {
  SchedPolicy policy;
  return FromNativePolicy(native, &policy) ? PolicyName(policy) : absl::StrCat("policy ", native);
}

// Expects thread `name` of `threads` to exist with these attributes (rt_priority for
// FIFO/RR, nice otherwise).
void ExpectThread(const std::map<std::string, ProcThread>& threads, const std::string& name,
                  int policy, int priority_or_nice, const CpuSet& cpus) {
  auto it = threads.find(name);
  ASSERT_NE(it, threads.end()) << "no thread " << name << " among: " << Names(threads);
  const ProcThread& t = it->second;
  EXPECT_EQ(t.policy, policy) << name << " is " << PolicyNameOf(t.policy) << ", not "
                              << PolicyNameOf(policy);
  if (policy == kSchedFifo || policy == kSchedRr) {
    EXPECT_EQ(t.rt_priority, priority_or_nice) << name;
  } else {
    EXPECT_EQ(t.nice, priority_or_nice) << name;
  }
  EXPECT_EQ(t.cpus_allowed, cpus) << name << " may run on " << t.cpus_allowed.ToString();
}

// Waits until thread `name` of `pid` has gone to sleep `switches` more times than when
// called: a processor thread sleeps after each activation it ran, so this is proof that it
// has been working (no fixed wait). False when the guard expired.
bool WaitForProgress(pid_t pid, const std::string& name, uint64_t switches) {
  std::map<std::string, ProcThread> threads = ThreadsOf(pid);
  auto it = threads.find(name);
  if (it == threads.end()) {
    ADD_FAILURE() << "no thread " << name << " among: " << Names(threads);
    return false;
  }
  const pid_t tid = it->second.tid;
  const uint64_t target = it->second.voluntary_switches + switches;
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<ProcThread> t = ReadProcThread(pid, tid);
    if (!t.ok()) {
      ADD_FAILURE() << name << ": " << t.status();
      return false;
    }
    if (t->voluntary_switches >= target) return true;
    sched_yield();
  }
  ADD_FAILURE() << name << " made no progress within " << kGuard.count() << " s";
  return false;
}

// The RUNS column of task `task` in the last task table of `output` (-1 when absent). The
// numbers are right-aligned under their headers (some headers are two words, "PERIOD us"),
// so a row's value is its last word that ends where the header "RUNS" ends.
int64_t TaskRuns(const std::string& output, const std::string& task) {
  std::vector<std::string> lines = absl::StrSplit(output, '\n');
  int64_t runs = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<absl::string_view> header = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    const size_t column = lines[i].find(" RUNS ");
    if (header.empty() || header[0] != "TASK" || column == std::string::npos) continue;
    const size_t end = column + 5;  // Just past "RUNS".
    for (size_t j = i + 1; j < lines.size(); ++j) {
      std::vector<absl::string_view> row = absl::StrSplit(lines[j], ' ', absl::SkipEmpty());
      if (row.empty()) break;
      if (row[0] != task || lines[j].size() < end) continue;
      std::vector<absl::string_view> before =
          absl::StrSplit(absl::string_view(lines[j]).substr(0, end), ' ', absl::SkipEmpty());
      if (before.empty() || !absl::SimpleAtoi(before.back(), &runs)) runs = -1;
    }
  }
  return runs;
}

// The TID of named thread `name` ("thread" rows) in the first thread table of `output`
// (-1 when absent).
pid_t NamedThreadTid(const std::string& output, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::vector<absl::string_view> row = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int tid = -1;
    if (row.size() > 2 && row[0] == "thread" && row[1] == name && absl::SimpleAtoi(row[2], &tid)) {
      return tid;
    }
  }
  return -1;
}

// Whether `text` holds "<file>:<line>:<col>: error: <message>".
bool HasErrorAt(const std::string& text, const std::string& file, const std::string& message) {
  const std::string prefix = file + ":";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    absl::string_view rest = absl::string_view(text).substr(at + prefix.size());
    bool located = true;
    for (int number = 0; number < 2 && located; ++number) {
      size_t digits = 0;
      while (digits < rest.size() && absl::ascii_isdigit(rest[digits])) ++digits;
      located = digits > 0 && digits < rest.size() && rest[digits] == ':';
      rest.remove_prefix(located ? digits + 1 : 0);
    }
    if (located && absl::StartsWith(rest, " error: " + message)) return true;
  }
  return false;
}

bool CapSysNiceInEffect(pid_t pid) {
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, "CapEff:")) continue;
    uint64_t caps = 0;
    line = absl::StripAsciiWhitespace(line);
    return absl::SimpleHexAtoi(line, &caps) && (caps & (uint64_t{1} << 23)) != 0;
  }
  return false;
}

const CpuSet kCpu0 = CpuSet::Of({0});
const CpuSet kCpu1 = CpuSet::Of({1});
const CpuSet kCpus01 = CpuSet::Of({0, 1});

class LauncherE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "the confs use CPUs 0 and 1";
    std::string pattern = absl::StrCat(TempDir(), "/conf_XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << strerror(errno);
    conf_dir_ = pattern;
    // Copies, so the test can re-point the symlink; the runfiles' own are links to sources.
    for (const char* name : {"robot_classic.conf", "robot_choreography.conf"}) {
      std::error_code error;
      std::filesystem::copy_file(absl::StrCat("conf/", name), absl::StrCat(conf_dir_, "/", name),
                                 error);
      ASSERT_FALSE(error) << name << ": " << error.message();
    }
    std::error_code error;
    std::filesystem::copy_file(TestData("other.conf"), conf_dir_ + "/other.conf", error);
    ASSERT_FALSE(error) << "other.conf: " << error.message();
    ASSERT_NO_FATAL_FAILURE(PointRobotConfAt("robot_classic.conf"));
  }

  void TearDown() override {
    if (!conf_dir_.empty()) std::filesystem::remove_all(conf_dir_);
  }

  // Makes <conf_dir>/robot.conf a symlink to `target` (unlink + symlink).
  void PointRobotConfAt(const std::string& target) {
    const std::string link = conf_dir_ + "/robot.conf";
    ASSERT_TRUE(unlink(link.c_str()) == 0 || errno == ENOENT) << strerror(errno);
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << strerror(errno);
  }

  std::vector<std::string> RobotArgs() const {
    return {"-d", kRobotDag, "-p", "robot", "--conf_dir", conf_dir_};
  }

  std::string conf_dir_;
};

// ---------------------------------------------------------------------------------------
// mainboard on the shipped robot DAG and confs.

TEST_F(LauncherE2eTest, MainboardRobotClassicThreadsFromProcAndCleanSigterm) {
  std::unique_ptr<Child> child = Child::Start(kMainboard, RobotArgs());
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("mainboard: running"));

  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "realtime/0", kSchedFifo, 60, kCpu0);
  ExpectThread(threads, "background/0", kSchedBatch, 10, kCpus01);
  ExpectThread(threads, "background/1", kSchedBatch, 10, kCpus01);
  EXPECT_TRUE(WaitForProgress(child->pid(), "realtime/0", 3));

  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  // The conf named, the symlink resolved to the real file.
  EXPECT_THAT(outcome.out, HasSubstr(conf_dir_ + "/robot.conf -> "));
  EXPECT_THAT(outcome.out, HasSubstr("/robot_classic.conf (classic)"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("robot_choreography.conf")));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopping (Terminated)"));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
  EXPECT_GT(TaskRuns(outcome.out, "motion_sensor"), 0) << outcome.out;
  EXPECT_GT(TaskRuns(outcome.out, "motion_control"), 0) << outcome.out;
}

TEST_F(LauncherE2eTest, MainboardFollowsTheConfSymlinkWhenItIsRepointed) {
  // First the classic layout, then the same command with robot.conf re-pointed.
  {
    std::unique_ptr<Child> child = Child::Start(kMainboard, RobotArgs());
    ASSERT_NE(child, nullptr);
    ASSERT_TRUE(child->WaitForLine("mainboard: running"));
    EXPECT_EQ(ThreadsOf(child->pid()).count("realtime/0"), 1u);
    const Outcome outcome = child->Finish(SIGTERM);
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  }
  ASSERT_NO_FATAL_FAILURE(PointRobotConfAt("robot_choreography.conf"));

  std::unique_ptr<Child> child = Child::Start(kMainboard, RobotArgs());
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("mainboard: running"));
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "choreo/0", kSchedFifo, 60, kCpu0);
  ExpectThread(threads, "pool/0", kSchedBatch, 10, kCpus01);
  ExpectThread(threads, "pool/1", kSchedBatch, 10, kCpus01);
  EXPECT_EQ(threads.count("realtime/0"), 0u) << Names(threads);
  EXPECT_EQ(threads.count("background/0"), 0u) << Names(threads);
  EXPECT_TRUE(WaitForProgress(child->pid(), "choreo/0", 3));

  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("/robot_choreography.conf (choreography)"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("robot_classic.conf")));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
  EXPECT_GT(TaskRuns(outcome.out, "motion_sensor"), 0) << outcome.out;
}

TEST_F(LauncherE2eTest, MainboardSchedNamePicksItsOwnConf) {
  std::vector<std::string> args = RobotArgs();
  args.insert(args.end(), {"-s", "other"});
  std::unique_ptr<Child> child = Child::Start(kMainboard, args);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("mainboard: running"));
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "misc/0", kSchedOther, 2, kCpus01);
  ExpectThread(threads, "misc/1", kSchedOther, 2, kCpus01);
  EXPECT_EQ(threads.count("realtime/0"), 0u) << Names(threads);

  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("conf: " + conf_dir_ + "/other.conf"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("robot.conf")));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
}

// ---------------------------------------------------------------------------------------
// mainboard on the test components and a hand-written conf.

TEST_F(LauncherE2eTest, MainboardTestComponentsOnRrProcessorAndCleanSigint) {
  std::unique_ptr<Child> child =
      Child::Start(kMainboard, {"-d", TestData("good.dag"), "--conf", TestData("good.conf")});
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("mainboard: running"));
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "ticks/0", kSchedRr, 30, kCpu1);
  ExpectThread(threads, "other/0", kSchedOther, 3, kCpu0);
  EXPECT_TRUE(WaitForProgress(child->pid(), "ticks/0", 3));

  const Outcome outcome = child->Finish(SIGINT);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("libtest_components.so"));
  EXPECT_THAT(outcome.out, HasSubstr("component: ticker -> ticks\n"));
  EXPECT_THAT(outcome.out, HasSubstr("component: echo -> ticks\n"));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopping (Interrupt)"));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
  EXPECT_GT(TaskRuns(outcome.out, "ticker"), 0) << outcome.out;
  EXPECT_GT(TaskRuns(outcome.out, "echo"), 0) << outcome.out;
}

// ---------------------------------------------------------------------------------------
// Bad input: exit 1 (2 for usage) and a message that says what and where.

Outcome RunMainboardOnTestDag(const std::vector<std::string>& dags) {
  std::vector<std::string> args;
  for (const std::string& dag : dags) args.insert(args.end(), {"-d", TestData(dag)});
  args.insert(args.end(), {"--conf", TestData("good.conf"), "--duration_s", "1"});
  return RunToEnd(kMainboard, args);
}

TEST_F(LauncherE2eTest, MainboardMissingLibraryFailsNamingWhereItLooked) {
  const Outcome outcome = RunMainboardOnTestDag({"missing_library.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("mainboard: cannot start:"));
  EXPECT_THAT(outcome.err,
              HasSubstr("tests/testdata/missing_library.dag:3:3: error: module_library "
                        "'bazel-bin/tests/testdata/libno_such_library.so' not found; tried: "));
  EXPECT_THAT(outcome.out, Not(HasSubstr("mainboard: running")));

  // Apollo Cyber RT's own example DAG: it loads, but its library is not built here.
  std::string looked;
  const std::string cyber = testing::FindCompatCyberDir(&looked);
  if (cyber.empty() || access((cyber + "/common.dag").c_str(), R_OK) != 0) {
    GTEST_SKIP() << "no shared/compat/cyber/common.dag; looked" << looked;
  }
  const Outcome common = RunToEnd(kMainboard, {"-d", cyber + "/common.dag", "--conf",
                                               TestData("good.conf"), "--duration_s", "1"});
  ASSERT_TRUE(common.exited && common.exit_code == 1) << common.Describe();
  EXPECT_THAT(common.err, HasSubstr("libcommon_component_example.so' not found"));
  EXPECT_THAT(common.err, HasSubstr("tried: "));
}

TEST_F(LauncherE2eTest, MainboardBrokenLibraryFailsWithTheDlerror) {
  const Outcome outcome = RunMainboardOnTestDag({"broken_library.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err,
              HasSubstr("tests/testdata/broken_library.dag:3:3: error: cannot load "
                        "module_library 'bazel-bin/tests/testdata/libbroken_components.so'"));
  EXPECT_THAT(outcome.err, HasSubstr("undefined symbol: cadence_test_symbol_that_does_not_exist"));
}

TEST_F(LauncherE2eTest, MainboardNotALibraryFailsWithTheDlerror) {
  const Outcome outcome = RunMainboardOnTestDag({"not_a_library.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("tests/testdata/not_a_library.dag:3:3: error: cannot load "
                                     "module_library 'bazel-bin/tests/testdata/not_a_library.so'"));
  EXPECT_THAT(outcome.err, HasSubstr("not_a_library.so: invalid ELF header"));
}

TEST_F(LauncherE2eTest, MainboardUnknownClassFailsListingTheLibrarysClasses) {
  const Outcome outcome = RunMainboardOnTestDag({"unknown_class.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("tests/testdata/unknown_class.dag:5:5: error: unknown "
                                     "component class 'NoSuchComponent'"));
  EXPECT_THAT(outcome.err, HasSubstr("hint: bazel-bin/tests/testdata/libtest_components.so "
                                     "registers TestEcho, TestTicker"));
}

TEST_F(LauncherE2eTest, MainboardDuplicateNameAcrossDagsFailsNamingBothFiles) {
  const Outcome outcome = RunMainboardOnTestDag({"duplicate_a.dag", "duplicate_b.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err,
              HasSubstr("tests/testdata/duplicate_b.dag:5:5: error: component name 'echo' "
                        "(class TestEcho) is already used at tests/testdata/duplicate_a.dag:9:5"));
}

TEST_F(LauncherE2eTest, MainboardZeroIntervalFailsAtItsLocation) {
  const Outcome outcome = RunMainboardOnTestDag({"bad_interval.dag"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err,
              HasSubstr("tests/testdata/bad_interval.dag:6:29: error: interval must be > 0"));
}

TEST_F(LauncherE2eTest, MainboardInvalidConfFailsWithTheValidatorsLocation) {
  const Outcome outcome = RunToEnd(kMainboard, {"-d", TestData("good.dag"), "--conf",
                                                TestData("bad_policy.conf"), "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err,
              HasSubstr("the scheduler conf tests/testdata/bad_policy.conf is not valid"));
  EXPECT_THAT(outcome.err,
              HasSubstr("tests/testdata/bad_policy.conf:10:28: error: policy \"SCHED_FAST\" is "
                        "not a Linux scheduling policy"));
}

TEST_F(LauncherE2eTest, MainboardWithoutDagIsAUsageError) {
  const Outcome outcome = RunToEnd(kMainboard, {"-p", "robot", "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("mainboard: no DAG file given (-d FILE)"));
}

TEST_F(LauncherE2eTest, MainboardSingleDashLongFlagsAreNotReadAsShortOptions) {
  // -strict is gflags' single-dash form of --strict, not "-s trict"; with it, a missing
  // conf (the default plan) is an error instead of a warning.
  const Outcome outcome = RunToEnd(
      kMainboard, {"-d", TestData("good.dag"), "-p", "no_such_group", "-strict", "-duration_s=1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("no_such_group.conf"));
  EXPECT_THAT(outcome.err, ::testing::Not(HasSubstr("trict.conf")));
}

TEST_F(LauncherE2eTest, MainboardExplicitConfThatDoesNotExistFailsNamingIt) {
  const std::string conf = conf_dir_ + "/typo.conf";
  const Outcome outcome =
      RunToEnd(kMainboard, {"-d", TestData("good.dag"), "--conf", conf, "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("mainboard: cannot start:"));
  EXPECT_THAT(outcome.err,
              HasSubstr(conf + ": error: cannot read the config: No such file or directory"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("running")));
}

TEST_F(LauncherE2eTest, MainboardConfThatIsADirectoryFailsNamingIt) {
  const Outcome outcome =
      RunToEnd(kMainboard, {"-d", TestData("good.dag"), "--conf", conf_dir_, "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr(conf_dir_ + ": error: cannot read the config: "));
  EXPECT_THAT(outcome.err, HasSubstr(" is a directory, not a regular file"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("running")));
}

TEST_F(LauncherE2eTest, MainboardConfLookedUpByNameThatDoesNotExistRunsTheDefaultPlan) {
  // Cyber RT's behaviour, kept for <conf_dir>/<process_group>.conf only: a warning, exit 0.
  const Outcome outcome = RunToEnd(kMainboard, {"-d", TestData("good.dag"), "-p", "no_such_group",
                                                "--conf_dir", conf_dir_, "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("no config file at " + conf_dir_ + "/no_such_group.conf"));
  EXPECT_THAT(outcome.out, HasSubstr("default_grp/0"));
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
}

TEST_F(LauncherE2eTest, MainboardNegativeDurationIsAUsageError) {
  const Outcome outcome = RunToEnd(
      kMainboard, {"-d", TestData("good.dag"), "--conf", TestData("good.conf"), "--duration_s=-5"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("mainboard: --duration_s must be 0 (run until SIGINT/SIGTERM) "
                                     "or a positive number of seconds, not -5"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("running")));
}

TEST_F(LauncherE2eTest, MainboardUnknownFlagOrBadValueIsAUsageError) {
  // gflags alone would exit 1 for both, like a run that failed.
  const Outcome unknown =
      RunToEnd(kMainboard, {"-d", TestData("good.dag"), "--bogus", "--duration_s", "1"});
  ASSERT_TRUE(unknown.exited && unknown.exit_code == 2) << unknown.Describe();
  EXPECT_THAT(unknown.err, HasSubstr("mainboard: unknown flag '--bogus'"));
  const Outcome bad = RunToEnd(kMainboard, {"-d", TestData("good.dag"), "--duration_s=abc"});
  ASSERT_TRUE(bad.exited && bad.exit_code == 2) << bad.Describe();
  EXPECT_THAT(bad.err, HasSubstr("mainboard: flag --duration_s: 'abc' is not a valid int32"));
  EXPECT_THAT(bad.out, Not(HasSubstr("running")));
}

TEST_F(LauncherE2eTest, HelpExitsZeroWithTheFlags) {
  // gflags alone exits 1 for --help, like a failed run.
  const Outcome mainboard = RunToEnd(kMainboard, {"--help"});
  ASSERT_TRUE(mainboard.exited && mainboard.exit_code == 0) << mainboard.Describe();
  EXPECT_THAT(mainboard.out, HasSubstr("-duration_s"));
  const Outcome demo = RunToEnd(kRobotDemo, {"-h"});
  ASSERT_TRUE(demo.exited && demo.exit_code == 0) << demo.Describe();
  EXPECT_THAT(demo.out, HasSubstr("-duration_s"));
}

TEST_F(LauncherE2eTest, MainboardEmptyArgumentIsAUsageErrorNotACrash) {
  // An empty argument used to end in std::out_of_range (abort, exit 134).
  const Outcome alone = RunToEnd(kMainboard, {""});
  ASSERT_TRUE(alone.exited && alone.exit_code == 2) << alone.Describe();
  EXPECT_THAT(alone.err, HasSubstr("mainboard: unexpected argument ''"));
  const Outcome after = RunToEnd(kMainboard, {"-d", TestData("good.dag"), "", "--duration_s", "1"});
  ASSERT_TRUE(after.exited && after.exit_code == 2) << after.Describe();
  EXPECT_THAT(after.err, HasSubstr("mainboard: unexpected argument ''"));
}

// ---------------------------------------------------------------------------------------
// robot_demo.

TEST_F(LauncherE2eTest, RobotDemoStrayArgumentIsAUsageError) {
  const Outcome outcome = RunToEnd(kRobotDemo, {"--duration_s", "1", "foo", "bar"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("robot_demo: unexpected argument 'foo'"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("robot_demo: ok")));
}

TEST_F(LauncherE2eTest, RobotDemoRunsForItsDurationAndReports) {
  const Outcome outcome = RunToEnd(kRobotDemo, {"--conf", "conf/robot.conf", "--duration_s", "1"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: running for 1 s"));
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: stopped (time is up)"));
  // conf/robot.conf is the shipped symlink (robot_classic.conf unless re-pointed).
  EXPECT_THAT(outcome.out, HasSubstr("conf: conf/robot.conf -> "));
  EXPECT_GT(TaskRuns(outcome.out, "motion_sensor"), 0) << outcome.out;
  // The thread table, after the run too.
  const size_t stopped = outcome.out.find("robot_demo: stopped");
  ASSERT_NE(stopped, std::string::npos);
  const std::string after = outcome.out.substr(stopped);
  EXPECT_THAT(after, HasSubstr("threads (requested vs effective):"));
  // Read from the kernel while every thread still ran: each row as asked, none unreadable.
  const size_t table = after.find("threads (requested vs effective):");
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(after.substr(table), '\n')) {
    if (!absl::StartsWith(line, "  processor ") && !absl::StartsWith(line, "  thread ")) continue;
    ++rows;
    EXPECT_TRUE(absl::EndsWith(line, "as asked")) << line;
  }
  EXPECT_EQ(rows, 4) << after;  // realtime/0, background/0-1, logger.
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: ok (0 failed or throwing task runs)"));
}

TEST_F(LauncherE2eTest, RobotDemoNegativeDurationIsAUsageError) {
  const Outcome outcome = RunToEnd(kRobotDemo, {"--conf", "conf/robot.conf", "--duration_s=-5"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("robot_demo: --duration_s must be 0 (run until "
                                     "SIGINT/SIGTERM) or a positive number of seconds, not -5"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("running for")));
}

TEST_F(LauncherE2eTest, RobotDemoBadFlagValueIsAUsageError) {
  const Outcome outcome = RunToEnd(kRobotDemo, {"--conf", "conf/robot.conf", "--duration_s", "1s"});
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 2) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("robot_demo: flag --duration_s: '1s' is not a valid int32"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("running for")));
}

// On the classic layout (the temp copy, so a re-pointed conf/robot.conf does not matter).
TEST_F(LauncherE2eTest, RobotDemoUntilSigtermHasItsRealtimeThreadOnCpu0) {
  std::unique_ptr<Child> child =
      Child::Start(kRobotDemo, {"--conf", conf_dir_ + "/robot.conf", "--duration_s", "0"});
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("robot_demo: running for"));
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "realtime/0", kSchedFifo, 60, kCpu0);
  // The conf's "logger" thread keeps the process's name (StartThread does not rename it):
  // found by the TID the thread table printed.
  const pid_t logger = NamedThreadTid(child->out(), "logger");
  ASSERT_GT(logger, 0) << child->out();
  absl::StatusOr<ProcThread> logger_thread = ReadProcThread(child->pid(), logger);
  ASSERT_TRUE(logger_thread.ok()) << logger_thread.status();
  logger_thread->name = "logger";
  ExpectThread({{"logger", *logger_thread}}, "logger", kSchedOther, 5, kCpu1);
  EXPECT_TRUE(WaitForProgress(child->pid(), "realtime/0", 3));

  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  EXPECT_THAT(outcome.out, HasSubstr("/robot_classic.conf (classic)"));
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: stopped (Terminated)"));
  EXPECT_GT(TaskRuns(outcome.out, "motion_sensor"), 0) << outcome.out;
  EXPECT_THAT(outcome.out, HasSubstr("robot_demo: ok"));
}

// ---------------------------------------------------------------------------------------
// Without CAP_SYS_NICE and with RLIMIT_RTPRIO 0.

TEST_F(LauncherE2eTest, MainboardUnprivilegedFallsBackAndStillStopsCleanly) {
  std::unique_ptr<Child> child =
      Child::Start(kMainboard, RobotArgs(), &test_support::DropSchedulingPrivileges);
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(child->WaitForLine("mainboard: running"));
  // execv as root does not bring CAP_SYS_NICE back: it left the bounding set.
  EXPECT_FALSE(CapSysNiceInEffect(child->pid()));
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  ExpectThread(threads, "realtime/0", kSchedOther, 0, kCpu0);
  ExpectThread(threads, "background/0", kSchedBatch, 10, kCpus01);
  EXPECT_TRUE(WaitForProgress(child->pid(), "realtime/0", 3));

  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  bool fell_back = false;
  for (absl::string_view line : absl::StrSplit(outcome.out, '\n')) {
    if (absl::StrContains(line, "realtime/0") && absl::StrContains(line, "FELL BACK")) {
      fell_back = true;
    }
  }
  EXPECT_TRUE(fell_back) << outcome.out;
  EXPECT_THAT(outcome.out, HasSubstr("mainboard: stopped cleanly"));
  EXPECT_GT(TaskRuns(outcome.out, "motion_sensor"), 0) << outcome.out;
}

TEST_F(LauncherE2eTest, MainboardUnprivilegedStrictFailsNamingTheProcessor) {
  std::vector<std::string> args = RobotArgs();
  args.push_back("--strict");
  std::unique_ptr<Child> child =
      Child::Start(kMainboard, args, &test_support::DropSchedulingPrivileges);
  ASSERT_NE(child, nullptr);
  const Outcome outcome = child->Finish();
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << outcome.Describe();
  EXPECT_THAT(outcome.err, HasSubstr("mainboard: cannot start:"));
  // The validator refuses it before any thread starts, at the processor policy's location
  // in the conf (reached through the symlink).
  EXPECT_THAT(outcome.err,
              HasSubstr("the scheduler conf " + conf_dir_ + "/robot.conf is not valid"));
  EXPECT_TRUE(HasErrorAt(outcome.err, conf_dir_ + "/robot.conf",
                         "group \"realtime\" asks for SCHED_FIFO 60 but this process may not "
                         "use it"))
      << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("no CAP_SYS_NICE and RLIMIT_RTPRIO is 0"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("mainboard: running")));
}

}  // namespace
}  // namespace cadence
