// Tests of the shared launcher flags: --duration_s becomes a time limit that is exact for
// every int32 value and refuses negative values instead of running forever.
#include "scheduler/launcher/launcher_flags.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cadence {
namespace {

using ::testing::HasSubstr;

TEST(RunTimeLimitTest, ZeroIsNoLimit) {
  absl::StatusOr<std::chrono::milliseconds> limit = RunTimeLimit(0);
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->count(), 0);
}

TEST(RunTimeLimitTest, SecondsBecomeMilliseconds) {
  absl::StatusOr<std::chrono::milliseconds> limit = RunTimeLimit(5);
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(*limit, std::chrono::milliseconds(5000));
}

TEST(RunTimeLimitTest, LargestInt32IsExactPastPollsIntMilliseconds) {
  // 2^31-1 s is 2147483647000 ms: past what an int of milliseconds holds (~24.8 days).
  const int64_t seconds = std::numeric_limits<int32_t>::max();
  absl::StatusOr<std::chrono::milliseconds> limit = RunTimeLimit(seconds);
  ASSERT_TRUE(limit.ok()) << limit.status();
  EXPECT_EQ(limit->count(), seconds * 1000);
  EXPECT_GT(limit->count(), std::numeric_limits<int>::max());
}

TEST(RunTimeLimitTest, NegativeIsAnErrorNamingTheFlag) {
  absl::StatusOr<std::chrono::milliseconds> limit = RunTimeLimit(-5);
  ASSERT_FALSE(limit.ok()) << "-5 s became a limit of " << limit->count() << " ms";
  EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(limit.status().message()),
              HasSubstr("--duration_s must be 0 (run until SIGINT/SIGTERM) or a positive number "
                        "of seconds, not -5"));
}

TEST(RunTimeLimitTest, MoreThanMillisecondsCanHoldIsAnError) {
  absl::StatusOr<std::chrono::milliseconds> limit =
      RunTimeLimit(std::numeric_limits<int64_t>::max() / 100);
  ASSERT_FALSE(limit.ok());
  EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cadence
