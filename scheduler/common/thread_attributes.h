// Applying ThreadAttributes to real threads and reading back what the kernel gave them.
//
// ApplyThreadAttributes() sets a thread's CPU affinity (sched_setaffinity) and its policy
// and priority (the raw sched_setattr syscall, which covers every policy including
// SCHED_DEADLINE), with every syscall checked. When the kernel refuses a request for lack
// of privilege or budget (no CAP_SYS_NICE, RLIMIT_RTPRIO/RLIMIT_NICE too low, RT budget 0,
// SCHED_DEADLINE admission), it either falls back the way the request allows (real-time ->
// SCHED_OTHER with the lowest nice the process may use -> nice 0; negative nice -> lowest
// allowed nice -> 0) and says why in one line, or, in strict mode, fails. The result holds
// both what was requested and what the kernel reports afterwards, so a Processor can record
// requested vs effective. Nothing here logs: the caller decides what to say.
//
// Not a hot path: these functions read /proc and allocate.
#ifndef CADENCE_SCHEDULER_COMMON_THREAD_ATTRIBUTES_H_
#define CADENCE_SCHEDULER_COMMON_THREAD_ATTRIBUTES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "scheduler/common/sched_policy.h"

namespace cadence {

// The kernel thread id of the calling thread (gettid).
pid_t CurrentTid();

// Reads what the kernel reports for thread `tid` (of any process we may inspect): policy,
// FIFO/RR priority, nice (for SCHED_OTHER/SCHED_BATCH; 0 for other policies, as in
// ThreadAttributes), SCHED_DEADLINE runtime/deadline/period, reset-on-fork and the CPU
// affinity. Returns an error naming the tid and errno when a syscall fails, e.g. NotFound
// when there is no such thread.
absl::StatusOr<ThreadAttributes> ReadThreadAttributes(pid_t tid);

// Whether `effective` gives what `requested` asks: the same policy, the same priority, nice
// or SCHED_DEADLINE parameters (whichever the policy uses), and the requested CPUs (any,
// when none were requested). reset_on_fork is not compared.
bool Granted(const ThreadAttributes& requested, const ThreadAttributes& effective);

// Whether two views of a thread schedule it the same way (Granted, and the same CPUs).
bool SameScheduling(const ThreadAttributes& a, const ThreadAttributes& b);

// What ApplyThreadAttributes did: what was asked, what the kernel reports afterwards, and,
// when the two differ because of a fallback, why.
struct AppliedAttributes {
  ThreadAttributes requested;
  ThreadAttributes effective;
  // Whether the request was not granted as asked (the policy/priority fell back, or some of
  // the requested CPUs were dropped because they are not usable).
  bool fell_back = false;
  // One line when fell_back: what was wanted, what was got, why, and how to grant it.
  std::string why;
};

// What ApplyThreadAttributes does when the kernel refuses a request for lack of privilege.
enum class FallbackMode {
  // Fall back to the best the process may have, and say why in AppliedAttributes::why.
  kFallback,
  // Fail with PermissionDenied (or FailedPrecondition for unusable CPUs) instead.
  kStrict,
};

// Applies `requested` to thread `tid` (the caller or another thread of this process): the
// CPU affinity first (left alone when requested.cpus is empty), then the policy and
// priority. Returns requested and effective attributes (effective as read back from the
// kernel) and whether and why it fell back. Errors: InvalidArgument when no CPU of
// requested.cpus is usable; PermissionDenied when refused in strict mode, or when no
// fallback is possible; another code for any other failed syscall. In strict mode the
// affinity may already have been changed when the policy is refused.
absl::StatusOr<AppliedAttributes> ApplyThreadAttributes(pid_t tid,
                                                        const ThreadAttributes& requested,
                                                        FallbackMode mode);

// A one-line description, "requested: <Describe>, effective: <Describe>".
std::string DescribeApplied(const AppliedAttributes& applied);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMMON_THREAD_ATTRIBUTES_H_
