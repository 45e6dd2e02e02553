// The cadence section of schedctl ps from a hand-built state and kernel sample: the conf
// line, requested vs effective per thread (kernel's view, marks for fallbacks, later
// changes, threads gone), and processor -> tasks.
#include "tools/schedctl/ps_state.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/introspection/runtime_state.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ThreadAttributes Fifo(int priority, std::initializer_list<int> cpus) {
  ThreadAttributes a;
  a.policy = SchedPolicy::kFifo;
  a.rt_priority = priority;
  a.cpus = CpuSet::Of(cpus);
  return a;
}

ThreadAttributes Batch(int nice, std::initializer_list<int> cpus) {
  ThreadAttributes a;
  a.policy = SchedPolicy::kBatch;
  a.nice = nice;
  a.cpus = CpuSet::Of(cpus);
  return a;
}

ThreadAttributes Other(int nice, std::initializer_list<int> cpus) {
  ThreadAttributes a;
  a.policy = SchedPolicy::kOther;
  a.nice = nice;
  a.cpus = CpuSet::Of(cpus);
  return a;
}

void AddThread(proto::RuntimeState* state, const std::string& kind, const std::string& name,
               pid_t tid, const ThreadAttributes& requested, const ThreadAttributes& effective,
               const std::string& why = "") {
  proto::ThreadState* t = state->add_threads();
  t->set_kind(kind);
  t->set_name(name);
  t->set_tid(tid);
  *t->mutable_requested() = ToState(requested);
  *t->mutable_effective() = ToState(effective);
  t->set_fell_back(!why.empty());
  t->set_why(why);
}

ThreadSample Sample(pid_t tid, const std::string& name, const ThreadAttributes& now) {
  ThreadSample s;
  s.thread.tid = tid;
  s.thread.name = name;
  s.thread.policy = NativePolicy(now.policy);
  s.thread.rt_priority = now.rt_priority;
  s.thread.nice = now.nice;
  s.thread.cpus_allowed = now.cpus;
  s.attributes = now;
  return s;
}

// The cell under `column` of the row of thread `name` (columns as the header places them).
std::string Cell(const std::string& text, const std::string& name, const std::string& column) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  size_t header = std::string::npos;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("REQUESTED") != std::string::npos) header = i;
  }
  if (header == std::string::npos) return "<no header>";
  const std::vector<std::string> columns = {"KIND",      "NAME",  "REQUESTED",
                                            "EFFECTIVE", "MATCH", "NOTE"};
  const std::string& h = lines[header];
  for (size_t i = header + 1; i < lines.size(); ++i) {
    std::vector<absl::string_view> words = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    if (words.size() < 3 || words[2] != name) continue;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (columns[c] != column) continue;
      const size_t start = h.find(" " + columns[c]) + 1;
      const size_t end =
          c + 1 < columns.size() ? h.find(" " + columns[c + 1]) + 1 : std::string::npos;
      if (start >= lines[i].size()) return "";
      return std::string(absl::StripAsciiWhitespace(
          lines[i].substr(start, end == std::string::npos ? end : end - start)));
    }
  }
  return "<no row " + name + ">";
}

class PsStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_.set_pid(4242);
    state_.set_program("robot_demo");
    state_.set_conf_path("conf/robot.conf");
    state_.set_real_conf_path("/opt/robot/conf/robot_classic.conf");
    state_.set_scheduler_kind("classic");
    state_.set_process_cpus("0-1");
    AddThread(&state_, "processor", "realtime/0", 4250, Fifo(60, {0}), Fifo(60, {0}));
    AddThread(&state_, "processor", "background/0", 4251, Batch(10, {0, 1}), Batch(10, {0, 1}));
    AddThread(&state_, "thread", "logger", 4260, Other(5, {1}), Other(5, {1}));
    proto::ProcessorState* p = state_.add_processors();
    p->set_name("realtime/0");
    p->set_tid(4250);
    p->set_queue("realtime");
    p->set_cpus("0");
    p->add_conf_tasks("led_effects");
    p->add_conf_tasks("motion_control");
    p->add_live_tasks("motion_control");
    p->add_live_tasks("stray");
    proto::ProcessorState* q = state_.add_processors();
    q->set_name("background/0");
    q->set_tid(4251);
    q->set_queue("background");
    q->add_queue_peers("background/1");
    q->set_cpus("0-1");
    proto::TaskState* stray = state_.add_tasks();
    stray->set_name("stray");
    stray->set_named_in_conf(false);
    proto::TaskState* motion = state_.add_tasks();
    motion->set_name("motion_control");
    motion->set_named_in_conf(true);

    kernel_.pid = 4242;
    kernel_.threads = {Sample(4250, "realtime/0", Fifo(60, {0})),
                       Sample(4251, "background/0", Batch(10, {0, 1})),
                       Sample(4260, "logger", Other(5, {1}))};
  }

  proto::RuntimeState state_;
  ProcessSample kernel_;
};

TEST_F(PsStateTest, ConfLineNamesTheSymlinkAndTheRealFile) {
  const std::string text = FormatStateSection(state_, &kernel_, "/run/cadence/4242.sock");
  EXPECT_THAT(text, HasSubstr("cadence state of pid 4242 (robot_demo) from "
                              "/run/cadence/4242.sock\n"));
  EXPECT_THAT(text, HasSubstr("conf: conf/robot.conf -> /opt/robot/conf/robot_classic.conf "
                              "(classic); process CPUs 0-1\n"));
}

TEST_F(PsStateTest, RequestedNextToEffectiveForEveryThread) {
  const std::string text = FormatStateSection(state_, &kernel_, "s");
  EXPECT_EQ(Cell(text, "realtime/0", "KIND"), "processor");
  EXPECT_EQ(Cell(text, "realtime/0", "REQUESTED"), "SCHED_FIFO 60 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "EFFECTIVE"), "SCHED_FIFO 60 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "MATCH"), "yes");
  EXPECT_EQ(Cell(text, "realtime/0", "NOTE"), "as asked");
  EXPECT_EQ(Cell(text, "background/0", "REQUESTED"), "SCHED_BATCH nice 10 cpus 0-1");
  EXPECT_EQ(Cell(text, "background/0", "MATCH"), "yes");
  EXPECT_EQ(Cell(text, "logger", "KIND"), "thread");
  EXPECT_EQ(Cell(text, "logger", "EFFECTIVE"), "SCHED_OTHER nice 5 cpus 1");
}

TEST_F(PsStateTest, FallbackIsMarkedWithItsReason) {
  state_.mutable_threads(0)->set_fell_back(true);
  state_.mutable_threads(0)->set_why("SCHED_FIFO 60 refused: no CAP_SYS_NICE");
  *state_.mutable_threads(0)->mutable_effective() = ToState(Other(0, {0}));
  kernel_.threads[0] = Sample(4250, "realtime/0", Other(0, {0}));
  const std::string text = FormatStateSection(state_, &kernel_, "s");
  EXPECT_EQ(Cell(text, "realtime/0", "REQUESTED"), "SCHED_FIFO 60 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "EFFECTIVE"), "SCHED_OTHER nice 0 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "MATCH"), "NO");
  EXPECT_EQ(Cell(text, "realtime/0", "NOTE"), "FELL BACK: SCHED_FIFO 60 refused: no CAP_SYS_NICE");
}

TEST_F(PsStateTest, EffectiveIsTheKernelsViewNowAndChangesAreMarked) {
  // Someone ran `chrt -f -p 10` on it after start-up.
  kernel_.threads[0] = Sample(4250, "realtime/0", Fifo(10, {0}));
  const std::string text = FormatStateSection(state_, &kernel_, "s");
  EXPECT_EQ(Cell(text, "realtime/0", "EFFECTIVE"), "SCHED_FIFO 10 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "MATCH"), "NO");
  EXPECT_EQ(Cell(text, "realtime/0", "NOTE"),
            "changed since start-up (it got SCHED_FIFO 60 cpus 0)");
}

TEST_F(PsStateTest, ThreadMissingFromTheSampleIsSaidGone) {
  kernel_.threads.pop_back();
  const std::string text = FormatStateSection(state_, &kernel_, "s");
  EXPECT_EQ(Cell(text, "logger", "EFFECTIVE"), "SCHED_OTHER nice 5 cpus 1");
  EXPECT_EQ(Cell(text, "logger", "NOTE"), "thread gone; effective as recorded at start-up");
}

TEST_F(PsStateTest, WithoutAKernelSampleEffectiveIsAsRecorded) {
  const std::string text = FormatStateSection(state_, nullptr, "s");
  EXPECT_THAT(text, HasSubstr("(as recorded at start-up)"));
  EXPECT_EQ(Cell(text, "realtime/0", "EFFECTIVE"), "SCHED_FIFO 60 cpus 0");
  EXPECT_EQ(Cell(text, "realtime/0", "NOTE"), "as asked");
}

TEST_F(PsStateTest, ProcessorsListConfAndLiveTasks) {
  const std::string text = FormatStateSection(state_, &kernel_, "s");
  EXPECT_THAT(text, HasSubstr("  realtime/0 (tid 4250, queue realtime, cpus 0)\n"
                              "      conf: led_effects, motion_control\n"
                              "      live: motion_control, stray (not named in the conf)\n"));
  EXPECT_THAT(text, HasSubstr("  background/0 (tid 4251, queue background shared with "
                              "background/1, cpus 0-1)\n"
                              "      conf: -\n"
                              "      live: -\n"));
}

TEST_F(PsStateTest, DefaultPlanIsSaid) {
  state_.set_conf_path("conf/none.conf");
  state_.set_real_conf_path("");
  EXPECT_THAT(FormatStateSection(state_, &kernel_, "s"),
              HasSubstr("conf: conf/none.conf (no file: the default plan) (classic)"));
  EXPECT_THAT(FormatStateSection(state_, &kernel_, "s"), Not(HasSubstr("conf/none.conf ->")));
}

TEST(GrantedTest, ComparesWhatThePolicyUsesAndRequestedCpus) {
  EXPECT_TRUE(Granted(Fifo(60, {0}), Fifo(60, {0})));
  EXPECT_FALSE(Granted(Fifo(60, {0}), Fifo(59, {0})));
  EXPECT_FALSE(Granted(Fifo(60, {0}), Fifo(60, {0, 1})));
  EXPECT_FALSE(Granted(Batch(10, {0}), Other(10, {0})));
  EXPECT_FALSE(Granted(Batch(10, {0}), Batch(0, {0})));
  ThreadAttributes any_cpu = Other(0, {});
  EXPECT_TRUE(Granted(any_cpu, Other(0, {0, 1})));
  ThreadAttributes no_reset = Fifo(60, {0});
  no_reset.reset_on_fork = false;
  EXPECT_TRUE(Granted(Fifo(60, {0}), no_reset));
}

}  // namespace
}  // namespace cadence
