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

}  // namespace cadence
