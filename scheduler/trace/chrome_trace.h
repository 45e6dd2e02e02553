// Chrome trace-event JSON: the file format ui.perfetto.dev and chrome://tracing open. This
// turns the processors' TraceRings into a timeline:
//
//   - one track per processor, named after it (`realtime/0`), in plan order; each task run
//     is a complete event ("ph":"X") named after the task, with args wake_latency_us
//     (notify -> start; for a periodic release, ideal release -> start), periodic_release,
//     overran and cpu;
//   - a notify that started a run is an arrow ("ph":"s" -> "ph":"f", "bp":"e") from the
//     notifying thread, at the notify time, to the run. A processor notifying from inside a
//     task (e.g. a channel write) starts the arrow in that task's slice; any other thread
//     gets its own track (its name from /proc/self/task/<tid>/comm while it is alive, else
//     `thread <tid>`) with a 1 ns `notify <task>` slice to hold the arrow's start (viewers
//     attach arrows to slices). A notify whose enclosing run was dropped from the ring gets
//     no arrow. Timer releases have no notifying thread: their runs say
//     periodic_release: true instead;
//   - instant events ("ph":"i", "s":"t") on the processor's track: `deadline miss` where a
//     release started more than one period late (args late_us, period_us) and, between two
//     traced releases of a task, at each gap where releases were skipped
//     (skipped_releases); `exception` where a body threw; `trace buffer wrapped` at the
//     first event a wrapped ring still holds (dropped_events).
//
// Times ("ts", "dur") are microseconds with three decimals (nanosecond resolution, exact:
// no floating point) on CLOCK_MONOTONIC. The top-level "metadata" object holds the clock
// and each processor's ring capacity, recorded and dropped event counts.
#ifndef CADENCE_SCHEDULER_TRACE_CHROME_TRACE_H_
#define CADENCE_SCHEDULER_TRACE_CHROME_TRACE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/trace/trace_ring.h"

namespace cadence {

// One processor's part of a trace.
struct ProcessorTrace {
  std::string name;
  pid_t tid = 0;
  // Its runs, oldest first (TraceRing::Events()).
  std::vector<TraceEvent> events;
  uint64_t capacity = 0;
  uint64_t dropped = 0;
};

// Everything a trace file is made of.
struct TraceInput {
  // The processors, in plan order.
  std::vector<ProcessorTrace> processors;
  // 0: this process's pid.
  pid_t pid = 0;
  // "": this process's name (/proc/self/comm).
  std::string process_name;
  // The track name of a notifying thread that is not a processor; unset:
  // /proc/self/task/<tid>/comm while the thread lives, else "thread <tid>".
  std::function<std::string(pid_t tid)> thread_name;
};

// What a written trace holds.
struct TraceSummary {
  uint64_t runs = 0;             // "X" slices of task runs
  uint64_t arrows = 0;           // notify arrows (s/f pairs)
  uint64_t deadline_misses = 0;  // "deadline miss" instants
  uint64_t exceptions = 0;       // "exception" instants
  uint64_t dropped = 0;          // runs the rings overwrote (not in the file)
  int notifier_tracks = 0;       // tracks of notifying threads that are not processors
};

// The trace as JSON text ({"traceEvents":[...],"displayTimeUnit":"ns","metadata":{...}}).
std::string ChromeTraceJson(const TraceInput& input, TraceSummary* summary = nullptr);

// Writes ChromeTraceJson to `path` (replacing it). Errors: the file cannot be created or
// written (the message names the path and the reason).
absl::StatusOr<TraceSummary> WriteChromeTrace(const TraceInput& input, const std::string& path);

// `text` as a JSON string literal, quotes included: `"` `\` and control characters
// escaped, invalid UTF-8 replaced by U+FFFD.
std::string JsonString(const std::string& text);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_TRACE_CHROME_TRACE_H_
