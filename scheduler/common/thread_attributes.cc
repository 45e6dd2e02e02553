#include "scheduler/common/thread_attributes.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/common/machine.h"

namespace cadence {
namespace {

// The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1, Linux 5.3+). glibc 2.36 has neither
// the struct nor the sched_setattr/sched_getattr wrappers; the name differs from the
// kernel's so a newer glibc that does define `struct sched_attr` cannot clash with it.
struct KernelSchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
static_assert(sizeof(KernelSchedAttr) == 56, "must match SCHED_ATTR_SIZE_VER1");

// SCHED_FLAG_RESET_ON_FORK from <linux/sched.h>.
constexpr uint64_t kFlagResetOnFork = 0x01;

// "Operation not permitted (EPERM)".
std::string ErrnoText(int err) {
  char buffer[256];
  // GNU strerror_r: returns a pointer to the message (maybe a static string, not buffer).
  const char* message = strerror_r(err, buffer, sizeof(buffer));
  const char* name = strerrorname_np(err);
  return absl::StrCat(message, " (", name != nullptr ? name : absl::StrCat("errno ", err), ")");
}

absl::Status ErrnoStatus(int err, const std::string& message) {
  const std::string text = absl::StrCat(message, ": ", ErrnoText(err));
  switch (err) {
    case ESRCH:
      return absl::NotFoundError(text);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(text);
    case EINVAL:
      return absl::InvalidArgumentError(text);
    case EBUSY:
      return absl::FailedPreconditionError(text);
    default:
      return absl::InternalError(text);
  }
}

// Returns 0 or the errno of sched_getaffinity.
int GetAffinity(pid_t tid, CpuSet* cpus) {
  cpu_set_t native;
  CPU_ZERO(&native);
  if (sched_getaffinity(tid, sizeof(native), &native) != 0) return errno;
  *cpus = CpuSet::FromNative(native);
  return 0;
}

// Sets policy and priority (not the CPUs) with sched_setattr; returns 0 or the errno.
int SetPolicy(pid_t tid, const ThreadAttributes& a) {
  KernelSchedAttr attr = {};
  attr.size = sizeof(attr);
  attr.sched_policy = static_cast<uint32_t>(NativePolicy(a.policy));
  if (IsRealTime(a.policy) && a.reset_on_fork) attr.sched_flags |= kFlagResetOnFork;
  switch (a.policy) {
    case SchedPolicy::kFifo:
    case SchedPolicy::kRr:
      attr.sched_priority = static_cast<uint32_t>(a.rt_priority);
      break;
    case SchedPolicy::kOther:
    case SchedPolicy::kBatch:
      attr.sched_nice = a.nice;
      break;
    case SchedPolicy::kDeadline:
      attr.sched_runtime = a.runtime_ns;
      attr.sched_deadline = a.deadline_ns;
      attr.sched_period = a.period_ns;
      break;
    case SchedPolicy::kIdle:
      break;
  }
  if (syscall(SYS_sched_setattr, tid, &attr, 0u) != 0) return errno;
  return 0;
}

// Rejects values the kernel would silently clamp (nice) or that can never work.
absl::Status CheckRange(pid_t tid, const ThreadAttributes& a) {
  if ((a.policy == SchedPolicy::kFifo || a.policy == SchedPolicy::kRr) &&
      (a.rt_priority < 1 || a.rt_priority > 99)) {
    return absl::InvalidArgumentError(absl::StrCat("thread ", tid, ": ",
                                                   std::string(PolicyName(a.policy)), " priority ",
                                                   a.rt_priority, " is outside 1..99"));
  }
  if (UsesNice(a.policy) && (a.nice < -20 || a.nice > 19)) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread ", tid, ": nice ", a.nice, " is outside -20..19"));
  }
  return absl::OkStatus();
}

// Why the kernel refused `requested` with `err`, and how to grant it.
std::string Because(const ThreadAttributes& requested, int err) {
  std::string why_not = Machine::Read().WhyNot(requested);
  if (!why_not.empty()) return why_not;
  if (requested.policy == SchedPolicy::kDeadline) {
    return absl::StrCat(
        "the kernel refused it (", ErrnoText(err),
        "): SCHED_DEADLINE admission needs the thread's affinity to cover every CPU of its "
        "root domain (leave its cpus empty) and the DEADLINE bandwidth (runtime/period) of all "
        "threads to fit in /proc/sys/kernel/sched_rt_runtime_us / sched_rt_period_us");
  }
  if (IsRealTime(requested.policy)) {
    return absl::StrCat(
        "the kernel refused it (", ErrnoText(err),
        "); check the real-time budget (/proc/sys/kernel/sched_rt_runtime_us, the cgroup's "
        "cpu.rt_runtime_us) and grant the privilege with `setcap cap_sys_nice+ep BINARY`, "
        "`ulimit -r ",
        requested.rt_priority, "` or an `rtprio` line in /etc/security/limits.conf");
  }
  return absl::StrCat("the kernel refused it (", ErrnoText(err),
                      "); grant it with `setcap cap_sys_nice+ep BINARY`, `ulimit -e ",
                      20 - requested.nice, "` or a `nice` line in /etc/security/limits.conf");
}

// The attributes to try, in order, when `requested` was refused: empty when the request
// allows no fallback (e.g. SCHED_IDLE, or a nice >= 0).
std::vector<ThreadAttributes> Fallbacks(const ThreadAttributes& requested) {
  std::vector<ThreadAttributes> out;
  const bool real_time = IsRealTime(requested.policy);
  if (!real_time && !(UsesNice(requested.policy) && requested.nice < 0)) return out;
  ThreadAttributes fallback;
  fallback.policy = real_time ? SchedPolicy::kOther : requested.policy;
  fallback.cpus = requested.cpus;
  fallback.reset_on_fork = requested.reset_on_fork;
  const int lowest = Machine::Read().LowestNice();
  // A real-time request takes any negative nice it may have; a nice request only one above
  // what it asked for (the one it asked for was refused).
  if (lowest < 0 && (real_time || lowest > requested.nice)) {
    fallback.nice = lowest;
    out.push_back(fallback);
  }
  fallback.nice = 0;
  out.push_back(fallback);
  return out;
}

}  // namespace

pid_t CurrentTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

absl::StatusOr<ThreadAttributes> ReadThreadAttributes(pid_t tid) {
  KernelSchedAttr attr = {};
  if (syscall(SYS_sched_getattr, tid, &attr, static_cast<unsigned>(sizeof(attr)), 0u) != 0) {
    return ErrnoStatus(errno, absl::StrCat("sched_getattr of thread ", tid));
  }
  ThreadAttributes out;
  if (!FromNativePolicy(static_cast<int>(attr.sched_policy), &out.policy)) {
    return absl::UnimplementedError(absl::StrCat("thread ", tid, " runs under scheduling policy ",
                                                 attr.sched_policy,
                                                 ", which cadence does not know"));
  }
  out.reset_on_fork = (attr.sched_flags & kFlagResetOnFork) != 0;
  switch (out.policy) {
    case SchedPolicy::kFifo:
    case SchedPolicy::kRr:
      out.rt_priority = static_cast<int>(attr.sched_priority);
      break;
    case SchedPolicy::kOther:
    case SchedPolicy::kBatch:
      out.nice = attr.sched_nice;
      break;
    case SchedPolicy::kDeadline:
      out.runtime_ns = attr.sched_runtime;
      out.deadline_ns = attr.sched_deadline;
      out.period_ns = attr.sched_period;
      break;
    case SchedPolicy::kIdle:
      break;
  }
  if (int err = GetAffinity(tid, &out.cpus); err != 0) {
    return ErrnoStatus(err, absl::StrCat("sched_getaffinity of thread ", tid));
  }
  return out;
}

absl::StatusOr<AppliedAttributes> ApplyThreadAttributes(pid_t tid,
                                                        const ThreadAttributes& requested,
                                                        FallbackMode mode) {
  if (absl::Status range = CheckRange(tid, requested); !range.ok()) return range;
  AppliedAttributes applied;
  applied.requested = requested;
  std::vector<std::string> reasons;

  // 1. CPU affinity.
  if (!requested.cpus.Empty()) {
    const cpu_set_t native = requested.cpus.ToNative();
    if (sched_setaffinity(tid, sizeof(native), &native) != 0) {
      const int err = errno;
      if (err == EINVAL) {
        return absl::InvalidArgumentError(absl::StrCat(
            "thread ", tid, ": cannot run on CPUs ", requested.cpus.ToString(),
            ": none of them is online and allowed (usable here: ",
            Machine::Read().Usable().ToString(), "); sched_setaffinity: ", ErrnoText(err)));
      }
      return ErrnoStatus(err, absl::StrCat("sched_setaffinity of thread ", tid, " to CPUs ",
                                           requested.cpus.ToString()));
    }
    CpuSet got;
    if (int err = GetAffinity(tid, &got); err != 0) {
      return ErrnoStatus(err, absl::StrCat("sched_getaffinity of thread ", tid));
    }
    if (got != requested.cpus) {
      const std::string reason =
          absl::StrCat("wanted cpus ", requested.cpus.ToString(), ", got cpus ", got.ToString(),
                       ", because CPUs ", requested.cpus.Minus(got).ToString(),
                       " are offline or outside this process's cpuset (usable here: ",
                       Machine::Read().Usable().ToString(), ")");
      if (mode == FallbackMode::kStrict) {
        return absl::FailedPreconditionError(
            absl::StrCat("thread ", tid, ": ", reason, " (strict mode: no fallback)"));
      }
      reasons.push_back(reason);
    }
  }

  // 2. Policy and priority.
  const int err = SetPolicy(tid, requested);
  if (err != 0) {
    const bool refused =
        err == EPERM || (err == EBUSY && requested.policy == SchedPolicy::kDeadline);
    if (!refused) {
      return ErrnoStatus(
          err, absl::StrCat("sched_setattr of thread ", tid, " to ", DescribePriority(requested),
                            err == EINVAL && requested.policy == SchedPolicy::kDeadline
                                ? " (SCHED_DEADLINE needs 1024ns <= runtime <= deadline <= "
                                  "period, and a period the kernel allows)"
                                : ""));
    }
    const std::string because = Because(requested, err);
    const std::vector<ThreadAttributes> fallbacks = Fallbacks(requested);
    if (mode == FallbackMode::kStrict || fallbacks.empty()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "thread ", tid, ": wanted ", DescribePriority(requested), ", refused",
          fallbacks.empty() ? " (the request allows no fallback)" : " (strict mode: no fallback)",
          ", because ", because));
    }
    int fallback_err = 0;
    for (const ThreadAttributes& fallback : fallbacks) {
      fallback_err = SetPolicy(tid, fallback);
      if (fallback_err != EPERM) break;
    }
    if (fallback_err != 0) {
      return ErrnoStatus(fallback_err,
                         absl::StrCat("thread ", tid, ": wanted ", DescribePriority(requested),
                                      ", refused because ", because, "; then the fallback down to ",
                                      DescribePriority(fallbacks.back()), " failed too"));
    }
    absl::StatusOr<ThreadAttributes> effective = ReadThreadAttributes(tid);
    if (!effective.ok()) return effective.status();
    applied.effective = *std::move(effective);
    reasons.insert(reasons.begin(),
                   absl::StrCat("wanted ", DescribePriority(requested), ", got ",
                                DescribePriority(applied.effective), ", because ", because));
  } else {
    absl::StatusOr<ThreadAttributes> effective = ReadThreadAttributes(tid);
    if (!effective.ok()) return effective.status();
    applied.effective = *std::move(effective);
  }
  applied.fell_back = !reasons.empty();
  applied.why = absl::StrJoin(reasons, "; also ");
  return applied;
}

std::string DescribeApplied(const AppliedAttributes& applied) {
  return absl::StrCat("requested: ", Describe(applied.requested),
                      ", effective: ", Describe(applied.effective));
}

bool Granted(const ThreadAttributes& requested, const ThreadAttributes& effective) {
  if (requested.policy != effective.policy) return false;
  switch (requested.policy) {
    case SchedPolicy::kFifo:
    case SchedPolicy::kRr:
      if (requested.rt_priority != effective.rt_priority) return false;
      break;
    case SchedPolicy::kOther:
    case SchedPolicy::kBatch:
      if (requested.nice != effective.nice) return false;
      break;
    case SchedPolicy::kDeadline:
      if (requested.runtime_ns != effective.runtime_ns ||
          requested.deadline_ns != effective.deadline_ns ||
          requested.period_ns != effective.period_ns) {
        return false;
      }
      break;
    case SchedPolicy::kIdle:
      break;
  }
  return requested.cpus.Empty() || requested.cpus == effective.cpus;
}

bool SameScheduling(const ThreadAttributes& a, const ThreadAttributes& b) {
  return Granted(a, b) && a.cpus == b.cpus;
}

}  // namespace cadence
