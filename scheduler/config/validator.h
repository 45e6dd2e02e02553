// Validator: turns a loaded config and a Machine into a Plan plus Diagnostics.
//
// It never exits and never silently drops, clamps or ignores anything: every adjustment
// (a CPU that is not online, a task priority clamped to 19, a real-time policy the process
// may not use) is a warning that says what was asked and what will be done; what cannot
// be made to work is an error. Strict mode turns warnings into errors. Notes (sections
// accepted and ignored, documented defaults) never fail a check.
#ifndef CADENCE_SCHEDULER_CONFIG_VALIDATOR_H_
#define CADENCE_SCHEDULER_CONFIG_VALIDATOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/diagnostic.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/plan.h"

namespace cadence {

// Cyber RT's number of task priority levels (0-19).
inline constexpr int kTaskPriorityLevels = 20;

struct ValidateOptions {
  // Warnings are errors.
  bool strict = false;
};

// A Plan and what was found on the way; the Plan is only to be used when ok().
struct Validation {
  Plan plan;
  Diagnostics diagnostics;

  // Whether there are no errors.
  bool ok() const { return !diagnostics.HasErrors(); }
};

// Validates a loaded config against the machine; the loader's own findings are included.
Validation Validate(const LoadedConfig& config, const Machine& machine,
                    const ValidateOptions& options = {});

// The plan used when there is no config file: classic, one group "default_grp" with one
// processor per usable CPU, and a warning that says why (`reason`), at `path` (the file
// that was looked for) when one is given.
Validation DefaultPlan(const Machine& machine, const std::string& reason,
                       const ValidateOptions& options = {}, const std::string& path = "");

// How a conf file came to be named, which decides what its absence means.
enum class ConfNaming {
  // Named by the user (`--conf FILE`, `schedctl plan FILE`): a file that does not exist is
  // an error, like any other path that is wrong.
  kExplicit,
  // Looked up by name (`<conf_dir>/<process_group>.conf`, as Cyber RT's mainboard does):
  // when there is none, the default plan applies with a warning (an error in strict mode).
  kLookedUp,
};

// Loads and validates `path`. A file that exists but cannot be read or parsed is an error;
// one that does not exist is NotFound when named explicitly, and gives the default plan
// with a warning when looked up (see ConfNaming). Returns the Validation (check ok()), or
// a Status when the file could not be read/parsed.
absl::StatusOr<Validation> LoadAndValidate(const std::string& path, const Machine& machine,
                                           const ValidateOptions& options = {},
                                           ConfNaming naming = ConfNaming::kExplicit);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_CONFIG_VALIDATOR_H_
