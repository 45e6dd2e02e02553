#include "tools/bench/stats.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace cadence::bench {
namespace {

// Samples 1..n us, in reverse order: the sample of rank r is r us.
std::vector<int64_t> OneToN(int n) {
  std::vector<int64_t> v;
  for (int i = n; i >= 1; --i) v.push_back(int64_t{i} * 1000);
  return v;
}

TEST(NearestRankTest, PercentilesOfAThousandSamplesAreRanks500_990And999) {
  const Percentiles p = NearestRank(OneToN(1000));
  EXPECT_EQ(p.count, 1000u);
  EXPECT_EQ(p.p50_us, 500);
  EXPECT_EQ(p.p99_us, 990);
  EXPECT_EQ(p.p999_us, 999);  // ceil(0.999 * 1000) = 999, not the max
  EXPECT_EQ(p.max_us, 1000);
}

TEST(NearestRankTest, P999OfTenThousandAndOfFiveThousandSamplesIsTheExactRank) {
  EXPECT_EQ(NearestRank(OneToN(10000)).p999_us, 9990);
  EXPECT_EQ(NearestRank(OneToN(5000)).p999_us, 4995);
  EXPECT_EQ(NearestRank(OneToN(3000)).p999_us, 2997);
}

TEST(NearestRankTest, RanksRoundUpBetweenSamples) {
  const Percentiles p = NearestRank(OneToN(7));
  EXPECT_EQ(p.p50_us, 4);   // ceil(3.5)
  EXPECT_EQ(p.p99_us, 7);   // ceil(6.93)
  EXPECT_EQ(p.p999_us, 7);  // ceil(6.993)
}

TEST(NearestRankTest, OneSampleIsEveryPercentile) {
  const Percentiles p = NearestRank({2500});
  EXPECT_EQ(p.p50_us, 2.5);
  EXPECT_EQ(p.p99_us, 2.5);
  EXPECT_EQ(p.p999_us, 2.5);
  EXPECT_EQ(p.max_us, 2.5);
}

TEST(NearestRankTest, NoSamplesGiveACountOfZero) { EXPECT_EQ(NearestRank({}).count, 0u); }

TEST(FromHistogramTest, P999OfAThousandOneMicrosecondBucketsIsRank999) {
  // 1000 samples, one in each bucket 0..999 us: rank r is bucket r - 1.
  const std::vector<uint64_t> counts(1000, 1);
  const Percentiles p = FromHistogram(counts, 0, 999);
  EXPECT_EQ(p.count, 1000u);
  EXPECT_EQ(p.p50_us, 499);
  EXPECT_EQ(p.p99_us, 989);
  EXPECT_EQ(p.p999_us, 998);
}

TEST(FromHistogramTest, ARankInTheOverflowIsTheMax) {
  std::vector<uint64_t> counts(10, 0);
  counts[3] = 98;
  const Percentiles p = FromHistogram(counts, 2, 12345);
  EXPECT_EQ(p.count, 100u);
  EXPECT_EQ(p.p50_us, 3);
  EXPECT_EQ(p.p99_us, 12345);  // rank 99 is an overflow
  EXPECT_EQ(p.max_us, 12345);
}

}  // namespace
}  // namespace cadence::bench
