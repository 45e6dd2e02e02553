// The hot path allocates nothing: NotifyTask (whether it queues, coalesces or fails) on the
// notifying thread, and the processor's dispatch between two runs of a task.
//
// This binary replaces the C library's allocation entry points (malloc, calloc, realloc,
// aligned_alloc, posix_memalign, memalign, valloc, pvalloc) with ones that count, per thread, the
// allocations made and then call glibc's own (__libc_*): every allocation is counted,
// operator new's (which calls malloc) as well as a direct malloc. The counts are read on
// the thread they belong to (the test's thread for NotifyTask, the task body for the
// processor).
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "scheduler/common/futex.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/test_plans.h"

namespace {
// Plain thread-local data of the executable (static TLS, no constructor): reading it
// allocates nothing, so malloc may use it.
thread_local uint64_t t_allocations = 0;
}  // namespace

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
// The sanitizers replace malloc themselves (and crash at start-up if the binary does too):
// under them only operator new is counted, so a direct malloc goes unnoticed there; the
// plain build, which tools/test.sh runs, counts every allocation.
constexpr bool kCountsMalloc = false;
namespace {
void* Allocate(std::size_t size, std::size_t alignment) {
  ++t_allocations;
  if (size == 0) size = 1;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace
void* operator new(std::size_t size) { return Allocate(size, 0); }
void* operator new[](std::size_t size) { return Allocate(size, 0); }
void* operator new(std::size_t size, std::align_val_t al) {
  return Allocate(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return Allocate(size, static_cast<std::size_t>(al));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#else
constexpr bool kCountsMalloc = true;
// glibc's allocator under its own names.
extern "C" void* __libc_malloc(size_t size);
extern "C" void* __libc_calloc(size_t count, size_t size);
extern "C" void* __libc_realloc(void* p, size_t size);
extern "C" void* __libc_memalign(size_t alignment, size_t size);
extern "C" void* __libc_valloc(size_t size);
extern "C" void* __libc_pvalloc(size_t size);

extern "C" {
void* malloc(size_t size) {
  ++t_allocations;
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  ++t_allocations;
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) {
  ++t_allocations;
  return __libc_realloc(p, size);
}
void* memalign(size_t alignment, size_t size) {
  ++t_allocations;
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  ++t_allocations;
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) {
  ++t_allocations;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) {
  ++t_allocations;
  return __libc_valloc(size);
}
void* pvalloc(size_t size) {
  ++t_allocations;
  return __libc_pvalloc(size);
}
}  // extern "C"
#endif

namespace cadence {
namespace {

constexpr char kConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [ { name: "g" processor_num: 1 cpuset: "0" tasks: [ { name: "work" prio: 3 } ] } ]
  }
}
)";

TEST(HotPathAllocationTest, CountingWorks) {
  // Else the zeros below would prove nothing.
  uint64_t before = t_allocations;
  // Direct calls (a compiler may drop a new-expression's allocation, not these).
  void* volatile p = ::operator new(24);
  ::operator delete(p);
  EXPECT_EQ(t_allocations - before, 1u) << "operator new";
  if (kCountsMalloc) {
    before = t_allocations;
    void* volatile q = std::malloc(24);
    std::free(q);
    EXPECT_EQ(t_allocations - before, 1u) << "malloc";
  }
  before = t_allocations;
  void* volatile r = ::operator new (256, std::align_val_t{128});
  ::operator delete (r, std::align_val_t{128});
  EXPECT_EQ(t_allocations - before, 1u) << "aligned operator new";
}

// Notifies task "work" of `conf` 2 x 2000 times; neither the notifier nor the processor
// may allocate.
void ExpectNotifyAndDispatchAllocateNothing(const std::string& conf) {
  constexpr int kRuns = 2000;
  // What the processor's thread had allocated at the start of each run. Declared before the
  // scheduler, whose destruction runs what is still queued.
  std::vector<uint64_t> at_run(kRuns + 1);
  std::atomic<uint32_t> runs{0};
  std::unique_ptr<Scheduler> scheduler =
      test_support::StartOrNull(test_support::PlanFromText(conf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> task = scheduler->CreateTask("work", [&at_run, &runs] {
    const uint32_t n = runs.load(std::memory_order_relaxed);
    if (n < at_run.size()) at_run[n] = t_allocations;
    runs.store(n + 1, std::memory_order_release);
    FutexWake(&runs, 1);
  });
  ASSERT_TRUE(task.ok()) << task.status();
  auto wait_for = [&runs](uint32_t n) {
    for (uint32_t seen = runs.load(); seen < n; seen = runs.load()) FutexWait(&runs, seen);
  };
  // Warm-up: the first run may set up what a thread sets up once.
  ASSERT_TRUE(scheduler->NotifyTask(*task).ok());
  wait_for(1);

  const uint64_t before = t_allocations;
  for (uint32_t i = 1; i <= kRuns; ++i) {
    // Runs before this notify: at least i. The notify is followed by a run that starts
    // after it, so there will be at least i + 1. The second notify is coalesced, or makes
    // the task run once more, or queues it again.
    ASSERT_TRUE(scheduler->NotifyTask(*task).ok());
    ASSERT_TRUE(scheduler->NotifyTask(*task).ok());
    wait_for(i + 1);
  }
  EXPECT_EQ(t_allocations - before, 0u) << "NotifyTask allocated on the notifying thread";
  for (int i = 2; i <= kRuns; ++i) {
    ASSERT_EQ(at_run[i], at_run[1])
        << "the processor allocated between run " << i - 1 << " and run " << i;
  }
}

TEST(HotPathAllocationTest, NotifyAndDispatchAllocateNothing) {
  ExpectNotifyAndDispatchAllocateNothing(kConf);
}

// The same through the untimed path (time_activations: false): no clock, no allocation.
TEST(HotPathAllocationTest, UntimedNotifyAndDispatchAllocateNothing) {
  std::string conf = kConf;
  conf.insert(conf.find("tasks:"), "time_activations: false ");
  const Plan plan = test_support::PlanFromText(conf);
  ASSERT_EQ(plan.queues.size(), 1u);
  ASSERT_FALSE(plan.queues[0].time_activations);
  ExpectNotifyAndDispatchAllocateNothing(conf);
}

TEST(HotPathAllocationTest, FailedNotifiesAllocateNothing) {
  std::unique_ptr<Scheduler> scheduler =
      test_support::StartOrNull(test_support::PlanFromText(kConf));
  ASSERT_NE(scheduler, nullptr);
  absl::StatusOr<TaskId> task = scheduler->CreateTask("work", [] {});
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_TRUE(scheduler->RemoveTask(*task).ok());
  const TaskId unknown{task->index + 1000};
  // Once each: the errors may be made on first use.
  ASSERT_EQ(scheduler->NotifyTask(*task).code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(scheduler->NotifyTask(unknown).code(), absl::StatusCode::kNotFound);

  uint64_t before = t_allocations;
  for (int i = 0; i < 1000; ++i) {
    const absl::Status removed = scheduler->NotifyTask(*task);
    ASSERT_EQ(removed.code(), absl::StatusCode::kNotFound) << removed;
    const absl::Status none = scheduler->NotifyTask(unknown);
    ASSERT_EQ(none.code(), absl::StatusCode::kNotFound) << none;
  }
  EXPECT_EQ(t_allocations - before, 0u) << "a failed NotifyTask allocated";

  absl::StatusOr<TaskId> other = scheduler->CreateTask("work", [] {});
  ASSERT_TRUE(other.ok()) << other.status();
  scheduler->Shutdown();
  ASSERT_EQ(scheduler->NotifyTask(*other).code(), absl::StatusCode::kFailedPrecondition);
  before = t_allocations;
  for (int i = 0; i < 1000; ++i) {
    const absl::Status stopped = scheduler->NotifyTask(*other);
    ASSERT_EQ(stopped.code(), absl::StatusCode::kFailedPrecondition) << stopped;
  }
  EXPECT_EQ(t_allocations - before, 0u) << "NotifyTask after shutdown allocated";
}

}  // namespace
}  // namespace cadence
