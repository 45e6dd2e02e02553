// TraceRing: keeps the newest `capacity` events in order, counts the overwritten ones.
#include "scheduler/trace/trace_ring.h"

#include <vector>

#include "gtest/gtest.h"

namespace cadence {
namespace {

TraceEvent EventAt(int64_t start) {
  TraceEvent e;
  e.start_ns = start;
  e.end_ns = start + 1;
  return e;
}

std::vector<int64_t> Starts(const TraceRing& ring) {
  std::vector<int64_t> out;
  for (const TraceEvent& e : ring.Events()) out.push_back(e.start_ns);
  return out;
}

TEST(TraceRingTest, EmptyRingHasNoEventsAndNoDrops) {
  TraceRing ring(8);
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_TRUE(ring.Events().empty());
  EXPECT_EQ(ring.appended(), 0u);
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(TraceRingTest, BelowCapacityKeepsEverythingInOrder) {
  TraceRing ring(4);
  for (int64_t i = 1; i <= 3; ++i) ring.Append(EventAt(i));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(TraceRingTest, ExactlyFullKeepsEverythingInOrder) {
  TraceRing ring(4);
  for (int64_t i = 1; i <= 4; ++i) ring.Append(EventAt(i));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(TraceRingTest, WraparoundKeepsTheNewestOldestFirstAndCountsDrops) {
  TraceRing ring(4);
  for (int64_t i = 1; i <= 10; ++i) ring.Append(EventAt(i));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{7, 8, 9, 10}));
  EXPECT_EQ(ring.appended(), 10u);
  EXPECT_EQ(ring.dropped(), 6u);
  // Wrapping again, at a different offset.
  for (int64_t i = 11; i <= 13; ++i) ring.Append(EventAt(i));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{10, 11, 12, 13}));
  EXPECT_EQ(ring.dropped(), 9u);
}

TEST(TraceRingTest, CapacityOneKeepsTheLastEvent) {
  TraceRing ring(1);
  for (int64_t i = 1; i <= 5; ++i) ring.Append(EventAt(i));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{5}));
  EXPECT_EQ(ring.dropped(), 4u);
}

TEST(TraceRingTest, CapacityZeroIsRaisedToOne) {
  TraceRing ring(0);
  EXPECT_EQ(ring.capacity(), 1u);
  ring.Append(EventAt(1));
  ring.Append(EventAt(2));
  EXPECT_EQ(Starts(ring), (std::vector<int64_t>{2}));
}

TEST(TraceRingTest, EventsKeepEveryField) {
  TraceRing ring(2);
  TraceEvent e;
  e.start_ns = 10;
  e.end_ns = 20;
  e.notify_ns = 5;
  e.notifier = 1234;
  e.flags = TraceEvent::kPeriodicRelease | TraceEvent::kOverrun;
  e.cpu = 3;
  ring.Append(e);
  const std::vector<TraceEvent> events = ring.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].start_ns, 10);
  EXPECT_EQ(events[0].end_ns, 20);
  EXPECT_EQ(events[0].notify_ns, 5);
  EXPECT_EQ(events[0].notifier, 1234);
  EXPECT_EQ(events[0].flags, TraceEvent::kPeriodicRelease | TraceEvent::kOverrun);
  EXPECT_EQ(events[0].cpu, 3);
  static_assert(sizeof(TraceEvent) == 40, "a trace event is 40 bytes");
}

}  // namespace
}  // namespace cadence
