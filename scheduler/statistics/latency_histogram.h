// LatencyHistogram: a fixed-size, allocation-free histogram of durations in nanoseconds
// with ~19% bucket resolution (4 sub-buckets per power of two), cheap enough to record on
// every activation in production.
//
// One thread records at a time (the processor running the task); any thread may read a
// snapshot concurrently (relaxed atomics: a snapshot may miss in-flight samples, never
// tears a counter).
#ifndef CADENCE_SCHEDULER_STATISTICS_LATENCY_HISTOGRAM_H_
#define CADENCE_SCHEDULER_STATISTICS_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace cadence {

// Percentiles read from a histogram, in nanoseconds (bucket upper bounds, max exact).
struct LatencySummary {
  uint64_t count = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t p999_ns = 0;
  uint64_t max_ns = 0;
};

class LatencyHistogram {
 public:
  // 4 sub-buckets per power of two, up to 2^40 ns (~18 minutes).
  static constexpr int kSubBits = 2;
  static constexpr int kBuckets = (40 << kSubBits) + 1;

  // Records one duration (single recording thread at a time).
  void Record(uint64_t ns) {
    const int b = Bucket(ns);
    counts_[b].store(counts_[b].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
  }

  // The count and p50/p99/p99.9/max of what was recorded.
  LatencySummary Summary() const;

  // A copy of the bucket counts and the maximum (e.g. to subtract two snapshots and
  // summarize an interval with SummaryOf).
  using Counts = std::array<uint64_t, kBuckets>;
  void Snapshot(Counts* counts, uint64_t* max_ns) const;

  // The count and percentiles of bucket counts; `max_ns` caps the percentiles and is the
  // summary's max.
  static LatencySummary SummaryOf(const Counts& counts, uint64_t max_ns);

  // The bucket index of a duration.
  static int Bucket(uint64_t ns);

  // The largest duration that falls in bucket b.
  static uint64_t BucketUpperBound(int b);

 private:
  std::array<std::atomic<uint32_t>, kBuckets> counts_{};
  std::atomic<uint64_t> max_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_STATISTICS_LATENCY_HISTOGRAM_H_
