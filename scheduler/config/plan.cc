#include "scheduler/config/plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cadence {
namespace {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonCpus(const CpuSet& cpus) {
  std::vector<std::string> items;
  for (int cpu : cpus.ToVector()) items.push_back(absl::StrCat(cpu));
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

std::string JsonAttributes(const ThreadAttributes& a) {
  return absl::StrCat(
      "{\"policy\":", JsonString(PolicyName(a.policy)), ",\"rt_priority\":", a.rt_priority,
      ",\"nice\":", a.nice, ",\"runtime_us\":", a.runtime_ns / 1000,
      ",\"deadline_us\":", a.deadline_ns / 1000, ",\"period_us\":", a.period_ns / 1000,
      ",\"cpus\":", JsonCpus(a.cpus), ",\"cpuset\":", JsonString(a.cpus.ToString()),
      ",\"reset_on_fork\":", a.reset_on_fork ? "true" : "false", "}");
}

}  // namespace

const char* SchedulerKindName(SchedulerKind kind) {
  return kind == SchedulerKind::kClassic ? "classic" : "choreography";
}

const char* AffinityName(Affinity affinity) {
  return affinity == Affinity::kAnyOf ? "range" : "1to1";
}

bool Plan::Placement(const std::string& task, TaskPlan* out, bool* named) const {
  auto it = tasks.find(task);
  if (it != tasks.end()) {
    *out = it->second;
    *named = true;
    return true;
  }
  *named = false;
  if (default_queue < 0) return false;
  *out = TaskPlan{};
  out->name = task;
  out->queue = default_queue;
  out->priority = 0;
  return true;
}

std::string Plan::ToText() const {
  std::string out;
  absl::StrAppend(&out, "scheduler: ", SchedulerKindName(kind), "\n");
  absl::StrAppend(&out,
                  "config:    ", config_path.empty() ? "(none: built-in default)" : config_path);
  if (!real_config_path.empty() && real_config_path != config_path) {
    absl::StrAppend(&out, " -> ", real_config_path);
  }
  absl::StrAppend(&out, "\nprocess cpus: ", process_cpus.ToString(),
                  restrict_process ? " (process_level_cpuset: applied to every thread)" : "",
                  "\n\n");

  absl::StrAppend(&out, "processors:\n");
  absl::StrAppend(&out, absl::StrFormat("  %-22s %-15s %-26s %-10s %-6s %s\n", "NAME", "THREAD",
                                        "POLICY", "CPUS", "AFFIN", "QUEUE"));
  for (const ProcessorPlan& p : processors) {
    absl::StrAppend(&out, absl::StrFormat("  %-22s %-15s %-26s %-10s %-6s %s%s\n", p.name,
                                          p.thread_name, DescribePriority(p.attributes),
                                          p.attributes.cpus.ToString(), AffinityName(p.affinity),
                                          queues[p.queue].name, p.busy_spin ? " (busy-spin)" : ""));
  }

  absl::StrAppend(&out, "\nqueues (20 levels each, 19 runs first):\n");
  for (size_t q = 0; q < queues.size(); ++q) {
    std::vector<std::string> names;
    for (int p : queues[q].processors) names.push_back(processors[p].name);
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "  %-22s served by %s%s%s\n", queues[q].name, absl::StrJoin(names, ", "),
            queues[q].time_activations ? "" : " (activations not timed)",
            static_cast<int>(q) == default_queue ? "  <- tasks the config does not name" : ""));
  }

  absl::StrAppend(&out, "\ntasks:\n");
  if (tasks.empty()) absl::StrAppend(&out, "  (none named)\n");
  std::vector<const TaskPlan*> sorted;
  for (const auto& [name, task] : tasks) sorted.push_back(&task);
  std::stable_sort(sorted.begin(), sorted.end(), [](const TaskPlan* a, const TaskPlan* b) {
    if (a->queue != b->queue) return a->queue < b->queue;
    return a->priority > b->priority;
  });
  if (!tasks.empty()) {
    absl::StrAppend(&out, absl::StrFormat("  %-40s %-22s %4s %-22s %s\n", "NAME", "QUEUE", "PRIO",
                                          "PROCESSOR", "PERIOD/BUDGET"));
  }
  for (const TaskPlan* t : sorted) {
    std::string timing;
    if (t->period_us > 0) absl::StrAppend(&timing, "every ", t->period_us, "us");
    if (t->budget_us > 0) {
      absl::StrAppend(&timing, timing.empty() ? "" : ", ", "budget ", t->budget_us, "us");
    }
    absl::StrAppend(
        &out,
        absl::StrFormat("  %-40s %-22s %4d %-22s %s\n", t->name, queues[t->queue].name, t->priority,
                        t->processor >= 0 ? processors[t->processor].name : "any", timing));
  }

  if (!inner_threads.empty()) {
    absl::StrAppend(&out, "\nnamed threads:\n");
    for (const InnerThreadPlan& t : inner_threads) {
      absl::StrAppend(&out,
                      absl::StrFormat("  %-22s %-26s %s\n", t.name, DescribePriority(t.attributes),
                                      t.attributes.cpus.Empty() ? std::string("(process cpus)")
                                                                : t.attributes.cpus.ToString()));
    }
  }

  absl::StrAppend(&out, "\nper-CPU map (who may run where):\n");
  CpuSet all = process_cpus;
  for (const ProcessorPlan& p : processors) all = all.Union(p.attributes.cpus);
  for (int cpu : all.ToVector()) {
    std::vector<std::string> who;
    for (const ProcessorPlan& p : processors) {
      if (p.attributes.cpus.Contains(cpu)) {
        who.push_back(absl::StrCat(p.name, " (", DescribePriority(p.attributes), ")"));
      }
    }
    for (const InnerThreadPlan& t : inner_threads) {
      const CpuSet& cpus = t.attributes.cpus.Empty() ? process_cpus : t.attributes.cpus;
      if (cpus.Contains(cpu)) {
        who.push_back(absl::StrCat("thread ", t.name, " (", DescribePriority(t.attributes), ")"));
      }
    }
    absl::StrAppend(&out, absl::StrFormat("  cpu %-3d %s\n", cpu,
                                          who.empty() ? std::string("(no processor)")
                                                      : absl::StrJoin(who, ", ")));
  }
  return out;
}

std::string Plan::ToJson() const {
  std::string out = "{";
  absl::StrAppend(&out, "\"scheduler\":", JsonString(SchedulerKindName(kind)),
                  ",\"config\":", JsonString(config_path),
                  ",\"real_config\":", JsonString(real_config_path),
                  ",\"process_cpus\":", JsonCpus(process_cpus),
                  ",\"restrict_process\":", restrict_process ? "true" : "false");
  std::vector<std::string> items;
  for (const ProcessorPlan& p : processors) {
    items.push_back(absl::StrCat(
        "{\"name\":", JsonString(p.name), ",\"thread_name\":", JsonString(p.thread_name),
        ",\"group\":", JsonString(p.group), ",\"index\":", p.index, ",\"queue\":", p.queue,
        ",\"affinity\":", JsonString(AffinityName(p.affinity)), ",\"busy_spin\":",
        p.busy_spin ? "true" : "false", ",\"attributes\":", JsonAttributes(p.attributes), "}"));
  }
  absl::StrAppend(&out, ",\"processors\":[", absl::StrJoin(items, ","), "]");
  items.clear();
  for (size_t q = 0; q < queues.size(); ++q) {
    std::vector<std::string> ps;
    for (int p : queues[q].processors) ps.push_back(absl::StrCat(p));
    items.push_back(absl::StrCat(
        "{\"name\":", JsonString(queues[q].name), ",\"processors\":[", absl::StrJoin(ps, ","),
        "],\"time_activations\":", queues[q].time_activations ? "true" : "false", "}"));
  }
  absl::StrAppend(&out, ",\"queues\":[", absl::StrJoin(items, ","), "]");
  absl::StrAppend(&out, ",\"default_queue\":", default_queue);
  items.clear();
  for (const auto& [name, t] : tasks) {
    items.push_back(absl::StrCat("{\"name\":", JsonString(t.name), ",\"queue\":", t.queue,
                                 ",\"priority\":", t.priority, ",\"processor\":", t.processor,
                                 ",\"period_us\":", t.period_us, ",\"budget_us\":", t.budget_us,
                                 ",\"where\":", JsonString(t.where.ToString()), "}"));
  }
  absl::StrAppend(&out, ",\"tasks\":[", absl::StrJoin(items, ","), "]");
  items.clear();
  for (const InnerThreadPlan& t : inner_threads) {
    items.push_back(absl::StrCat("{\"name\":", JsonString(t.name),
                                 ",\"attributes\":", JsonAttributes(t.attributes), "}"));
  }
  absl::StrAppend(&out, ",\"threads\":[", absl::StrJoin(items, ","), "]}");
  return out;
}

}  // namespace cadence
