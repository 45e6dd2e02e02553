// The Scheduler in a process that may not use real-time scheduling: a child process drops
// CAP_SYS_NICE and sets RLIMIT_RTPRIO and RLIMIT_NICE to 0, then starts a scheduler whose
// plan asks for SCHED_FIFO. Without strict mode the processors fall back visibly (recorded,
// explained, and what /proc shows); with strict mode start-up fails with PermissionDenied;
// and the validator warns about the fallback before anything runs.
//
// The child is forked from the test's main thread while the process has no other thread,
// writes its findings as key=value lines into a pipe, and _exits; the parent checks them.
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/testing/unprivileged_child.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/scheduler.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;
using test_support::ReportLine;

constexpr char kFifoConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      {
        name: "rt"
        processor_num: 1
        affinity: "range"
        cpuset: "0-1"
        processor_policy: "SCHED_FIFO"
        processor_prio: 50
      }
    ]
  }
}
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A numeric field of /proc/self/task/<tid>/stat as numbered in proc(5) (fields split after
// the last ')', since comm may hold spaces and parentheses); "" when unreadable.
std::string StatField(pid_t tid, int number) {
  const std::string stat = ReadFile(absl::StrCat("/proc/self/task/", tid, "/stat"));
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return "";
  int n = 3;
  for (absl::string_view field :
       absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipWhitespace())) {
    if (n++ == number) return std::string(absl::StripAsciiWhitespace(field));
  }
  return "";
}

// What the child finds, as key=value lines. Runs in the child only, after the privileges
// were dropped.
std::string ChildReport() {
  std::string out;
  const Machine machine = Machine::Read();
  out += ReportLine("lowest_nice", absl::StrCat(machine.LowestNice()));

  // The validator, against the child's real Machine.
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(kFifoConf, "unprivileged.conf");
  if (!loaded.ok()) return out + ReportLine("error", std::string(loaded.status().message()));
  const Validation validation = Validate(*loaded, machine);
  out += ReportLine("validation_ok", absl::StrCat(validation.ok()));
  for (const Diagnostic& d : validation.diagnostics.all()) {
    if (d.severity == Severity::kWarning && absl::StrContains(d.message, "fall back")) {
      out += ReportLine("warning_message", d.message);
      out += ReportLine("warning_hint", d.hint);
      out += ReportLine("warning_field", d.field);
    }
  }
  if (!validation.ok()) return out + ReportLine("error", validation.diagnostics.ToString());
  const Plan& plan = validation.plan;
  if (plan.processors.size() != 1) return out + ReportLine("error", "expected one processor");
  const ProcessorPlan& processor = plan.processors[0];
  out += ReportLine("processor", processor.name);
  out += ReportLine("planned_policy", PolicyName(processor.attributes.policy));
  out += ReportLine("planned_prio", absl::StrCat(processor.attributes.rt_priority));

  // Start without strict mode: the processor falls back and says why.
  {
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan);
    out += ReportLine("start_ok", absl::StrCat(scheduler.ok()));
    if (!scheduler.ok()) {
      out += ReportLine("start_status", scheduler.status().ToString());
    } else {
      for (const ThreadRecord& r : (*scheduler)->Threads()) {
        if (r.kind != "processor" || r.name != processor.name) continue;
        out += ReportLine("record", "found");
        out += ReportLine("fell_back", absl::StrCat(r.applied.fell_back));
        out += ReportLine("why", r.applied.why);
        out += ReportLine("requested_policy", PolicyName(r.applied.requested.policy));
        out += ReportLine("requested_prio", absl::StrCat(r.applied.requested.rt_priority));
        out += ReportLine("effective_policy", PolicyName(r.applied.effective.policy));
        out += ReportLine("effective_nice", absl::StrCat(r.applied.effective.nice));
        out += ReportLine("effective_prio", absl::StrCat(r.applied.effective.rt_priority));
        out += ReportLine("native_other", absl::StrCat(NativePolicy(SchedPolicy::kOther)));
        out += ReportLine("proc_policy", StatField(r.tid, 41));
        out += ReportLine("proc_rt_priority", StatField(r.tid, 40));
        out += ReportLine("proc_nice", StatField(r.tid, 19));
      }
      (*scheduler)->Shutdown();
    }
  }

  // Strict mode: start-up fails instead.
  {
    SchedulerOptions options;
    options.strict = true;
    absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan, options);
    out += ReportLine("strict_ok", absl::StrCat(scheduler.ok()));
    if (!scheduler.ok()) {
      out += ReportLine("strict_code", absl::StatusCodeToString(scheduler.status().code()));
      out += ReportLine("strict_message", std::string(scheduler.status().message()));
    }
  }
  return out;
}

class SchedulerUnprivilegedTest : public ::testing::Test {
 protected:
  // One child per test binary run: every test reads the same report.
  static void SetUpTestSuite() {
    report_ = new std::map<std::string, std::string>(test_support::RunUnprivileged(ChildReport));
  }
  static void TearDownTestSuite() {
    delete report_;
    report_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(report_, nullptr);
    ASSERT_EQ(report_->count("error"), 0u) << (*report_)["error"];
    ASSERT_EQ((*report_)["cap_sys_nice"], "0") << "the child still has CAP_SYS_NICE";
  }
  std::string Get(const std::string& key) const {
    auto it = report_->find(key);
    return it == report_->end() ? "<missing " + key + ">" : it->second;
  }

  static std::map<std::string, std::string>* report_;
};

std::map<std::string, std::string>* SchedulerUnprivilegedTest::report_ = nullptr;

TEST_F(SchedulerUnprivilegedTest, ValidatorWarnsThatTheProcessorsWillFallBack) {
  EXPECT_EQ(Get("validation_ok"), "1") << "a refused real-time request is a warning, not an error";
  EXPECT_THAT(Get("warning_message"), HasSubstr("SCHED_FIFO 50"));
  EXPECT_THAT(Get("warning_message"), HasSubstr("fall back to SCHED_OTHER"));
  EXPECT_THAT(Get("warning_hint"), HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(Get("warning_hint"), HasSubstr("setcap cap_sys_nice+ep"));
  EXPECT_THAT(Get("warning_field"), HasSubstr("processor_policy"));
}

TEST_F(SchedulerUnprivilegedTest, StartFallsBackToSchedOtherAndSaysWhy) {
  ASSERT_EQ(Get("start_ok"), "1") << Get("start_status");
  ASSERT_EQ(Get("record"), "found") << "no thread record for " << Get("processor");
  EXPECT_EQ(Get("fell_back"), "1");
  // Requested is what the plan asked for.
  EXPECT_EQ(Get("requested_policy"), Get("planned_policy"));
  EXPECT_EQ(Get("requested_prio"), Get("planned_prio"));
  EXPECT_EQ(Get("planned_policy"), "SCHED_FIFO");
  // Effective: SCHED_OTHER at the lowest nice the process may use (0 with RLIMIT_NICE 0).
  EXPECT_EQ(Get("effective_policy"), "SCHED_OTHER");
  EXPECT_EQ(Get("effective_nice"), Get("lowest_nice"));
  EXPECT_EQ(Get("effective_nice"), "0");
  EXPECT_EQ(Get("effective_prio"), "0");
  // The one line says what was wanted, what it got, why and how to grant it.
  EXPECT_THAT(Get("why"), HasSubstr("SCHED_FIFO 50"));
  EXPECT_THAT(Get("why"), HasSubstr("SCHED_OTHER"));
  EXPECT_THAT(Get("why"), HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(Get("why"), HasSubstr("setcap cap_sys_nice+ep"));
  EXPECT_THAT(Get("why"), HasSubstr("ulimit -r 50"));
  // And the kernel agrees.
  EXPECT_EQ(Get("proc_policy"), Get("native_other"));
  EXPECT_EQ(Get("proc_policy"), "0");
  EXPECT_EQ(Get("proc_rt_priority"), "0");
  EXPECT_EQ(Get("proc_nice"), "0");
}

TEST_F(SchedulerUnprivilegedTest, StrictStartFailsWithPermissionDeniedNamingProcessorAndReason) {
  EXPECT_EQ(Get("strict_ok"), "0");
  EXPECT_EQ(Get("strict_code"), absl::StatusCodeToString(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Get("strict_message"), HasSubstr(absl::StrCat("processor ", Get("processor"))));
  EXPECT_THAT(Get("strict_message"), HasSubstr("SCHED_FIFO 50"));
  EXPECT_THAT(Get("strict_message"), HasSubstr("CAP_SYS_NICE"));
  EXPECT_THAT(Get("strict_message"), HasSubstr("strict"));
}

}  // namespace
}  // namespace cadence
