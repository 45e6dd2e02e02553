// mainboard: Cyber RT's launcher, the cadence way. Loads the DAG files' libraries, creates
// their components, builds the scheduler from `<conf_dir>/<sched_name or process_group>.conf`
// and runs until SIGINT/SIGTERM, then shuts down cleanly with exit code 0.
//
//   mainboard -d DAG [-d DAG ...] [-p PROCESS_GROUP] [-s SCHED_NAME] [--conf_dir DIR]
//             [--conf FILE] [--library_path DIR,...] [--strict] [--duration_s N]
//             [--trace_out FILE [--trace_events N]] [--nopublish_state] [--state_dir DIR]
//
// --trace_out writes a timeline of every task run (Chrome/Perfetto JSON) when it stops.
// While it runs, its scheduling state is published on <state_dir>/<pid>.sock (one stdout
// line says where) for `schedctl ps PID` and `schedctl top PID`.
//
// Exit codes: 0 after a clean stop, 1 when something in the input is wrong (the message
// says what and where) or the trace could not be written, 2 for a usage error.
#include <signal.h>
#include <string.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "scheduler/launcher/command_line.h"
#include "scheduler/launcher/launcher.h"
#include "scheduler/launcher/launcher_flags.h"
#include "scheduler/launcher/report.h"

DEFINE_string(dag, "", "DAG files, comma-separated (-d FILE may be repeated).");
DEFINE_string(process_group, "mainboard_default",
              "The process group (-p); names the scheduler conf unless --sched_name is given.");
DEFINE_string(sched_name, "", "The scheduler conf's name (-s), when not the process group's.");
DEFINE_string(conf_dir, "conf", "Where <name>.conf is looked up.");
DEFINE_string(conf, "", "A scheduler conf file to use instead of <conf_dir>/<name>.conf.");
DEFINE_string(library_path, "",
              "Extra directories (comma-separated) to look up relative module_library paths in.");
DEFINE_bool(strict, false,
            "Warnings are errors; a thread that cannot get its policy fails start-up.");
DEFINE_int32(duration_s, 0, "Stop after this many seconds (0: run until SIGINT/SIGTERM).");

namespace {

// Rewrites Cyber's short options (-d X, -p X, -s X, and -dX) into gflags' long form; the
// -d values are collected into one --dag list.
std::vector<std::string> Rewrite(int argc, char** argv) {
  std::vector<std::string> out = {argv[0]};
  std::vector<std::string> dags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto take = [&](const char* flag) {
      std::string value;
      if (arg.size() > 2) {
        value = arg.substr(2);
      } else if (i + 1 < argc) {
        value = argv[++i];
      }
      return std::pair<std::string, std::string>(flag, value);
    };
    // A registered flag in gflags' single-dash form (-strict, -duration_s=1) is not a
    // short option.
    const std::string name = arg.empty() ? std::string()
                                         : arg.substr(1, arg.find('=') == std::string::npos
                                                             ? std::string::npos
                                                             : arg.find('=') - 1);
    gflags::CommandLineFlagInfo info;
    if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' &&
        (gflags::GetCommandLineFlagInfo(name.c_str(), &info) ||
         (name.rfind("no", 0) == 0 && gflags::GetCommandLineFlagInfo(name.c_str() + 2, &info)))) {
      out.push_back(arg);
    } else if (arg.rfind("-d", 0) == 0 && arg.rfind("--", 0) != 0) {
      dags.push_back(take("dag").second);
    } else if (arg.rfind("-p", 0) == 0 && arg.rfind("--", 0) != 0) {
      out.push_back("--process_group=" + take("process_group").second);
    } else if (arg.rfind("-s", 0) == 0 && arg.rfind("--", 0) != 0) {
      out.push_back("--sched_name=" + take("sched_name").second);
    } else if (arg == "--dag" && i + 1 < argc) {
      dags.push_back(argv[++i]);
    } else if (arg.rfind("--dag=", 0) == 0) {
      dags.push_back(arg.substr(6));
    } else {
      out.push_back(arg);
    }
  }
  if (!dags.empty()) out.push_back("--dag=" + absl::StrJoin(dags, ","));
  return out;
}

std::vector<std::string> List(const std::string& flag) {
  return absl::StrSplit(flag, ',', absl::SkipEmpty());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rewritten = Rewrite(argc, argv);
  std::vector<char*> args;
  for (std::string& arg : rewritten) args.push_back(arg.data());
  int n = static_cast<int>(args.size());
  char** p = args.data();
  gflags::SetUsageMessage(
      "mainboard -d DAG [-d DAG ...] [-p PROCESS_GROUP] [-s SCHED_NAME] [--conf_dir DIR]");
  if (cadence::WantsHelp(n, p)) {
    cadence::ShowHelp(n, p);
    return 0;
  }
  if (absl::Status flags = cadence::CheckFlags(n, p); !flags.ok()) {
    std::cerr << "mainboard: " << flags.message() << "\n" << gflags::ProgramUsage() << "\n";
    return 2;
  }
  gflags::ParseCommandLineFlags(&n, &p, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (n > 1) {
    std::cerr << "mainboard: unexpected argument '" << p[1] << "'\n"
              << gflags::ProgramUsage() << "\n";
    return 2;
  }
  cadence::LauncherOptions options;
  options.dag_files = List(FLAGS_dag);
  if (options.dag_files.empty()) {
    std::cerr << "mainboard: no DAG file given (-d FILE)\n" << gflags::ProgramUsage() << "\n";
    return 2;
  }
  options.process_group = FLAGS_process_group;
  options.sched_name = FLAGS_sched_name;
  options.conf_dir = FLAGS_conf_dir;
  options.conf_file = FLAGS_conf;
  options.library_path = List(FLAGS_library_path);
  options.strict = FLAGS_strict;
  if (absl::Status flags = cadence::ApplyObservabilityFlags(&options); !flags.ok()) {
    std::cerr << "mainboard: " << flags.message() << "\n";
    return 2;
  }
  const absl::StatusOr<std::chrono::milliseconds> limit = cadence::RunTimeLimit(FLAGS_duration_s);
  if (!limit.ok()) {
    std::cerr << "mainboard: " << limit.status().message() << "\n"
              << gflags::ProgramUsage() << "\n";
    return 2;
  }

  absl::StatusOr<std::unique_ptr<cadence::Launcher>> launcher = cadence::Launcher::Start(options);
  if (!launcher.ok()) {
    std::cerr << "mainboard: cannot start:\n" << launcher.status().message() << "\n";
    return 1;
  }
  cadence::Launcher& l = **launcher;
  std::cout << l.Summary() << "\nthreads (requested vs effective):\n"
            << cadence::FormatThreadTable(l.scheduler().Threads()) << "\n"
            << l.StateLine() << "\nmainboard: running (pid " << getpid()
            << "); SIGINT or SIGTERM stops it" << std::endl;
  const int signal = l.WaitForStop(*limit);
  std::cout << "\nmainboard: stopping ("
            << (signal > 0 ? std::string(strsignal(signal)) : std::string("time limit")) << ")"
            << std::endl;
  const absl::Status stopped = l.Shutdown();
  std::cout << "\ntasks:\n"
            << cadence::FormatTaskTable(l.scheduler().TaskStatistics()) << "\nprocessors:\n"
            << cadence::FormatProcessorTable(l.scheduler().ProcessorStatistics());
  std::cout << l.FailureReport();
  if (!l.trace_report().empty()) std::cout << "mainboard: " << l.trace_report() << "\n";
  if (!stopped.ok()) {
    std::cout << std::flush;
    std::cerr << "mainboard: " << stopped.message() << std::endl;
    return 1;
  }
  std::cout << "mainboard: stopped cleanly (" << l.FailedRuns() << " failed or throwing task runs)"
            << std::endl;
  return 0;
}
