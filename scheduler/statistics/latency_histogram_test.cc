#include "scheduler/statistics/latency_histogram.h"

#include "gtest/gtest.h"

namespace cadence {
namespace {

TEST(LatencyHistogramTest, BucketBoundsContainTheirValues) {
  for (uint64_t ns : {0ull, 1ull, 3ull, 4ull, 5ull, 7ull, 8ull, 100ull, 1000ull, 12345ull,
                      1000000ull, 987654321ull}) {
    const int b = LatencyHistogram::Bucket(ns);
    EXPECT_LE(ns, LatencyHistogram::BucketUpperBound(b)) << ns;
    if (b > 0) {
      EXPECT_GT(ns, LatencyHistogram::BucketUpperBound(b - 1)) << ns;
    }
  }
}

TEST(LatencyHistogramTest, BucketsResolveWithinAQuarterOfAPowerOfTwo) {
  for (uint64_t ns = 8; ns < (1ull << 30); ns = ns * 3 / 2) {
    const uint64_t upper = LatencyHistogram::BucketUpperBound(LatencyHistogram::Bucket(ns));
    EXPECT_LE(upper - ns, ns / 4 + 1) << ns;
  }
}

TEST(LatencyHistogramTest, PercentilesFollowNearestRank) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.Record(1000);
  for (int i = 0; i < 9; ++i) h.Record(100000);
  h.Record(5000000);
  const LatencySummary s = h.Summary();
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.max_ns, 5000000u);
  // p50 and p99 fall among the 1000 ns samples: rank 500 and 990.
  EXPECT_GE(s.p50_ns, 1000u);
  EXPECT_LE(s.p50_ns, 1250u);
  EXPECT_GE(s.p99_ns, 1000u);
  EXPECT_LE(s.p99_ns, 1250u);
  // p99.9 is rank 999: a 100 us sample.
  EXPECT_GE(s.p999_ns, 100000u);
  EXPECT_LE(s.p999_ns, 125000u);
}

TEST(LatencyHistogramTest, EmptySummaryIsZero) {
  LatencyHistogram h;
  const LatencySummary s = h.Summary();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p50_ns, 0u);
  EXPECT_EQ(s.p99_ns, 0u);
  EXPECT_EQ(s.p999_ns, 0u);
  EXPECT_EQ(s.max_ns, 0u);
}

}  // namespace
}  // namespace cadence
