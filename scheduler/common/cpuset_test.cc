#include "scheduler/common/cpuset.h"

#include "gtest/gtest.h"

namespace cadence {
namespace {

CpuSet ParseOk(std::string_view text) {
  CpuSet set;
  CpuSet::ParseError error;
  EXPECT_TRUE(CpuSet::Parse(text, &set, &error)) << text << ": " << error.message;
  return set;
}

CpuSet::ParseError ParseFails(std::string_view text) {
  CpuSet set;
  CpuSet::ParseError error;
  EXPECT_FALSE(CpuSet::Parse(text, &set, &error)) << text;
  return error;
}

TEST(CpuSetTest, ParsesRangesAndSingleCpus) {
  CpuSet set = ParseOk("0-7,16-23");
  EXPECT_EQ(set.Count(), 16);
  EXPECT_TRUE(set.Contains(0));
  EXPECT_TRUE(set.Contains(7));
  EXPECT_FALSE(set.Contains(8));
  EXPECT_TRUE(set.Contains(23));
  EXPECT_EQ(set.ToString(), "0-7,16-23");
  EXPECT_EQ(ParseOk("3").ToVector(), std::vector<int>({3}));
}

TEST(CpuSetTest, AllowsSpacesAroundItemsAndDashes) {
  EXPECT_EQ(ParseOk(" 0 - 2 , 5 ").ToString(), "0-2,5");
}

TEST(CpuSetTest, EmptyTextIsEmptySet) {
  EXPECT_TRUE(ParseOk("").Empty());
  EXPECT_TRUE(ParseOk("  ").Empty());
}

TEST(CpuSetTest, EmptyItemIsErrorAtItsColumn) {
  EXPECT_EQ(ParseFails("0,,2").offset, 2);
  EXPECT_EQ(ParseFails(",1").offset, 0);
  EXPECT_EQ(ParseFails("1,").offset, 2);
}

TEST(CpuSetTest, ReversedRangeIsErrorAtItsStart) {
  CpuSet::ParseError error = ParseFails("0,7-3");
  EXPECT_EQ(error.offset, 2);
  EXPECT_NE(error.message.find("reversed range 7-3"), std::string::npos) << error.message;
}

TEST(CpuSetTest, TextIsErrorAtItsColumn) {
  CpuSet::ParseError error = ParseFails("0-3,abc");
  EXPECT_EQ(error.offset, 4);
  EXPECT_NE(error.message.find("'a'"), std::string::npos) << error.message;
  EXPECT_EQ(ParseFails("1 2").offset, 2);
  EXPECT_EQ(ParseFails("1-").offset, 2);
}

TEST(CpuSetTest, NumberPastLimitIsError) {
  CpuSet::ParseError error = ParseFails("0,4096");
  EXPECT_EQ(error.offset, 2);
  EXPECT_NE(error.message.find("past the limit"), std::string::npos) << error.message;
  EXPECT_EQ(ParseFails("99999999999999999999").offset, 0);
}

TEST(CpuSetTest, SetOperations) {
  CpuSet a = CpuSet::Range(0, 3);
  CpuSet b = CpuSet::Of({2, 3, 4});
  EXPECT_EQ(a.Intersect(b).ToString(), "2-3");
  EXPECT_EQ(a.Union(b).ToString(), "0-4");
  EXPECT_EQ(a.Minus(b).ToString(), "0-1");
  EXPECT_TRUE(CpuSet::Of({2}).IsSubsetOf(a));
  EXPECT_FALSE(b.IsSubsetOf(a));
}

TEST(CpuSetTest, RoundTripsThroughNative) {
  CpuSet a = ParseOk("1,5-6,1023");
  EXPECT_EQ(CpuSet::FromNative(a.ToNative()), a);
}

}  // namespace
}  // namespace cadence
