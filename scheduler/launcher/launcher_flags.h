// The command-line flags that mainboard and robot_demo (and any program that embeds the
// Launcher and uses gflags) share for observing a run: --trace_out, --trace_events,
// --publish_state and --state_dir. Linking this library defines them.
#ifndef CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_
#define CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_

#include "absl/status/status.h"
#include "scheduler/launcher/launcher.h"

namespace cadence {

// Copies the flags into `options`. Error (InvalidArgument, naming the flag): a value out of
// range (--trace_events < 1).
absl::Status ApplyObservabilityFlags(LauncherOptions* options);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_
