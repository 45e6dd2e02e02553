#include "scheduler/introspection/runtime_state.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "scheduler/common/cpuset.h"
#include "scheduler/config/plan.h"
#include "scheduler/processor.h"

namespace cadence {
namespace {

int64_t ClockNs(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

}  // namespace

proto::ThreadAttributesState ToState(const ThreadAttributes& a) {
  proto::ThreadAttributesState s;
  s.set_policy(PolicyName(a.policy));
  s.set_rt_priority(a.rt_priority);
  s.set_nice(a.nice);
  s.set_runtime_ns(a.runtime_ns);
  s.set_deadline_ns(a.deadline_ns);
  s.set_period_ns(a.period_ns);
  s.set_cpus(a.cpus.Empty() ? "" : a.cpus.ToString());
  s.set_reset_on_fork(a.reset_on_fork);
  return s;
}

bool FromState(const proto::ThreadAttributesState& s, ThreadAttributes* a) {
  ThreadAttributes out;
  if (!ParsePolicy(s.policy(), &out.policy)) return false;
  out.rt_priority = s.rt_priority();
  out.nice = s.nice();
  out.runtime_ns = s.runtime_ns();
  out.deadline_ns = s.deadline_ns();
  out.period_ns = s.period_ns();
  CpuSet::ParseError error;
  if (!s.cpus().empty() && !CpuSet::Parse(s.cpus(), &out.cpus, &error)) return false;
  out.reset_on_fork = s.reset_on_fork();
  *a = out;
  return true;
}

LatencyHistogram::Counts WakeCountsOf(const proto::TaskState& task) {
  LatencyHistogram::Counts counts{};
  for (const proto::WakeBucket& b : task.wake_buckets()) {
    if (b.index() < static_cast<uint32_t>(LatencyHistogram::kBuckets))
      counts[b.index()] = b.count();
  }
  return counts;
}

std::string DescribeConf(const proto::RuntimeState& state) {
  std::string conf = state.conf_path().empty() ? std::string("(none)") : state.conf_path();
  if (state.real_conf_path().empty()) {
    conf += " (no file: the default plan)";
  } else if (state.real_conf_path() != state.conf_path()) {
    conf += " -> " + state.real_conf_path();
  }
  return conf + " (" + state.scheduler_kind() + ")";
}

bool HistogramCompatible(const proto::RuntimeState& state) {
  return state.histogram_buckets() == LatencyHistogram::kBuckets &&
         state.histogram_sub_bits() == LatencyHistogram::kSubBits;
}

proto::RuntimeState CaptureState(const Scheduler& scheduler, const StateInfo& info) {
  const Plan& plan = scheduler.plan();
  proto::RuntimeState state;
  state.set_pid(getpid());
  state.set_uid(geteuid());
  state.set_program(info.program.empty() ? std::string(program_invocation_short_name)
                                         : info.program);
  state.set_conf_path(info.conf_path.empty() ? plan.config_path : info.conf_path);
  state.set_real_conf_path(info.real_conf_path.empty() ? plan.real_config_path
                                                       : info.real_conf_path);
  state.set_scheduler_kind(SchedulerKindName(plan.kind));
  state.set_process_cpus(plan.process_cpus.ToString());
  state.set_histogram_buckets(LatencyHistogram::kBuckets);
  state.set_histogram_sub_bits(LatencyHistogram::kSubBits);

  // The statistics between two clock reads: the snapshot time is never before what it
  // shows, and statistics_from_ns never after what it leaves out.
  state.set_statistics_from_ns(ClockNs(CLOCK_MONOTONIC));
  const std::vector<ThreadRecord> threads = scheduler.Threads();
  const std::vector<ProcessorStats> processor_stats = scheduler.ProcessorStatistics();
  const std::vector<TaskStats> tasks = scheduler.TaskStatistics();
  state.set_monotonic_ns(ClockNs(CLOCK_MONOTONIC));
  state.set_realtime_ns(ClockNs(CLOCK_REALTIME));

  for (const ThreadRecord& t : threads) {
    proto::ThreadState* s = state.add_threads();
    s->set_kind(t.kind);
    s->set_name(t.name);
    s->set_tid(t.tid);
    *s->mutable_requested() = ToState(t.applied.requested);
    *s->mutable_effective() = ToState(t.applied.effective);
    s->set_fell_back(t.applied.fell_back);
    s->set_why(t.applied.why);
  }

  std::map<std::string, const ProcessorStats*> stats_by_name;
  for (const ProcessorStats& p : processor_stats) stats_by_name[p.name] = &p;
  for (size_t i = 0; i < plan.processors.size(); ++i) {
    const ProcessorPlan& p = plan.processors[i];
    const std::string& queue = plan.queues[p.queue].name;
    proto::ProcessorState* s = state.add_processors();
    s->set_name(p.name);
    s->set_thread_name(p.thread_name);
    s->set_queue(queue);
    for (int peer : plan.queues[p.queue].processors) {
      if (peer != static_cast<int>(i)) s->add_queue_peers(plan.processors[peer].name);
    }
    s->set_cpus(p.attributes.cpus.ToString());
    s->set_busy_spin(p.busy_spin);
    for (const auto& [name, task] : plan.tasks) {
      if (task.queue == p.queue && (task.processor < 0 || task.processor == static_cast<int>(i))) {
        s->add_conf_tasks(name);
      }
    }
    for (const TaskStats& t : tasks) {
      if (t.queue == queue && (t.processor.empty() || t.processor == p.name)) {
        s->add_live_tasks(t.name);
      }
    }
    if (auto it = stats_by_name.find(p.name); it != stats_by_name.end()) {
      s->set_tid(it->second->tid);
      s->set_activations(it->second->activations);
      s->set_sleeps(it->second->sleeps);
      s->set_yields(it->second->yields);
      s->set_busy_ns(it->second->busy_ns);
      s->set_alive_ns(it->second->alive_ns);
    }
  }

  for (const TaskStats& t : tasks) {
    proto::TaskState* s = state.add_tasks();
    s->set_name(t.name);
    s->set_queue(t.queue);
    s->set_priority(t.priority);
    s->set_processor(t.processor);
    s->set_named_in_conf(plan.tasks.count(t.name) > 0);
    s->set_notifies(t.notifies);
    s->set_coalesced(t.coalesced);
    s->set_activations(t.activations);
    s->set_exceptions(t.exceptions);
    s->set_overruns(t.overruns);
    s->set_run_ns_total(t.run_ns_total);
    s->set_run_ns_max(t.run_ns_max);
    s->set_untimed(!t.timed);
    s->set_last_cpu(t.last_cpu);
    s->set_cpus_mask(t.cpus_mask);
    s->set_period_ns(t.period_ns);
    s->set_releases(t.releases);
    s->set_deadline_misses(t.deadline_misses);
    s->set_budget_ns(t.budget_ns);
    s->set_dropped(t.dropped);
    s->set_wake_count(t.wake_latency.count);
    s->set_wake_p50_ns(t.wake_latency.p50_ns);
    s->set_wake_p99_ns(t.wake_latency.p99_ns);
    s->set_wake_p999_ns(t.wake_latency.p999_ns);
    s->set_wake_max_ns(t.wake_latency.max_ns);
    for (size_t b = 0; b < t.wake_counts.size(); ++b) {
      if (t.wake_counts[b] == 0) continue;
      proto::WakeBucket* bucket = s->add_wake_buckets();
      bucket->set_index(static_cast<uint32_t>(b));
      bucket->set_count(t.wake_counts[b]);
    }
  }
  return state;
}

}  // namespace cadence
