// Launcher: what Cyber RT's mainboard does, as a library a program can embed in its own
// main(). It reads the DAG files, loads the module libraries they name, builds the
// scheduler from `<conf_dir>/<sched_name or process_group>.conf` (or an explicit conf
// file; the symlink resolved and the real file logged), creates and initialises every
// component, and runs until a stop signal (SIGINT/SIGTERM) or a time limit.
//
// Bad input never kills the process and never falls back silently: Start returns a Status
// whose message holds every diagnostic (file:line:col), the dlerror text of a library that
// does not load, the classes a library does register when one is missing, and both
// locations of a duplicate component name.
//
//   cadence::LauncherOptions options;
//   options.dag_files = {"examples/robot/robot.dag"};
//   options.conf_file = "conf/robot.conf";
//   auto launcher = cadence::Launcher::Start(options);   // check .ok()
//   (*launcher)->WaitForStop();                           // SIGINT/SIGTERM
//   (*launcher)->Shutdown();                              // writes the trace, if asked
//
// With `trace_out` set, the scheduler records a timeline (scheduler/trace/) and Shutdown
// writes it there as Chrome/Perfetto JSON once the processors have stopped. The file is
// created at start-up, so a path that cannot be written fails Start, not the end of a run
// (a Start that fails for another reason removes the file it created).
#ifndef CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_H_
#define CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/component/channel.h"
#include "scheduler/component/component.h"
#include "scheduler/config/validator.h"
#include "scheduler/introspection/state_server.h"
#include "scheduler/launcher/dag.h"
#include "scheduler/scheduler.h"

namespace cadence {

struct LauncherOptions {
  // -d: the DAG files, in order.
  std::vector<std::string> dag_files;
  // -p: the process group; names the conf when sched_name is empty.
  std::string process_group = "mainboard_default";
  // -s: the scheduler conf's name, when it differs from the process group.
  std::string sched_name;
  // --conf_dir: where `<name>.conf` is looked up.
  std::string conf_dir = "conf";
  // A conf file to use instead of `<conf_dir>/<name>.conf`. It must exist (a missing
  // `<conf_dir>/<name>.conf` gives the default plan with a warning, as in Cyber RT).
  std::string conf_file;
  // Extra directories a relative module_library is looked up in.
  std::vector<std::string> library_path;
  // Warnings are errors, and a thread that cannot get its policy fails start-up.
  bool strict = false;
  // A timeline trace file to write at Shutdown ("": no trace, nothing recorded).
  std::string trace_out;
  // Runs each processor's trace ring keeps (the most recent; 40 bytes each); 1 to 2^24.
  size_t trace_events_per_processor = 65536;
  // Publish the scheduling state on `<state_dir>/<pid>.sock` for `schedctl ps`/`top`
  // (scheduler/introspection/state_server.h); "" is /run/cadence, or /tmp/cadence-<uid>
  // when that cannot be used. A state_dir that cannot be used fails start-up; when neither
  // default place can be, the process runs unobserved and says so (a warning, StateLine).
  bool publish_state = true;
  std::string state_dir;
};

class Launcher {
 public:
  // Loads, validates and starts everything (see the file comment). Also installs the
  // SIGINT/SIGTERM handlers WaitForStop waits on. Errors: every problem found, formatted
  // for a user (InvalidArgument for bad input, NotFound for missing files, others from the
  // scheduler, or from publishing the state in an explicit state_dir).
  static absl::StatusOr<std::unique_ptr<Launcher>> Start(const LauncherOptions& options);

  // Shuts down (if not done yet).
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Blocks until SIGINT or SIGTERM arrives, or `limit` passes (zero: no limit; a negative
  // limit has already passed). Any limit is exact, also past poll()'s ~24.8 days. Returns
  // the signal number, or 0 when the limit passed.
  int WaitForStop(std::chrono::milliseconds limit = std::chrono::milliseconds(0));

  // Stops publishing the state (the socket file is removed), stops the scheduler (running
  // activations finish), clears every component, then writes the trace (when trace_out is
  // set; logged with its counts, see trace_report). Returns the error when the trace could
  // not be written; a second call returns the same.
  absl::Status Shutdown();

  // After Shutdown wrote a trace: one line saying where, and what it holds ("" otherwise).
  const std::string& trace_report() const { return trace_report_; }

  // The state socket ("" when the state is not published).
  std::string state_socket() const;

  // "state: <socket>" (what tests and scripts wait for), or "state: not published (<why>)",
  // e.g. "(--nopublish_state)".
  std::string StateLine() const;

  // The conf file in force: as named, and the real file behind the symlinks.
  const std::string& conf_path() const { return conf_path_; }
  const std::string& real_conf_path() const { return validation_.plan.real_config_path; }

  // What the validator said about the conf (warnings and notes; no errors).
  const Validation& validation() const { return validation_; }

  // The running scheduler.
  Scheduler& scheduler() { return *scheduler_; }
  const Scheduler& scheduler() const { return *scheduler_; }

  // The channels of this launcher.
  ChannelRegistry& channels() { return channels_; }

  // Every component, in DAG order.
  const std::vector<std::unique_ptr<ComponentBase>>& components() const { return components_; }

  // The libraries loaded (resolved paths), in load order.
  const std::vector<std::string>& libraries() const { return libraries_; }

  // Task runs that failed so far: Proc calls that returned false, and bodies that threw.
  uint64_t FailedRuns() const;

  // One line per component with failed Proc calls ("" when none).
  std::string FailureReport() const;

  // A few lines on what started: conf (symlink chain and real file), libraries,
  // components and their tasks.
  std::string Summary() const;

 private:
  Launcher() = default;
  absl::Status Init(const LauncherOptions& options);

  std::string conf_path_;
  Validation validation_;
  std::vector<Dag> dags_;
  std::vector<std::string> libraries_;
  // Destroyed in reverse order: components before the scheduler and the channels they use.
  ChannelRegistry channels_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::unique_ptr<ComponentBase>> components_;
  // Reads the scheduler: stopped first.
  std::unique_ptr<StateServer> state_server_;
  // Why the state is not published ("" when it is).
  std::string state_error_;
  bool shut_down_ = false;
  std::string trace_out_;
  // Start-up created the trace file (it did not exist).
  bool created_trace_file_ = false;
  absl::Status shutdown_status_;
  std::string trace_report_;
};

// Installs SIGINT/SIGTERM handlers that make WaitForStop return (idempotent; Start calls
// it). The handlers only write to a pipe, so any thread may receive the signal.
absl::Status InstallStopSignals();

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_LAUNCHER_H_
