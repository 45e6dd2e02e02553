#include "scheduler/launcher/report.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "scheduler/common/thread_attributes.h"
#include "scheduler/common/sched_policy.h"

namespace cadence {

std::string FormatThreadTable(const std::vector<ThreadRecord>& threads) {
  std::string out = absl::StrFormat("  %-10s %-15s %-7s %-34s %-34s %s\n", "KIND", "NAME", "TID",
                                    "REQUESTED", "EFFECTIVE (now)", "NOTE");
  for (const ThreadRecord& t : threads) {
    // What the kernel reports now: someone may have changed the thread (chrt, taskset)
    // since the runtime applied its attributes.
    ThreadAttributes effective = t.applied.effective;
    std::vector<std::string> notes;
    if (t.applied.fell_back) notes.push_back("FELL BACK: " + t.applied.why);
    // Only a thread of this process: a tid that exited may belong to another process by now
    // (sched_getattr takes any tid).
    absl::StatusOr<ThreadAttributes> now =
        access(absl::StrCat("/proc/self/task/", t.tid).c_str(), F_OK) == 0
            ? ReadThreadAttributes(t.tid)
            : absl::NotFoundError(absl::StrCat("thread ", t.tid, " is gone"));
    if (!now.ok()) {
      notes.push_back(absl::StrCat("not readable now (", now.status().message(),
                                   "): as recorded at start-up"));
    } else if (!SameScheduling(*now, t.applied.effective)) {
      notes.push_back(
          absl::StrCat("changed since start-up (it got ", Describe(t.applied.effective), ")"));
      effective = *now;
    }
    if (notes.empty()) notes.push_back("as asked");
    absl::StrAppend(&out, absl::StrFormat("  %-10s %-15s %-7d %-34s %-34s %s\n", t.kind, t.name,
                                          t.tid, Describe(t.applied.requested),
                                          Describe(effective), absl::StrJoin(notes, "; ")));
  }
  return out;
}

std::string FormatTaskTable(const std::vector<TaskStats>& tasks) {
  std::string out = absl::StrFormat(
      "  %-16s %-12s %4s %9s %9s %10s %10s %10s %9s %9s %7s %8s %8s %6s\n", "TASK", "QUEUE",
      "PRIO", "PERIOD us", "RUNS", "WAKE p50us", "WAKE p99us", "WAKE maxus", "RUN avgus",
      "RUN maxus", "MISSES", "OVERRUNS", "DROPPED", "CPUS");
  const auto micros = [](uint64_t ns) { return absl::StrFormat("%.1f", ns / 1e3); };
  int untimed = 0;
  for (const TaskStats& t : tasks) {
    // Percentiles need a histogram: a task the conf does not name keeps count and max only.
    const bool percentiles = !t.wake_counts.empty() && t.wake_latency.count > 0;
    const bool times = t.activations > 0 && t.timed;
    untimed += t.timed ? 0 : 1;
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "  %-16s %-12s %4d %9s %9d %10s %10s %10s %9s %9s %7d %8d %8d %6s\n", t.name, t.queue,
            t.priority, t.period_ns > 0 ? absl::StrCat(t.period_ns / 1000) : std::string("-"),
            t.activations, percentiles ? micros(t.wake_latency.p50_ns) : std::string("-"),
            percentiles ? micros(t.wake_latency.p99_ns) : std::string("-"),
            times ? micros(t.wake_latency.max_ns) : std::string("-"),
            times ? micros(t.run_ns_total / t.activations) : std::string("-"),
            times ? micros(t.run_ns_max) : std::string("-"), t.deadline_misses, t.overruns,
            t.dropped, t.cpus_mask != 0 ? CpusOfMask(t.cpus_mask) : std::string("-")));
  }
  if (untimed > 0) {
    absl::StrAppend(&out, "  (", untimed, untimed == 1 ? " task's" : " tasks'",
                    " activations are not timed, their queue's time_activations being false: "
                    "WAKE and RUN show -)\n");
  }
  return out;
}

std::string FormatProcessorTable(const std::vector<ProcessorStats>& processors) {
  std::string out = absl::StrFormat("  %-15s %-7s %10s %10s %10s %12s %6s\n", "PROCESSOR", "TID",
                                    "RUNS", "SLEEPS", "YIELDS", "BUSY ms", "BUSY%");
  for (const ProcessorStats& p : processors) {
    absl::StrAppend(&out, absl::StrFormat("  %-15s %-7d %10d %10d %10d %12.1f %5.1f%%\n", p.name,
                                          p.tid, p.activations, p.sleeps, p.yields, p.busy_ns / 1e6,
                                          p.alive_ns > 0 ? 100.0 * p.busy_ns / p.alive_ns : 0.0));
  }
  return out;
}

}  // namespace cadence
