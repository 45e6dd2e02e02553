// Machine::ReadFrom against a directory laid out like / (proc/..., sys/...): the facts it
// reads, and, for files that are missing or garbled, what it assumes and says it assumed
// (never an exception, never a silent default).
#include "scheduler/common/machine.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cadence {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class MachineTest : public ::testing::Test {
 protected:
  // A root with every file Read() reads, each valid (the tests overwrite or remove some).
  void SetUp() override {
    char dir[] = "/tmp/cadence-machine-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    Write("sys/devices/system/cpu/online", "0-1\n");
    Write("sys/devices/system/cpu/kernel_max", "8191\n");
    Write("proc/self/status", "Name:\tx\nCapEff:\t000001ffffffffff\n");
    Write("proc/sys/kernel/sched_rt_runtime_us", "950000\n");
    Write("proc/sys/kernel/sched_rt_period_us", "1000000\n");
    Write("proc/self/cgroup", "0::/\n");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Writes `text` to root_/path, creating the directories.
  void Write(const std::string& path, const std::string& text) {
    const std::filesystem::path file = std::filesystem::path(root_) / path;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  void Remove(const std::string& path) {
    std::filesystem::remove(std::filesystem::path(root_) / path);
  }

  std::string root_;
};

TEST_F(MachineTest, AllFactsReadMeansNothingAssumed) {
  const Machine m = Machine::ReadFrom(root_);
  EXPECT_THAT(m.unread, IsEmpty());
  EXPECT_EQ(m.online, CpuSet::Range(0, 1));
  EXPECT_TRUE(m.cap_sys_nice);
  EXPECT_EQ(m.cgroup_path, "");  // No v1 cpu controller in "0::/".
}

TEST_F(MachineTest, ReadsEveryFactFromItsFile) {
  Write("sys/devices/system/cpu/online", "0-2\n");
  Write("sys/devices/system/cpu/kernel_max", "63\n");
  Write("proc/self/status", "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000800000\n");
  Write("proc/sys/kernel/sched_rt_runtime_us", "-1\n");
  Write("proc/sys/kernel/sched_rt_period_us", "500000\n");
  Write("proc/self/cgroup", "5:memory:/x\n4:cpu,cpuacct:/grp\n");
  Write("sys/fs/cgroup/cpu,cpuacct/grp/cpu.rt_runtime_us", "0\n");
  Write("sys/fs/cgroup/cpu,cpuacct/grp/cpu.rt_period_us", "1000000\n");

  const Machine m = Machine::ReadFrom(root_);
  EXPECT_THAT(m.unread, IsEmpty());
  EXPECT_EQ(m.online, CpuSet::Range(0, 2));
  EXPECT_EQ(m.possible_cpus, 64);
  EXPECT_TRUE(m.cap_sys_nice);
  EXPECT_EQ(m.rt_runtime_us, -1);
  EXPECT_EQ(m.rt_period_us, 500000);
  EXPECT_EQ(m.cgroup_path, "/grp");
  EXPECT_EQ(m.cgroup_rt_runtime_us, 0);
  EXPECT_EQ(m.cgroup_rt_period_us, 1000000);
  EXPECT_FALSE(m.cgroup_v2);
}

TEST_F(MachineTest, CapEffWithoutCapSysNiceIsNoCapSysNice) {
  Write("proc/self/status", "CapEff:\t00000000007fffff\n");  // Capabilities 0-22 only.
  const Machine m = Machine::ReadFrom(root_);
  EXPECT_THAT(m.unread, IsEmpty());
  EXPECT_FALSE(m.cap_sys_nice);
}

TEST_F(MachineTest, MissingOrGarbledFactsAreAssumedAndSaidSo) {
  Write("sys/devices/system/cpu/online", "0-x\n");
  Write("proc/self/status", "Name:\tx\nCapEff:\tnot-hex\n");
  Write("proc/sys/kernel/sched_rt_period_us", "a million\n");
  Remove("proc/sys/kernel/sched_rt_runtime_us");
  Remove("sys/devices/system/cpu/kernel_max");
  Remove("proc/self/cgroup");

  const Machine m = Machine::ReadFrom(root_);  // Must not throw (std::stoull did).
  EXPECT_FALSE(m.online.Empty());
  EXPECT_FALSE(m.cap_sys_nice);
  EXPECT_EQ(m.rt_runtime_us, 950000);
  EXPECT_EQ(m.rt_period_us, 1000000);
  EXPECT_EQ(m.possible_cpus, CpuSet::kMaxCpus);
  ASSERT_THAT(m.unread, SizeIs(6));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("/sys/devices/system/cpu/online"),
                                       HasSubstr("not a CPU list: \"0-x\""),
                                       HasSubstr("(sysconf)"))));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("CapEff"), HasSubstr("not-hex"),
                                       HasSubstr("assuming no CAP_SYS_NICE"))));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("/proc/sys/kernel/sched_rt_runtime_us"),
                                       HasSubstr("No such file or directory"),
                                       HasSubstr("assuming 950000, the kernel's default"))));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("/proc/sys/kernel/sched_rt_period_us"),
                                       HasSubstr("not an integer: \"a million\""),
                                       HasSubstr("assuming 1000000"))));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("/sys/devices/system/cpu/kernel_max"),
                                       HasSubstr("the most cadence handles"))));
  EXPECT_THAT(m.unread, Contains(AllOf(HasSubstr("/proc/self/cgroup"),
                                       HasSubstr("assuming no cgroup real-time budget"))));
}

TEST_F(MachineTest, StatusWithoutCapEffIsSaidSo) {
  Write("proc/self/status", "Name:\tx\n");
  const Machine m = Machine::ReadFrom(root_);
  ASSERT_THAT(m.unread, SizeIs(1));
  EXPECT_THAT(m.unread[0], HasSubstr("no CapEff line"));
}

TEST(MachineHostTest, ThisHostsFactsAreAllRead) {
  const Machine m = Machine::Read();
  EXPECT_THAT(m.unread, IsEmpty());
  EXPECT_FALSE(m.online.Empty());
  EXPECT_TRUE(m.online.IsSubsetOf(CpuSet::Range(0, m.possible_cpus - 1)));
}

}  // namespace
}  // namespace cadence
