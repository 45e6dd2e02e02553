// The robot demo: the scenario cadence exists for. A 1 kHz motion path (a sensor timer
// feeding a PID controller through a channel) and 100 Hz LED effects run on CPU 0 under
// SCHED_FIFO, while preview generation and log parsing keep both CPUs busy at low priority.
// It embeds the launcher (the same one mainboard uses) with examples/robot/robot.dag, runs for
// --duration_s seconds (or until SIGINT/SIGTERM) and prints per task: runs, wake latency
// (release jitter for the periodic tasks) p50/p99/max, deadline misses, overruns, drops and
// CPUs; and per thread: requested vs effective policy, priority and CPUs.
//
//   bazel-bin/examples/robot/robot_demo --conf conf/robot.conf --duration_s 10
//   bazel-bin/examples/robot/robot_demo --duration_s 2 --trace_out /tmp/robot.json  # timeline
//
// While it runs, its scheduling state is published for `schedctl ps PID` / `schedctl top PID`
// (one stdout line, "state: <socket>", says where; --nopublish_state turns it off).
//
// Swap the layout by re-pointing the symlink: ln -sf robot_choreography.conf conf/robot.conf
// Exit code: 0, or 1 when it could not start, a task failed (threw or its Proc failed) or
// the trace could not be written; 2 for a usage error (e.g. a negative --duration_s).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "scheduler/launcher/command_line.h"
#include "scheduler/launcher/launcher.h"
#include "scheduler/launcher/launcher_flags.h"
#include "scheduler/launcher/report.h"

DEFINE_string(conf, "conf/robot.conf", "The scheduler conf (a symlink picks the layout).");
DEFINE_int32(duration_s, 10, "How long to run (0: until SIGINT/SIGTERM).");
DEFINE_string(dag, "",
              "The DAG (default: examples/robot/robot.dag, beside the binary's runfiles).");
DEFINE_string(library_path, "", "Extra directories for the DAG's module_library.");
DEFINE_bool(strict, false, "Fail instead of falling back when a thread cannot get its policy.");

namespace {

// examples/robot/robot.dag from the working directory, else from this binary's runfiles.
std::string DefaultDag() {
  const std::string relative = "examples/robot/robot.dag";
  if (access(relative.c_str(), R_OK) == 0) return relative;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    const std::string runfiles = std::string(exe) + ".runfiles/cadence/" + relative;
    if (access(runfiles.c_str(), R_OK) == 0) return runfiles;
  }
  return relative;  // Reported as missing by the launcher.
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "robot_demo [--conf FILE] [--duration_s N] [--strict] [--trace_out FILE] ...: the robot "
      "demo (motion and LED paths in real time, preview and parse work in the background)");
  if (cadence::WantsHelp(argc, argv)) {
    cadence::ShowHelp(argc, argv);
    return 0;
  }
  if (absl::Status flags = cadence::CheckFlags(argc, argv); !flags.ok()) {
    std::cerr << "robot_demo: " << flags.message() << "\n";
    return 2;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc > 1) {  // It takes flags only; a stray word is likely a mistyped flag.
    std::cerr << "robot_demo: unexpected argument '" << argv[1] << "'\n";
    return 2;
  }

  cadence::LauncherOptions options;
  options.dag_files = {FLAGS_dag.empty() ? DefaultDag() : FLAGS_dag};
  options.conf_file = FLAGS_conf;
  options.library_path = absl::StrSplit(FLAGS_library_path, ',', absl::SkipEmpty());
  options.strict = FLAGS_strict;
  if (absl::Status flags = cadence::ApplyObservabilityFlags(&options); !flags.ok()) {
    std::cerr << "robot_demo: " << flags.message() << "\n";
    return 2;
  }
  const absl::StatusOr<std::chrono::milliseconds> limit = cadence::RunTimeLimit(FLAGS_duration_s);
  if (!limit.ok()) {
    std::cerr << "robot_demo: " << limit.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<cadence::Launcher>> launcher = cadence::Launcher::Start(options);
  if (!launcher.ok()) {
    std::cerr << "robot_demo: cannot start:\n" << launcher.status().message() << "\n";
    return 1;
  }
  cadence::Launcher& l = **launcher;
  cadence::Scheduler& s = l.scheduler();

  // The conf's "logger" thread: a progress line a second, with its attributes applied.
  std::mutex mutex;
  std::condition_variable stop_logger;
  bool stopping = false;
  absl::StatusOr<std::thread> logger = s.StartThread("logger", [&] {
    std::unique_lock<std::mutex> lock(mutex);
    for (int second = 1;; ++second) {
      if (stop_logger.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) return;
      absl::StatusOr<cadence::TaskId> motion = s.FindTask("motion_control");
      if (!motion.ok()) continue;
      absl::StatusOr<cadence::TaskStats> t = s.TaskStatistics(*motion);
      if (t.ok()) {
        std::cout << absl::StrFormat(
                         "  t=%2ds motion_control runs %d, wake p99 %.1f us, misses %d\n", second,
                         t->activations, t->wake_latency.p99_ns / 1e3, t->deadline_misses)
                  << std::flush;
      }
    }
  });
  if (!logger.ok()) {
    std::cerr << "robot_demo: " << logger.status().message() << "\n";
    return 1;
  }

  std::cout << l.Summary() << "\nthreads (requested vs effective):\n"
            << cadence::FormatThreadTable(s.Threads()) << "\n"
            << l.StateLine() << "\nrobot_demo: running for "
            << (FLAGS_duration_s > 0 ? absl::StrCat(FLAGS_duration_s, " s")
                                     : std::string("no fixed time, until SIGINT or SIGTERM"))
            << " (pid " << getpid() << ")" << std::endl;
  const int signal = l.WaitForStop(*limit);
  // Read while every thread still runs (the logger too): the kernel's view at the end.
  const std::string thread_table = cadence::FormatThreadTable(s.Threads());
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  stop_logger.notify_all();
  logger->join();
  const absl::Status stopped = l.Shutdown();

  std::cout << "\nrobot_demo: stopped (" << (signal > 0 ? strsignal(signal) : "time is up")
            << ")\n\ntasks (wake = release jitter for periodic tasks):\n"
            << cadence::FormatTaskTable(s.TaskStatistics()) << "\nprocessors:\n"
            << cadence::FormatProcessorTable(s.ProcessorStatistics())
            << "\nthreads (requested vs effective):\n"
            << thread_table;
  const uint64_t failures = l.FailedRuns();
  std::cout << l.FailureReport();
  if (!l.trace_report().empty()) std::cout << "\nrobot_demo: " << l.trace_report() << "\n";
  if (!stopped.ok()) {
    std::cout << std::flush;
    std::cerr << "robot_demo: " << stopped.message() << std::endl;
  }
  const bool ok = failures == 0 && stopped.ok();
  std::cout << "\n"
            << (ok ? "robot_demo: ok" : "robot_demo: FAILURES") << " (" << failures
            << " failed or throwing task runs"
            << (stopped.ok() ? "" : "; the trace was not written") << ")" << std::endl;
  return ok ? 0 : 1;
}
