// The command-line flags that mainboard and robot_demo (and any program that embeds the
// Launcher and uses gflags) share for observing a run: --trace_out, --trace_events,
// --publish_state and --state_dir. Linking this library defines them.
#ifndef CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_
#define CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_

#include <chrono>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scheduler/launcher/launcher.h"

namespace cadence {

// Copies the flags into `options`. Error (InvalidArgument, naming the flag): a value out of
// range (--trace_events < 1).
absl::Status ApplyObservabilityFlags(LauncherOptions* options);

// The time limit for Launcher::WaitForStop that `--duration_s=seconds` asks for (0: none,
// run until SIGINT/SIGTERM), computed in 64 bits so any int32 value is exact. Error
// (InvalidArgument, naming the flag): a negative value, which would otherwise silently
// mean "forever".
absl::StatusOr<std::chrono::milliseconds> RunTimeLimit(int64_t duration_s);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_FLAGS_H_
