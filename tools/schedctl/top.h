// `schedctl top PID`: per-task and per-processor figures of a cadence process over an
// interval, from two snapshots of the state it publishes (scheduler/introspection/).
//
// Per task, over the interval: runs per second; wake latency p50/p99/max (release jitter
// for periodic tasks) from the difference of the two wake histograms
// (LatencyHistogram::SummaryOf: bucket upper bounds, ~19% resolution; the max is exact when
// it is a new all-time max, else its bucket's upper bound), "-" when it did not run; the
// average run time; deadline misses, overruns, coalesced notifies and dropped messages.
// Since the task was created: runs and the longest run. Per processor: its busy share of
// the interval (runs are counted when they end, so the share is capped at 100%), runs and
// sleeps per second, and its tasks.
//
// Every cell is one word, so scripts can split rows on blanks.
#ifndef CADENCE_TOOLS_SCHEDCTL_TOP_H_
#define CADENCE_TOOLS_SCHEDCTL_TOP_H_

#include <string>

#include "proto/state.pb.h"

namespace cadence {

// One screen: a header (process, conf, interval), the task table and the processor table,
// computed from `before` and `after` (snapshots of the same process, `after` later). A task
// or processor missing from `before` counts from zero; one missing from `after` is left out.
std::string FormatTop(const proto::RuntimeState& before, const proto::RuntimeState& after);

}  // namespace cadence

#endif  // CADENCE_TOOLS_SCHEDCTL_TOP_H_
