#include "tools/schedctl/template.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace cadence {
namespace {

constexpr int kTimerPriority = 15;
constexpr int kTaskPriority = 10;

// One task to list.
struct TemplateTask {
  std::string name;
  bool timer = false;
  uint64_t period_us = 0;
  // What it is and where it comes from.
  std::string comment;
};

// Escapes a string for a text-format string literal.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::vector<TemplateTask> TasksOf(const std::vector<Dag>& dags) {
  std::vector<TemplateTask> tasks;
  for (const Dag& dag : dags) {
    for (const DagComponent& c : dag.components) {
      TemplateTask task;
      task.name = c.name;
      task.timer = c.kind == DagComponent::Kind::kTimerComponent;
      std::string what;
      if (task.timer) {
        task.period_us = static_cast<uint64_t>(c.interval_ms) * 1000;
        what = absl::StrCat("timer component, every ", c.interval_ms, " ms");
      } else if (c.readers.empty()) {
        what = "component";
      } else {
        std::vector<std::string> channels;
        for (const DagComponent::Reader& r : c.readers) channels.push_back(r.channel);
        what = absl::StrCat(
            "component, runs on each message on ", channels.front(),
            channels.size() > 1
                ? absl::StrCat(" (also reads ",
                               absl::StrJoin(channels.begin() + 1, channels.end(), ", "), ")")
                : "");
      }
      const std::string where = c.where.file.empty() ? dag.path : c.where.ToString();
      task.comment = absl::StrCat(c.class_name, ": ", what, "\n#   ", where);
      tasks.push_back(task);
    }
  }
  return tasks;
}

// The `tasks: [ ... ]` list, each entry after its comment; `placed` gives a timer task's
// extra fields (e.g. "processor: 0 ").
std::string TaskList(const std::vector<TemplateTask>& tasks, const std::string& indent,
                     const std::string& timer_placement) {
  if (tasks.empty()) {
    return absl::StrCat(indent, "# The DAGs have no components: add tasks here by name.\n");
  }
  std::string out = absl::StrCat(indent, "tasks: [\n");
  for (size_t i = 0; i < tasks.size(); ++i) {
    const TemplateTask& t = tasks[i];
    absl::StrAppend(&out, indent, "  # ",
                    absl::StrReplaceAll(t.comment, {{"\n", absl::StrCat("\n", indent, "  ")}}),
                    "\n", indent, "  { name: ", Quoted(t.name), " ", t.timer ? timer_placement : "",
                    "prio: ", t.timer ? kTimerPriority : kTaskPriority,
                    t.timer ? absl::StrCat(" period_us: ", t.period_us) : "", " }",
                    i + 1 < tasks.size() ? "," : "", "\n");
  }
  absl::StrAppend(&out, indent, "]\n");
  return out;
}

std::string Header(const std::vector<Dag>& dags, TemplateLayout layout) {
  std::string out =
      absl::StrCat("# Scheduler conf (", TemplateLayoutName(layout), " layout) for the tasks of\n");
  for (const Dag& dag : dags) absl::StrAppend(&out, "#   ", dag.path, "\n");
  return out + absl::StrCat(
                   "# Written by `schedctl template`: edit it, then `schedctl check` and `schedctl "
                   "plan` it.\n"
                   "# Each component's task is named after its config name. Task prio is its level "
                   "in the\n"
                   "# queue, 0-19 (higher runs first). A timer's period_us is its DAG interval; "
                   "the conf's\n"
                   "# value wins when they differ. Tasks that code creates itself are not in any "
                   "DAG: add\n"
                   "# them by name. Processors are SCHED_OTHER (no privilege needed); for "
                   "real-time ones\n"
                   "# see the commented lines and `schedctl budget`.\n");
}

std::string Classic(const std::vector<TemplateTask>& tasks, const CpuSet& cpus) {
  std::string out = absl::StrCat(
      "scheduler_conf {\n"
      "  policy: \"classic\"\n"
      "\n"
      "  classic_conf {\n"
      "    groups: [\n"
      "      {\n"
      "        name: \"default\"\n"
      "        processor_num: ",
      cpus.Count(),
      "\n"
      "        affinity: \"range\"\n"
      "        cpuset: \"",
      cpus.ToString(),
      "\"\n"
      "        processor_policy: \"SCHED_OTHER\"\n"
      "        processor_nice: 0\n"
      "        # Real-time processors instead (CAP_SYS_NICE or RLIMIT_RTPRIO needed):\n"
      "        #   processor_policy: \"SCHED_FIFO\"\n"
      "        #   processor_prio: 50\n");
  absl::StrAppend(&out, TaskList(tasks, "        ", ""));
  absl::StrAppend(&out,
                  "      }\n"
                  "    ]\n"
                  "  }\n"
                  "}\n");
  return out;
}

std::string Choreography(const std::vector<TemplateTask>& tasks, const CpuSet& cpus) {
  const std::vector<int> all = cpus.ToVector();
  const CpuSet first = CpuSet::Of({all.front()});
  const CpuSet pool = all.size() > 1 ? cpus.Minus(first) : first;
  std::string out = absl::StrCat(
      "scheduler_conf {\n"
      "  policy: \"choreography\"\n"
      "\n"
      "  choreography_conf {\n"
      "    # Choreography processor 0 runs the tasks placed on it (`processor: 0`): the timers.\n"
      "    # Add processors with choreography_processor_num and place tasks on them by index.\n"
      "    choreography_processor_num: 1\n"
      "    choreography_affinity: \"1to1\"\n"
      "    choreography_cpuset: \"",
      first.ToString(),
      "\"\n"
      "    choreography_processor_policy: \"SCHED_OTHER\"\n"
      "    choreography_processor_nice: 0\n"
      "    # Real-time instead (CAP_SYS_NICE or RLIMIT_RTPRIO needed):\n"
      "    #   choreography_processor_policy: \"SCHED_FIFO\"\n"
      "    #   choreography_processor_prio: 50\n"
      "\n"
      "    # The pool runs every task without a processor, and tasks this conf does not name.\n"
      "    pool_processor_num: ",
      pool.Count(),
      "\n"
      "    pool_affinity: \"range\"\n"
      "    pool_cpuset: \"",
      pool.ToString(),
      "\"\n"
      "    pool_processor_policy: \"SCHED_OTHER\"\n"
      "    pool_processor_nice: 0\n"
      "\n");
  absl::StrAppend(&out, TaskList(tasks, "    ", "processor: 0 "));
  absl::StrAppend(&out,
                  "  }\n"
                  "}\n");
  return out;
}

}  // namespace

const char* TemplateLayoutName(TemplateLayout layout) {
  return layout == TemplateLayout::kClassic ? "classic" : "choreography";
}

std::string MakeTemplate(const std::vector<Dag>& dags, TemplateLayout layout, const CpuSet& cpus) {
  const std::vector<TemplateTask> tasks = TasksOf(dags);
  const CpuSet usable = cpus.Empty() ? CpuSet::Of({0}) : cpus;
  return Header(dags, layout) + (layout == TemplateLayout::kClassic ? Classic(tasks, usable)
                                                                    : Choreography(tasks, usable));
}

}  // namespace cadence
