// A count that a test can wait on (a mutex and a condition variable: a real happens-before
// edge from Increment to the waiter), shared by the scheduler's tests.
#ifndef CADENCE_SCHEDULER_TESTING_COUNTER_H_
#define CADENCE_SCHEDULER_TESTING_COUNTER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace cadence::test_support {

class Counter {
 public:
  // `guard`: how long WaitAtLeast waits at most (a failure guard, far beyond what a passing
  // run needs).
  explicit Counter(std::chrono::nanoseconds guard = std::chrono::seconds(30)) : guard_(guard) {}

  void Increment() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  // Waits until the count is at least n (false after the guard time).
  bool WaitAtLeast(uint64_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, guard_, [&] { return count_ >= n; });
  }
  uint64_t value() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }

 private:
  const std::chrono::nanoseconds guard_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t count_ = 0;
};

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_TESTING_COUNTER_H_
