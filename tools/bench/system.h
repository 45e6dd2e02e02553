// What the bench tool needs from the operating system: the machine description, pinning
// and prioritizing the calling thread, per-thread CPU time / context switches / state
// from /proc, process memory, holding /dev/cpu_dma_latency, background CPU load
// (stress-ng or busy threads) and running cyclictest.
//
// Not a hot path: everything here may allocate and read files.
#ifndef CADENCE_TOOLS_BENCH_SYSTEM_H_
#define CADENCE_TOOLS_BENCH_SYSTEM_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/bench/stats.h"

namespace cadence::bench {

// CLOCK_MONOTONIC now, in nanoseconds.
int64_t NowNs();

// Sleeps until the absolute CLOCK_MONOTONIC time `deadline_ns`.
void SleepUntil(int64_t deadline_ns);

// Spins (burning CPU) for `ns` nanoseconds.
void Spin(int64_t ns);

// "nproc: 2", "kernel: ...", "PREEMPT_RT: no ...": the machine, one fact per line.
std::vector<std::string> DescribeMachine();

// How a bench thread is to run: policy (SCHED_OTHER, SCHED_FIFO, SCHED_BATCH), the
// real-time priority (FIFO) or the nice value (OTHER/BATCH), and its CPUs (empty: as is).
struct ThreadSetup {
  int policy = 0;  // SCHED_OTHER
  int rt_priority = 0;
  int nice = 0;
  std::vector<int> cpus;
};

// The first line of /proc/loadavg.
std::string LoadAverage();

// Applies `setup` to the calling thread (affinity, then policy and priority or nice).
absl::Status SetUpCurrentThread(const ThreadSetup& setup);

// The calling thread's kernel id.
pid_t Gettid();

// CPU time (user + system) thread `tid` of this process used so far, in nanoseconds.
absl::StatusOr<int64_t> ThreadCpuNs(pid_t tid);

// Voluntary + involuntary context switches of thread `tid` of this process so far (each
// voluntary one is a sleep, hence a later wake-up).
absl::StatusOr<uint64_t> ThreadContextSwitches(pid_t tid);

// The one-letter state of thread `tid` of this process ('R', 'S', ...), '?' if unknown.
char ThreadState(pid_t tid);

// One CPU's line of /proc/stat: its ticks in all (user to steal) and not busy (idle +
// iowait + steal).
struct CpuTicks {
  int cpu = -1;
  uint64_t total = 0;
  uint64_t idle = 0;
};
// Every CPU's ticks so far; the busy share of an interval is 1 - d(idle) / d(total).
std::vector<CpuTicks> PerCpuTicks();

// VmRSS and VmSize of this process, in bytes.
struct Memory {
  int64_t rss_bytes = 0;
  int64_t vm_bytes = 0;
};
Memory ProcessMemory();

// Holds /dev/cpu_dma_latency at 0 (idle CPUs poll instead of halting) while alive.
class DmaLatencyHold {
 public:
  DmaLatencyHold();
  ~DmaLatencyHold();
  DmaLatencyHold(const DmaLatencyHold&) = delete;
  DmaLatencyHold& operator=(const DmaLatencyHold&) = delete;

  // Whether the request is in force; error() says why not.
  bool held() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

// Background CPU load: `stress-ng --cpu N` at nice 0 (its own process group, stopped with
// SIGTERM), or, when stress-ng is missing or cannot be started, N busy threads at nice 0.
// stress-ng gets SIGTERM when the thread that constructed this exits (PR_SET_PDEATHSIG, so
// that a killed bench leaves no load behind): construct it on a thread that outlives it.
class BackgroundLoad {
 public:
  // Starts the load and waits `settle_s` seconds.
  BackgroundLoad(int cpus, double settle_s);
  // Stops it (and waits for it).
  ~BackgroundLoad();
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  // "stress-ng --cpu 2" or "2 busy threads (stress-ng not found)".
  const std::string& description() const { return description_; }

 private:
  pid_t child_ = -1;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::string description_;
};

// Whether an executable is on PATH.
bool HaveProgram(const std::string& name);

// Runs `args` (args[0] looked up on PATH unless it holds a '/') in a child process at
// SCHED_OTHER that is killed with the bench, and returns what it wrote to stdout; its
// stderr goes to /dev/null when `quiet_stderr`, else to the bench's. An error when it
// could not be started or did not exit with status 0 (the message says how it ended).
absl::StatusOr<std::string> RunCapturingStdout(std::vector<std::string> args, bool quiet_stderr);

// One cyclictest run: its latencies (from its -h histogram) or why it did not run.
struct CyclictestResult {
  bool ran = false;
  std::string why_not;
  std::string command;
  Percentiles latency;
  uint64_t overflows = 0;
  // Samples later than one period (-i 1000: > 1000 us), overflows included: the same
  // "deadline miss" as a cadence task's, for the floor.
  uint64_t late = 0;
};

// Runs `cyclictest -m -p <prio> -i 1000 -l <loops> -a <cpu> -q -h 10000 <extra...>` and
// parses its histogram.
CyclictestResult RunCyclictest(int prio, int cpu, int loops,
                               const std::vector<std::string>& extra = {});

}  // namespace cadence::bench

#endif  // CADENCE_TOOLS_BENCH_SYSTEM_H_
