// The properties that must hold for every config text, whatever its bytes; shared by the
// randomized test (tests/config_fuzz_test.cc) and the libFuzzer target
// (tests/fuzz/config_fuzzer.cc).
//
// ParseConfigText and Validate never crash or throw. A text that does not parse gives a
// Status whose message starts with "<file>:". A config that does not validate has errors
// that all say something. A Plan that validates is internally consistent: every index points
// at something that exists, every processor has CPUs the machine can give it, and every
// thread name fits the kernel's 15 characters.
#ifndef CADENCE_TESTS_FUZZ_CONFIG_CHECKS_H_
#define CADENCE_TESTS_FUZZ_CONFIG_CHECKS_H_

#include <exception>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/plan.h"
#include "scheduler/config/validator.h"

namespace cadence {
namespace fuzzing {

// What is inconsistent in a plan that validated on `machine`; "" when nothing is.
inline std::string CheckPlan(const Plan& plan, const Machine& machine) {
  const CpuSet usable = machine.Usable();
  const int queues = static_cast<int>(plan.queues.size());
  const int processors = static_cast<int>(plan.processors.size());
  if (plan.default_queue < -1 || plan.default_queue >= queues) {
    return absl::StrCat("default_queue ", plan.default_queue, " with ", queues, " queues");
  }
  if (plan.process_cpus.Empty() || !plan.process_cpus.IsSubsetOf(usable)) {
    return absl::StrCat("process cpus ", plan.process_cpus.ToString(), " not within usable ",
                        usable.ToString());
  }
  for (int i = 0; i < processors; ++i) {
    const ProcessorPlan& p = plan.processors[i];
    if (p.queue < 0 || p.queue >= queues) {
      return absl::StrCat("processor ", p.name, " serves queue ", p.queue, " of ", queues);
    }
    bool listed = false;
    for (int q : plan.queues[p.queue].processors) listed |= q == i;
    if (!listed) return absl::StrCat("processor ", p.name, " is not listed by its queue");
    if (p.attributes.cpus.Empty() || !p.attributes.cpus.IsSubsetOf(usable)) {
      return absl::StrCat("processor ", p.name, " has cpus '", p.attributes.cpus.ToString(),
                          "', not a non-empty subset of usable ", usable.ToString());
    }
    if (p.thread_name.empty() || p.thread_name.size() > 15) {
      return absl::StrCat("processor ", p.name, " has thread name '", p.thread_name, "'");
    }
    const ThreadAttributes& a = p.attributes;
    if ((a.policy == SchedPolicy::kFifo || a.policy == SchedPolicy::kRr) &&
        (a.rt_priority < 1 || a.rt_priority > 99)) {
      return absl::StrCat("processor ", p.name, " has rt priority ", a.rt_priority);
    }
    if (a.nice < -20 || a.nice > 19) {
      return absl::StrCat("processor ", p.name, " has nice ", a.nice);
    }
    if (a.policy == SchedPolicy::kDeadline &&
        !(a.runtime_ns > 0 && a.runtime_ns <= a.deadline_ns && a.deadline_ns <= a.period_ns)) {
      return absl::StrCat("processor ", p.name, " has deadline parameters ", a.runtime_ns, "/",
                          a.deadline_ns, "/", a.period_ns, " ns");
    }
  }
  for (int q = 0; q < queues; ++q) {
    for (int p : plan.queues[q].processors) {
      if (p < 0 || p >= processors || plan.processors[p].queue != q) {
        return absl::StrCat("queue ", plan.queues[q].name, " lists processor ", p);
      }
    }
  }
  for (const auto& [name, task] : plan.tasks) {
    if (name != task.name) return absl::StrCat("task '", name, "' is filed as '", task.name, "'");
    if (task.queue < 0 || task.queue >= queues) {
      return absl::StrCat("task ", name, " goes to queue ", task.queue, " of ", queues);
    }
    if (task.priority < 0 || task.priority >= kTaskPriorityLevels) {
      return absl::StrCat("task ", name, " has priority ", task.priority);
    }
    if (task.processor != -1 && (task.processor < 0 || task.processor >= processors ||
                                 plan.processors[task.processor].queue != task.queue)) {
      return absl::StrCat("task ", name, " is bound to processor ", task.processor);
    }
  }
  for (const InnerThreadPlan& t : plan.inner_threads) {
    if (t.name.empty() || !t.attributes.cpus.IsSubsetOf(usable)) {
      return absl::StrCat("thread '", t.name, "' has cpus ", t.attributes.cpus.ToString());
    }
  }
  // Printing walks every index too.
  if (plan.ToText().empty() || plan.ToJson().empty()) return "the plan prints as nothing";
  return "";
}

// Parses `text` as `file` and validates it on `machine`; returns "" when every property
// holds, else what broke. *plan_checked (when given) says whether it validated, so that
// the plan itself was checked.
inline std::string CheckConfig(const std::string& text, const std::string& file,
                               const Machine& machine, bool strict = false,
                               bool* plan_checked = nullptr) {
  if (plan_checked != nullptr) *plan_checked = false;
  try {
    absl::StatusOr<LoadedConfig> loaded = ParseConfigText(text, file);
    if (!loaded.ok()) {
      if (!absl::StartsWith(loaded.status().message(), file + ":")) {
        return absl::StrCat("parse error without the file name: ", loaded.status().ToString());
      }
      return "";
    }
    const Validation v = Validate(*loaded, machine, {.strict = strict});
    if (!v.ok()) {
      for (const Diagnostic& d : v.diagnostics.all()) {
        if (d.severity == Severity::kError && d.message.empty()) {
          return absl::StrCat("an error without a message at ", d.where.ToString());
        }
      }
      return "";
    }
    if (strict && v.diagnostics.WarningCount() > 0) return "a warning left in strict mode";
    if (plan_checked != nullptr) *plan_checked = true;
    const std::string problem = CheckPlan(v.plan, machine);
    if (!problem.empty()) {
      return absl::StrCat("inconsistent plan: ", problem, "\n", v.diagnostics.ToString());
    }
    return "";
  } catch (const std::exception& e) {
    return absl::StrCat("exception: ", e.what());
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace fuzzing
}  // namespace cadence

#endif  // CADENCE_TESTS_FUZZ_CONFIG_CHECKS_H_
