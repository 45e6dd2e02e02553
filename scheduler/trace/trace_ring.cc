#include "scheduler/trace/trace_ring.h"

#include <algorithm>

namespace cadence {

TraceRing::TraceRing(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)),
      // Value-initialised: every page is written now, not on the processor's first runs.
      events_(std::make_unique<TraceEvent[]>(capacity_)) {}

std::vector<TraceEvent> TraceRing::Events() const {
  const uint64_t appended = appended_.load(std::memory_order_acquire);
  std::vector<TraceEvent> out;
  if (appended <= capacity_) {
    out.assign(events_.get(), events_.get() + appended);
    return out;
  }
  // Full: the oldest event is the one the writer overwrites next.
  out.reserve(capacity_);
  out.insert(out.end(), events_.get() + next_, events_.get() + capacity_);
  out.insert(out.end(), events_.get(), events_.get() + next_);
  return out;
}

}  // namespace cadence
