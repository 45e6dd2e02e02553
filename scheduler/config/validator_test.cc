// Tests of the Validator: one test per rule, each checking the finding's severity,
// line:column and field, and the Plan where there is one; then Apollo Cyber RT's own
// `.conf` files (shared/compat/cyber) on a 32-CPU and on a 2-CPU machine.
#include "scheduler/config/validator.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/shared_dirs.h"

namespace cadence {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Parses `text` as "test.conf" (it must parse) and validates it on `machine`.
Validation Check(const std::string& text, const Machine& machine, bool strict = false) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return {};
  return Validate(*loaded, machine, {.strict = strict});
}

// A classic config with one group "g"; `body` lines go inside the group, indented by six
// spaces, the first one on line 6 (so a field on body line i is at line 6+i, column 7).
std::string OneGroup(const std::vector<std::string>& body) {
  std::string text =
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  classic_conf {\n"
      "    groups {\n"
      "      name: \"g\"\n";
  for (const std::string& line : body) absl::StrAppend(&text, "      ", line, "\n");
  absl::StrAppend(&text, "    }\n  }\n}\n");
  return text;
}

// The findings of one severity.
std::vector<Diagnostic> Of(const Validation& v, Severity severity) {
  std::vector<Diagnostic> found;
  for (const Diagnostic& d : v.diagnostics.all()) {
    if (d.severity == severity) found.push_back(d);
  }
  return found;
}

// The only finding of `severity` (the test fails unless there is exactly one).
Diagnostic Single(const Validation& v, Severity severity) {
  const std::vector<Diagnostic> found = Of(v, severity);
  EXPECT_EQ(found.size(), 1u) << v.diagnostics.ToString();
  return found.empty() ? Diagnostic{} : found[0];
}

// Checks where a finding is and which field it names.
void ExpectAt(const Diagnostic& d, int line, int column, const std::string& field) {
  EXPECT_EQ(d.where.file, "test.conf") << d.ToString();
  EXPECT_EQ(d.where.line, line) << d.ToString();
  EXPECT_EQ(d.where.column, column) << d.ToString();
  EXPECT_EQ(d.field, field) << d.ToString();
}

// Checks the counts of errors and warnings.
void ExpectCounts(const Validation& v, int errors, int warnings) {
  EXPECT_EQ(v.diagnostics.ErrorCount(), errors) << v.diagnostics.ToString();
  EXPECT_EQ(v.diagnostics.WarningCount(), warnings) << v.diagnostics.ToString();
}

// The CPU set of a CPU list (test input, known to be valid).
CpuSet Cpus(const std::string& list) {
  CpuSet set;
  CpuSet::ParseError error;
  EXPECT_TRUE(CpuSet::Parse(list, &set, &error)) << list;
  return set;
}

// ---------------------------------------------------------------------------------------
// Host facts

TEST(ValidatorTest, HostFactsThatCouldNotBeReadAreWarningsAndStrictErrors) {
  Machine machine = Machine::ForTest(2);
  machine.unread.push_back(
      "cannot read /proc/sys/kernel/sched_rt_runtime_us (No such file or directory): assuming "
      "950000, the kernel's default");
  const std::string conf = OneGroup({"processor_num: 1", "cpuset: \"0\""});
  const Validation v = Check(conf, machine);
  EXPECT_TRUE(v.ok()) << v.diagnostics.ToString();
  const Diagnostic d = Single(v, Severity::kWarning);
  EXPECT_THAT(d.message, HasSubstr("/proc/sys/kernel/sched_rt_runtime_us"));
  EXPECT_THAT(d.message, HasSubstr("assuming 950000"));
  EXPECT_THAT(d.hint, HasSubstr("readable"));
  // Without the unread fact the same conf has no warning: the warning is that fact's.
  ExpectCounts(Check(conf, Machine::ForTest(2)), 0, 0);
  ExpectCounts(Check(conf, machine, /*strict=*/true), 1, 0);
}

// ---------------------------------------------------------------------------------------
// CPU sets

TEST(ValidatorTest, CpusetEmptyItemPointsAtTheSecondComma) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"0,,1\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  // Line 7 is `      cpuset: "0,,1"`: the value starts at column 16, the second ',' at 18.
  ExpectAt(d, 7, 18, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, AllOf(HasSubstr("invalid CPU list \"0,,1\""), HasSubstr("empty item")));
  EXPECT_FALSE(d.hint.empty());
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, NamesWithControlCharactersOrBytesThatAreNotUtf8AreErrors) {
  // A task name with a NUL, one that is not UTF-8, a valid UTF-8 one ("é"), and a thread
  // name with a tab; then a group name with a newline.
  const std::string text =
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  classic_conf {\n"
      "    groups {\n"
      "      name: \"g\"\n"
      "      processor_num: 1\n"
      "      tasks: [ { name: \"cam\\000era\" }, { name: \"bad\\377\" }, { name: \"ok\\303\\251\" } ]\n"
      "    }\n"
      "  }\n"
      "  threads: [ { name: \"t\\tb\" policy: \"SCHED_OTHER\" } ]\n"
      "}\n";
  const Validation v = Check(text, Machine::ForTest(2));
  ExpectCounts(v, 3, 0);
  const std::vector<Diagnostic> errors = Of(v, Severity::kError);
  ASSERT_EQ(errors.size(), 3u);
  ExpectAt(errors[0], 7, 18, "classic_conf.groups[0].tasks[0].name");  // At `name`.
  EXPECT_EQ(errors[0].message, "task name \"cam\\000era\" cannot be used: it holds a control "
                               "character (byte 0x00 at offset 3)");
  ExpectAt(errors[1], 7, 42, "classic_conf.groups[0].tasks[1].name");
  EXPECT_EQ(errors[1].message,
            "task name \"bad\\377\" cannot be used: it is not UTF-8 (byte 0xff at offset 3)");
  ExpectAt(errors[2], 10, 23, "scheduler_conf.threads[0].name");
  EXPECT_EQ(errors[2].message, "thread name \"t\\tb\" cannot be used: it holds a control "
                               "character (byte 0x09 at offset 1)");
  EXPECT_EQ(v.plan.tasks.count("ok\303\251"), 1u);
  // A UTF-16 surrogate (U+D800 as UTF-8 bytes), an overlong "/" and a code point past
  // U+10FFFF are not UTF-8 either.
  for (const char* bytes : {"\\355\\240\\200", "\\300\\257", "\\364\\220\\200\\200"}) {
    const Validation bad = Check(absl::StrReplaceAll(text, {{"ok\\303\\251", bytes}}),
                                 Machine::ForTest(2));
    EXPECT_EQ(bad.diagnostics.ErrorCount(), 4) << bytes << "\n" << bad.diagnostics.ToString();
  }

  const Validation group = Check(absl::StrReplaceAll(text, {{"name: \"g\"", "name: \"g\\nh\""}}),
                                 Machine::ForTest(2));
  const std::vector<Diagnostic> group_errors = Of(group, Severity::kError);
  ASSERT_FALSE(group_errors.empty()) << group.diagnostics.ToString();
  ExpectAt(group_errors[0], 5, 14, "classic_conf.groups[0].name");
  EXPECT_EQ(group_errors[0].message, "group name \"g\\nh\" cannot be used: it holds a control "
                                     "character (byte 0x0a at offset 1)");
}

TEST(ValidatorTest, MoreThan1024ProcessorsInAllIsAnError) {
  // Three groups of 400: each within the per-group limit, 1200 in all.
  std::string groups;
  for (int g = 0; g < 3; ++g) {
    absl::StrAppend(&groups, g ? ", " : "", "{ name: \"g", g, "\" processor_num: 400 }");
  }
  const Validation v = Check(absl::StrCat("scheduler_conf {\n  classic_conf {\n    groups: [ ",
                                          groups, " ]\n  }\n}\n"),
                             Machine::ForTest(4));
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 2, 3, "scheduler_conf.classic_conf");
  EXPECT_THAT(d.message, StartsWith("the config asks for 1200 processors in all, more than 1024"));
  // 1024 in all is accepted.
  const Validation at_limit =
      Check("scheduler_conf { classic_conf { groups: [ { name: \"a\" processor_num: 1000 }, "
            "{ name: \"b\" processor_num: 24 } ] } }\n",
            Machine::ForTest(4));
  EXPECT_EQ(at_limit.diagnostics.ErrorCount(), 0) << at_limit.diagnostics.ToString();
}

TEST(ValidatorTest, CpusetReversedRangePointsAtTheRange) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"0,3-1\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 18, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, HasSubstr("reversed range 3-1 (write 1-3)"));
}

TEST(ValidatorTest, CpusetErrorInAnEscapedOrSplitValuePointsAtItsText) {
  // "\\x30-\\x31,\\x33-1" is "0-1,3-1": the reversed range starts at \\x33, column 26 of
  // `      cpuset: "\\x30-\\x31,\\x33-1"` (column 16 is the first character inside the quotes;
  // counting decoded bytes from there would give 20).
  const Validation escaped = Check(
      OneGroup({"processor_num: 2", "cpuset: \"\\x30-\\x31,\\x33-1\""}), Machine::ForTest(4));
  ExpectAt(Single(escaped, Severity::kError), 7, 26, "classic_conf.groups[0].cpuset");
  // Two adjacent literals on two lines, "0-1," then "3-1": the range is on the second.
  const Validation split = Check(OneGroup({"processor_num: 2", "cpuset: \"0-1,\"", "  \"3-1\""}),
                                 Machine::ForTest(4));
  ExpectAt(Single(split, Severity::kError), 8, 10, "classic_conf.groups[0].cpuset");
}

TEST(ValidatorTest, CpusetErrorAtTheValuesEndOrOnTheNextLinePointsAtItsText) {
  // A trailing comma written as an escape: the error is at the end of the value, the
  // closing quote (column 23 of `      cpuset: "0-1\\x2c"`).
  const Validation end =
      Check(OneGroup({"processor_num: 2", "cpuset: \"0-1\\x2c\""}), Machine::ForTest(4));
  ExpectAt(Single(end, Severity::kError), 7, 23, "classic_conf.groups[0].cpuset");
  // The value starts on the line after its field, in two literals: the reversed range is on
  // the third line, in the second literal.
  const Validation below = Check(
      OneGroup({"processor_num: 2", "cpuset:", "  \"0-1,\"", "  \"3-1\""}), Machine::ForTest(4));
  ExpectAt(Single(below, Severity::kError), 9, 10, "classic_conf.groups[0].cpuset");
  // A \\u escape stands for one character: "\\u0030-1,3-1" is "0-1,3-1", the range at column 25.
  const Validation unicode =
      Check(OneGroup({"processor_num: 2", "cpuset: \"\\u0030-1,3-1\""}), Machine::ForTest(4));
  ExpectAt(Single(unicode, Severity::kError), 7, 25, "classic_conf.groups[0].cpuset");
}

TEST(ValidatorTest, ThreadNamesAreCutBetweenCharacters) {
  // "αβγδεζηθ" is 16 bytes; with "/0" the kernel keeps 15: six characters, not six and a
  // half.
  const Validation v = Check(
      "scheduler_conf { classic_conf { groups: [ { name: \"\xce\xb1\xce\xb2\xce\xb3\xce\xb4"
      "\xce\xb5\xce\xb6\xce\xb7\xce\xb8\" processor_num: 1 } ] } }\n",
      Machine::ForTest(2));
  ASSERT_TRUE(v.ok()) << v.diagnostics.ToString();
  ASSERT_EQ(v.plan.processors.size(), 1u);
  EXPECT_EQ(v.plan.processors[0].thread_name, "\xce\xb1\xce\xb2\xce\xb3\xce\xb4\xce\xb5\xce\xb6/0");
  EXPECT_TRUE(IsUtf8(v.plan.processors[0].thread_name));
}

TEST(ValidatorTest, CpusetTextPointsAtTheText) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"0-1,two\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 20, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, HasSubstr("expected a CPU number, found 't'"));
}

TEST(ValidatorTest, CpusetNumberPastTheLimitPointsAtTheNumber) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"1,2000\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 18, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, HasSubstr("CPU 2000 is past the limit of 1024 CPUs"));
}

TEST(ValidatorTest, CpusPastTheKernelLimitAreAnError) {
  Machine machine = Machine::ForTest(8);
  machine.possible_cpus = 8;
  const Validation v = Check(OneGroup({"processor_num: 2", "cpuset: \"0-9\""}), machine);
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, HasSubstr("CPUs 8-9 are past the kernel's limit of 8 CPUs"));
}

TEST(ValidatorTest, CpusNotOnlineAreAWarningAndTheRestIsUsed) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"2-7\""}), Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  ASSERT_TRUE(v.ok());
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 7, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, AllOf(HasSubstr("CPUs 4-7 are not online"), HasSubstr("usable: 0-3"),
                               EndsWith("using 2-3")));
  ASSERT_EQ(v.plan.processors.size(), 2u);
  for (const ProcessorPlan& p : v.plan.processors) EXPECT_EQ(p.attributes.cpus, Cpus("2-3"));
}

TEST(ValidatorTest, CpusOutsideProcessLevelCpusetAreAWarning) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  process_level_cpuset: \"0-3\"\n"
      "  classic_conf {\n"
      "    groups {\n"
      "      name: \"g\"\n"
      "      processor_num: 1\n"
      "      cpuset: \"2-5\"\n"
      "    }\n"
      "  }\n"
      "}\n",
      Machine::ForTest(8));
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 8, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, AllOf(HasSubstr("CPUs 4-5 are outside the process's CPUs (0-3)"),
                               EndsWith("using 2-3")));
  EXPECT_TRUE(v.plan.restrict_process);
  EXPECT_EQ(v.plan.process_cpus, Cpus("0-3"));
  ASSERT_EQ(v.plan.processors.size(), 1u);
  EXPECT_EQ(v.plan.processors[0].attributes.cpus, Cpus("2-3"));
}

TEST(ValidatorTest, NoUsableCpuLeftIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 2", "cpuset: \"4-7\""}), Machine::ForTest(2));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, HasSubstr("none of the CPUs 4-7 can be used on this machine (usable: "
                                   "0-1)"));
  EXPECT_TRUE(v.plan.processors.empty());
}

// ---------------------------------------------------------------------------------------
// Policies and priorities

TEST(ValidatorTest, UnknownPolicyNameIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_FOO\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  // `      processor_policy: "SCHED_FOO"`: the value starts at column 26.
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_policy");
  EXPECT_EQ(d.message, "policy \"SCHED_FOO\" is not a Linux scheduling policy");
  EXPECT_THAT(d.hint, StartsWith("use one of SCHED_OTHER, SCHED_BATCH"));
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, LowerCasePolicyNameGetsTheUpperCaseHint) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"sched_fifo\""}),
                             Machine::ForTest(4));
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_policy");
  EXPECT_EQ(d.hint, "policy names are upper case: SCHED_FIFO");

  const Validation short_name =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"fifo\""}), Machine::ForTest(4));
  EXPECT_EQ(Single(short_name, Severity::kError).hint, "write it as SCHED_FIFO");
}

TEST(ValidatorTest, FifoPriorityZeroIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_FIFO\"", "processor_prio: 0"}),
            Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 8, 7, "classic_conf.groups[0].processor_prio");  // At the priority.
  EXPECT_EQ(d.message, "SCHED_FIFO needs a priority from 1 to 99, not 0");
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, RrPriorityHundredIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_RR\"", "processor_prio: 100"}),
            Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 8, 7, "classic_conf.groups[0].processor_prio");
  EXPECT_EQ(d.message, "SCHED_RR needs a priority from 1 to 99, not 100");
}

TEST(ValidatorTest, FifoWithoutPriorityIsAnError) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_FIFO\""}),
                             Machine::ForTest(4));
  EXPECT_THAT(Single(v, Severity::kError).message, HasSubstr("(the field is not set)"));
}

TEST(ValidatorTest, NiceOutOfRangeThroughProcessorPrioIsAnError) {
  const Validation v = Check(
      OneGroup({"processor_num: 1", "processor_policy: \"SCHED_OTHER\"", "processor_prio: 25"}),
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 8, 7, "classic_conf.groups[0].processor_prio");
  EXPECT_THAT(d.message, StartsWith("nice 25 is out of range for SCHED_OTHER (-20..19"));

  const Validation low = Check(
      OneGroup({"processor_num: 1", "processor_policy: \"SCHED_OTHER\"", "processor_nice: -21"}),
      Machine::ForTest(4));
  const Diagnostic d2 = Single(low, Severity::kError);
  ExpectAt(d2, 8, 7, "classic_conf.groups[0].processor_nice");
  EXPECT_THAT(d2.message, StartsWith("nice -21 is out of range"));
}

TEST(ValidatorTest, PriorityErrorWithoutAPolicyIsAtThePriority) {
  // No processor_policy: SCHED_OTHER, and processor_prio 60 is a nice value out of range.
  // The error is at processor_prio (body line 2), not at the group.
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_prio: 60"}), Machine::ForTest(4));
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 7, "classic_conf.groups[0].processor_prio");
  EXPECT_THAT(d.message, StartsWith("nice 60 is out of range for SCHED_OTHER"));
}

TEST(ValidatorTest, ProcessorPrioIsTheNiceValueForSchedOther) {
  const Validation v = Check(
      OneGroup({"processor_num: 2", "processor_policy: \"SCHED_OTHER\"", "processor_prio: -5"}),
      Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 2u);
  for (const ProcessorPlan& p : v.plan.processors) {
    EXPECT_EQ(p.attributes.policy, SchedPolicy::kOther);
    EXPECT_EQ(p.attributes.nice, -5);
    EXPECT_EQ(p.attributes.rt_priority, 0);
    EXPECT_EQ(p.attributes.cpus, Cpus("0-3"));
  }
}

TEST(ValidatorTest, ProcessorNiceForSchedBatch) {
  const Validation v = Check(
      OneGroup({"processor_num: 1", "processor_policy: \"SCHED_BATCH\"", "processor_nice: 10"}),
      Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 1u);
  EXPECT_EQ(v.plan.processors[0].attributes.policy, SchedPolicy::kBatch);
  EXPECT_EQ(v.plan.processors[0].attributes.nice, 10);
}

TEST(ValidatorTest, DeadlineRuntimeLongerThanDeadlineIsAnError) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_DEADLINE\"",
                                       "processor_runtime_us: 5000", "processor_deadline_us: 1000",
                                       "processor_period_us: 10000"}),
                             Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_runtime_us");
  EXPECT_EQ(d.message,
            "SCHED_DEADLINE needs runtime <= deadline <= period, got 5000 / 1000 / 10000 us");
}

TEST(ValidatorTest, DeadlineWithoutPeriodIsAnError) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_DEADLINE\"",
                                       "processor_runtime_us: 1000"}),
                             Machine::ForTest(4));
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_runtime_us");
  EXPECT_THAT(d.message, HasSubstr("needs a runtime and a period"));
}

TEST(ValidatorTest, ValidDeadline) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_DEADLINE\"",
                                       "processor_runtime_us: 1000", "processor_deadline_us: 5000",
                                       "processor_period_us: 10000"}),
                             Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 1u);
  const ThreadAttributes& a = v.plan.processors[0].attributes;
  EXPECT_EQ(a.policy, SchedPolicy::kDeadline);
  EXPECT_EQ(a.runtime_ns, 1000000u);
  EXPECT_EQ(a.deadline_ns, 5000000u);
  EXPECT_EQ(a.period_ns, 10000000u);
  EXPECT_EQ(DescribePriority(a), "SCHED_DEADLINE 1000/5000/10000us");
}

TEST(ValidatorTest, DeadlineOnFewerCpusThanTheRootDomainIsAWarningAndStrictError) {
  const std::string deadline =
      "processor_policy: \"SCHED_DEADLINE\" processor_runtime_us: 100 processor_deadline_us: "
      "1000 processor_period_us: 1000";
  // On CPU 0 of 0-1: refused by the kernel (EPERM).
  const Validation narrow =
      Check(OneGroup({"processor_num: 1", "cpuset: \"0\"", deadline}), Machine::ForTest(2));
  const Diagnostic d = Single(narrow, Severity::kWarning);
  ExpectAt(d, 8, 26, "classic_conf.groups[0].processor_policy");  // Inside the quotes.
  EXPECT_THAT(d.message, HasSubstr("group \"g\" asks for SCHED_DEADLINE on CPUs 0, but the kernel "
                                   "admits a SCHED_DEADLINE thread only when it may run on every "
                                   "CPU of its root domain (here 0-1)"));
  EXPECT_EQ(Check(OneGroup({"processor_num: 1", "cpuset: \"0\"", deadline}), Machine::ForTest(2),
                  /*strict=*/true)
                .diagnostics.ErrorCount(),
            1);
  // Every CPU, "range": admitted.
  const Validation wide =
      Check(OneGroup({"processor_num: 2", "cpuset: \"0-1\"", deadline}), Machine::ForTest(2));
  EXPECT_EQ(wide.diagnostics.WarningCount(), 0) << wide.diagnostics.ToString();
  // Every CPU but "1to1": each processor has one, refused.
  const Validation pinned = Check(
      OneGroup({"processor_num: 2", "cpuset: \"0-1\"", "affinity: \"1to1\"", deadline}),
      Machine::ForTest(2));
  EXPECT_THAT(Single(pinned, Severity::kWarning).message, HasSubstr("on CPUs 0, but"));
}

TEST(ValidatorTest, DeadlineParametersTooLargeForNanosecondsAreAnError) {
  // 18446744073709552 us is 2^64 ns + 384 ns: converted, it would wrap to a tiny deadline.
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_DEADLINE\"",
                      "processor_runtime_us: 1000", "processor_deadline_us: 18446744073709552",
                      "processor_period_us: 18446744073709552"}),
            Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_runtime_us");
  EXPECT_THAT(d.message, HasSubstr("is more than the kernel can take"));
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, DeadlineParametersForAnotherPolicyAreAWarning) {
  const Validation v = Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_OTHER\"",
                                       "processor_period_us: 10000"}),
                             Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  ExpectAt(Single(v, Severity::kWarning), 7, 26, "classic_conf.groups[0].processor_runtime_us");
}

// ---------------------------------------------------------------------------------------
// Affinity

TEST(ValidatorTest, UnknownAffinityIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "affinity: \"foo\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  // `      affinity: "foo"`: the value starts at column 18.
  ExpectAt(d, 7, 18, "classic_conf.groups[0].affinity");
  EXPECT_EQ(d.message, "affinity \"foo\" is neither \"range\" nor \"1to1\"");
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, OneToOneNeedsAsManyProcessorsAsCpus) {
  const Validation v = Check(
      OneGroup({"processor_num: 3", "affinity: \"1to1\"", "cpuset: \"0-1\""}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 7, "classic_conf.groups[0].affinity");
  EXPECT_THAT(d.message, HasSubstr("the group has 3 processors and 2 CPUs"));
  EXPECT_THAT(d.hint, HasSubstr("(2)"));
}

TEST(ValidatorTest, OneToOnePinsProcessorIToTheIthCpu) {
  const Validation v = Check(
      OneGroup({"processor_num: 4", "affinity: \"1to1\"", "cpuset: \"4-7\""}), Machine::ForTest(8));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const ProcessorPlan& p = v.plan.processors[i];
    EXPECT_EQ(p.index, i);
    EXPECT_EQ(p.affinity, Affinity::kOneOf);
    EXPECT_EQ(p.attributes.cpus, CpuSet::Of({4 + i})) << p.name;
  }
}

TEST(ValidatorTest, OneToOneOnASmallerMachineWrapsAround) {
  const Validation v = Check(
      OneGroup({"processor_num: 4", "affinity: \"1to1\"", "cpuset: \"0-3\""}), Machine::ForTest(2));
  ExpectCounts(v, 0, 2);
  const std::vector<Diagnostic> warnings = Of(v, Severity::kWarning);
  ASSERT_EQ(warnings.size(), 2u);
  ExpectAt(warnings[0], 8, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(warnings[0].message, HasSubstr("CPUs 2-3 are not online"));
  ExpectAt(warnings[1], 7, 7, "classic_conf.groups[0].affinity");
  EXPECT_THAT(warnings[1].message, HasSubstr("only 2 of the 4 CPUs can be used here"));
  ASSERT_EQ(v.plan.processors.size(), 4u);
  const int expected[] = {0, 1, 0, 1};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(v.plan.processors[i].attributes.cpus, CpuSet::Of({expected[i]})) << i;
  }
}

// ---------------------------------------------------------------------------------------
// Scheduler policy, groups and tasks

TEST(ValidatorTest, UnknownSchedulerPolicyIsAnErrorWithoutFallback) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classical\"\n"
      "  classic_conf { groups { name: \"g\" processor_num: 1 } }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 2, 12, "scheduler_conf.policy");
  EXPECT_THAT(d.message, StartsWith("unknown scheduler policy \"classical\""));
  EXPECT_EQ(d.hint, "use \"classic\" or \"choreography\"");
  EXPECT_TRUE(v.plan.processors.empty());
  EXPECT_TRUE(v.plan.queues.empty());
  EXPECT_EQ(v.plan.default_queue, -1);

  const Validation upper =
      Check("scheduler_conf {\n  policy: \"Classic\"\n}\n", Machine::ForTest(4));
  EXPECT_EQ(Single(upper, Severity::kError).hint, "policy names are lower case: \"classic\"");
}

TEST(ValidatorTest, ChoreographyConfWithoutPolicyIsAnError) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  choreography_conf { pool_processor_num: 1 }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  ExpectAt(Single(v, Severity::kError), 2, 3, "scheduler_conf.policy");
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, TaskPriority20IsClampedTo19WithAWarning) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" prio: 20 }"}), Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  // `      tasks { name: "t" prio: 20 }`: prio is at column 25.
  ExpectAt(d, 7, 25, "classic_conf.groups[0].tasks[0].prio");
  EXPECT_EQ(d.message,
            "task \"t\" has priority 20, outside Cyber RT's levels 0-19: clamped to 19 (as Cyber "
            "RT does)");
  ASSERT_EQ(v.plan.tasks.count("t"), 1u);
  EXPECT_EQ(v.plan.tasks.at("t").priority, 19);
  EXPECT_EQ(v.plan.tasks.at("t").queue, 0);
}

TEST(ValidatorTest, TaskDefaultsAndTiming) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" period_us: 1000 budget_us: 200 }",
                      "tasks { name: \"late\" period_us: 1000 budget_us: 2000 }"}),
            Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  ExpectAt(Single(v, Severity::kWarning), 8, 7, "classic_conf.groups[0].tasks[1].budget_us");
  const TaskPlan& t = v.plan.tasks.at("t");
  EXPECT_EQ(t.priority, 1);  // Cyber's default task priority.
  EXPECT_EQ(t.processor, -1);
  EXPECT_EQ(t.period_us, 1000u);
  EXPECT_EQ(t.budget_us, 200u);
  EXPECT_EQ(t.where.ToString(), "test.conf:7:7");
}

TEST(ValidatorTest, GroupTimesActivationsUnlessItSaysNot) {
  const Validation timed = Check(OneGroup({"processor_num: 1"}), Machine::ForTest(4));
  ExpectCounts(timed, 0, 0);
  ASSERT_EQ(timed.plan.queues.size(), 1u);
  EXPECT_TRUE(timed.plan.queues[0].time_activations);
  const Validation untimed =
      Check(OneGroup({"processor_num: 1", "time_activations: false", "tasks { name: \"t\" }"}),
            Machine::ForTest(4));
  ExpectCounts(untimed, 0, 0);
  ASSERT_EQ(untimed.plan.queues.size(), 1u);
  EXPECT_FALSE(untimed.plan.queues[0].time_activations);
  EXPECT_THAT(untimed.plan.ToText(), HasSubstr("served by g/0 (activations not timed)"));
  EXPECT_THAT(untimed.plan.ToJson(), HasSubstr("\"time_activations\":false"));
}

TEST(ValidatorTest, PeriodOrBudgetOnAnUntimedGroupIsAWarningThatItIsTimed) {
  const Validation v = Check(
      OneGroup({"processor_num: 1", "time_activations: false",
                "tasks { name: \"p\" period_us: 1000 }", "tasks { name: \"b\" budget_us: 100 }",
                "tasks { name: \"pb\" period_us: 1000 budget_us: 100 }",
                "tasks { name: \"plain\" }"}),
      Machine::ForTest(4));
  ExpectCounts(v, 0, 3);
  const std::vector<Diagnostic> warnings = Of(v, Severity::kWarning);
  ASSERT_EQ(warnings.size(), 3u);
  // `      tasks { name: "p" period_us: 1000 }`: period_us is at column 25.
  ExpectAt(warnings[0], 8, 25, "classic_conf.groups[0].tasks[0].period_us");
  EXPECT_EQ(warnings[0].message,
            "task \"p\" is on queue \"g\", whose activations are not timed, but its period_us "
            "needs the clock: its activations are timed");
  ExpectAt(warnings[1], 9, 25, "classic_conf.groups[0].tasks[1].budget_us");
  EXPECT_THAT(warnings[1].message, HasSubstr("but its budget_us needs the clock"));
  ExpectAt(warnings[2], 10, 26, "classic_conf.groups[0].tasks[2].period_us");
  EXPECT_THAT(warnings[2].message, HasSubstr("but its period_us and budget_us need the clock"));
  // Strict mode: no adjustment goes through.
  EXPECT_EQ(Check(OneGroup({"processor_num: 1", "time_activations: false",
                            "tasks { name: \"p\" period_us: 1000 }"}),
                  Machine::ForTest(4), /*strict=*/true)
                .diagnostics.ErrorCount(),
            1);
}

TEST(ValidatorTest, TaskPeriodOrBudgetTooLargeForNanosecondsIsAnErrorAtTheField) {
  // 18446744073709552 us is 2^64 ns + 384 ns: converted, it would wrap to a 384 ns period;
  // 9300000000000000000 us would go negative as int64 nanoseconds.
  const Validation v =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" period_us: 18446744073709552 }",
                      "tasks { name: \"u\" period_us: 1000 budget_us: 9300000000000000000 }",
                      "tasks { name: \"ok\" period_us: 1000 budget_us: 200 }"}),
            Machine::ForTest(4));
  ExpectCounts(v, 2, 0);
  const std::vector<Diagnostic> errors = Of(v, Severity::kError);
  ASSERT_EQ(errors.size(), 2u);
  ExpectAt(errors[0], 7, 25, "classic_conf.groups[0].tasks[0].period_us");
  EXPECT_THAT(errors[0].message,
              HasSubstr("task \"t\" has period_us 18446744073709552, more than the most cadence "
                        "takes: 4611686018427387 us"));
  ExpectAt(errors[1], 8, 41, "classic_conf.groups[0].tasks[1].budget_us");
  EXPECT_THAT(errors[1].message, HasSubstr("task \"u\" has budget_us 9300000000000000000"));
  EXPECT_FALSE(v.plan.tasks.contains("t"));
  EXPECT_FALSE(v.plan.tasks.contains("u"));
}

TEST(ValidatorTest, TaskPeriodAtTheLimitIsAcceptedOneMoreIsNot) {
  const Validation at_limit =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" period_us: 4611686018427387 }"}),
            Machine::ForTest(4));
  ExpectCounts(at_limit, 0, 0);
  ASSERT_TRUE(at_limit.plan.tasks.contains("t"));
  EXPECT_EQ(at_limit.plan.tasks.at("t").period_us, 4611686018427387u);

  const Validation past =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" period_us: 4611686018427388 }"}),
            Machine::ForTest(4));
  ExpectCounts(past, 1, 0);
  ExpectAt(Single(past, Severity::kError), 7, 25, "classic_conf.groups[0].tasks[0].period_us");
}

TEST(ValidatorTest, ChoreographyTaskPeriodTooLargeIsAnErrorAtTheField) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "  choreography_conf {\n"
      "    choreography_processor_num: 1\n"
      "    pool_processor_num: 1\n"
      "    tasks: [ { name: \"a\" processor: 0 period_us: 18446744073709552 } ]\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  ExpectAt(Single(v, Severity::kError), 6, 39, "choreography_conf.tasks[0].period_us");
  EXPECT_FALSE(v.plan.tasks.contains("a"));
}

TEST(ValidatorTest, DuplicateGroupNamesNameBothPlaces) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  classic_conf {\n"
      "    groups {\n"
      "      name: \"g\"\n"
      "      processor_num: 1\n"
      "    }\n"
      "    groups {\n"
      "      name: \"g\"\n"
      "      processor_num: 1\n"
      "    }\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 9, 7, "classic_conf.groups[1].name");
  EXPECT_EQ(d.message, "group name \"g\" is used twice: here and at test.conf:4:5");
}

TEST(ValidatorTest, DuplicateGroupNamesInListSyntaxNameBothPlaces) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  classic_conf {\n"
      "    groups: [\n"
      "      { name: \"a\" processor_num: 1 },\n"
      "      { name: \"g\" processor_num: 1 },\n"
      "      { name: \"g\" processor_num: 1 }\n"
      "    ]\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 6, 9, "classic_conf.groups[2].name");
  EXPECT_EQ(d.message, "group name \"g\" is used twice: here and at test.conf:5:9");
}

TEST(ValidatorTest, TaskNamedInTwoGroupsNamesBothPlaces) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  classic_conf {\n"
      "    groups: [\n"
      "      {\n"
      "        name: \"a\"\n"
      "        processor_num: 1\n"
      "        tasks: [ { name: \"x\" }, { name: \"t\" } ]\n"
      "      },\n"
      "      {\n"
      "        name: \"b\"\n"
      "        processor_num: 1\n"
      "        tasks { name: \"t\" }\n"
      "      }\n"
      "    ]\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 13, 9, "classic_conf.groups[1].tasks[0]");
  EXPECT_EQ(d.message, "task \"t\" is named twice: here (queue b) and at test.conf:8:35 (queue a)");
  EXPECT_EQ(v.plan.tasks.at("t").queue, 0);
}

TEST(ValidatorTest, GroupWithTasksButNoProcessorsIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 0", "tasks { name: \"t\" }"}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 6, 7, "classic_conf.groups[0].processor_num");
  EXPECT_EQ(d.message, "group \"g\" has 1 tasks but no processors to run them");

  // Without processor_num at all: reported at the group.
  const Validation unset = Check(OneGroup({"tasks { name: \"t\" }"}), Machine::ForTest(4));
  ExpectAt(Single(unset, Severity::kError), 4, 5, "classic_conf.groups[0].processor_num");
}

TEST(ValidatorTest, GroupWithoutProcessorsOrTasksIsAWarning) {
  const Validation v = Check(OneGroup({"processor_num: 0"}), Machine::ForTest(4));
  ExpectCounts(v, 0, 2);
  const std::vector<Diagnostic> warnings = Of(v, Severity::kWarning);
  ExpectAt(warnings[0], 6, 7, "classic_conf.groups[0].processor_num");
  EXPECT_EQ(warnings[1].field, "classic_conf");
  EXPECT_THAT(warnings[1].message, HasSubstr("nowhere to run"));
  EXPECT_EQ(v.plan.default_queue, -1);
}

TEST(ValidatorTest, TooManyProcessorsIsAnError) {
  const Validation v = Check(OneGroup({"processor_num: 5000"}), Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  ExpectAt(Single(v, Severity::kError), 6, 7, "classic_conf.groups[0].processor_num");
  EXPECT_TRUE(v.plan.processors.empty());
  // A uint32 that does not fit an int must not wrap around to "no processors".
  const Validation huge = Check(OneGroup({"processor_num: 4294967295"}), Machine::ForTest(4));
  ExpectCounts(huge, 1, 0);
  ExpectAt(Single(huge, Severity::kError), 6, 7, "classic_conf.groups[0].processor_num");
}

TEST(ValidatorTest, TaskWithAnotherGroupNameIsAnError) {
  const Validation v =
      Check(OneGroup({"processor_num: 1", "tasks { name: \"t\" group_name: \"other\" }"}),
            Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  // `      tasks { name: "t" group_name: "other" }`: the value starts at column 38.
  ExpectAt(Single(v, Severity::kError), 7, 38, "classic_conf.groups[0].tasks[0].group_name");
}

TEST(ValidatorTest, UnnamedTasksGoToTheFirstGroupWithProcessors) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  classic_conf {\n"
      "    groups { name: \"idle\" processor_num: 0 }\n"
      "    groups { name: \"work\" processor_num: 2 tasks { name: \"t\" prio: 7 } }\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  ASSERT_EQ(v.plan.queues.size(), 2u);
  EXPECT_EQ(v.plan.default_queue, 1);
  EXPECT_EQ(Of(v, Severity::kNote).size(), 1u) << v.diagnostics.ToString();
  TaskPlan placed;
  bool named = true;
  ASSERT_TRUE(v.plan.Placement("someone", &placed, &named));
  EXPECT_FALSE(named);
  EXPECT_EQ(placed.queue, 1);
  EXPECT_EQ(placed.priority, 0);
  ASSERT_TRUE(v.plan.Placement("t", &placed, &named));
  EXPECT_TRUE(named);
  EXPECT_EQ(placed.queue, 1);
  EXPECT_EQ(placed.priority, 7);
}

// ---------------------------------------------------------------------------------------
// Choreography

constexpr char kChoreography[] =
    "scheduler_conf {\n"                                // 1
    "  policy: \"choreography\"\n"                      // 2
    "  choreography_conf {\n"                           // 3
    "    choreography_processor_num: 2\n"               // 4
    "    choreography_cpuset: \"0-1\"\n"                // 5
    "    pool_processor_num: 2\n"                       // 6
    "    pool_cpuset: \"2-3\"\n"                        // 7
    "    tasks { name: \"a\" processor: 0 prio: 5 }\n"  // 8
    "    tasks { name: \"b\" processor: 1 }\n"          // 9
    "    tasks { name: \"c\" prio: 3 }\n"               // 10
    "  }\n"
    "}\n";

TEST(ValidatorTest, ChoreographyPlacesTasksOnTheirProcessorsAndTheRestInThePool) {
  const Validation v = Check(kChoreography, Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  const Plan& plan = v.plan;
  EXPECT_EQ(plan.kind, SchedulerKind::kChoreography);
  ASSERT_EQ(plan.processors.size(), 4u);
  ASSERT_EQ(plan.queues.size(), 3u);
  EXPECT_EQ(plan.queues[0].name, "choreo/0");
  EXPECT_EQ(plan.queues[1].name, "choreo/1");
  EXPECT_EQ(plan.queues[2].name, "pool");
  EXPECT_EQ(plan.queues[2].processors, std::vector<int>({2, 3}));
  EXPECT_EQ(plan.processors[0].name, "choreo/0");
  EXPECT_EQ(plan.processors[0].attributes.cpus, Cpus("0-1"));
  EXPECT_EQ(plan.processors[2].name, "pool/0");
  EXPECT_EQ(plan.processors[2].attributes.cpus, Cpus("2-3"));
  EXPECT_EQ(plan.default_queue, 2);

  const TaskPlan& a = plan.tasks.at("a");
  EXPECT_EQ(a.queue, 0);
  EXPECT_EQ(a.processor, 0);
  EXPECT_EQ(a.priority, 5);
  const TaskPlan& b = plan.tasks.at("b");
  EXPECT_EQ(b.queue, 1);
  EXPECT_EQ(b.processor, 1);
  EXPECT_EQ(b.priority, 1);
  const TaskPlan& c = plan.tasks.at("c");
  EXPECT_EQ(c.queue, 2);
  EXPECT_EQ(c.processor, -1);
  EXPECT_EQ(c.priority, 3);
  EXPECT_EQ(c.where.ToString(), "test.conf:10:5");

  TaskPlan placed;
  bool named = true;
  ASSERT_TRUE(plan.Placement("not_in_the_config", &placed, &named));
  EXPECT_FALSE(named);
  EXPECT_EQ(placed.name, "not_in_the_config");
  EXPECT_EQ(placed.queue, 2);
  EXPECT_EQ(placed.priority, 0);
  EXPECT_EQ(placed.processor, -1);
}

TEST(ValidatorTest, ChoreographyProcessorsAndPoolTimeActivationsEachAsTheySay) {
  std::string text = kChoreography;
  text.insert(text.find("    tasks"), "    choreography_time_activations: false\n");
  Validation v = Check(text, Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.queues.size(), 3u);
  EXPECT_FALSE(v.plan.queues[0].time_activations);
  EXPECT_FALSE(v.plan.queues[1].time_activations);
  EXPECT_TRUE(v.plan.queues[2].time_activations);  // the pool
  text = kChoreography;
  text.insert(text.find("    tasks"), "    pool_time_activations: false\n");
  v = Check(text, Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.queues.size(), 3u);
  EXPECT_TRUE(v.plan.queues[0].time_activations);
  EXPECT_TRUE(v.plan.queues[1].time_activations);
  EXPECT_FALSE(v.plan.queues[2].time_activations);
  // A placed task with a budget on an untimed choreography processor: timed, with a warning.
  text = kChoreography;
  text.insert(text.find("    tasks"), "    choreography_time_activations: false\n");
  text.replace(text.find("processor: 1 }"), 14, "processor: 1 budget_us: 50 }");
  v = Check(text, Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  // Line 10 (one inserted); `    tasks { name: "b" processor: 1 budget_us: 50 }`.
  ExpectAt(Single(v, Severity::kWarning), 10, 36, "choreography_conf.tasks[1].budget_us");
  EXPECT_THAT(Single(v, Severity::kWarning).message,
              HasSubstr("task \"b\" is on queue \"choreo/1\", whose activations are not timed"));
}

TEST(ValidatorTest, ChoreographyProcessorOutOfRangeIsAnError) {
  std::string text = kChoreography;
  text.replace(text.find("processor: 0"), 12, "processor: 2");
  const Validation v = Check(text, Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  // `    tasks { name: "a" processor: 2 prio: 5 }`: processor is at column 23.
  ExpectAt(d, 8, 23, "choreography_conf.tasks[0].processor");
  EXPECT_EQ(d.message,
            "task \"a\" is placed on processor 2, but there are 2 choreography processors (0-1)");
  EXPECT_EQ(v.plan.tasks.count("a"), 0u);
}

TEST(ValidatorTest, ChoreographyProcessorWithNoneDeclaredSaysThereAreNone) {
  std::string text = kChoreography;
  const size_t num = text.find("choreography_processor_num: 2");
  ASSERT_NE(num, std::string::npos);
  text.replace(num, 29, "choreography_processor_num: 0");
  const Validation v = Check(text, Machine::ForTest(4));
  bool found = false;
  for (const Diagnostic& d : Of(v, Severity::kError)) {
    if (d.field != "choreography_conf.tasks[0].processor") continue;
    found = true;
    EXPECT_EQ(d.message,
              "task \"a\" is placed on processor 0, but there are no choreography processors");
    EXPECT_EQ(d.hint, "set choreography_processor_num");
  }
  EXPECT_TRUE(found) << v.diagnostics.ToString();
}

TEST(ValidatorTest, ChoreographyUnplacedTaskWithEmptyPoolIsAnError) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "  choreography_conf {\n"
      "    choreography_processor_num: 1\n"
      "    tasks { name: \"a\" processor: 0 }\n"
      "    tasks { name: \"b\" }\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 1, 1);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 6, 5, "choreography_conf.tasks[1]");
  EXPECT_THAT(d.message,
              HasSubstr("task \"b\" is not placed on a processor and the pool is empty"));
  ExpectAt(Single(v, Severity::kWarning), 3, 3, "choreography_conf.pool_processor_num");
  EXPECT_EQ(v.plan.default_queue, -1);
  TaskPlan placed;
  bool named = true;
  EXPECT_FALSE(v.plan.Placement("unnamed", &placed, &named));
}

TEST(ValidatorTest, ChoreographyWithoutProcessorsIsAnError) {
  const Validation v =
      Check("scheduler_conf {\n  policy: \"choreography\"\n  choreography_conf { }\n}\n",
            Machine::ForTest(4));
  ExpectCounts(v, 1, 0);
  ExpectAt(Single(v, Severity::kError), 3, 3, "choreography_conf");
}

TEST(ValidatorTest, ChoreographyProcessorCountIsBounded) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "  choreography_conf {\n"
      "    choreography_processor_num: 4000000000\n"
      "    pool_processor_num: 3000000000\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 2, 0);
  const std::vector<Diagnostic> errors = Of(v, Severity::kError);
  ASSERT_EQ(errors.size(), 2u);
  ExpectAt(errors[0], 4, 5, "choreography_conf.choreography_processor_num");
  ExpectAt(errors[1], 5, 5, "choreography_conf.pool_processor_num");
  EXPECT_TRUE(v.plan.processors.empty());
}

TEST(ValidatorTest, ChoreographyOneToOne) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "  choreography_conf {\n"
      "    choreography_processor_num: 3\n"
      "    choreography_affinity: \"1to1\"\n"
      "    choreography_cpuset: \"1-3\"\n"
      "    pool_processor_num: 1\n"
      "  }\n"
      "}\n",
      Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(v.plan.processors[i].attributes.cpus, CpuSet::Of({1 + i}));
  }
  EXPECT_EQ(v.plan.processors[3].attributes.cpus, Cpus("0-3"));

  std::string mismatch =
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "  choreography_conf {\n"
      "    choreography_processor_num: 2\n"
      "    choreography_affinity: \"1to1\"\n"
      "    choreography_cpuset: \"1-3\"\n"
      "    pool_processor_num: 1\n"
      "  }\n"
      "}\n";
  const Validation bad = Check(mismatch, Machine::ForTest(4));
  ExpectCounts(bad, 1, 0);
  ExpectAt(Single(bad, Severity::kError), 5, 5, "choreography_conf.choreography_affinity");
}

// ---------------------------------------------------------------------------------------
// Privileges and RT budgets

TEST(ValidatorTest, RealTimeProcessorsOnEveryCpuWarnAboutThrottling) {
  const Validation v = Check(
      OneGroup({"processor_num: 2", "processor_policy: \"SCHED_FIFO\"", "processor_prio: 50"}),
      Machine::ForTest(2));
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  EXPECT_EQ(d.where.file, "test.conf");
  EXPECT_EQ(d.where.line, 0);
  EXPECT_THAT(d.message,
              AllOf(StartsWith("real-time processors may run on every CPU of the process (0-1)"),
                    HasSubstr("950000 us of every 1000000 us")));
  EXPECT_FALSE(d.hint.empty());
  ASSERT_EQ(v.plan.processors.size(), 2u);
  EXPECT_EQ(v.plan.processors[0].attributes.policy, SchedPolicy::kFifo);
  EXPECT_EQ(v.plan.processors[0].attributes.rt_priority, 50);

  // No throttling (sched_rt_runtime_us = -1): nothing to warn about.
  Machine unthrottled = Machine::ForTest(2);
  unthrottled.rt_runtime_us = -1;
  ExpectCounts(Check(OneGroup({"processor_num: 2", "processor_policy: \"SCHED_FIFO\"",
                               "processor_prio: 50"}),
                     unthrottled),
               0, 0);
  // A CPU left to the rest of the process: nothing to warn about either.
  ExpectCounts(Check(OneGroup({"processor_num: 1", "cpuset: \"0\"",
                               "processor_policy: \"SCHED_FIFO\"", "processor_prio: 50"}),
                     Machine::ForTest(2)),
               0, 0);
}

TEST(ValidatorTest, DeadlineBandwidthOfProcessorsAndThreadsTogetherOverWhatTheKernelAdmitsWarns) {
  // On 2 CPUs RT throttling leaves SCHED_DEADLINE 2 x 0.95 = 1.90 CPUs.
  const auto conf = [](int group_runtime_us, const std::string& threads) {
    return absl::StrCat(
        "scheduler_conf {\n", threads,
        "  classic_conf { groups { name: \"dl\" processor_num: 2 cpuset: \"0-1\" "
        "processor_policy: \"SCHED_DEADLINE\" processor_runtime_us: ",
        group_runtime_us,
        " processor_deadline_us: 1000 processor_period_us: 1000 } }\n}\n");
  };
  const std::string thread =
      "  threads { name: \"t\" cpuset: \"0-1\" policy: \"SCHED_DEADLINE\" runtime_us: 300 "
      "deadline_us: 1000 period_us: 1000 }\n";
  // The processors alone fit (1.60)...
  ExpectCounts(Check(conf(800, ""), Machine::ForTest(2)), 0, 0);
  // ...with the thread they do not (1.90 is still admitted, 1.92 is not).
  ExpectCounts(Check(conf(800, absl::StrCat(thread)), Machine::ForTest(2)), 0, 0);
  const Validation over = Check(conf(810, thread), Machine::ForTest(2));
  ExpectCounts(over, 0, 1);
  EXPECT_EQ(Single(over, Severity::kWarning).message,
            "SCHED_DEADLINE processors and threads ask for 1.92 CPUs of bandwidth (dl/0 0.81, "
            "dl/1 0.81, thread \"t\" 0.30), more than the 1.90 the kernel admits on 2 CPU(s) (RT "
            "throttling allows real-time threads 950000 us of every 1000000 us on each CPU): "
            "some will be refused and fall back");
  // Strict: an error.
  ExpectCounts(Check(conf(810, thread), Machine::ForTest(2), /*strict=*/true), 1, 0);
}

TEST(ValidatorTest, RealTimeWorkOverTheBudgetWarns) {
  // A busy-spinning real-time processor uses all of its CPU.
  const Validation spin =
      Check(OneGroup({"processor_num: 1", "cpuset: \"0\"", "processor_policy: \"SCHED_FIFO\"",
                      "processor_prio: 50", "busy_spin: true"}),
            Machine::ForTest(2));
  ExpectCounts(spin, 0, 1);
  EXPECT_THAT(Single(spin, Severity::kWarning).message,
              AllOf(StartsWith("real-time work can exceed the RT budget"),
                    HasSubstr("g (busy-spins: 100% of CPU 0)")));

  // Periodic tasks whose budgets add up to more than RT throttling leaves (96% > 95%).
  const Validation busy =
      Check(OneGroup({"processor_num: 1", "cpuset: \"0\"", "processor_policy: \"SCHED_FIFO\"",
                      "processor_prio: 50", "tasks { name: \"a\" period_us: 1000 budget_us: 500 }",
                      "tasks { name: \"b\" period_us: 1000 budget_us: 460 }"}),
            Machine::ForTest(2));
  ExpectCounts(busy, 0, 1);
  EXPECT_THAT(Single(busy, Severity::kWarning).message,
              AllOf(StartsWith("real-time work can exceed the RT budget"),
                    HasSubstr("96% of a CPU on 1 CPU(s)")));

  // The same budgets under SCHED_OTHER are not throttled.
  ExpectCounts(Check(OneGroup({"processor_num: 1", "cpuset: \"0\"",
                               "tasks { name: \"a\" period_us: 1000 budget_us: 500 }",
                               "tasks { name: \"b\" period_us: 1000 budget_us: 460 }"}),
                     Machine::ForTest(2)),
               0, 0);
}

TEST(ValidatorTest, RealTimeWithoutPrivilegeWarnsWithTheFallback) {
  Machine machine = Machine::ForTest(2);
  machine.cap_sys_nice = false;
  machine.rlimit_rtprio = 0;
  const Validation v = Check(OneGroup({"processor_num: 1", "cpuset: \"0\"",
                                       "processor_policy: \"SCHED_FIFO\"", "processor_prio: 50"}),
                             machine);
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 8, 26, "classic_conf.groups[0].processor_policy");
  EXPECT_EQ(d.message,
            "group \"g\" asks for SCHED_FIFO 50 but this process may not use it: it will fall "
            "back to SCHED_OTHER nice 0");
  EXPECT_THAT(d.hint, AllOf(HasSubstr("RLIMIT_RTPRIO is 0"), HasSubstr("setcap cap_sys_nice+ep"),
                            HasSubstr("ulimit -r 50")));
  // The plan keeps what was asked; the processor records what it gets.
  ASSERT_EQ(v.plan.processors.size(), 1u);
  EXPECT_EQ(v.plan.processors[0].attributes.policy, SchedPolicy::kFifo);

  // Enough RLIMIT_RTPRIO: no warning.
  machine.rlimit_rtprio = 50;
  ExpectCounts(Check(OneGroup({"processor_num: 1", "cpuset: \"0\"",
                               "processor_policy: \"SCHED_FIFO\"", "processor_prio: 50"}),
                     machine),
               0, 0);
}

TEST(ValidatorTest, NegativeNiceWithoutPrivilegeWarns) {
  Machine machine = Machine::ForTest(2);
  machine.cap_sys_nice = false;
  machine.rlimit_nice = 25;  // nice may go down to -5
  const Validation v = Check(
      OneGroup({"processor_num: 1", "processor_policy: \"SCHED_OTHER\"", "processor_nice: -10"}),
      machine);
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_policy");
  EXPECT_THAT(d.message, EndsWith("fall back to SCHED_OTHER nice -5"));
}

TEST(ValidatorTest, CgroupWithoutRtBudgetWarns) {
  Machine machine = Machine::ForTest(2);
  machine.cgroup_path = "/robot";
  machine.cgroup_rt_runtime_us = 0;
  machine.cgroup_rt_period_us = 1000000;
  const Validation v =
      Check(OneGroup({"processor_num: 1", "processor_policy: \"SCHED_RR\"", "processor_prio: 10"}),
            machine);
  ExpectCounts(v, 0, 1);
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 7, 26, "classic_conf.groups[0].processor_policy");
  EXPECT_THAT(d.message, EndsWith("fall back to SCHED_OTHER nice -20"));
  EXPECT_THAT(d.hint, AllOf(HasSubstr("the cgroup /robot has no real-time budget"),
                            HasSubstr("cpu.rt_runtime_us")));

  Machine off = Machine::ForTest(2);
  off.rt_runtime_us = 0;
  const Validation v2 = Check(
      OneGroup({"processor_num: 1", "processor_policy: \"SCHED_RR\"", "processor_prio: 10"}), off);
  EXPECT_THAT(Single(v2, Severity::kWarning).hint, HasSubstr("real-time is switched off"));
}

// ---------------------------------------------------------------------------------------
// Strict mode, the default plan, names and threads

TEST(ValidatorTest, StrictModeTurnsWarningsIntoErrors) {
  const std::string text = OneGroup({"processor_num: 2", "cpuset: \"2-7\""});
  const Validation v = Check(text, Machine::ForTest(4), /*strict=*/true);
  EXPECT_FALSE(v.ok());
  ExpectCounts(v, 1, 0);
  const Diagnostic d = Single(v, Severity::kError);
  ExpectAt(d, 7, 16, "classic_conf.groups[0].cpuset");
  EXPECT_THAT(d.message, EndsWith("(an error in strict mode)"));

  // Notes stay notes.
  const Validation notes = Check("scheduler_conf { routine_num: 10 }\n", Machine::ForTest(4), true);
  EXPECT_TRUE(notes.ok()) << notes.diagnostics.ToString();
  EXPECT_FALSE(Of(notes, Severity::kNote).empty());
}

TEST(ValidatorTest, NoConfigFileLookedUpByNameGivesTheDefaultPlanWithAWarning) {
  absl::StatusOr<Validation> v = LoadAndValidate("/nonexistent-cadence-dir/none.conf",
                                                 Machine::ForTest(4), {}, ConfNaming::kLookedUp);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok());
  ExpectCounts(*v, 0, 1);
  // At the file that was looked for (not "<config>").
  EXPECT_EQ(Single(*v, Severity::kWarning).where.ToString(), "/nonexistent-cadence-dir/none.conf");
  EXPECT_THAT(Single(*v, Severity::kWarning).message,
              AllOf(HasSubstr("no config file at /nonexistent-cadence-dir/none.conf"),
                    HasSubstr("classic, one group of 4 processors on CPUs 0-3")));
  const Plan& plan = v->plan;
  EXPECT_EQ(plan.kind, SchedulerKind::kClassic);
  EXPECT_EQ(plan.config_path, "");
  ASSERT_EQ(plan.queues.size(), 1u);
  EXPECT_EQ(plan.queues[0].name, "default_grp");
  EXPECT_EQ(plan.default_queue, 0);
  ASSERT_EQ(plan.processors.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const ProcessorPlan& p = plan.processors[i];
    EXPECT_EQ(p.name, absl::StrCat("default_grp/", i));
    EXPECT_EQ(p.queue, 0);
    EXPECT_EQ(p.attributes.policy, SchedPolicy::kOther);
    EXPECT_EQ(p.attributes.nice, 0);
    EXPECT_EQ(p.attributes.cpus, Cpus("0-3"));
  }
  EXPECT_TRUE(plan.tasks.empty());

  absl::StatusOr<Validation> strict =
      LoadAndValidate("/nonexistent-cadence-dir/none.conf", Machine::ForTest(4), {.strict = true},
                      ConfNaming::kLookedUp);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->ok());
}

TEST(ValidatorTest, ExplicitlyNamedConfigFileThatDoesNotExistIsAnError) {
  for (const bool strict : {false, true}) {
    absl::StatusOr<Validation> v = LoadAndValidate("/nonexistent-cadence-dir/none.conf",
                                                   Machine::ForTest(4), {.strict = strict});
    ASSERT_FALSE(v.ok()) << "strict " << strict << ": the default plan instead of an error";
    EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(std::string(v.status().message()),
                StartsWith("/nonexistent-cadence-dir/none.conf: error: cannot read the config: "
                           "No such file or directory"));
  }
}

TEST(ValidatorTest, ProcessorThreadNamesFitTheKernelLimit) {
  std::string text = OneGroup({"processor_num: 12"});
  text.replace(text.find("name: \"g\""), 9, "name: \"perception_camera_group\"");
  const Validation v = Check(text, Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.processors.size(), 12u);
  std::set<std::string> names;
  for (const ProcessorPlan& p : v.plan.processors) {
    EXPECT_LE(p.thread_name.size(), 15u) << p.thread_name;
    EXPECT_EQ(p.name, absl::StrCat("perception_camera_group/", p.index));
    names.insert(p.thread_name);
  }
  EXPECT_EQ(names.size(), 12u);  // still tell the threads apart
  EXPECT_EQ(v.plan.processors[11].thread_name, "perception_c/11");
  EXPECT_EQ(v.plan.processors[0].thread_name, "perception_ca/0");
}

// A classic config with one group per name, `processors` processors each; group i's name is
// on line 4 + i, column 14.
std::string Groups(const std::vector<std::string>& names, int processors) {
  std::string text = "scheduler_conf {\n  policy: \"classic\"\n  classic_conf {\n";
  for (const std::string& name : names) {
    absl::StrAppend(&text, "    groups { name: \"", name, "\" processor_num: ", processors, " }\n");
  }
  absl::StrAppend(&text, "  }\n}\n");
  return text;
}

// Every processor's thread name, in plan order.
std::vector<std::string> ThreadNames(const Plan& plan) {
  std::vector<std::string> names;
  for (const ProcessorPlan& p : plan.processors) names.push_back(p.thread_name);
  return names;
}

TEST(ValidatorTest, GroupsWhoseThreadNamesWouldBeTheSameGetDistinctNamesAndAWarning) {
  // Cut to 13 characters, both would be "motion_contro/0": ps/top could not tell them apart.
  const Validation v =
      Check(Groups({"motion_control_a", "motion_control_b", "led"}, 2), Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  EXPECT_THAT(ThreadNames(v.plan),
              ::testing::ElementsAre("motion~trol_a/0", "motion~trol_a/1", "motion~trol_b/0",
                                     "motion~trol_b/1", "led/0", "led/1"));
  const Diagnostic d = Single(v, Severity::kWarning);
  ExpectAt(d, 5, 14, "classic_conf.groups[1].name");
  EXPECT_THAT(d.message,
              HasSubstr("groups \"motion_control_a\" and \"motion_control_b\" would both show in "
                        "ps/top as \"motion_contro/0\""));
  EXPECT_THAT(d.message, HasSubstr("named \"motion~trol_a/0\" and \"motion~trol_b/0\" instead"));
  EXPECT_THAT(d.hint, HasSubstr("differ in their first 13 characters"));
  // The processors keep their full names; only the thread names change.
  EXPECT_EQ(v.plan.processors[2].name, "motion_control_b/0");

  // Strict mode: an error, as every adjustment is.
  const Validation strict =
      Check(Groups({"motion_control_a", "motion_control_b"}, 1), Machine::ForTest(4), true);
  EXPECT_FALSE(strict.ok());
}

TEST(ValidatorTest, GroupsThatDifferOnlyInTheMiddleStillGetDistinctThreadNames) {
  // All three would be "perception_fr/0"; the first two also elide alike
  // ("percep~_front/0"), so the second gets a number.
  const Validation v = Check(
      Groups({"perception_fr_camera_front", "perception_fr_lidar_front", "perception_fr_radar"},
             12),
      Machine::ForTest(4));
  ExpectCounts(v, 0, 1);
  EXPECT_THAT(Single(v, Severity::kWarning).message,
              HasSubstr("would all show in ps/top as \"perception_fr/0\""));
  const std::vector<std::string> names = ThreadNames(v.plan);
  ASSERT_EQ(names.size(), 36u);
  for (const std::string& name : names) EXPECT_LE(name.size(), 15u) << name;
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size())
      << absl::StrJoin(names, " ");
  EXPECT_EQ(names[0], "percep~_front/0");
  EXPECT_EQ(names[12], "perception_~2/0");
  EXPECT_EQ(names[24], "percep~_radar/0");
  EXPECT_EQ(names[35], "percep~radar/11");
}

TEST(ValidatorTest, ThreadNamesOfGroupsThatDifferInTheirFirstCharactersAreNotChanged) {
  const Validation v = Check(Groups({"motion_contro", "motion_contra"}, 1), Machine::ForTest(4));
  ExpectCounts(v, 0, 0);
  EXPECT_THAT(ThreadNames(v.plan), ::testing::ElementsAre("motion_contro/0", "motion_contra/0"));
}

TEST(ValidatorTest, InnerThreadsTable) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "  threads: [\n"
      "    { name: \"logger\" cpuset: \"1\" policy: \"SCHED_OTHER\" nice: 5 },\n"
      "    { name: \"lidar\" cpuset: \"0-1\" policy: \"SCHED_RR\" prio: 10 },\n"
      "    { name: \"plain\" }\n"
      "  ]\n"
      "  classic_conf { groups { name: \"g\" processor_num: 1 } }\n"
      "}\n",
      Machine::ForTest(2));
  ExpectCounts(v, 0, 0);
  ASSERT_EQ(v.plan.inner_threads.size(), 3u);
  const InnerThreadPlan& logger = v.plan.inner_threads[0];
  EXPECT_EQ(logger.name, "logger");
  EXPECT_EQ(logger.attributes.policy, SchedPolicy::kOther);
  EXPECT_EQ(logger.attributes.nice, 5);
  EXPECT_EQ(logger.attributes.cpus, CpuSet::Of({1}));
  EXPECT_EQ(logger.where.ToString(), "test.conf:4:7");
  const InnerThreadPlan& lidar = v.plan.inner_threads[1];
  EXPECT_EQ(lidar.attributes.policy, SchedPolicy::kRr);
  EXPECT_EQ(lidar.attributes.rt_priority, 10);
  EXPECT_EQ(lidar.attributes.cpus, Cpus("0-1"));
  EXPECT_EQ(lidar.where.ToString(), "test.conf:5:7");
  const InnerThreadPlan& plain = v.plan.inner_threads[2];
  EXPECT_EQ(plain.attributes.policy, SchedPolicy::kOther);
  EXPECT_EQ(plain.attributes.nice, 0);
  EXPECT_TRUE(plain.attributes.cpus.Empty());  // the process's CPUs
  EXPECT_EQ(plain.where.ToString(), "test.conf:6:7");
}

TEST(ValidatorTest, InnerThreadErrors) {
  const Validation v = Check(
      "scheduler_conf {\n"
      "  threads { name: \"t\" }\n"
      "  threads { name: \"t\" }\n"
      "  threads { cpuset: \"1\" }\n"
      "  threads { name: \"u\" cpuset: \"9\" }\n"
      "}\n",
      Machine::ForTest(2));
  ExpectCounts(v, 3, 0);
  const std::vector<Diagnostic> errors = Of(v, Severity::kError);
  ASSERT_EQ(errors.size(), 3u);
  ExpectAt(errors[0], 3, 3, "scheduler_conf.threads[1].name");
  EXPECT_EQ(errors[0].message, "thread \"t\" is listed twice: here and at test.conf:2:3");
  ExpectAt(errors[1], 4, 3, "scheduler_conf.threads[2].name");
  ExpectAt(errors[2], 5, 32, "scheduler_conf.threads[3].cpuset");
  ASSERT_EQ(v.plan.inner_threads.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Apollo Cyber RT's own configs (shared/compat/cyber)

// The compat directory; fails the calling test when it cannot be found.
std::string CompatDir() {
  std::string looked;
  const std::string dir = testing::FindCompatCyberDir(&looked);
  if (dir.empty()) {
    ADD_FAILURE() << "cannot find shared/compat/cyber (Apollo Cyber RT's .conf files); set "
                     "CADENCE_SHARED_DIR to the `shared` directory. Looked:"
                  << looked;
  }
  return dir;
}

struct CompatRun {
  LoadedConfig loaded;
  Validation v;
};

// Loads `name` from the compat directory (it must load) and validates it on `cpus` CPUs.
CompatRun RunCompat(const std::string& dir, const std::string& name, int cpus) {
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/" + name);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return {};
  CompatRun run{*loaded, Validate(*loaded, Machine::ForTest(cpus))};
  return run;
}

// Every finding, for failure output.
std::string Messages(const Validation& v) { return v.diagnostics.ToString(); }

// The index of the plan's queue `name`.
int QueueIndex(const Plan& plan, const std::string& name) {
  for (size_t q = 0; q < plan.queues.size(); ++q) {
    if (plan.queues[q].name == name) return static_cast<int>(q);
  }
  ADD_FAILURE() << "no queue " << name;
  return -1;
}

TEST(CyberCompatTest, EveryFileIsCovered) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".conf") files.insert(entry.path().filename().string());
  }
  EXPECT_EQ(files, std::set<std::string>({"compute_sched.conf", "compute_sched_choreography.conf",
                                          "compute_sched_classic.conf", "control_sched.conf",
                                          "control_sched_choreography.conf",
                                          "control_sched_classic.conf", "cyber.pb.conf",
                                          "dreamview_sched.conf", "example_sched_choreography.conf",
                                          "example_sched_classic.conf"}))
      << "a new file in " << dir << " needs its own test here";
}

TEST(CyberCompatTest, ComputeSchedClassic) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "compute_sched_classic.conf", 32);
  const Validation& v = run.v;
  ASSERT_TRUE(v.ok()) << Messages(v);
  ExpectCounts(v, 0, 3);
  const std::vector<Diagnostic> warnings = Of(v, Severity::kWarning);
  const int lines[] = {79, 83, 87};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(warnings[i].where.line, lines[i]);
    EXPECT_EQ(warnings[i].where.column, 13);
    EXPECT_EQ(warnings[i].field, absl::StrCat("classic_conf.groups[0].tasks[", 16 + i, "].prio"));
    EXPECT_THAT(warnings[i].message, HasSubstr("priority 20"));
  }
  const Plan& plan = v.plan;
  EXPECT_EQ(plan.kind, SchedulerKind::kClassic);
  ASSERT_EQ(plan.queues.size(), 2u);
  EXPECT_EQ(plan.queues[0].name, "compute");
  EXPECT_EQ(plan.queues[1].name, "compute_camera");
  ASSERT_EQ(plan.processors.size(), 32u);
  EXPECT_EQ(plan.processors[0].attributes.cpus, Cpus("0-7,16-23"));
  EXPECT_EQ(plan.processors[16].attributes.cpus, Cpus("8-15,24-31"));
  EXPECT_EQ(plan.tasks.size(), 24u);
  EXPECT_EQ(plan.tasks.at("msf_localization").priority, 19);
  EXPECT_EQ(plan.tasks.at("msf_localization").queue, 0);
  EXPECT_EQ(plan.tasks.at("routing").priority, 19);
  EXPECT_EQ(plan.tasks.at("velodyne_16_front_center_convert").priority, 10);
  EXPECT_EQ(plan.tasks.at("camera_rear_6mm_compress").queue, 1);
  EXPECT_EQ(plan.tasks.at("camera_rear_6mm_compress").priority, 0);
  EXPECT_EQ(plan.default_queue, 0);

  // On 2 CPUs: "compute" keeps CPUs 0-1, "compute_camera" has none.
  CompatRun small = RunCompat(dir, "compute_sched_classic.conf", 2);
  ExpectCounts(small.v, 1, 4);
  const Diagnostic error = Single(small.v, Severity::kError);
  EXPECT_EQ(error.where.line, 95);
  EXPECT_EQ(error.where.column, 18);
  EXPECT_EQ(error.field, "classic_conf.groups[1].cpuset");
  EXPECT_THAT(error.message, HasSubstr("none of the CPUs 8-15,24-31 can be used"));
}

TEST(CyberCompatTest, ComputeSchedPlainTextLink) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "compute_sched.conf", 32);
  EXPECT_EQ(run.loaded.real_path, dir + "/compute_sched_classic.conf");
  ASSERT_EQ(run.loaded.link_chain.size(), 1u);
  EXPECT_THAT(run.loaded.link_chain[0], HasSubstr("=> compute_sched_classic.conf"));
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  ExpectCounts(run.v, 0, 4);
  const Diagnostic& link = run.v.diagnostics.all()[0];
  EXPECT_EQ(link.severity, Severity::kWarning);
  EXPECT_EQ(link.where.ToString(), dir + "/compute_sched.conf:1:1");
  EXPECT_THAT(link.message, HasSubstr("'compute_sched_classic.conf'"));
  EXPECT_EQ(run.v.plan.processors.size(), 32u);
  EXPECT_EQ(run.v.plan.tasks.size(), 24u);

  CompatRun small = RunCompat(dir, "compute_sched.conf", 2);
  ExpectCounts(small.v, 1, 5);
}

TEST(CyberCompatTest, ComputeSchedChoreography) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "compute_sched_choreography.conf", 32);
  const Validation& v = run.v;
  ASSERT_TRUE(v.ok()) << Messages(v);
  ExpectCounts(v, 0, 0);
  const Plan& plan = v.plan;
  EXPECT_EQ(plan.kind, SchedulerKind::kChoreography);
  ASSERT_EQ(plan.processors.size(), 20u);  // 8 choreography + 12 pool
  ASSERT_EQ(plan.queues.size(), 9u);       // one per choreography processor + the pool
  const int pool = QueueIndex(plan, "pool");
  EXPECT_EQ(pool, 8);
  EXPECT_EQ(plan.default_queue, pool);
  EXPECT_EQ(plan.processors[0].attributes.cpus, Cpus("0-7"));
  EXPECT_EQ(plan.processors[8].attributes.cpus, Cpus("8-11,16-23"));
  EXPECT_EQ(plan.tasks.size(), 24u);
  const std::pair<const char*, int> placed[] = {{"velodyne_128_convert", 0},
                                                {"velodyne128_compensator", 1},
                                                {"velodyne_fusion", 2},
                                                {"RecognitionComponent", 3},
                                                {"SensorFusion", 4},
                                                {"prediction", 5},
                                                {"planning", 6},
                                                {"routing", 6},
                                                {"rtk_localization", 7}};
  for (const auto& [name, processor] : placed) {
    const TaskPlan& t = plan.tasks.at(name);
    EXPECT_EQ(t.processor, processor) << name;
    EXPECT_EQ(t.queue, processor) << name;
  }
  EXPECT_EQ(plan.tasks.at("routing").priority, 1);
  EXPECT_EQ(plan.tasks.at("velodyne_16_rear_left_convert").queue, pool);
  EXPECT_EQ(plan.tasks.at("velodyne_16_rear_left_convert").processor, -1);
  EXPECT_EQ(plan.tasks.at("velodyne_16_rear_left_convert").priority, 10);
  EXPECT_EQ(plan.tasks.at("camera_rear_6mm_compress").queue, pool);

  CompatRun small = RunCompat(dir, "compute_sched_choreography.conf", 2);
  ExpectCounts(small.v, 1, 1);
  const Diagnostic warning = Single(small.v, Severity::kWarning);
  EXPECT_EQ(warning.where.line, 7);
  EXPECT_EQ(warning.field, "choreography_conf.choreography_cpuset");
  const Diagnostic error = Single(small.v, Severity::kError);
  EXPECT_EQ(error.where.line, 11);
  EXPECT_EQ(error.where.column, 19);
  EXPECT_EQ(error.field, "choreography_conf.pool_cpuset");
}

TEST(CyberCompatTest, ControlSchedClassic) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "control_sched_classic.conf", 32);
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  ExpectCounts(run.v, 0, 0);
  const Plan& plan = run.v.plan;
  ASSERT_EQ(plan.processors.size(), 8u);
  EXPECT_EQ(plan.processors[7].name, "control/7");
  EXPECT_EQ(plan.processors[7].attributes.cpus, Cpus("8-15"));
  ASSERT_EQ(plan.queues.size(), 1u);
  EXPECT_EQ(plan.tasks.at("control_/apollo/planning").queue, 0);
  EXPECT_EQ(plan.tasks.at("control_/apollo/planning").priority, 10);
  EXPECT_EQ(plan.tasks.at("canbus_/apollo/control").priority, 11);

  CompatRun small = RunCompat(dir, "control_sched_classic.conf", 2);
  ExpectCounts(small.v, 1, 0);
  const Diagnostic error = Single(small.v, Severity::kError);
  EXPECT_EQ(error.where.line, 9);
  EXPECT_EQ(error.where.column, 18);
  EXPECT_THAT(error.message, HasSubstr("none of the CPUs 8-15 can be used"));
}

TEST(CyberCompatTest, ControlSchedPlainTextLink) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "control_sched.conf", 32);
  EXPECT_EQ(run.loaded.real_path, dir + "/control_sched_classic.conf");
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  ExpectCounts(run.v, 0, 1);
  EXPECT_EQ(Single(run.v, Severity::kWarning).where.ToString(), dir + "/control_sched.conf:1:1");
  EXPECT_EQ(run.v.plan.processors.size(), 8u);

  CompatRun small = RunCompat(dir, "control_sched.conf", 2);
  ExpectCounts(small.v, 1, 1);
}

TEST(CyberCompatTest, ControlSchedChoreographyHasAnUnknownField) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  // The error does not depend on the machine: the file does not load.
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(dir + "/control_sched_choreography.conf");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(loaded.status().message()),
            dir +
                "/control_sched_choreography.conf:5:5: error: unknown field 'processor_num' in "
                "ChoreographyConf [scheduler_conf.choreography_conf.processor_num]\n"
                "  hint: did you mean 'choreography_processor_num' or 'pool_processor_num'?");
}

TEST(CyberCompatTest, CyberPbConf) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "cyber.pb.conf", 32);
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  ExpectCounts(run.v, 0, 0);
  const std::vector<Diagnostic> notes = Of(run.v, Severity::kNote);
  ASSERT_EQ(notes.size(), 4u) << Messages(run.v);
  EXPECT_EQ(notes[0].field, "run_mode_conf");
  EXPECT_EQ(notes[0].where.line, 28);
  EXPECT_EQ(notes[1].field, "scheduler_conf.routine_num");
  EXPECT_EQ(notes[1].where.line, 34);
  const Plan& plan = run.v.plan;
  ASSERT_EQ(plan.processors.size(), 16u);  // default_proc_num
  ASSERT_EQ(plan.queues.size(), 1u);
  EXPECT_EQ(plan.queues[0].name, "default_grp");
  EXPECT_EQ(plan.processors[0].attributes.cpus, Cpus("0-31"));
  EXPECT_EQ(plan.default_queue, 0);

  // Nothing in it names CPUs: fine on 2 CPUs as well.
  CompatRun small = RunCompat(dir, "cyber.pb.conf", 2);
  ASSERT_TRUE(small.v.ok()) << Messages(small.v);
  ExpectCounts(small.v, 0, 0);
  EXPECT_EQ(small.v.plan.processors.size(), 16u);
  EXPECT_EQ(small.v.plan.processors[0].attributes.cpus, Cpus("0-1"));
}

TEST(CyberCompatTest, DreamviewSched) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "dreamview_sched.conf", 32);
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  ExpectCounts(run.v, 0, 0);
  ASSERT_EQ(run.v.plan.processors.size(), 4u);
  EXPECT_EQ(run.v.plan.processors[0].name, "dv/0");
  EXPECT_EQ(run.v.plan.processors[0].attributes.cpus, Cpus("28-31"));
  EXPECT_EQ(run.v.plan.processors[0].attributes.policy, SchedPolicy::kOther);
  EXPECT_TRUE(run.v.plan.tasks.empty());
  EXPECT_EQ(run.v.plan.default_queue, 0);

  CompatRun small = RunCompat(dir, "dreamview_sched.conf", 2);
  ExpectCounts(small.v, 1, 0);
  const Diagnostic error = Single(small.v, Severity::kError);
  EXPECT_EQ(error.where.line, 10);
  EXPECT_EQ(error.where.column, 18);
  EXPECT_THAT(error.message, HasSubstr("none of the CPUs 28-31 can be used"));
}

TEST(CyberCompatTest, ExampleSchedChoreography) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "example_sched_choreography.conf", 32);
  ASSERT_TRUE(run.v.ok()) << Messages(run.v);
  // The SCHED_FIFO choreography processors (CPUs 0-7) leave CPUs 16-23 to the rest.
  ExpectCounts(run.v, 0, 0);
  const Plan& plan = run.v.plan;
  EXPECT_TRUE(plan.restrict_process);
  EXPECT_EQ(plan.process_cpus, Cpus("0-7,16-23"));
  ASSERT_EQ(plan.processors.size(), 16u);
  EXPECT_EQ(plan.processors[0].attributes.policy, SchedPolicy::kFifo);
  EXPECT_EQ(plan.processors[0].attributes.rt_priority, 10);
  EXPECT_EQ(plan.processors[8].attributes.policy, SchedPolicy::kOther);
  EXPECT_EQ(plan.processors[8].attributes.cpus, Cpus("16-23"));
  const int pool = QueueIndex(plan, "pool");
  EXPECT_EQ(plan.tasks.at("A").processor, 0);
  EXPECT_EQ(plan.tasks.at("B").queue, plan.processors[0].queue);
  EXPECT_EQ(plan.tasks.at("B").priority, 2);
  EXPECT_EQ(plan.tasks.at("C").processor, 1);
  EXPECT_EQ(plan.tasks.at("D").queue, plan.processors[1].queue);
  EXPECT_EQ(plan.tasks.at("E").queue, pool);
  ASSERT_EQ(plan.inner_threads.size(), 2u);
  EXPECT_EQ(plan.inner_threads[0].name, "lidar");
  EXPECT_EQ(plan.inner_threads[0].attributes.policy, SchedPolicy::kRr);
  EXPECT_EQ(plan.inner_threads[0].attributes.cpus, CpuSet::Of({1}));
  EXPECT_EQ(plan.inner_threads[1].name, "shm");
  EXPECT_EQ(plan.inner_threads[1].attributes.policy, SchedPolicy::kFifo);

  // On 2 CPUs: the pool (16-23) and the thread "shm" (CPU 2) have no CPU left; the
  // process and the choreography processors keep CPUs 0-1, still all FIFO.
  CompatRun small = RunCompat(dir, "example_sched_choreography.conf", 2);
  ExpectCounts(small.v, 2, 3);
  const std::vector<Diagnostic> errors = Of(small.v, Severity::kError);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "choreography_conf.pool_cpuset");
  EXPECT_EQ(errors[0].where.line, 26);
  EXPECT_EQ(errors[1].field, "scheduler_conf.threads[1].cpuset");
  EXPECT_EQ(errors[1].where.line, 12);
  EXPECT_THAT(errors[1].message, HasSubstr("none of the CPUs 2 is inside process_level_cpuset"));
  const std::vector<Diagnostic> warnings = Of(small.v, Severity::kWarning);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0].field, "scheduler_conf.process_level_cpuset");
  EXPECT_EQ(warnings[1].field, "choreography_conf.choreography_cpuset");
  EXPECT_THAT(warnings[2].message,
              StartsWith("real-time processors may run on every CPU of the process (0-1)"));
}

TEST(CyberCompatTest, ExampleSchedClassicGroup2IsOutsideTheProcessCpus) {
  const std::string dir = CompatDir();
  ASSERT_FALSE(dir.empty());
  CompatRun run = RunCompat(dir, "example_sched_classic.conf", 32);
  EXPECT_FALSE(run.v.ok());
  ExpectCounts(run.v, 1, 0);
  const Diagnostic error = Single(run.v, Severity::kError);
  EXPECT_EQ(error.where.ToString(), dir + "/example_sched_classic.conf:36:26");
  EXPECT_EQ(error.field, "classic_conf.groups[1].cpuset");
  EXPECT_EQ(error.message,
            "none of the CPUs 8-15,24-31 is inside process_level_cpuset (0-7,16-23 usable here)");
  EXPECT_EQ(error.hint,
            "name CPUs of process_level_cpuset, or widen process_level_cpuset (in cadence it "
            "holds every CPU the process may use; Cyber RT let a group's processors and named "
            "threads leave it)");

  CompatRun small = RunCompat(dir, "example_sched_classic.conf", 2);
  ExpectCounts(small.v, 2, 2);
  const std::vector<Diagnostic> errors = Of(small.v, Severity::kError);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field, "classic_conf.groups[1].cpuset");
  EXPECT_THAT(errors[0].message, HasSubstr("is inside process_level_cpuset (0-1 usable here)"));
  EXPECT_EQ(errors[1].field, "scheduler_conf.threads[1].cpuset");
}

}  // namespace
}  // namespace cadence
