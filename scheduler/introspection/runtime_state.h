// RuntimeState: one snapshot of a running Scheduler as the protobuf message a process
// publishes (proto/state.proto) — the conf in force, requested vs effective attributes of
// every thread, every processor with the tasks it serves, every task's statistics with its
// wake-latency histogram — and the conversions a reader needs to use it.
//
// Capturing is not a hot-path operation: it allocates, and reads the scheduler's
// statistics (relaxed atomics; no lock a processor takes).
#ifndef CADENCE_SCHEDULER_INTROSPECTION_RUNTIME_STATE_H_
#define CADENCE_SCHEDULER_INTROSPECTION_RUNTIME_STATE_H_

#include <string>

#include "proto/state.pb.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/scheduler.h"
#include "scheduler/statistics/latency_histogram.h"

namespace cadence {

// What the process knows about itself beyond the scheduler.
struct StateInfo {
  // The program's name ("" : this process's comm).
  std::string program;
  // The conf as named, and the real file behind the symlinks ("" for the default plan;
  // empty real_conf_path: the plan's).
  std::string conf_path;
  std::string real_conf_path;
};

// A snapshot of `scheduler` and `info` (pid, uid, clocks filled in from this process).
proto::RuntimeState CaptureState(const Scheduler& scheduler, const StateInfo& info);

// ThreadAttributes as published, and back. FromState fails (false) on an unknown policy
// name or a bad CPU list.
proto::ThreadAttributesState ToState(const ThreadAttributes& attributes);
bool FromState(const proto::ThreadAttributesState& state, ThreadAttributes* attributes);

// The wake-latency bucket counts of a published task (zeros where no bucket is listed;
// buckets past kBuckets are ignored).
LatencyHistogram::Counts WakeCountsOf(const proto::TaskState& task);

// "conf/robot.conf -> /abs/conf/robot_classic.conf (classic)": the conf as named, the real
// file when it differs, and the scheduler kind.
std::string DescribeConf(const proto::RuntimeState& state);

// Whether `state` was written with this build's histogram layout (else its wake buckets
// cannot be compared with LatencyHistogram's).
bool HistogramCompatible(const proto::RuntimeState& state);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_INTROSPECTION_RUNTIME_STATE_H_
