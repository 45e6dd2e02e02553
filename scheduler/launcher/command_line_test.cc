#include "scheduler/launcher/command_line.h"

#include <string>
#include <vector>

#include "gflags/gflags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

DEFINE_int32(cl_count, 3, "An int32 flag of this test.");
DEFINE_uint32(cl_small, 3, "A uint32 flag of this test.");
DEFINE_double(cl_ratio, 0.5, "A double flag of this test.");
DEFINE_bool(cl_on, false, "A bool flag of this test.");
DEFINE_string(cl_name, "x", "A string flag of this test.");

namespace cadence {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::Status Check(std::vector<std::string> args) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return CheckFlags(static_cast<int>(argv.size()), argv.data());
}

bool Help(std::vector<std::string> args) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return WantsHelp(static_cast<int>(argv.size()), argv.data());
}

TEST(WantsHelpTest, HelpFlagsAskForHelpOthersDoNot) {
  for (const char* help : {"--help", "-help", "--helpfull", "-helpfull", "-h"}) {
    EXPECT_TRUE(Help({"--cl_count=7", help})) << help;
  }
  EXPECT_FALSE(Help({}));
  EXPECT_FALSE(Help({"--cl_on", "helpful", "--helper"}));
  EXPECT_FALSE(Help({"--", "--help"}));  // After "--", an argument.
  // The value of a flag that takes one, given apart, is not a flag.
  EXPECT_FALSE(Help({"--cl_name", "-h"}));
  EXPECT_TRUE(Help({"--cl_name=x", "-h"}));
  EXPECT_TRUE(Help({"--cl_on", "-h"}));  // A bool takes no separate value.
  EXPECT_TRUE(Help({"--helpshort"}));
  EXPECT_TRUE(Help({"--helpon=command_line_test"}));
  EXPECT_TRUE(Help({"-helpmatch", "launcher"}));
}

// What ShowHelp prints for `args`.
std::string HelpText(std::vector<std::string> args) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  testing::internal::CaptureStdout();
  ShowHelp(static_cast<int>(argv.size()), argv.data());
  return testing::internal::GetCapturedStdout();
}

TEST(ShowHelpTest, HelponAndHelpmatchShowOnlyTheFlagsOfTheFilesTheyName) {
  // All flags: this test's and gflags' own.
  const std::string all = HelpText({"--help"});
  EXPECT_THAT(all, HasSubstr("-cl_count (An int32 flag of this test.)"));
  EXPECT_THAT(all, HasSubstr("-flagfile"));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--helpon=command_line_test"},
                                             {"-helpon", "command_line_test"},
                                             {"--helpmatch=launcher/command_line_t"}}) {
    const std::string some = HelpText(args);
    EXPECT_THAT(some, HasSubstr("-cl_count (An int32 flag of this test.)")) << args[0];
    EXPECT_THAT(some, HasSubstr("-cl_name (A string flag of this test.)")) << args[0];
    EXPECT_THAT(some, Not(HasSubstr("-flagfile"))) << args[0];
  }
  // --helpon with no value: every flag (gflags' own ignores it).
  EXPECT_THAT(HelpText({"--helpon="}), HasSubstr("-flagfile"));
  EXPECT_THAT(HelpText({"--helpon="}), HasSubstr("-cl_count"));
  // A file that defines no flag: none.
  EXPECT_THAT(HelpText({"--helpon=no_such_file"}), Not(HasSubstr("-cl_count")));
}

TEST(CheckFlagsTest, KnownFlagsAndGoodValuesPass) {
  EXPECT_TRUE(Check({}).ok());
  EXPECT_TRUE(Check({"--cl_count=7", "-cl_ratio=0.25", "--cl_on", "--nocl_on", "--cl_on=no",
                     "--cl_name", "--looks-like-a-flag", "positional", "--cl_small", "0x10"})
                  .ok());
  // After "--" nothing is a flag.
  EXPECT_TRUE(Check({"--", "--bogus"}).ok());
  // Check changed no flag.
  EXPECT_EQ(FLAGS_cl_count, 3);
  EXPECT_EQ(FLAGS_cl_name, "x");
}

TEST(CheckFlagsTest, UnknownFlagIsNamed) {
  const absl::Status status = Check({"--cl_count=1", "--bogus=3"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unknown flag '--bogus=3'");
  // "no" only negates a bool flag.
  EXPECT_THAT(Check({"--nocl_count"}).message(), HasSubstr("unknown flag '--nocl_count'"));
}

TEST(CheckFlagsTest, ValueThatDoesNotParseIsNamedWithItsType) {
  EXPECT_EQ(Check({"--cl_count=abc"}).message(), "flag --cl_count: 'abc' is not a valid int32");
  EXPECT_EQ(Check({"--cl_count", "9999999999"}).message(),
            "flag --cl_count: '9999999999' is not a valid int32");
  EXPECT_EQ(Check({"--cl_small=-1"}).message(), "flag --cl_small: '-1' is not a valid uint32");
  EXPECT_EQ(Check({"--cl_ratio=half"}).message(), "flag --cl_ratio: 'half' is not a valid double");
  EXPECT_EQ(Check({"--cl_on=maybe"}).message(), "flag --cl_on: 'maybe' is not a valid bool");
}

TEST(CheckFlagsTest, MissingValueIsNamed) {
  EXPECT_EQ(Check({"--cl_name"}).message(), "flag '--cl_name' needs a value (string)");
}

}  // namespace
}  // namespace cadence
