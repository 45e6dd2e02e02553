// The W-protocol workloads (/work/shared/bench/PROTOCOL.md, docs/performance.md): each
// runs its rows side by side in one process and returns its table(s) as text. Nothing
// here asserts anything about speed.
#ifndef CADENCE_TOOLS_BENCH_WORKLOADS_H_
#define CADENCE_TOOLS_BENCH_WORKLOADS_H_

#include <map>
#include <string>
#include <vector>

#include "tools/bench/runners.h"
#include "tools/bench/stats.h"

namespace cadence::bench {

struct BenchOptions {
  // Kept latency samples per W1 row (W3 keeps half, W4 and cyclictest the same number).
  int samples = 10000;
  // Warm-up samples dropped at the start of every latency row.
  int warmup = 100;
  // W2: how long the producer notifies, and how long recovery is watched afterwards.
  double w2_seconds = 5;
  double w2_after_seconds = 2;
  // Idle: how long nothing is notified; Memory: how many tasks are created.
  double idle_seconds = 5;
  int memory_tasks = 10000;
  // Seconds the background load runs before a loaded variant starts.
  double load_settle_seconds = 1;
};

// One latency row's outcome.
struct LatencyRow {
  bool ok = false;
  std::string error;
  Percentiles latency;
  uint64_t coalesced = 0;
  uint64_t extra = 0;
  uint64_t missing = 0;
};

// Results shared between sections of one run (W1's floor rows are the floors of W3 and of
// the Floors table).
struct SharedResults {
  // variant ("a", "b", ...) -> runner kind -> row.
  std::map<std::string, std::map<RunnerKind, LatencyRow>> w1;
};

// W1 wake latency, variants a, b, c, d, a', b'.
std::string RunW1(const BenchOptions& options, SharedResults* shared);

// Floors: one-way futex wake (from W1 when it ran, else measured) and cyclictest, idle and
// under the W1 load.
std::string RunFloors(const BenchOptions& options, SharedResults* shared);

// W2 throughput, fairness and recovery.
std::string RunW2(const BenchOptions& options);

// W3 chain A->B->C->D.
std::string RunW3(const BenchOptions& options);

// W4 isolation, next to cyclictest under the same background load.
std::string RunW4(const BenchOptions& options);

// Idle cost and memory per task.
std::string RunIdle(const BenchOptions& options);
// Memory: each layout is measured in a process of its own (this binary run again with
// --memory_child, see MemoryChildMain), so that no memory freed by an earlier section or
// layout is reused and hides what the tasks take.
std::string RunMemory(const BenchOptions& options);

// The child's side: starts the layout ("classic" or "choreography"), creates `tasks` tasks,
// removes them and creates as many again, and prints one line to stdout: VmRSS and VmSize
// in bytes before, after the creation and after the re-creation, then the failed creations
// or removals. Returns the process exit status (2: unknown layout or no scheduler).
int MemoryChildMain(const std::string& layout, int tasks);

}  // namespace cadence::bench

#endif  // CADENCE_TOOLS_BENCH_WORKLOADS_H_
