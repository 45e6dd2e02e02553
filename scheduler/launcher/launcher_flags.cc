#include "scheduler/launcher/launcher_flags.h"

#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"

DEFINE_string(trace_out, "",
              "Write a timeline trace (Chrome/Perfetto JSON: open it in ui.perfetto.dev or "
              "chrome://tracing) to this file when stopping. Off when empty.");
DEFINE_int32(trace_events, 65536,
             "With --trace_out: the runs each processor keeps (the most recent), 40 bytes each.");
DEFINE_bool(publish_state, true,
            "Publish the scheduling state on <state_dir>/<pid>.sock for schedctl ps/top.");
DEFINE_string(state_dir, "",
              "Where the state socket goes (default /run/cadence, or /tmp/cadence-<uid> when "
              "that cannot be used).");

namespace cadence {

absl::Status ApplyObservabilityFlags(LauncherOptions* options) {
  if (FLAGS_trace_events < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--trace_events must be at least 1, not ", FLAGS_trace_events));
  }
  options->trace_out = FLAGS_trace_out;
  options->trace_events_per_processor = static_cast<size_t>(FLAGS_trace_events);
  options->publish_state = FLAGS_publish_state;
  options->state_dir = FLAGS_state_dir;
  return absl::OkStatus();
}

absl::StatusOr<std::chrono::milliseconds> RunTimeLimit(int64_t duration_s) {
  if (duration_s < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration_s must be 0 (run until SIGINT/SIGTERM) or a positive number of "
                     "seconds, not ",
                     duration_s));
  }
  constexpr int64_t kMaxSeconds = std::chrono::milliseconds::max().count() / 1000;
  if (duration_s > kMaxSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration_s ", duration_s, " is more than ", kMaxSeconds, " seconds"));
  }
  return std::chrono::milliseconds(duration_s * 1000);
}

}  // namespace cadence
