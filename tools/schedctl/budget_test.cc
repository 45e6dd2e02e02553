#include "tools/schedctl/budget.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/cpuset.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A plan made from conf text, validated against a privileged 2-CPU machine.
Plan PlanOf(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return Plan();
  Validation v = Validate(*loaded, Machine::ForTest(2));
  EXPECT_TRUE(v.ok()) << v.diagnostics.ToString();
  return v.plan;
}

// One SCHED_FIFO processor pinned to CPU 0 whose periodic tasks declare 30% of a CPU.
Plan FifoPlan(bool busy_spin = false) {
  return PlanOf(std::string(R"(
    scheduler_conf {
      policy: "classic"
      classic_conf {
        groups: [
          { name: "rt" processor_num: 1 affinity: "1to1" cpuset: "0"
            processor_policy: "SCHED_FIFO" processor_prio: 60 )") +
                (busy_spin ? "busy_spin: true" : "") + R"(
            tasks: [ { name: "a" prio: 10 period_us: 1000 budget_us: 300 } ] },
          { name: "bg" processor_num: 1 cpuset: "1" processor_policy: "SCHED_OTHER" }
        ]
      }
    })");
}

// Two SCHED_DEADLINE processors, each 40% of a CPU, on `cpuset`.
Plan DeadlinePlan(const std::string& affinity, const std::string& cpuset) {
  return PlanOf(R"(
    scheduler_conf {
      policy: "classic"
      classic_conf {
        groups: [
          { name: "dl" processor_num: 2 affinity: ")" +
                affinity + R"(" cpuset: ")" + cpuset + R"("
            processor_policy: "SCHED_DEADLINE"
            processor_runtime_us: 4000 processor_deadline_us: 10000 processor_period_us: 10000 }
        ]
      }
    })");
}

// A root process with default throttling on 2 CPUs, in the root cgroup of a v1 cpu
// controller with RT group scheduling.
BudgetFacts RootFacts() {
  BudgetFacts f;
  f.rt_runtime_us = 950000;
  f.rt_period_us = 1000000;
  f.cgroup_v1_mount = "/sys/fs/cgroup/cpu";
  f.cgroup_v1_path = "/";
  f.cgroup_v1_levels = {{"/", "/sys/fs/cgroup/cpu", 950000, 1000000}};
  f.cap_sys_nice = true;
  f.online = CpuSet::Range(0, 1);
  f.server_cpus = 0.1;
  f.server_source = "test";
  return f;
}

// The same process moved into /a/b, whose budget (and its parent's) is `runtime_us`.
BudgetFacts InCgroup(int64_t runtime_us) {
  BudgetFacts f = RootFacts();
  f.cgroup_v1_path = "/a/b";
  f.cgroup_v1_levels.push_back({"/a", "/sys/fs/cgroup/cpu/a", runtime_us, 1000000});
  f.cgroup_v1_levels.push_back({"/a/b", "/sys/fs/cgroup/cpu/a/b", runtime_us, 1000000});
  return f;
}

const Verdict& Find(const std::vector<Verdict>& verdicts, const std::string& check) {
  for (const Verdict& v : verdicts) {
    if (v.check == check) return v;
  }
  static const Verdict kMissing;
  ADD_FAILURE() << "no verdict for " << check;
  return kMissing;
}

bool AllFit(const std::vector<Verdict>& verdicts) {
  for (const Verdict& v : verdicts) {
    if (!v.fits) return false;
  }
  return true;
}

TEST(BudgetTest, FifoWorkWithinDefaultThrottlingFits) {
  const std::vector<Verdict> verdicts = JudgePlan(FifoPlan(), RootFacts());
  EXPECT_TRUE(AllFit(verdicts));
  EXPECT_THAT(Find(verdicts, "RT throttling").detail, HasSubstr("rt/0 (SCHED_FIFO 60, CPU 0)"));
  EXPECT_THAT(Find(verdicts, "RT throttling").detail, HasSubstr("30.0%"));
  EXPECT_THAT(Find(verdicts, "cgroup RT budget").detail, HasSubstr("root cpu cgroup"));
}

TEST(BudgetTest, NoRealTimeWorkFitsAnywhere) {
  BudgetFacts facts = InCgroup(0);
  facts.rt_runtime_us = 0;
  facts.cap_sys_nice = false;
  const Plan plan = PlanOf(R"(scheduler_conf { classic_conf { groups: [
      { name: "g" processor_num: 2 cpuset: "0-1" processor_policy: "SCHED_OTHER" } ] } })");
  EXPECT_TRUE(AllFit(JudgePlan(plan, facts)));
}

TEST(BudgetTest, RealTimeSwitchedOffDoesNotFit) {
  BudgetFacts facts = RootFacts();
  facts.rt_runtime_us = 0;
  const Verdict v = Find(JudgePlan(FifoPlan(), facts), "RT throttling");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("switched off"));
  EXPECT_THAT(v.hint, HasSubstr("> /proc/sys/kernel/sched_rt_runtime_us"));
  EXPECT_FALSE(JudgeRealTimeAvailable(facts).fits);
}

TEST(BudgetTest, BusySpinDoesNotFitThrottlingUnlessItIsOff) {
  const Verdict v = Find(JudgePlan(FifoPlan(/*busy_spin=*/true), RootFacts()), "RT throttling");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("busy-spins"));
  EXPECT_THAT(v.hint, HasSubstr("echo -1 > /proc/sys/kernel/sched_rt_runtime_us"));

  BudgetFacts unlimited = RootFacts();
  unlimited.rt_runtime_us = -1;
  EXPECT_TRUE(AllFit(JudgePlan(FifoPlan(/*busy_spin=*/true), unlimited)));
  EXPECT_THAT(FormatFacts(unlimited), HasSubstr("unlimited"));
}

// A fact that could not be read is printed first, with what was assumed in its place.
TEST(BudgetTest, FactsThatCouldNotBeReadArePrintedAsAssumed) {
  BudgetFacts facts = RootFacts();
  EXPECT_THAT(FormatFacts(facts), Not(HasSubstr("assumed:")));
  facts.unread.push_back(
      "cannot read /proc/sys/kernel/sched_rt_runtime_us (Permission denied): assuming 950000, "
      "the kernel's default");
  EXPECT_THAT(FormatFacts(facts),
              StartsWith("assumed: cannot read /proc/sys/kernel/sched_rt_runtime_us "
                         "(Permission denied): assuming 950000, the kernel's default\n"));
}

TEST(BudgetTest, PeriodicBudgetsBeyondThrottlingDoNotFit) {
  BudgetFacts facts = RootFacts();
  facts.rt_runtime_us = 200000;  // 20% < the 30% the tasks declare
  const Verdict v = Find(JudgePlan(FifoPlan(), facts), "RT throttling");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("queue rt: its periodic tasks declare 30.0% of a CPU"));
  EXPECT_THAT(v.hint, HasSubstr("raise it to at least 300000"));
}

TEST(BudgetTest, CgroupWithoutBudgetRefusesFifoAndSaysHowToGrantIt) {
  const std::vector<Verdict> verdicts = JudgePlan(FifoPlan(), InCgroup(0));
  const Verdict& v = Find(verdicts, "cgroup RT budget");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("cpu.rt_runtime_us = 0"));
  EXPECT_THAT(v.detail, HasSubstr("EPERM"));
  // Parents first.
  EXPECT_THAT(v.hint, HasSubstr("echo 300000 > /sys/fs/cgroup/cpu/a/cpu.rt_runtime_us; "
                                "echo 300000 > /sys/fs/cgroup/cpu/a/b/cpu.rt_runtime_us"));
  EXPECT_TRUE(Find(verdicts, "RT throttling").fits);
  EXPECT_FALSE(JudgeRealTimeAvailable(InCgroup(0)).fits);
}

TEST(BudgetTest, CgroupBudgetIsComparedWithTheDeclaredWork) {
  EXPECT_TRUE(Find(JudgePlan(FifoPlan(), InCgroup(400000)), "cgroup RT budget").fits);
  const Verdict small = Find(JudgePlan(FifoPlan(), InCgroup(100000)), "cgroup RT budget");
  EXPECT_FALSE(small.fits);
  EXPECT_THAT(small.hint, HasSubstr("echo 300000 > /sys/fs/cgroup/cpu/a/b/cpu.rt_runtime_us"));
  const Verdict spin =
      Find(JudgePlan(FifoPlan(/*busy_spin=*/true), InCgroup(400000)), "cgroup RT budget");
  EXPECT_FALSE(spin.fits);
  EXPECT_THAT(spin.hint, HasSubstr("never fits a cgroup's budget"));
}

TEST(BudgetTest, CgroupBudgetIsNotEnforcedWithoutThrottling) {
  BudgetFacts facts = InCgroup(0);
  facts.rt_runtime_us = -1;
  EXPECT_TRUE(AllFit(JudgePlan(FifoPlan(), facts)));
  EXPECT_TRUE(JudgeRealTimeAvailable(facts).fits);
}

TEST(BudgetTest, CgroupV2HasNoRtBudget) {
  BudgetFacts facts = RootFacts();
  facts.cgroup_v1_mount.clear();
  facts.cgroup_v1_levels.clear();
  facts.cgroup_v2_mount = "/sys/fs/cgroup";
  facts.cgroup_v2_path = "/user.slice";
  facts.cgroup_v2_unified = true;
  const Verdict v = Find(JudgePlan(FifoPlan(), facts), "cgroup RT budget");
  EXPECT_TRUE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("cgroup v2 has no real-time budget"));
  EXPECT_THAT(FormatFacts(facts), HasSubstr("v2 has no real-time budget control"));
}

TEST(BudgetTest, DeadlineWithinHeadroomFits) {
  // 0.8 CPUs asked; 2 x 0.95 - 0.1 servers = 1.8 left.
  const Verdict v =
      Find(JudgePlan(DeadlinePlan("range", "0-1"), RootFacts()), "SCHED_DEADLINE admission");
  EXPECT_TRUE(v.fits) << v.detail;
  EXPECT_THAT(v.detail, HasSubstr("0.800 CPUs of 1.800 left"));
}

TEST(BudgetTest, DeadlineBeyondHeadroomDoesNotFit) {
  BudgetFacts facts = RootFacts();
  facts.deadline_threads = {{1, 1, "other", 600000, 1000000}, {2, 2, "other", 600000, 1000000}};
  EXPECT_NEAR(facts.DeadlineHeadroomCpus(), 0.6, 1e-9);
  const Verdict v =
      Find(JudgePlan(DeadlinePlan("range", "0-1"), facts), "SCHED_DEADLINE admission");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("ask for 0.800 CPUs of bandwidth"));
  EXPECT_THAT(v.detail, HasSubstr("2 SCHED_DEADLINE thread(s) hold 1.200"));
  EXPECT_THAT(v.hint, HasSubstr("echo -1 >"));
}

TEST(BudgetTest, PinnedDeadlineProcessorsDoNotFit) {
  const Verdict v =
      Find(JudgePlan(DeadlinePlan("1to1", "0-1"), RootFacts()), "SCHED_DEADLINE admission");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.detail, HasSubstr("may not run on every online CPU"));
  EXPECT_THAT(v.detail, HasSubstr("EPERM"));
}

TEST(BudgetTest, PrivilegesSayWhatToGrant) {
  BudgetFacts facts = RootFacts();
  facts.cap_sys_nice = false;
  facts.rtprio_soft = 0;
  facts.rtprio_hard = 99;
  Verdict v = Find(JudgePlan(FifoPlan(), facts), "privileges");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.hint, HasSubstr("`ulimit -r 60`"));
  facts.rtprio_hard = 10;
  v = Find(JudgePlan(FifoPlan(), facts), "privileges");
  EXPECT_THAT(v.hint, HasSubstr("`rtprio 60` line"));
  EXPECT_THAT(v.hint, Not(HasSubstr("ulimit")));
  facts.rtprio_soft = 60;
  EXPECT_TRUE(Find(JudgePlan(FifoPlan(), facts), "privileges").fits);
  EXPECT_TRUE(JudgeRealTimeAvailable(facts).fits);
  // SCHED_DEADLINE needs CAP_SYS_NICE whatever RLIMIT_RTPRIO says.
  v = Find(JudgePlan(DeadlinePlan("range", "0-1"), facts), "privileges");
  EXPECT_FALSE(v.fits);
  EXPECT_THAT(v.hint, HasSubstr("SCHED_DEADLINE needs CAP_SYS_NICE"));
}

TEST(BudgetTest, FormatVerdictUsesItsWordsAndHint) {
  Verdict v;
  v.check = "x";
  v.fits = false;
  v.detail = "why";
  v.hint = "do this";
  EXPECT_EQ(FormatVerdict(v), "x: does not fit: why\n  hint: do this\n");
}

TEST(BudgetTest, PerCpuMapListsRealTimeWork) {
  const std::string map = FormatPerCpu(FifoPlan(), RootFacts());
  EXPECT_THAT(map, HasSubstr("cpu 0: rt/0 SCHED_FIFO 60 (up to 100%)"));
  EXPECT_THAT(map, HasSubstr("cpu 1: -"));
}

// One integer read from a /proc or /sys file (a test failure when it cannot be read).
int64_t ReadInt64(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int64_t value = 0;
  EXPECT_TRUE(std::getline(in, line)) << "cannot read " << path;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value))
      << path << ": '" << line << "'";
  return value;
}

// What Read() finds agrees with /proc, /sys and the process's limits on this host (the
// tests run as root with /proc and /sys readable: every read must succeed).
TEST(BudgetTest, ReadsThisHost) {
  const BudgetFacts facts = BudgetFacts::Read();
  EXPECT_TRUE(facts.unread.empty()) << facts.unread[0];
  EXPECT_EQ(facts.rt_runtime_us, ReadInt64("/proc/sys/kernel/sched_rt_runtime_us"));
  EXPECT_EQ(facts.rt_period_us, ReadInt64("/proc/sys/kernel/sched_rt_period_us"));

  struct rlimit rtprio;
  ASSERT_EQ(getrlimit(RLIMIT_RTPRIO, &rtprio), 0) << strerror(errno);
  const auto limit = [](rlim_t value) {
    return value == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(value);
  };
  EXPECT_EQ(facts.rtprio_soft, limit(rtprio.rlim_cur));
  EXPECT_EQ(facts.rtprio_hard, limit(rtprio.rlim_max));
  EXPECT_LE(facts.rtprio_soft, facts.rtprio_hard);

  std::ifstream online_file("/sys/devices/system/cpu/online");
  std::string online_text;
  ASSERT_TRUE(std::getline(online_file, online_text))
      << "cannot read /sys/devices/system/cpu/online";
  CpuSet online;
  CpuSet::ParseError error;
  ASSERT_TRUE(CpuSet::Parse(std::string(absl::StripAsciiWhitespace(online_text)), &online, &error))
      << online_text << ": " << error.message;
  EXPECT_FALSE(online.Empty());
  EXPECT_EQ(facts.online, online) << facts.online.ToString() << " vs " << online_text;

  std::ifstream status("/proc/self/status");
  std::string line;
  std::optional<uint64_t> cap_eff;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    uint64_t bits = 0;
    if (absl::ConsumePrefix(&rest, "CapEff:") &&
        absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &bits)) {
      cap_eff = bits;
    }
  }
  ASSERT_TRUE(cap_eff.has_value()) << "no CapEff line in /proc/self/status";
  constexpr int kCapSysNice = 23;
  EXPECT_EQ(facts.cap_sys_nice, ((*cap_eff >> kCapSysNice) & 1) != 0)
      << "CapEff " << std::hex << *cap_eff;

  EXPECT_GE(facts.DeadlineHeadroomCpus(), 0.0);
  EXPECT_THAT(FormatFacts(facts), HasSubstr("RT throttling: sched_rt_runtime_us = "));
  if (!facts.cgroup_v1_levels.empty()) {
    EXPECT_EQ(facts.cgroup_v1_levels[0].dir, facts.cgroup_v1_mount);
  }
}

}  // namespace
}  // namespace cadence
