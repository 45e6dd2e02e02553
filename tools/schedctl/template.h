// Template: a ready-to-edit scheduler conf for the tasks some DAGs will create —
// `schedctl template -d DAG...`.
//
// Every component of the DAGs becomes a task named after its config name (the name its
// task gets at run time), with a comment saying which class, DAG and kind it is; a timer
// component gets `period_us: interval * 1000` (its DAG interval, which the conf would then
// override). The libraries the DAGs name are not needed. Two layouts, both in Cyber RT's
// format (the `scheduler_conf { ... }` wrapper) and both clean under `schedctl check`:
// - classic: one group "default" with one processor per CPU on all CPUs given; timer tasks
//   at priority 15, the others at 10;
// - choreography: the timer tasks on choreography processor 0 (the first CPU), the others in
//   the pool (the remaining CPUs, or the same one on a single-CPU machine).
// Processors are SCHED_OTHER nice 0, which needs no privilege; a comment shows the lines for
// SCHED_FIFO.
#ifndef CADENCE_TOOLS_SCHEDCTL_TEMPLATE_H_
#define CADENCE_TOOLS_SCHEDCTL_TEMPLATE_H_

#include <string>
#include <vector>

#include "scheduler/common/cpuset.h"
#include "scheduler/launcher/dag.h"

namespace cadence {

enum class TemplateLayout { kClassic, kChoreography };

// "classic" / "choreography".
const char* TemplateLayoutName(TemplateLayout layout);

// The conf text for the components of `dags` in `layout`, on CPUs `cpus` (not empty).
std::string MakeTemplate(const std::vector<Dag>& dags, TemplateLayout layout, const CpuSet& cpus);

}  // namespace cadence

#endif  // CADENCE_TOOLS_SCHEDCTL_TEMPLATE_H_
