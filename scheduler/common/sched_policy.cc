#include "scheduler/common/sched_policy.h"

#include <sched.h>

#include "absl/strings/str_cat.h"

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

namespace cadence {
namespace {

struct PolicyEntry {
  SchedPolicy policy;
  const char* name;
  int native;
};

constexpr PolicyEntry kPolicies[] = {
    {SchedPolicy::kOther, "SCHED_OTHER", SCHED_OTHER},
    {SchedPolicy::kBatch, "SCHED_BATCH", SCHED_BATCH},
    {SchedPolicy::kIdle, "SCHED_IDLE", SCHED_IDLE},
    {SchedPolicy::kFifo, "SCHED_FIFO", SCHED_FIFO},
    {SchedPolicy::kRr, "SCHED_RR", SCHED_RR},
    {SchedPolicy::kDeadline, "SCHED_DEADLINE", SCHED_DEADLINE},
};

}  // namespace

const char* PolicyName(SchedPolicy policy) {
  for (const PolicyEntry& entry : kPolicies) {
    if (entry.policy == policy) return entry.name;
  }
  return "SCHED_?";
}

bool ParsePolicy(std::string_view name, SchedPolicy* policy) {
  for (const PolicyEntry& entry : kPolicies) {
    if (name == entry.name) {
      *policy = entry.policy;
      return true;
    }
  }
  return false;
}

bool IsRealTime(SchedPolicy policy) {
  return policy == SchedPolicy::kFifo || policy == SchedPolicy::kRr ||
         policy == SchedPolicy::kDeadline;
}

bool UsesNice(SchedPolicy policy) {
  return policy == SchedPolicy::kOther || policy == SchedPolicy::kBatch;
}

int NativePolicy(SchedPolicy policy) {
  for (const PolicyEntry& entry : kPolicies) {
    if (entry.policy == policy) return entry.native;
  }
  return SCHED_OTHER;
}

bool FromNativePolicy(int native, SchedPolicy* policy) {
  for (const PolicyEntry& entry : kPolicies) {
    if (entry.native == native) {
      *policy = entry.policy;
      return true;
    }
  }
  return false;
}

std::string DescribePriority(const ThreadAttributes& a) {
  std::string out(PolicyName(a.policy));
  if (a.policy == SchedPolicy::kFifo || a.policy == SchedPolicy::kRr) {
    absl::StrAppend(&out, " ", a.rt_priority);
  } else if (UsesNice(a.policy)) {
    absl::StrAppend(&out, " nice ", a.nice);
  } else if (a.policy == SchedPolicy::kDeadline) {
    absl::StrAppend(&out, " ", a.runtime_ns / 1000, "/", a.deadline_ns / 1000, "/",
                    a.period_ns / 1000, "us");
  }
  return out;
}

std::string Describe(const ThreadAttributes& a) {
  return absl::StrCat(DescribePriority(a), " cpus ", a.cpus.Empty() ? "(any)" : a.cpus.ToString());
}

}  // namespace cadence
