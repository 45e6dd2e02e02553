// Test helpers shared by the scheduler's tests: a Plan from conf text validated against
// this machine, and a started Scheduler, each failing the calling test (not crashing) when
// the conf or the start-up is refused.
#ifndef CADENCE_SCHEDULER_TESTING_TEST_PLANS_H_
#define CADENCE_SCHEDULER_TESTING_TEST_PLANS_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/scheduler.h"

namespace cadence::test_support {

// Parses and validates conf text against this machine; an empty Plan (and a test failure)
// on any error.
inline Plan PlanFromText(const std::string& text) {
  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return Plan();
  Validation validation = Validate(*loaded, Machine::Read());
  EXPECT_TRUE(validation.ok()) << validation.diagnostics.ToString();
  return validation.plan;
}

// Starts a scheduler from a plan; nullptr (and a test failure) when it does not start.
inline std::unique_ptr<Scheduler> StartOrNull(const Plan& plan,
                                              const SchedulerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(plan, options);
  EXPECT_TRUE(scheduler.ok()) << scheduler.status();
  return scheduler.ok() ? *std::move(scheduler) : nullptr;
}

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_TESTING_TEST_PLANS_H_
