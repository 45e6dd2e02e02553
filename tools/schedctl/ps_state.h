// The cadence part of `schedctl ps PID`, for a process that publishes its state
// (scheduler/introspection/): which conf is in force (the path as named and the real file
// behind the symlinks), every thread the conf configures with what it requested next to
// what it has now, and which tasks each processor serves.
//
// "Effective" is the kernel's view at the time of the sample (so a thread changed by hand
// after start-up shows up), falling back to what the runtime recorded at start-up for a
// thread the sample does not hold. A row is marked when the two sides differ, when the
// runtime fell back at start-up (with its reason), and when the kernel's view changed since.
#ifndef CADENCE_TOOLS_SCHEDCTL_PS_STATE_H_
#define CADENCE_TOOLS_SCHEDCTL_PS_STATE_H_

#include <string>

#include "proto/state.pb.h"
#include "scheduler/common/sched_policy.h"
#include "scheduler/common/thread_attributes.h"
#include "tools/schedctl/ps.h"

namespace cadence {

// A thread's attributes as the kernel reports them in a sample.
ThreadAttributes KernelAttributes(const ThreadSample& sample);

// The section: where the state came from (`socket_path`), the conf, the table of configured
// threads (TID KIND NAME REQUESTED EFFECTIVE MATCH NOTE; MATCH is "yes" or "NO"), and the
// processors with the tasks the conf places on them and the live ones. `kernel` may be
// null (then effective is what the runtime recorded).
std::string FormatStateSection(const proto::RuntimeState& state, const ProcessSample* kernel,
                               const std::string& socket_path);

}  // namespace cadence

#endif  // CADENCE_TOOLS_SCHEDCTL_PS_STATE_H_
