// Embedding cadence in your own main(): load a conf, start the scheduler, create tasks by
// the names the conf uses, notify them, and print what every thread asked for and got.
//
//   bazel run //examples/embed -- --conf=$PWD/conf/robot.conf --notifies=2000
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/validator.h"
#include "scheduler/scheduler.h"

DEFINE_string(conf, "conf/robot.conf", "The scheduler conf to run.");
DEFINE_int32(notifies, 2000, "How many times to notify each task.");
DEFINE_bool(strict, false, "Fail instead of falling back when a thread cannot get its policy.");

namespace {

// A little real work, so run times are not all zero.
uint64_t Work(int rounds) {
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  using namespace cadence;

  absl::StatusOr<Validation> v =
      LoadAndValidate(FLAGS_conf, Machine::Read(), {.strict = FLAGS_strict});
  if (!v.ok()) {
    std::cerr << v.status().message() << "\n";
    return 1;
  }
  std::cerr << v->diagnostics.ToString();
  if (!v->ok()) return 1;

  absl::StatusOr<std::unique_ptr<Scheduler>> scheduler =
      Scheduler::Start(v->plan, {.strict = FLAGS_strict});
  if (!scheduler.ok()) {
    std::cerr << "cannot start the scheduler: " << scheduler.status().message() << "\n";
    return 1;
  }
  Scheduler& s = **scheduler;

  // One task per name in the conf, plus one the conf does not name.
  std::vector<std::string> names;
  for (const auto& [name, task] : s.plan().tasks) names.push_back(name);
  names.push_back("unnamed_helper");
  std::atomic<uint64_t> sink{0};
  std::vector<TaskId> ids;
  // What the example itself counts, to check the runtime's statistics against: each body's
  // runs, and the notifies that returned OK.
  std::map<std::string, std::atomic<uint64_t>> body_runs;
  std::map<std::string, uint64_t> ok_notifies;
  for (const std::string& name : names) {
    std::atomic<uint64_t>* runs = &body_runs[name];
    absl::StatusOr<TaskId> id = s.CreateTask(name, [&sink, runs, name] {
      sink.fetch_add(Work(name == "preview" || name == "parse" ? 20000 : 200),
                     std::memory_order_relaxed);
      runs->fetch_add(1, std::memory_order_relaxed);
    });
    if (!id.ok()) {
      std::cerr << id.status().message() << "\n";
      return 1;
    }
    ids.push_back(*id);
  }
  // A named thread from the conf, started with its attributes already applied. In strict
  // mode, a refused policy is an error (the thread does not start): say why and stop.
  absl::StatusOr<std::thread> logger = s.StartThread("logger", [] {});
  if (!logger.ok()) {
    std::cerr << "cannot start thread \"logger\": " << logger.status().message() << "\n";
    return 1;
  }
  logger->join();

  for (int round = 0; round < FLAGS_notifies; ++round) {
    for (size_t t = 0; t < ids.size(); ++t) {
      absl::Status status = s.NotifyTask(ids[t]);
      if (!status.ok()) {
        std::cerr << "notify failed: " << status.message() << "\n";
        return 1;
      }
      ++ok_notifies[names[t]];
    }
    usleep(100);  // Pace the demo (not synchronization): about 10 kHz of notify rounds.
  }
  std::vector<ThreadRecord> threads = s.Threads();
  s.Shutdown();  // Runs what is queued, then joins.

  std::cout << "\nthreads (requested vs effective, as the runtime recorded them at start-up):\n";
  std::cout << absl::StrFormat("  %-10s %-14s %-7s %-32s %-32s %s\n", "KIND", "NAME", "TID",
                               "REQUESTED", "EFFECTIVE", "NOTE");
  for (const ThreadRecord& t : threads) {
    std::cout << absl::StrFormat("  %-10s %-14s %-7d %-32s %-32s %s\n", t.kind, t.name, t.tid,
                                 Describe(t.applied.requested), Describe(t.applied.effective),
                                 t.applied.fell_back ? "FELL BACK: " + t.applied.why : "as asked");
  }
  std::cout << "\ntasks:\n";
  std::cout << absl::StrFormat("  %-16s %-12s %4s %8s %9s %10s %10s %10s %8s %4s\n", "NAME",
                               "QUEUE", "PRIO", "NOTIFIES", "COALESCED", "RUNS", "WAKE p50us",
                               "WAKE p99us", "MAX us", "CPU");
  // Every notify ran or was coalesced into a run. An on-demand task runs only when notified
  // (notifies = runs + coalesced); a periodic one also runs on its releases, so it ran at
  // least as often as its notifies were not coalesced. Notifies and runs are the example's
  // own counts (OK returns, body executions); only `coalesced` is the runtime's, and its
  // notify and run counts must match the example's.
  uint64_t notified = 0, accounted = 0, releases = 0, misses = 0;
  std::vector<std::string> short_of_notifies, miscounted;
  for (const TaskStats& t : s.TaskStatistics()) {
    const uint64_t runs = body_runs[t.name].load();
    const uint64_t sent = ok_notifies[t.name];
    if (t.activations != runs || t.notifies != sent) miscounted.push_back(t.name);
    // A task whose queue does not time activations has no wake latency: "-".
    const auto micros = [&t](uint64_t ns) {
      return t.timed ? absl::StrFormat("%.1f", ns / 1e3) : std::string("-");
    };
    std::cout << absl::StrFormat("  %-16s %-12s %4d %8d %9d %10d %10s %10s %8s %4d\n", t.name,
                                 t.queue, t.priority, t.notifies, t.coalesced, t.activations,
                                 micros(t.wake_latency.p50_ns), micros(t.wake_latency.p99_ns),
                                 micros(t.wake_latency.max_ns), t.last_cpu);
    if (t.period_ns == 0) {
      notified += sent;
      accounted += runs + t.coalesced;
    } else {
      releases += t.releases;
      misses += t.deadline_misses;
      if (runs + t.coalesced < sent) short_of_notifies.push_back(t.name);
    }
  }
  std::cout << "\nprocessors:\n";
  for (const ProcessorStats& p : s.ProcessorStatistics()) {
    std::cout << absl::StrFormat("  %-14s tid %-7d runs %-8d sleeps %-8d busy %.1f ms\n", p.name,
                                 p.tid, p.activations, p.sleeps, p.busy_ns / 1e6);
  }
  const bool ok = notified == accounted && short_of_notifies.empty() && miscounted.empty();
  if (!miscounted.empty()) {
    std::cout << "\nMISMATCH: the runtime's notify or run count differs from the example's for "
              << absl::StrJoin(miscounted, ", ") << "\n";
  }
  std::cout << absl::StrFormat(
      "\non-demand tasks: %d notifies, %d runs + coalesced: %s\n", notified, accounted,
      notified == accounted ? "every notify ran or was coalesced into a run" : "MISMATCH");
  std::cout << absl::StrFormat(
      "periodic tasks: %d releases (%d deadline misses); %s\n", releases, misses,
      short_of_notifies.empty()
          ? "runs + coalesced >= notifies (releases run too)"
          : "MISMATCH: fewer runs + coalesced than notifies for " +
                absl::StrJoin(short_of_notifies, ", "));
  return ok ? 0 : 1;
}
