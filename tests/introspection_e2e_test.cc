// End-to-end tests of the published scheduling state: robot_demo (and mainboard) run as
// processes that publish their state into a temporary directory (--state_dir); schedctl ps
// and schedctl top, run as processes too, read it. Checked: every thread and processor of
// the conf behind conf/robot.conf shows requested == effective, matching the conf and what
// /proc reports; top's figures for the 1 kHz motion_sensor task are there and plausible;
// another user (nobody) is refused with a clear message; --nopublish_state publishes
// nothing and schedctl says so; the socket is gone after SIGTERM. And `schedctl template`
// on every Apollo Cyber RT DAG of shared/compat/cyber writes a conf that passes
// `schedctl check` and names every component.
//
// A test waits for the child's "state: <socket>" line, never for a fixed time; poll()
// timeouts are failure guards only (tests/child_process.h).
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/proc_thread.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "scheduler/config/plan.h"
#include "scheduler/config/validator.h"
#include "scheduler/launcher/dag.h"
#include "tests/child_process.h"
#include "tests/shared_dirs.h"

namespace cadence {
namespace {

using test_support::Child;
using test_support::Outcome;
using test_support::RunToEnd;
using test_support::TempDir;
using test_support::ThreadsOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRobotDemo[] = "examples/robot/robot_demo";
constexpr char kMainboard[] = "tools/mainboard/mainboard";
constexpr char kSchedctl[] = "tools/schedctl/schedctl";
constexpr char kRobotConf[] = "conf/robot.conf";
constexpr char kRobotDag[] = "examples/robot/robot.dag";

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The lines of `text` split on blanks.
std::vector<std::vector<std::string>> Rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return rows;
}

// The row of a table whose first cell is `first`, keyed by the cells of the closest header
// above it (the row starting with `header_first`); empty when there is none.
std::map<std::string, std::string> TableRow(const std::string& text,
                                            const std::string& header_first,
                                            const std::string& first) {
  std::vector<std::string> header;
  for (const std::vector<std::string>& row : Rows(text)) {
    if (row.empty()) continue;
    if (row[0] == header_first) header = row;
    if (row[0] != first || header.empty()) continue;
    EXPECT_EQ(row.size(), header.size()) << absl::StrJoin(row, " ");
    std::map<std::string, std::string> cells;
    for (size_t i = 0; i < row.size() && i < header.size(); ++i) cells[header[i]] = row[i];
    return cells;
  }
  return {};
}

// The line of schedctl ps's cadence thread table for thread `name` ("" when none).
std::string StateRow(const std::string& ps_output, const std::string& name) {
  const size_t section = ps_output.find("threads the conf configures");
  if (section == std::string::npos) return "";
  for (absl::string_view line : absl::StrSplit(ps_output.substr(section), '\n')) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() > 3 && words[2] == name) return std::string(line);
  }
  return "";
}

int Occurrences(const std::string& text, const std::string& part) {
  int count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// Expects /proc's view of a thread to be what `want` asks.
void ExpectKernelView(const ProcThread& t, const ThreadAttributes& want, const std::string& name) {
  EXPECT_EQ(t.policy, NativePolicy(want.policy)) << name;
  if (want.policy == SchedPolicy::kFifo || want.policy == SchedPolicy::kRr) {
    EXPECT_EQ(t.rt_priority, want.rt_priority) << name;
  }
  if (UsesNice(want.policy)) {
    EXPECT_EQ(t.nice, want.nice) << name;
  }
  if (!want.cpus.Empty()) {
    EXPECT_EQ(t.cpus_allowed, want.cpus) << name << " may run on " << t.cpus_allowed.ToString();
  }
}

// A copy of schedctl that user nobody may run (the build tree lies under root's private
// home), in a directory removed at scope exit.
class SchedctlForNobody {
 public:
  SchedctlForNobody() {
    std::string dir = "/tmp/cadence_e2e.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << strerror(errno);
      return;
    }
    dir_ = dir;
    EXPECT_EQ(chmod(dir_.c_str(), 0755), 0) << strerror(errno);
    std::error_code error;
    std::filesystem::copy_file(kSchedctl, dir_ + "/schedctl", error);
    EXPECT_FALSE(error) << error.message();
    EXPECT_EQ(chmod((dir_ + "/schedctl").c_str(), 0755), 0) << strerror(errno);
  }
  ~SchedctlForNobody() {
    std::error_code error;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, error);
  }
  std::string path() const { return dir_ + "/schedctl"; }

 private:
  std::string dir_;
};

class IntrospectionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "the robot confs use CPUs 0 and 1";
    // Under /tmp: Bazel's TEST_TMPDIR is too deep for a Unix socket path (107 bytes).
    std::string pattern = "/tmp/cadence_e2e_state.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << strerror(errno);
    state_dir_ = pattern;
  }

  void TearDown() override {
    std::error_code error;
    if (!state_dir_.empty()) std::filesystem::remove_all(state_dir_, error);
  }

  // Starts `binary` (robot_demo unless told) publishing into state_dir_ and waits for its
  // "state: " line; sets socket_ to the path it names.
  std::unique_ptr<Child> StartPublishing(const std::vector<std::string>& extra = {},
                                         const std::string& binary = kRobotDemo) {
    std::vector<std::string> args = {"--state_dir", state_dir_};
    if (binary == kRobotDemo) args.insert(args.end(), {"--conf", kRobotConf, "--duration_s", "60"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::unique_ptr<Child> child = Child::Start(binary, args);
    if (child == nullptr || !child->WaitForLine("state: ")) return nullptr;
    for (absl::string_view line : absl::StrSplit(child->out(), '\n')) {
      if (absl::ConsumePrefix(&line, "state: ")) socket_ = std::string(line);
    }
    return child;
  }

  // SIGTERMs the child: exit 0, and its socket file is gone.
  void StopAndExpectSocketRemoved(Child& child, const std::string& done_line) {
    const Outcome outcome = child.Finish(SIGTERM);
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
    EXPECT_THAT(outcome.out, HasSubstr(done_line));
    EXPECT_FALSE(Exists(socket_)) << socket_ << " is left behind";
  }

  Outcome Schedctl(const std::vector<std::string>& args) { return RunToEnd(kSchedctl, args); }

  std::string state_dir_;
  std::string socket_;
};

TEST_F(IntrospectionE2eTest, PsShowsEveryConfThreadWithRequestedEqualToEffective) {
  // The conf behind the shipped symlink, as the runtime reads it.
  absl::StatusOr<Validation> conf = LoadAndValidate(kRobotConf, Machine::Read());
  ASSERT_TRUE(conf.ok()) << conf.status();
  ASSERT_TRUE(conf->ok()) << conf->diagnostics.ToString();
  const Plan& plan = conf->plan;
  const std::string real_conf = RealPath(kRobotConf);
  ASSERT_FALSE(real_conf.empty());
  EXPECT_EQ(plan.real_config_path, real_conf);

  std::unique_ptr<Child> child = StartPublishing();
  ASSERT_NE(child, nullptr);
  const std::string pid = absl::StrCat(child->pid());
  EXPECT_EQ(socket_, absl::StrCat(state_dir_, "/", pid, ".sock"));
  struct stat st;
  ASSERT_EQ(lstat(socket_.c_str(), &st), 0) << socket_ << ": " << strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  const Outcome ps = Schedctl({"ps", pid, "--state_dir", state_dir_, "--interval_ms", "0"});
  ASSERT_TRUE(ps.exited && ps.exit_code == 0) << ps.Describe();
  EXPECT_THAT(ps.out, HasSubstr(absl::StrCat("cadence state of pid ", pid, " (robot_demo) from ",
                                             socket_)));
  EXPECT_THAT(ps.out, HasSubstr(absl::StrCat("conf: ", kRobotConf, " -> ", real_conf, " (",
                                             SchedulerKindName(plan.kind), ")")));
  // The kernel's table lists the state thread too.
  EXPECT_EQ(ThreadsOf(child->pid()).count("cadence/state"), 1u);

  // Every processor and named thread: requested == effective == the conf == /proc.
  const std::map<std::string, ProcThread> threads = ThreadsOf(child->pid());
  std::vector<std::pair<std::string, ThreadAttributes>> expected;
  for (const ProcessorPlan& p : plan.processors) expected.push_back({p.name, p.attributes});
  for (const InnerThreadPlan& t : plan.inner_threads) expected.push_back({t.name, t.attributes});
  ASSERT_FALSE(expected.empty());
  for (const auto& [name, attributes] : expected) {
    const std::string row = StateRow(ps.out, name);
    ASSERT_FALSE(row.empty()) << "no row for " << name << " in:\n" << ps.out;
    EXPECT_EQ(Occurrences(row, "  " + Describe(attributes) + "  "), 2)
        << "requested and effective should both be " << Describe(attributes) << ": " << row;
    EXPECT_TRUE(absl::StrContains(row, " yes ")) << row;
    EXPECT_TRUE(absl::EndsWith(row, "as asked")) << row;
    // The TID in the row is the thread /proc shows with these attributes.
    std::vector<absl::string_view> words = absl::StrSplit(row, ' ', absl::SkipEmpty());
    pid_t tid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(words[0], &tid)) << row;
    absl::StatusOr<ProcThread> kernel = ReadProcThread(child->pid(), tid);
    ASSERT_TRUE(kernel.ok()) << name << ": " << kernel.status();
    ExpectKernelView(*kernel, attributes, name);
    EXPECT_EQ(kernel->name, name.substr(0, 15));
    EXPECT_EQ(threads.count(name.substr(0, 15)), 1u) << name;
  }

  // Processor -> tasks: every task the conf places is listed under its processor(s).
  for (size_t i = 0; i < plan.processors.size(); ++i) {
    const ProcessorPlan& p = plan.processors[i];
    const size_t at = ps.out.find(absl::StrCat("\n  ", p.name, " (tid "));
    ASSERT_NE(at, std::string::npos) << p.name << " in:\n" << ps.out;
    const size_t conf_line = ps.out.find("      conf: ", at);
    ASSERT_NE(conf_line, std::string::npos);
    const std::string listed = ps.out.substr(conf_line, ps.out.find('\n', conf_line) - conf_line);
    for (const auto& [task, placement] : plan.tasks) {
      const bool here = placement.queue == p.queue &&
                        (placement.processor < 0 || placement.processor == static_cast<int>(i));
      EXPECT_EQ(absl::StrContains(listed, task), here) << p.name << " " << task << ": " << listed;
    }
  }
  StopAndExpectSocketRemoved(*child, "robot_demo: ok");
}

TEST_F(IntrospectionE2eTest, TopOnceShowsMotionSensorRunningWithWakeFigures) {
  std::unique_ptr<Child> child = StartPublishing();
  ASSERT_NE(child, nullptr);
  const std::string pid = absl::StrCat(child->pid());
  const Outcome top =
      Schedctl({"top", pid, "--once", "--interval_ms", "500", "--state_dir", state_dir_});
  ASSERT_TRUE(top.exited && top.exit_code == 0) << top.Describe();
  EXPECT_THAT(top.out, HasSubstr(absl::StrCat("pid ", pid, " (robot_demo), conf ", kRobotConf)));
  EXPECT_THAT(top.out, Not(HasSubstr("\033[")));  // --once: no screen control.

  const std::map<std::string, std::string> sensor = TableRow(top.out, "TASK", "motion_sensor");
  ASSERT_FALSE(sensor.empty()) << top.out;
  double runs_per_second = 0, p50 = 0, p99 = 0, max = 0, runs = 0;
  ASSERT_TRUE(absl::SimpleAtod(sensor.at("RUNS/s"), &runs_per_second)) << top.out;
  // A 1 kHz task: it ran in the interval. Its releases are never run in a burst (a late
  // one is skipped), so the interval top shows, which holds every run it counts, holds at
  // most one run per millisecond of it plus the two at its ends (and 0.5 for rounding).
  const size_t over = top.out.find("over the last ");
  ASSERT_NE(over, std::string::npos) << top.out;
  double interval_ms = 0;
  ASSERT_TRUE(absl::SimpleAtod(
      top.out.substr(over + 14, top.out.find(" ms", over) - over - 14), &interval_ms))
      << top.out;
  ASSERT_GE(interval_ms, 500) << top.out;
  EXPECT_GT(runs_per_second, 0) << top.out;
  EXPECT_LE(runs_per_second, (interval_ms + 2) * 1000 / interval_ms + 0.5) << top.out;
  ASSERT_TRUE(absl::SimpleAtod(sensor.at("WAKE_p50"), &p50)) << top.out;
  ASSERT_TRUE(absl::SimpleAtod(sensor.at("WAKE_p99"), &p99)) << top.out;
  ASSERT_TRUE(absl::SimpleAtod(sensor.at("WAKE_max"), &max)) << top.out;
  EXPECT_LE(p50, p99) << top.out;
  EXPECT_LE(p99, max) << top.out;
  ASSERT_TRUE(absl::SimpleAtod(sensor.at("RUNS"), &runs)) << top.out;
  EXPECT_GT(runs, 0) << top.out;
  for (const char* column : {"RUN_avg", "MISSES", "OVERRUNS", "COALESCED", "DROPPED"}) {
    double value = -1;
    EXPECT_TRUE(absl::SimpleAtod(sensor.at(column), &value) && value >= 0)
        << column << ": " << top.out;
  }
  // Every component's task is listed.
  for (const char* task :
       {"motion_control", "led_effects", "camera", "preview", "file_source", "parse"}) {
    EXPECT_FALSE(TableRow(top.out, "TASK", task).empty()) << task << " in:\n" << top.out;
  }
  // The processor serving motion_sensor ran tasks in the interval, and says how busy it
  // was (a share of the interval: how much depends on the machine, so only its range).
  bool found = false;
  std::vector<std::string> header;
  for (const std::vector<std::string>& row : Rows(top.out)) {
    if (!row.empty() && row[0] == "PROCESSOR") header = row;
    if (header.empty() || row.size() != header.size()) continue;
    std::map<std::string, std::string> cells;
    for (size_t i = 0; i < row.size(); ++i) cells[header[i]] = row[i];
    if (!absl::StrContains(cells["TASKS"], "motion_sensor")) continue;
    found = true;
    double busy = -1, processor_runs = 0, yields = -1;
    ASSERT_TRUE(absl::SimpleAtod(cells["BUSY%"], &busy)) << absl::StrJoin(row, " ");
    EXPECT_GE(busy, 0);
    EXPECT_LE(busy, 100);
    ASSERT_TRUE(absl::SimpleAtod(cells["RUNS/s"], &processor_runs)) << absl::StrJoin(row, " ");
    EXPECT_GT(processor_runs, 0) << absl::StrJoin(row, " ");
    // A queue with timers never yields (its processors sleep until the next release).
    ASSERT_TRUE(absl::SimpleAtod(cells["YIELDS/s"], &yields)) << absl::StrJoin(row, " ");
    EXPECT_EQ(yields, 0) << absl::StrJoin(row, " ");
  }
  EXPECT_TRUE(found) << "no processor serves motion_sensor in:\n" << top.out;
  StopAndExpectSocketRemoved(*child, "robot_demo: ok");
}

TEST_F(IntrospectionE2eTest, AnotherUsersStateIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run schedctl as another user";
  SchedctlForNobody schedctl;
  std::unique_ptr<Child> child = StartPublishing();
  ASSERT_NE(child, nullptr);
  const std::string pid = absl::StrCat(child->pid());
  const std::string refusal = absl::StrCat(
      "schedctl: process ", pid,
      " belongs to user root (uid 0); you are nobody (uid 65534): only its user and root may "
      "read its cadence state");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"top", pid, "--once", "--interval_ms", "100", "--state_dir",
                                 state_dir_},
        std::vector<std::string>{"ps", pid, "--interval_ms", "0", "--state_dir", state_dir_}}) {
    std::unique_ptr<Child> as_nobody =
        Child::Start(schedctl.path(), args, &test_support::BecomeNobody);
    ASSERT_NE(as_nobody, nullptr);
    const Outcome outcome = as_nobody->Finish();
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 1) << args[0] << ": " << outcome.Describe();
    EXPECT_THAT(outcome.err, HasSubstr(refusal)) << args[0];
    EXPECT_THAT(outcome.out, Not(HasSubstr("cadence state of pid"))) << args[0];
  }
  StopAndExpectSocketRemoved(*child, "robot_demo: ok");
}

TEST_F(IntrospectionE2eTest, NoPublishStateLeavesNoSocketAndSchedctlSaysSo) {
  std::unique_ptr<Child> child = StartPublishing({"--nopublish_state"});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(socket_, "not published (--nopublish_state)");
  const std::string pid = absl::StrCat(child->pid());
  EXPECT_FALSE(Exists(absl::StrCat(state_dir_, "/", pid, ".sock")));
  const std::string message =
      absl::StrCat("process ", pid,
                   " does not publish cadence state (not a cadence process, or started with "
                   "--nopublish_state)");
  const Outcome ps = Schedctl({"ps", pid, "--interval_ms", "0", "--state_dir", state_dir_});
  ASSERT_TRUE(ps.exited && ps.exit_code == 0) << ps.Describe();
  EXPECT_THAT(ps.out, HasSubstr("cadence: " + message));
  EXPECT_THAT(ps.out, HasSubstr("realtime/0"));  // The kernel's view is still there.
  const Outcome top =
      Schedctl({"top", pid, "--once", "--interval_ms", "100", "--state_dir", state_dir_});
  ASSERT_TRUE(top.exited && top.exit_code == 1) << top.Describe();
  EXPECT_THAT(top.err, HasSubstr("schedctl: " + message));
  const Outcome outcome = child->Finish(SIGTERM);
  ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
}

TEST_F(IntrospectionE2eTest, MainboardPublishesItsStateToo) {
  std::unique_ptr<Child> child =
      StartPublishing({"-d", kRobotDag, "--conf", kRobotConf}, kMainboard);
  ASSERT_NE(child, nullptr);
  const std::string pid = absl::StrCat(child->pid());
  EXPECT_EQ(socket_, absl::StrCat(state_dir_, "/", pid, ".sock"));
  const Outcome top =
      Schedctl({"top", pid, "--once", "--interval_ms", "200", "--state_dir", state_dir_});
  ASSERT_TRUE(top.exited && top.exit_code == 0) << top.Describe();
  EXPECT_THAT(top.out, HasSubstr(absl::StrCat("pid ", pid, " (mainboard)")));
  EXPECT_FALSE(TableRow(top.out, "TASK", "motion_sensor").empty()) << top.out;
  StopAndExpectSocketRemoved(*child, "mainboard: stopped cleanly");
}

TEST(IntrospectionE2eTemplateTest, EveryCompatDagGivesAConfThatChecksAndNamesEveryComponent) {
  std::string looked;
  const std::string cyber = testing::FindCompatCyberDir(&looked);
  if (cyber.empty()) GTEST_SKIP() << "no shared/compat/cyber; looked" << looked;
  std::vector<std::string> dags;
  for (const auto& entry : std::filesystem::directory_iterator(cyber)) {
    if (entry.path().extension() == ".dag") dags.push_back(entry.path().string());
  }
  ASSERT_FALSE(dags.empty()) << "no .dag in " << cyber;
  std::string out_dir = absl::StrCat(TempDir(), "/template_XXXXXX");
  ASSERT_NE(mkdtemp(out_dir.data()), nullptr) << strerror(errno);

  for (const std::string& dag_path : dags) {
    absl::StatusOr<Dag> dag = LoadDagFile(dag_path);
    ASSERT_TRUE(dag.ok()) << dag.status();
    ASSERT_FALSE(dag->components.empty()) << dag_path;
    for (const char* layout : {"classic", "choreography"}) {
      const Outcome made =
          RunToEnd(kSchedctl, {"template", "-d", dag_path, absl::StrCat("--layout=", layout)});
      ASSERT_TRUE(made.exited && made.exit_code == 0) << dag_path << ": " << made.Describe();
      const std::string conf = absl::StrCat(
          out_dir, "/", std::filesystem::path(dag_path).stem().string(), "_", layout, ".conf");
      {
        std::ofstream file(conf);
        file << made.out;
        ASSERT_TRUE(file.good()) << conf;
      }
      const Outcome checked = RunToEnd(kSchedctl, {"check", conf});
      EXPECT_TRUE(checked.exited && checked.exit_code == 0) << conf << ": " << checked.Describe();
      EXPECT_THAT(checked.out, HasSubstr(conf + ": ok (0 errors")) << checked.out;
      // Every component of the DAG is a task of the conf.
      absl::StatusOr<Validation> v = LoadAndValidate(conf, Machine::Read());
      ASSERT_TRUE(v.ok()) << v.status();
      for (const DagComponent& c : dag->components) {
        EXPECT_EQ(v->plan.tasks.count(c.name), 1u)
            << conf << " does not name component " << c.name << ":\n"
            << made.out;
      }
    }
  }
  std::error_code error;
  std::filesystem::remove_all(out_dir, error);
}

}  // namespace
}  // namespace cadence
