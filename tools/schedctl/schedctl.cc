// schedctl: look at a scheduling config without running it.
//
//   schedctl check FILE... [--strict] [--cpus=N]
//       Loads and validates each file; prints every finding as
//       `file:line:col: error|warning|note: ...`. Exit 0: no errors; 1: errors; 2: usage.
//   schedctl plan FILE [--json] [--strict] [--cpus=N]
//       Prints the resolved plan (processors, queues, tasks, threads, per-CPU map) or JSON.
//
// --cpus=N validates against a machine with CPUs 0..N-1 (this process's privileges and RT
// limits), to check a config meant for a bigger or smaller target.
#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/validator.h"

DEFINE_bool(strict, false, "Treat warnings as errors.");
DEFINE_bool(json, false, "plan: print the plan as JSON.");
DEFINE_int32(cpus, 0,
             "Validate against a machine with CPUs 0..N-1 instead of this one (0: this one).");

namespace cadence {
namespace {

constexpr int kUsageError = 2;

const char kUsage[] =
    "usage:\n"
    "  schedctl check FILE... [--strict] [--cpus=N]\n"
    "  schedctl plan FILE [--json] [--strict] [--cpus=N]\n";

Machine TargetMachine() {
  Machine machine = Machine::Read();
  if (FLAGS_cpus > 0) {
    machine.online = CpuSet::Range(0, FLAGS_cpus - 1);
    machine.allowed = machine.online;
  }
  return machine;
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
      std::cout << loaded.status().message() << "\n";
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

// Refuses flags schedctl does not have with a usage error (exit 2) instead of gflags'
// exit 1, so scripts can tell bad usage from a bad config.
bool FlagsKnown(int argc, char** argv) {
  static const std::set<std::string> kKnown = {"strict", "nostrict", "json",    "nojson",
                                               "cpus",   "help",     "helpfull"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (!absl::StartsWith(arg, "-") || arg == "-") continue;
    arg = arg.substr(arg[1] == '-' ? 2 : 1);
    arg = arg.substr(0, arg.find('='));
    if (!kKnown.count(arg)) {
      std::cerr << "schedctl: unknown flag '" << argv[i] << "'\n" << kUsage;
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace cadence

int main(int argc, char** argv) {
  using namespace cadence;
  gflags::SetUsageMessage(kUsage);
  if (!FlagsKnown(argc, argv)) return kUsageError;
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc < 2) {
    std::cerr << kUsage;
    return kUsageError;
  }
  const std::string command = argv[1];
  std::vector<std::string> files(argv + 2, argv + argc);
  if (command == "check") return Check(files);
  if (command == "plan") return PrintPlan(files);
  std::cerr << "schedctl: unknown command '" << command << "'\n" << kUsage;
  return kUsageError;
}
