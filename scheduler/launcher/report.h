// Report: the tables the launcher, the demos and the examples print — every thread's
// requested vs effective attributes, and per-task figures (runs, wake latency, deadline
// misses, overruns, drops, CPUs). Plain text, one row per thread or task.
#ifndef CADENCE_SCHEDULER_LAUNCHER_REPORT_H_
#define CADENCE_SCHEDULER_LAUNCHER_REPORT_H_

#include <string>
#include <vector>

#include "scheduler/processor.h"
#include "scheduler/scheduler.h"

namespace cadence {

// The requested-vs-effective table of threads: EFFECTIVE is what the kernel reports when it
// is called (read again, so the threads must still run), with a "FELL BACK" note where the
// kernel refused the request at start-up and a "changed since start-up" note where someone
// changed the thread later (chrt, taskset).
std::string FormatThreadTable(const std::vector<ThreadRecord>& threads);

// The per-task table: queue, priority, period, runs, wake latency (release jitter for
// periodic tasks) p50/p99/max, deadline misses, overruns, drops, CPUs it ran on.
std::string FormatTaskTable(const std::vector<TaskStats>& tasks);

// The per-processor table: runs, sleeps, busy time and share of its lifetime.
std::string FormatProcessorTable(const std::vector<ProcessorStats>& processors);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_REPORT_H_
