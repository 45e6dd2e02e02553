#include "tools/schedctl/ps_state.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "scheduler/introspection/runtime_state.h"

namespace cadence {
namespace {

std::string Names(const google::protobuf::RepeatedPtrField<std::string>& names) {
  return names.empty() ? std::string("-") : absl::StrJoin(names, ", ");
}

}  // namespace

ThreadAttributes KernelAttributes(const ThreadSample& sample) {
  if (sample.attributes.has_value()) return *sample.attributes;
  ThreadAttributes a;
  SchedPolicy policy = SchedPolicy::kOther;
  if (FromNativePolicy(sample.thread.policy, &policy)) a.policy = policy;
  if (a.policy == SchedPolicy::kFifo || a.policy == SchedPolicy::kRr) {
    a.rt_priority = sample.thread.rt_priority;
  }
  if (UsesNice(a.policy)) a.nice = sample.thread.nice;
  a.cpus = sample.thread.cpus_allowed;
  return a;
}

std::string FormatStateSection(const proto::RuntimeState& state, const ProcessSample* kernel,
                               const std::string& socket_path) {
  std::string out = absl::StrCat("cadence state of pid ", state.pid(), " (", state.program(),
                                 ") from ", socket_path, "\n  conf: ", DescribeConf(state),
                                 "; process CPUs ", state.process_cpus(), "\n");
  std::map<pid_t, const ThreadSample*> by_tid;
  if (kernel != nullptr) {
    for (const ThreadSample& t : kernel->threads) by_tid[t.thread.tid] = &t;
  }

  absl::StrAppend(&out, "threads the conf configures: requested vs effective (",
                  kernel != nullptr ? "the kernel's view now" : "as recorded at start-up", ")\n");
  const char kRow[] = "  %7s  %-9s  %-15s  %-32s  %-32s  %-5s  %s\n";
  absl::StrAppendFormat(&out, kRow, "TID", "KIND", "NAME", "REQUESTED", "EFFECTIVE", "MATCH",
                        "NOTE");
  for (const proto::ThreadState& t : state.threads()) {
    ThreadAttributes requested, recorded;
    if (!FromState(t.requested(), &requested) || !FromState(t.effective(), &recorded)) {
      absl::StrAppendFormat(&out, kRow, absl::StrCat(t.tid()), t.kind(), t.name(),
                            t.requested().policy(), t.effective().policy(), "?",
                            "attributes this schedctl cannot read");
      continue;
    }
    ThreadAttributes effective = recorded;
    std::vector<std::string> notes;
    auto it = by_tid.find(t.tid());
    if (kernel != nullptr && it == by_tid.end()) {
      notes.push_back("thread gone; effective as recorded at start-up");
    } else if (it != by_tid.end()) {
      effective = KernelAttributes(*it->second);
      if (!SameScheduling(effective, recorded)) {
        notes.push_back(absl::StrCat("changed since start-up (it got ", Describe(recorded), ")"));
      }
    }
    if (t.fell_back()) notes.insert(notes.begin(), absl::StrCat("FELL BACK: ", t.why()));
    const bool granted = Granted(requested, effective);
    if (notes.empty()) notes.push_back(granted ? "as asked" : "differs");
    absl::StrAppendFormat(&out, kRow, absl::StrCat(t.tid()), t.kind(), t.name(),
                          Describe(requested), Describe(effective), granted ? "yes" : "NO",
                          absl::StrJoin(notes, "; "));
  }

  absl::StrAppend(&out,
                  "processors -> tasks (conf: placed there by the conf; live: the tasks that "
                  "may run there now)\n");
  std::set<std::string> unnamed;
  for (const proto::TaskState& t : state.tasks()) {
    if (!t.named_in_conf()) unnamed.insert(t.name());
  }
  for (const proto::ProcessorState& p : state.processors()) {
    std::string queue = p.queue();
    if (!p.queue_peers().empty()) absl::StrAppend(&queue, " shared with ", Names(p.queue_peers()));
    absl::StrAppendFormat(&out, "  %s (tid %d, queue %s, cpus %s%s)\n", p.name(), p.tid(), queue,
                          p.cpus(), p.busy_spin() ? ", busy-spinning" : "");
    absl::StrAppend(&out, "      conf: ", Names(p.conf_tasks()), "\n");
    std::vector<std::string> live;
    for (const std::string& task : p.live_tasks()) {
      live.push_back(unnamed.count(task) ? absl::StrCat(task, " (not named in the conf)") : task);
    }
    absl::StrAppend(&out, "      live: ", live.empty() ? "-" : absl::StrJoin(live, ", "), "\n");
  }
  return out;
}

}  // namespace cadence
