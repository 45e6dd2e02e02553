#include "scheduler/statistics/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace cadence {

int LatencyHistogram::Bucket(uint64_t ns) {
  constexpr uint64_t kSub = 1u << kSubBits;
  if (ns < kSub) return static_cast<int>(ns);
  const int log = 63 - std::countl_zero(ns);  // ns >= 4, so log >= 2
  const int sub = static_cast<int>((ns >> (log - kSubBits)) & (kSub - 1));
  const int b = ((log - kSubBits + 1) << kSubBits) + sub;
  return b < kBuckets ? b : kBuckets - 1;
}

uint64_t LatencyHistogram::BucketUpperBound(int b) {
  constexpr int kSub = 1 << kSubBits;
  if (b < kSub) return static_cast<uint64_t>(b);
  const int log = (b >> kSubBits) + kSubBits - 1;
  const uint64_t sub = static_cast<uint64_t>(b & (kSub - 1));
  const uint64_t low = (uint64_t{1} << log) + (sub << (log - kSubBits));
  return low + (uint64_t{1} << (log - kSubBits)) - 1;
}

void LatencyHistogram::Snapshot(Counts* counts, uint64_t* max_ns) const {
  for (int b = 0; b < kBuckets; ++b) (*counts)[b] = counts_[b].load(std::memory_order_relaxed);
  *max_ns = max_.load(std::memory_order_relaxed);
}

LatencySummary LatencyHistogram::Summary() const {
  Counts counts;
  uint64_t max_ns = 0;
  Snapshot(&counts, &max_ns);
  return SummaryOf(counts, max_ns);
}

LatencySummary LatencyHistogram::SummaryOf(const Counts& counts, uint64_t max_ns) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  LatencySummary s;
  s.count = total;
  s.max_ns = max_ns;
  if (total == 0) return s;
  auto percentile = [&](double q) {
    // Nearest rank: the smallest bucket whose cumulative count reaches ceil(q * total).
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total));
    if (static_cast<double>(rank) < q * static_cast<double>(total)) ++rank;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts[b];
      if (seen >= rank) return std::min(BucketUpperBound(b), s.max_ns);
    }
    return s.max_ns;
  };
  s.p50_ns = percentile(0.50);
  s.p99_ns = percentile(0.99);
  s.p999_ns = percentile(0.999);
  return s;
}

}  // namespace cadence
