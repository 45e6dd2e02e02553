// schedctl: look at a scheduling config without running it, at what this machine allows,
// and at the threads of a running process.
//
//   schedctl check FILE... [--strict] [--cpus=N]
//       Loads and validates each file; prints every finding as
//       `file:line:col: error|warning|note: ...`. Exit 0: no errors; 1: errors; 2: usage.
//   schedctl plan FILE [--json] [--strict] [--cpus=N]
//       Prints the resolved plan (processors, queues, tasks, threads, per-CPU map) or JSON.
//   schedctl budget [FILE]
//       Prints what this machine allows real-time threads (RT throttling, cgroup RT budgets,
//       RLIMIT_RTPRIO, CAP_SYS_NICE, SCHED_DEADLINE headroom); with FILE, validates it and
//       says per check whether its real-time processors fit. Exit 0: everything fits (without
//       FILE: real-time is available to this process); 1: something does not; 2: usage.
//   schedctl template -d DAG [-d DAG...] [--layout=classic|choreography|both]
//                     [--out_dir=DIR [--name=NAME] [--force]] [--cpus=N]
//       Prints (or writes to DIR as NAME_<layout>.conf) a conf listing every task the DAGs
//       create. Exit 1 when a DAG does not load.
//   schedctl ps PID [--interval_ms=200] [--state_dir=DIR]
//       Every thread of a process: policy, priority/nice, allowed CPUs, last CPU, CPU% over
//       the interval, CPU time. For a cadence process that publishes its state, also the
//       conf in force, requested vs effective per configured thread, and processor -> tasks.
//       Exit 1 when there is no such process, /proc refuses, or its state may not be read.
//   schedctl top PID [--once] [--interval_ms=1000] [--iterations=N] [--state_dir=DIR]
//       A cadence process's per-task figures (runs/s, wake p50/p99/max, run time, misses,
//       overruns, coalesced, dropped) and per-processor busy %, refreshed every interval
//       until SIGINT (or N times); --once prints one interval's and exits.
//
// --cpus=N (1 to 1024, CPU_SETSIZE) validates against a machine with CPUs 0..N-1 (this
// process's privileges and RT limits), to check a config meant for a bigger or smaller
// target; a value outside that range is a usage error.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/diagnostic.h"
#include "scheduler/config/validator.h"
#include "scheduler/introspection/state_client.h"
#include "scheduler/launcher/command_line.h"
#include "scheduler/launcher/dag.h"
#include "tools/schedctl/budget.h"
#include "tools/schedctl/ps.h"
#include "tools/schedctl/ps_state.h"
#include "tools/schedctl/template.h"
#include "tools/schedctl/top.h"

DEFINE_bool(strict, false, "Treat warnings as errors.");
DEFINE_bool(json, false, "plan: print the plan as JSON.");
DEFINE_int32(cpus, 0,
             "Validate against a machine with CPUs 0..N-1 instead of this one (0: this one).");
DEFINE_string(layout, "classic", "template: classic, choreography or both.");
DEFINE_string(out_dir, "",
              "template: write NAME_<layout>.conf (and a NAME.conf symlink) into this "
              "directory instead of printing.");
DEFINE_string(name, "",
              "template: the NAME of the files --out_dir writes (default: the first "
              "DAG's file name without .dag).");
DEFINE_bool(force, false, "template: overwrite files in --out_dir.");
DEFINE_int32(interval_ms, 200,
             "ps: measure CPU% over this many milliseconds (0: do not measure); top: the "
             "refresh interval (default 1000).");
DEFINE_string(state_dir, "",
              "ps, top: where the process publishes its state (default: /run/cadence, then "
              "/tmp/cadence-<uid>).");
DEFINE_bool(once, false, "top: print one interval's figures and exit.");
DEFINE_int32(iterations, 0, "top: stop after this many refreshes (0: until SIGINT).");

namespace cadence {
namespace {

constexpr int kUsageError = 2;

const char kUsage[] =
    "usage:\n"
    "  schedctl check FILE... [--strict] [--cpus=N]\n"
    "  schedctl plan FILE [--json] [--strict] [--cpus=N]\n"
    "  schedctl budget [FILE] [--strict]\n"
    "  schedctl template -d DAG [-d DAG...] [--layout=classic|choreography|both]\n"
    "                    [--out_dir=DIR [--name=NAME] [--force]] [--cpus=N]\n"
    "  schedctl ps PID [--interval_ms=200] [--state_dir=DIR]\n"
    "  schedctl top PID [--once] [--interval_ms=1000] [--iterations=N] [--state_dir=DIR]\n";

// This machine, or with --cpus=N one with CPUs 0..N-1 (whose kernel has room for them).
Machine TargetMachine() {
  Machine machine = Machine::Read();
  if (FLAGS_cpus > 0) {
    machine.online = CpuSet::Range(0, FLAGS_cpus - 1);
    machine.allowed = machine.online;
    machine.possible_cpus = std::max(machine.possible_cpus, FLAGS_cpus);
  }
  return machine;
}

// Whether --cpus is 0 (this machine) or a CPU count a CpuSet can hold; says why not.
bool CpusFlagValid() {
  if (FLAGS_cpus >= 0 && FLAGS_cpus <= CpuSet::kMaxCpus) return true;
  std::cerr << "schedctl: --cpus must be a number of CPUs from 1 to " << CpuSet::kMaxCpus
            << " (CPUs 0..N-1; 0 or no --cpus: this machine), not " << FLAGS_cpus << "\n"
            << kUsage;
  return false;
}

int Check(const std::vector<std::string>& files) {
  if (files.empty()) {
    std::cerr << "schedctl check: name at least one config file\n" << kUsage;
    return kUsageError;
  }
  const Machine machine = TargetMachine();
  bool any_error = false;
  for (const std::string& file : files) {
    absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(file);
    if (!loaded.ok()) {
      // Like a checked file, it ends with its verdict (a file that cannot be read or parsed
      // stops at its first error, so that is the count).
      std::cout << loaded.status().message() << "\n"
                << file << ": FAILED (it could not be read or parsed: 1 error)\n";
      any_error = true;
      continue;
    }
    Validation v = Validate(*loaded, machine, {.strict = FLAGS_strict});
    if (!loaded->link_chain.empty()) {
      for (const std::string& hop : loaded->link_chain) std::cout << "# " << hop << "\n";
    }
    std::cout << v.diagnostics.ToString();
    std::cout << file << ": " << (v.ok() ? "ok" : "FAILED") << " (" << v.diagnostics.ErrorCount()
              << " errors, " << v.diagnostics.WarningCount() << " warnings; read "
              << loaded->real_path << ")\n";
    any_error |= !v.ok();
  }
  return any_error ? 1 : 0;
}

int PrintPlan(const std::vector<std::string>& files) {
  if (files.size() != 1) {
    std::cerr << "schedctl plan: name exactly one config file\n" << kUsage;
    return kUsageError;
  }
  absl::StatusOr<Validation> v =
      LoadAndValidate(files[0], TargetMachine(), {.strict = FLAGS_strict});
  if (!v.ok()) {
    std::cerr << v.status().message() << "\n";
    return 1;
  }
  std::cerr << v->diagnostics.ToString();
  if (!v->ok()) {
    std::cerr << files[0] << ": no plan: " << v->diagnostics.ErrorCount() << " errors\n";
    return 1;
  }
  std::cout << (FLAGS_json ? v->plan.ToJson() + "\n" : v->plan.ToText());
  return 0;
}

int Budget(const std::vector<std::string>& files) {
  if (files.size() > 1) {
    std::cerr << "schedctl budget: name at most one config file\n" << kUsage;
    return kUsageError;
  }
  if (FLAGS_cpus > 0) {
    std::cerr << "schedctl budget: --cpus does not apply: budget is about this machine\n" << kUsage;
    return kUsageError;
  }
  const BudgetFacts facts = BudgetFacts::Read();
  std::cout << FormatFacts(facts);
  const Verdict available = JudgeRealTimeAvailable(facts);
  std::cout << FormatVerdict(available);
  if (files.empty()) return available.fits ? 0 : 1;

  const std::string& file = files[0];
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(file);
  if (!loaded.ok()) {
    std::cout << loaded.status().message() << "\n" << file << ": cannot judge it\n";
    return 1;
  }
  const Validation v = Validate(*loaded, Machine::Read(), {.strict = FLAGS_strict});
  std::cout << "\n";
  for (const std::string& hop : loaded->link_chain) std::cout << "# " << hop << "\n";
  std::cout << v.diagnostics.ToString();
  if (!v.ok()) {
    std::cout << file << ": cannot judge it: " << v.diagnostics.ErrorCount()
              << " errors (see `schedctl check " << file << "`)\n";
    return 1;
  }
  std::cout << FormatPerCpu(v.plan, facts);
  int failed = 0;
  const std::vector<Verdict> verdicts = JudgePlan(v.plan, facts);
  for (const Verdict& verdict : verdicts) {
    std::cout << file << ": " << FormatVerdict(verdict);
    failed += verdict.fits ? 0 : 1;
  }
  if (failed == 0) {
    std::cout << file << ": fits (" << verdicts.size() << " checks)\n";
    return 0;
  }
  std::cout << file << ": does not fit (" << failed << " of " << verdicts.size()
            << " checks fail)\n";
  return 1;
}

// The file name without directory and extension: "a/robot.dag" -> "robot".
std::string Stem(const std::string& path) {
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  const size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

int Template(const std::vector<std::string>& dag_files) {
  if (dag_files.empty()) {
    std::cerr << "schedctl template: name at least one DAG file (-d FILE)\n" << kUsage;
    return kUsageError;
  }
  std::vector<TemplateLayout> layouts;
  if (FLAGS_layout == "classic" || FLAGS_layout == "both") {
    layouts.push_back(TemplateLayout::kClassic);
  }
  if (FLAGS_layout == "choreography" || FLAGS_layout == "both") {
    layouts.push_back(TemplateLayout::kChoreography);
  }
  if (layouts.empty()) {
    std::cerr << "schedctl template: --layout must be classic, choreography or both, not '"
              << FLAGS_layout << "'\n"
              << kUsage;
    return kUsageError;
  }
  std::vector<Dag> dags;
  bool failed = false;
  for (const std::string& file : dag_files) {
    absl::StatusOr<Dag> dag = LoadDagFile(file);
    if (!dag.ok()) {
      std::cerr << dag.status().message() << "\n";
      failed = true;
      continue;
    }
    std::cerr << dag->diagnostics.ToString();
    dags.push_back(*std::move(dag));
  }
  if (failed) return 1;
  if (absl::Status together = CheckDagsTogether(dags); !together.ok()) {
    std::cerr << together.message() << "\n";
    return 1;
  }
  const CpuSet cpus = TargetMachine().Usable();
  if (FLAGS_out_dir.empty()) {
    for (size_t i = 0; i < layouts.size(); ++i) {
      if (i > 0) {
        std::cout << "\n# ======== " << TemplateLayoutName(layouts[i])
                  << " layout below: save it as a file of its own ========\n\n";
      }
      std::cout << MakeTemplate(dags, layouts[i], cpus);
    }
    return 0;
  }
  const std::string name = FLAGS_name.empty() ? Stem(dag_files[0]) : FLAGS_name;
  // A file name inside --out_dir: "../x" or "a/b" would write elsewhere.
  if (name == "." || name == ".." || name.find('/') != std::string::npos ||
      !cadence::NameProblem(name).empty()) {
    std::cerr << "schedctl template: "
              << (FLAGS_name.empty() ? "the first DAG's file name " : "--name ")
              << cadence::Quoted(name)
              << " is not a plain file name (no '/', not '.' or '..', printable UTF-8): the "
                 "files go into --out_dir (give --name)\n";
    return 2;
  }
  std::error_code made;
  std::filesystem::create_directories(FLAGS_out_dir, made);
  if (made) {
    std::cerr << "schedctl template: cannot create --out_dir " << FLAGS_out_dir << ": "
              << made.message() << "\n";
    return 1;
  }
  std::vector<std::string> written;
  for (TemplateLayout layout : layouts) {
    const std::string base = absl::StrCat(name, "_", TemplateLayoutName(layout), ".conf");
    const std::string path = absl::StrCat(FLAGS_out_dir, "/", base);
    if (Exists(path) && !FLAGS_force) {
      std::cerr << "schedctl template: " << path << " exists; not overwritten (--force does)\n";
      return 1;
    }
    std::ofstream out(path, std::ios::trunc);
    out << MakeTemplate(dags, layout, cpus);
    out.close();
    if (!out) {
      std::cerr << "schedctl template: cannot write " << path << ": " << std::strerror(errno)
                << "\n";
      return 1;
    }
    std::cout << "wrote " << path << "\n";
    written.push_back(base);
  }
  // NAME.conf picks the variant, as in conf/.
  const std::string link = absl::StrCat(FLAGS_out_dir, "/", name, ".conf");
  if (!Exists(link)) {
    if (symlink(written[0].c_str(), link.c_str()) != 0) {
      std::cerr << "schedctl template: cannot create " << link << ": " << std::strerror(errno)
                << "\n";
      return 1;
    }
    std::cout << "linked " << link << " -> " << written[0] << "\n";
  } else {
    std::cout << link << " exists: left as it is\n";
  }
  return 0;
}

int Ps(const std::vector<std::string>& args) {
  pid_t pid = 0;
  if (args.size() != 1 || !absl::SimpleAtoi(args[0], &pid) || pid <= 0) {
    std::cerr << "schedctl ps: name one process id\n" << kUsage;
    return kUsageError;
  }
  if (FLAGS_interval_ms < 0) {
    std::cerr << "schedctl ps: --interval_ms must be >= 0\n" << kUsage;
    return kUsageError;
  }
  absl::StatusOr<ProcessSample> first = SampleProcess(pid);
  if (!first.ok()) {
    std::cerr << "schedctl ps: " << first.status().message() << "\n";
    return 1;
  }
  const ProcessSample* kernel = &*first;
  absl::StatusOr<ProcessSample> last = first;
  if (FLAGS_interval_ms == 0) {
    std::cout << FormatThreadTable(nullptr, *first, std::chrono::nanoseconds(0));
  } else {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(FLAGS_interval_ms));
    last = SampleProcess(pid);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (!last.ok()) {
      std::cerr << "schedctl ps: " << last.status().message() << "\n";
      return 1;
    }
    kernel = &*last;
    std::cout << FormatThreadTable(&*first, *last, elapsed);
  }
  // The cadence part, when the process publishes it.
  std::string socket;
  absl::StatusOr<proto::RuntimeState> state = FetchState(pid, FLAGS_state_dir, &socket);
  if (absl::IsNotFound(state.status())) {
    std::cout << "\ncadence: " << state.status().message() << "\n";
    return 0;
  }
  if (!state.ok()) {
    std::cout << std::flush;
    std::cerr << "schedctl: " << state.status().message() << "\n";
    return 1;
  }
  std::cout << "\n" << FormatStateSection(*state, kernel, socket);
  return 0;
}

int Top(const std::vector<std::string>& args) {
  pid_t pid = 0;
  if (args.size() != 1 || !absl::SimpleAtoi(args[0], &pid) || pid <= 0) {
    std::cerr << "schedctl top: name one process id\n" << kUsage;
    return kUsageError;
  }
  gflags::CommandLineFlagInfo interval_flag;
  gflags::GetCommandLineFlagInfo("interval_ms", &interval_flag);
  const int interval_ms = interval_flag.is_default ? 1000 : FLAGS_interval_ms;
  if (interval_ms <= 0 || FLAGS_iterations < 0) {
    std::cerr << "schedctl top: --interval_ms must be > 0 and --iterations >= 0\n" << kUsage;
    return kUsageError;
  }
  const int iterations = FLAGS_once ? 1 : FLAGS_iterations;
  // Live mode on a terminal redraws the screen; otherwise screens follow one another.
  const bool redraw = !FLAGS_once && isatty(STDOUT_FILENO);
  absl::StatusOr<proto::RuntimeState> before = FetchState(pid, FLAGS_state_dir);
  if (!before.ok()) {
    std::cerr << "schedctl: " << before.status().message() << "\n";
    return 1;
  }
  for (int i = 0; iterations == 0 || i < iterations; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    absl::StatusOr<proto::RuntimeState> after = FetchState(pid, FLAGS_state_dir);
    if (!after.ok()) {
      std::cerr << "schedctl: " << after.status().message() << "\n";
      return 1;
    }
    const std::string screen = FormatTop(*before, *after);
    if (redraw) {
      std::cout << "\033[H\033[2J" << screen << std::flush;
    } else {
      std::cout << (i > 0 ? "\n" : "") << screen << std::flush;
    }
    before = std::move(after);
  }
  return 0;
}

// Takes Cyber's `-d DAG` (also -dDAG, --dag DAG, --dag=DAG; repeatable) out of argv, since
// gflags keeps only the last value of a flag.
std::vector<std::string> TakeDags(int* argc, char** argv) {
  std::vector<std::string> dags;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "-d" || arg == "--dag" || arg == "-dag") && i + 1 < *argc) {
      dags.push_back(argv[++i]);
    } else if (absl::StartsWith(arg, "--dag=") || absl::StartsWith(arg, "-dag=")) {
      dags.push_back(arg.substr(arg.find('=') + 1));
    } else if (absl::StartsWith(arg, "-d") && arg.size() > 2 && arg[2] != '-') {
      dags.push_back(arg.substr(2));
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return dags;
}

// Refuses flags schedctl does not have with a usage error (exit 2) instead of gflags'
// exit 1, so scripts can tell bad usage from a bad config.
}  // namespace
}  // namespace cadence

int main(int argc, char** argv) {
  using namespace cadence;
  gflags::SetUsageMessage(kUsage);
  const std::vector<std::string> dags = TakeDags(&argc, argv);
  if (WantsHelp(argc, argv)) {
    ShowHelp(argc, argv);
    return 0;
  }
  if (absl::Status flags = CheckFlags(argc, argv); !flags.ok()) {
    std::cerr << "schedctl: " << flags.message() << "\n" << kUsage;
    return kUsageError;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc < 2) {
    std::cerr << kUsage;
    return kUsageError;
  }
  if (!CpusFlagValid()) return kUsageError;
  const std::string command = argv[1];
  std::vector<std::string> files(argv + 2, argv + argc);
  if (!dags.empty() && command != "template") {
    std::cerr << "schedctl: -d DAG is for `schedctl template`\n" << kUsage;
    return kUsageError;
  }
  if (command == "check") return Check(files);
  if (command == "plan") return PrintPlan(files);
  if (command == "budget") return Budget(files);
  if (command == "ps") return Ps(files);
  if (command == "top") return Top(files);
  if (command == "template") {
    std::vector<std::string> all = dags;
    all.insert(all.end(), files.begin(), files.end());  // DAGs named without -d too
    return Template(all);
  }
  std::cerr << "schedctl: unknown command '" << command << "'\n" << kUsage;
  return kUsageError;
}
