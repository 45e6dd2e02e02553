// bench: runs the W-protocol workloads (/work/shared/bench/PROTOCOL.md) side by side in one
// process — the floors (futex wake, cyclictest), a naive mutex/condvar pool and cadence
// (classic and choreography) — and prints one table per workload with ratios against the
// baselines measured in the same run. It asserts nothing about speed.
//
//   bazel build -c opt //tools/bench
//   bazel-bin/tools/bench/bench [--quick] [--samples=N] [--only=floors,w1,w2,w3,w4,idle,memory]
//
// Needs root or CAP_SYS_NICE for the SCHED_FIFO rows, and 2 CPUs (CPU 0: notifier/producer,
// CPU 1: worker). The full run takes about 9 minutes (552 s in the last runs); --quick under one.
#include <sys/utsname.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/bench/system.h"
#include "tools/bench/workloads.h"

DEFINE_bool(quick, false,
            "Short run (under a minute): 500 samples per latency row unless --samples is "
            "given, W2 0.5 s + 0.5 s recovery, idle 1 s.");
DEFINE_int32(samples, 10000, "Latency samples kept per W1 row (W3: half; W4, cyclictest: same).");
DEFINE_int32(warmup, 100, "Warm-up samples dropped at the start of each latency row.");
DEFINE_string(only, "", "Comma-separated sections to run (floors,w1,w2,w3,w4,idle,memory); "
                        "empty: all.");
DEFINE_double(w2_seconds, 5, "W2: seconds the producer notifies (--quick: 0.5).");
DEFINE_double(w2_after_seconds, 2, "W2: seconds of recovery watched after it (--quick: 0.5).");
DEFINE_double(idle_seconds, 5, "Idle: seconds with nothing notified (--quick: 1).");
DEFINE_int32(memory_tasks, 10000, "Memory: tasks created.");
DEFINE_string(memory_child, "",
              "Internal: measure one layout's memory (classic or choreography) in this "
              "process and print one line (the Memory section runs the bench again with it).");
DEFINE_double(load_settle_seconds, 1, "Seconds the background load runs before a loaded row.");

namespace cadence::bench {
namespace {

const char* const kSections[] = {"w1", "floors", "w3", "w2", "w4", "idle", "memory"};

bool IsDefault(const char* flag) { return gflags::GetCommandLineFlagInfoOrDie(flag).is_default; }

int Main() {
  if (!FLAGS_memory_child.empty()) return MemoryChildMain(FLAGS_memory_child, FLAGS_memory_tasks);
  std::set<std::string> only;
  for (absl::string_view s : absl::StrSplit(FLAGS_only, ',', absl::SkipEmpty())) {
    std::string name = absl::AsciiStrToLower(s);
    if (std::find(std::begin(kSections), std::end(kSections), name) == std::end(kSections)) {
      std::cerr << "bench: unknown section \"" << name << "\" in --only (known: "
                << absl::StrJoin(kSections, ",") << ")\n";
      return 2;
    }
    only.insert(name);
  }
  BenchOptions options;
  options.samples = FLAGS_samples;
  options.warmup = FLAGS_warmup;
  options.w2_seconds = FLAGS_w2_seconds;
  options.w2_after_seconds = FLAGS_w2_after_seconds;
  options.idle_seconds = FLAGS_idle_seconds;
  options.memory_tasks = FLAGS_memory_tasks;
  options.load_settle_seconds = FLAGS_load_settle_seconds;
  if (FLAGS_quick) {
    if (IsDefault("samples")) options.samples = 500;
    if (IsDefault("w2_seconds")) options.w2_seconds = 0.5;
    if (IsDefault("w2_after_seconds")) options.w2_after_seconds = 0.5;
    if (IsDefault("idle_seconds")) options.idle_seconds = 1;
  }
  if (options.samples < 1 || options.warmup < 0) {
    std::cerr << "bench: --samples must be >= 1 and --warmup >= 0\n";
    return 2;
  }

  std::cout << "# cadence bench (W-protocol)\n## Machine\n";
  for (const std::string& line : DescribeMachine()) std::cout << line << "\n";
  std::cout << "samples: W1 " << options.samples << " per row, W3 "
            << std::max(1, options.samples / 2) << " per row, W4 and cyclictest "
            << options.samples << "; the first " << options.warmup
            << " samples of every latency row are warm-up and excluded\n"
            << "W2: " << options.w2_seconds << " s producer, " << options.w2_after_seconds
            << " s recovery; idle: " << options.idle_seconds << " s; memory: "
            << options.memory_tasks << " tasks\n"
            << "stress-ng: " << (HaveProgram("stress-ng") ? "yes" : "no (busy threads instead)")
            << "; cyclictest: " << (HaveProgram("cyclictest") ? "yes" : "no (rows skipped)")
            << "\n\n"
            << std::flush;

  auto wanted = [&](const std::string& s) { return only.empty() || only.count(s) > 0; };
  SharedResults shared;
  const int64_t start = NowNs();
  // W1 runs first so that its futex rows serve as the floors of the Floors table and W3.
  if (wanted("w1")) std::cout << RunW1(options, &shared) << std::flush;
  if (wanted("floors")) std::cout << RunFloors(options, &shared) << std::flush;
  if (wanted("w2")) std::cout << RunW2(options) << std::flush;
  if (wanted("w3")) std::cout << RunW3(options) << std::flush;
  if (wanted("w4")) std::cout << RunW4(options) << std::flush;
  if (wanted("idle")) std::cout << RunIdle(options) << std::flush;
  if (wanted("memory")) std::cout << RunMemory(options) << std::flush;
  std::cout << "# done in " << Num((NowNs() - start) / 1e9) << " s; loadavg at end: "
            << LoadAverage() << "\n";
  return 0;
}

}  // namespace
}  // namespace cadence::bench

int main(int argc, char** argv) {
  // The runtime logs one INFO line per task the conf does not name; the bench creates
  // thousands. Warnings and errors still show.
  FLAGS_minloglevel = google::WARNING;
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "bench [--quick] [--samples=N] [--only=floors,w1,w2,w3,w4,idle,memory]: the W-protocol "
      "workloads side by side, with ratios to baselines measured in the same run");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  return cadence::bench::Main();
}
