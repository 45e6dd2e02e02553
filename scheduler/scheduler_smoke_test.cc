#include <atomic>
#include <future>

#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/validator.h"
#include "scheduler/scheduler.h"

namespace cadence {
namespace {

TEST(SchedulerSmokeTest, NotifiedTaskRuns) {
  Validation v = DefaultPlan(Machine::Read(), "test");
  ASSERT_TRUE(v.ok()) << v.diagnostics.ToString();
  auto scheduler = Scheduler::Start(v.plan);
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  std::promise<void> ran;
  auto id = (*scheduler)->CreateTask("t", [&] { ran.set_value(); });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE((*scheduler)->NotifyTask(*id).ok());
  ran.get_future().wait();
  (*scheduler)->Shutdown();
}

}  // namespace
}  // namespace cadence
