#include "scheduler/common/proc_thread.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "scheduler/common/thread_attributes.h"

namespace cadence {
namespace {

// Polls the kernel-reported state of a thread (not a synchronisation: the state is what is
// checked) until it is `want`, for at most a few seconds; returns the last state read ('?'
// when the thread could not be read). As WaitForStatState in scheduler/scheduler_test.cc.
char WaitForStatState(pid_t tid, char want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  absl::StatusOr<ProcThread> t = ReadProcThread(0, tid);
  while (t.ok() && t->state != want && std::chrono::steady_clock::now() < deadline) {
    sched_yield();
    t = ReadProcThread(0, tid);
  }
  return t.ok() ? t->state : '?';
}

TEST(ProcThreadTest, ReadsNamePolicyPriorityAndAffinityOfAnotherThread) {
  std::promise<pid_t> tid_promise;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread thread([&] {
    pthread_setname_np(pthread_self(), "proc (test) 1");
    tid_promise.set_value(CurrentTid());
    released.wait();
  });
  const pid_t tid = tid_promise.get_future().get();
  ThreadAttributes fifo;
  fifo.policy = SchedPolicy::kFifo;
  fifo.rt_priority = 7;
  fifo.cpus = CpuSet::Of({0});
  ASSERT_TRUE(ApplyThreadAttributes(tid, fifo, FallbackMode::kStrict).ok());

  absl::StatusOr<ProcThread> t = ReadProcThread(0, tid);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->tid, tid);
  EXPECT_EQ(t->name, "proc (test) 1");
  EXPECT_EQ(t->policy, SCHED_FIFO);
  EXPECT_EQ(t->rt_priority, 7);
  EXPECT_EQ(t->priority, -8);  // -1 - rt_priority.
  EXPECT_EQ(t->cpus_allowed, CpuSet::Of({0}));
  // Blocked on the future (once it got there: it may still be on its way).
  EXPECT_EQ(WaitForStatState(tid, 'S'), 'S');

  absl::StatusOr<std::vector<pid_t>> tids = ListThreads(0);
  ASSERT_TRUE(tids.ok());
  EXPECT_NE(std::find(tids->begin(), tids->end(), tid), tids->end());
  release.set_value();
  thread.join();
}

TEST(ProcThreadTest, ReadsNiceAndPriorityOfTheCallingThread) {
  ThreadAttributes batch;
  batch.policy = SchedPolicy::kBatch;
  batch.nice = 3;
  std::promise<absl::StatusOr<ProcThread>> result;
  std::thread thread([&] {
    const pid_t tid = CurrentTid();
    if (!ApplyThreadAttributes(tid, batch, FallbackMode::kStrict).ok()) {
      result.set_value(absl::InternalError("apply failed"));
      return;
    }
    result.set_value(ReadProcThread(getpid(), tid));
  });
  absl::StatusOr<ProcThread> t = result.get_future().get();
  thread.join();
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->policy, SCHED_BATCH);
  EXPECT_EQ(t->nice, 3);
  EXPECT_EQ(t->priority, 23);  // 20 + nice.
}

TEST(ProcThreadTest, GoneThreadIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(ReadProcThread(0, 0x3fffffff).status()));
}

}  // namespace
}  // namespace cadence
