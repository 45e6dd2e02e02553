#include "tools/schedctl/budget.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "scheduler/common/machine.h"
#include "scheduler/common/thread_attributes.h"

namespace cadence {
namespace {

constexpr char kRtRuntimeSysctl[] = "/proc/sys/kernel/sched_rt_runtime_us";

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return buffer.str();
}

std::optional<int64_t> ReadInt(const std::string& path) {
  std::optional<std::string> text = ReadFile(path);
  int64_t value = 0;
  if (!text || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) return std::nullopt;
  return value;
}

// Undoes mountinfo's octal escapes (\040 for a space, ...).
std::string Unescape(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && absl::ascii_isdigit(text[i + 1])) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                      (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

struct Mount {
  std::string root;         // the hierarchy path mounted there
  std::string mount_point;  // where
};

// Finds the v1 cgroup hierarchy holding the cpu controller and a cgroup2 mount.
void ReadCgroupMounts(std::optional<Mount>* v1_cpu, std::optional<Mount>* v2) {
  std::optional<std::string> text = ReadFile("/proc/self/mountinfo");
  if (!text) return;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    // id parent major:minor root mount_point options [optional...] - fstype source superopts
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    const absl::string_view fstype = *(dash + 1);
    const absl::string_view superopts = *(dash + 3);
    Mount mount{Unescape(fields[3]), Unescape(fields[4])};
    if (fstype == "cgroup" && !v1_cpu->has_value()) {
      for (absl::string_view option : absl::StrSplit(superopts, ',')) {
        if (option == "cpu") *v1_cpu = mount;
      }
    } else if (fstype == "cgroup2") {
      if (!v2->has_value() || mount.mount_point == "/sys/fs/cgroup") *v2 = mount;
    }
  }
}

// The directory of cgroup `path` under `mount` ("" when the path is outside the mount).
std::string CgroupDir(const Mount& mount, const std::string& path) {
  std::string relative = path;
  if (mount.root != "/") {
    if (!absl::StartsWith(path, mount.root)) return "";
    relative = path.substr(mount.root.size());
  }
  if (relative.empty() || relative == "/") return mount.mount_point;
  if (relative[0] != '/') relative = "/" + relative;
  return mount.mount_point + relative;
}

bool KernelAtLeast(int major, int minor) {
  struct utsname name;
  if (uname(&name) != 0) return false;
  int have_major = 0, have_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

// The bandwidth of the kernel's deadline servers (fair_server, and ext_server where there
// is one), read from debugfs or, when that is not readable, the kernel's default.
void ReadDeadlineServers(BudgetFacts* facts) {
  const std::string debugfs = "/sys/kernel/debug/sched";
  double total = 0;
  std::vector<std::string> read;
  DIR* dir = opendir(debugfs.c_str());
  if (dir != nullptr) {
    while (struct dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (!absl::EndsWith(name, "_server")) continue;
      double share = 0;
      bool complete = true;
      for (int cpu : facts->online.ToVector()) {
        const std::string base = absl::StrCat(debugfs, "/", name, "/cpu", cpu);
        std::optional<int64_t> runtime = ReadInt(base + "/runtime");
        std::optional<int64_t> period = ReadInt(base + "/period");
        if (!runtime || !period || *period <= 0) {
          complete = false;
          break;
        }
        share += static_cast<double>(*runtime) / static_cast<double>(*period);
      }
      if (!complete) continue;
      total += share;
      read.push_back(absl::StrCat(debugfs, "/", name));
    }
    closedir(dir);
  }
  if (!read.empty()) {
    facts->server_cpus = total;
    facts->server_source = absl::StrCat("read from ", absl::StrJoin(read, ", "));
  } else if (KernelAtLeast(6, 12)) {
    facts->server_cpus = 0.05 * facts->online.Count();
    facts->server_source =
        "assumed: Linux 6.12+ reserves 50 ms of every 1 s on each CPU for the fair class's "
        "deadline server by default; " +
        debugfs + "/fair_server is not readable here";
  } else {
    facts->server_cpus = 0;
    facts->server_source = "none before Linux 6.12";
  }
}

// Every SCHED_DEADLINE thread of every process visible in /proc.
std::vector<DeadlineThread> FindDeadlineThreads() {
  std::vector<DeadlineThread> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (struct dirent* p = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(p->d_name, &pid)) continue;
    const std::string task_dir = absl::StrCat("/proc/", pid, "/task");
    DIR* tasks = opendir(task_dir.c_str());
    if (tasks == nullptr) continue;
    while (struct dirent* t = readdir(tasks)) {
      pid_t tid = 0;
      if (!absl::SimpleAtoi(t->d_name, &tid)) continue;
      absl::StatusOr<ThreadAttributes> attributes = ReadThreadAttributes(tid);
      if (!attributes.ok() || attributes->policy != SchedPolicy::kDeadline) continue;
      DeadlineThread thread{pid, tid, "", attributes->runtime_ns, attributes->period_ns};
      if (std::optional<std::string> comm = ReadFile(absl::StrCat(task_dir, "/", tid, "/comm"))) {
        thread.name = std::string(absl::StripTrailingAsciiWhitespace(*comm));
      }
      found.push_back(thread);
    }
    closedir(tasks);
  }
  closedir(proc);
  std::sort(found.begin(), found.end(),
            [](const DeadlineThread& a, const DeadlineThread& b) { return a.tid < b.tid; });
  return found;
}

std::string Percent(double share) { return absl::StrFormat("%.1f%%", share * 100); }

std::string Cpus(double cpus) { return absl::StrFormat("%.3f", cpus); }

// "950 ms of every 1000 ms" (or microseconds when they do not divide).
std::string RuntimeOfPeriod(int64_t runtime_us, int64_t period_us) {
  if (runtime_us % 1000 == 0 && period_us % 1000 == 0) {
    return absl::StrCat(runtime_us / 1000, " ms of every ", period_us / 1000, " ms");
  }
  return absl::StrCat(runtime_us, " us of every ", period_us, " us");
}

std::string Limit(uint64_t value) {
  return value == UINT64_MAX ? "unlimited" : absl::StrCat(value);
}

// A real-time processor or named thread of a plan.
struct RtWork {
  std::string name;
  ThreadAttributes attributes;
  bool busy_spin = false;
  int queue = -1;  // -1 for a named thread
  // The CPUs it may run on.
  CpuSet cpus;
};

std::vector<RtWork> RealTimeWork(const Plan& plan, const BudgetFacts& facts) {
  const CpuSet everywhere = plan.process_cpus.Empty() ? facts.online : plan.process_cpus;
  std::vector<RtWork> out;
  for (const ProcessorPlan& p : plan.processors) {
    if (!IsRealTime(p.attributes.policy)) continue;
    out.push_back({p.name, p.attributes, p.busy_spin, p.queue,
                   p.attributes.cpus.Empty() ? everywhere : p.attributes.cpus});
  }
  for (const InnerThreadPlan& t : plan.inner_threads) {
    if (!IsRealTime(t.attributes.policy)) continue;
    out.push_back({absl::StrCat("thread \"", t.name, "\""), t.attributes, false, -1,
                   t.attributes.cpus.Empty() ? everywhere : t.attributes.cpus});
  }
  return out;
}

bool IsFifoOrRr(const RtWork& w) { return w.attributes.policy != SchedPolicy::kDeadline; }

std::string Describe(const RtWork& w) {
  return absl::StrCat(w.name, " (", DescribePriority(w.attributes), ", CPU",
                      w.cpus.Count() == 1 ? " " : "s ", w.cpus.ToString(), ")");
}

// The first few names, then "and N more".
std::string NameList(const std::vector<std::string>& names) {
  constexpr size_t kShown = 4;
  if (names.size() <= kShown) return absl::StrJoin(names, ", ");
  std::vector<std::string> shown(names.begin(), names.begin() + kShown);
  return absl::StrCat(absl::StrJoin(shown, ", "), " and ", names.size() - kShown, " more");
}

// Declared demand per queue: the sum of budget/period of its periodic tasks.
std::vector<double> QueueDemand(const Plan& plan) {
  std::vector<double> demand(plan.queues.size(), 0.0);
  for (const auto& [name, task] : plan.tasks) {
    if (task.period_us > 0 && task.budget_us > 0 && task.queue >= 0 &&
        task.queue < static_cast<int>(demand.size())) {
      demand[task.queue] += static_cast<double>(task.budget_us) / task.period_us;
    }
  }
  return demand;
}

// What of the FIFO/RR work cannot fit in `share` of each CPU: busy-spinning processors
// (100% of a CPU each) and queues whose periodic tasks declare more than their real-time
// processors may get. *need is the highest share any of them needs.
std::vector<std::string> OverShare(const std::vector<RtWork>& fifo, const Plan& plan, double share,
                                   double* need) {
  std::vector<std::string> over;
  *need = 0;
  const std::vector<double> demand = QueueDemand(plan);
  std::map<int, std::pair<int, CpuSet>> queues;  // queue -> (processors, CPUs)
  for (const RtWork& w : fifo) {
    if (w.busy_spin) {
      *need = 1.0;
      if (share < 1.0) over.push_back(absl::StrCat(Describe(w), " busy-spins: 100% of a CPU"));
      continue;
    }
    if (w.queue < 0) continue;
    auto& [count, cpus] = queues[w.queue];
    ++count;
    cpus = cpus.Union(w.cpus);
  }
  for (const auto& [queue, entry] : queues) {
    const auto& [count, cpus] = entry;
    const int usable = std::max(1, std::min(count, cpus.Count()));
    const double wanted = demand[queue] / usable;
    *need = std::max(*need, wanted);
    if (wanted > share) {
      over.push_back(absl::StrCat("queue ", plan.queues[queue].name,
                                  ": its periodic tasks declare ", Percent(demand[queue]),
                                  " of a CPU, ", usable, " real-time processor(s) get at most ",
                                  Percent(share * usable)));
    }
  }
  return over;
}

Verdict JudgeThrottling(const std::vector<RtWork>& work, const Plan& plan,
                        const BudgetFacts& facts) {
  Verdict v;
  v.check = "RT throttling";
  std::vector<RtWork> fifo;
  for (const RtWork& w : work) {
    if (IsFifoOrRr(w)) fifo.push_back(w);
  }
  const std::string sysctl = absl::StrCat("sched_rt_runtime_us = ", facts.rt_runtime_us,
                                          ", sched_rt_period_us = ", facts.rt_period_us);
  if (work.empty()) {
    v.detail = "no real-time processors or threads";
    return v;
  }
  if (facts.rt_runtime_us == 0) {
    v.fits = false;
    v.detail = absl::StrCat("real-time is switched off (", sysctl,
                            "): the kernel refuses every real-time policy");
    v.hint = absl::StrCat("echo 950000 > ", kRtRuntimeSysctl);
    return v;
  }
  if (facts.rt_runtime_us < 0) {
    v.detail =
        "no throttling (sched_rt_runtime_us = -1): SCHED_FIFO/RR threads may use 100% "
        "of a CPU";
    return v;
  }
  if (fifo.empty()) {
    v.detail = "no SCHED_FIFO/RR processors or threads (SCHED_DEADLINE: see its admission)";
    return v;
  }
  double need = 0;
  const std::vector<std::string> over = OverShare(fifo, plan, facts.RtShare(), &need);
  const std::string allows = absl::StrCat("RT throttling gives real-time threads ",
                                          RuntimeOfPeriod(facts.rt_runtime_us, facts.rt_period_us),
                                          " on each CPU (", Percent(facts.RtShare()), ")");
  if (!over.empty()) {
    v.fits = false;
    v.detail = absl::StrCat(absl::StrJoin(over, "; "), "; ", allows,
                            ", so they will be stopped for the rest of every period");
    v.hint = absl::StrCat(
        "switch throttling off with `echo -1 > ", kRtRuntimeSysctl,
        "` (a runaway real-time thread can then hang its CPU)",
        need < 1.0 ? absl::StrCat(" or raise it to at least ",
                                  static_cast<int64_t>(std::ceil(need * facts.rt_period_us)))
                   : "",
        "; or drop busy_spin / lower the tasks' budgets");
    return v;
  }
  std::vector<std::string> names;
  for (const RtWork& w : fifo) names.push_back(Describe(w));
  v.detail = absl::StrCat(
      NameList(names), ": may run up to ", Percent(facts.RtShare()), " of each CPU (",
      RuntimeOfPeriod(facts.rt_runtime_us, facts.rt_period_us), ") before throttling; ",
      need > 0
          ? absl::StrCat("their periodic tasks declare at most ", Percent(need), " per processor")
          : "none busy-spins");
  return v;
}

// `echo W > DIR/cpu.rt_runtime_us` for every level below the root that has less than W.
std::string CgroupCommands(const BudgetFacts& facts, int64_t want_us) {
  std::vector<std::string> commands;
  for (size_t i = 1; i < facts.cgroup_v1_levels.size(); ++i) {
    const CgroupLevel& level = facts.cgroup_v1_levels[i];
    if (level.rt_runtime_us.has_value() &&
        (*level.rt_runtime_us < 0 || *level.rt_runtime_us >= want_us)) {
      continue;
    }
    commands.push_back(absl::StrCat("echo ", want_us, " > ", level.dir, "/cpu.rt_runtime_us"));
  }
  return absl::StrJoin(commands, "; ");
}

Verdict JudgeCgroup(const std::vector<RtWork>& work, const Plan& plan, const BudgetFacts& facts) {
  Verdict v;
  v.check = "cgroup RT budget";
  std::vector<RtWork> fifo;
  for (const RtWork& w : work) {
    if (IsFifoOrRr(w)) fifo.push_back(w);
  }
  if (facts.cgroup_v1_mount.empty()) {
    v.detail = facts.cgroup_v2_mount.empty()
                   ? "no cpu cgroup controller is mounted: only RT throttling applies"
                   : "cgroup v2 has no real-time budget (there is no cpu.rt_runtime_us in v2): "
                     "only RT throttling applies";
    return v;
  }
  const CgroupLevel* own = facts.OwnCgroup();
  if (facts.cgroup_v1_levels.empty() || !facts.cgroup_v1_levels[0].rt_runtime_us.has_value()) {
    v.detail = "the kernel has no RT group scheduling (no cpu.rt_runtime_us under " +
               facts.cgroup_v1_mount + "): only RT throttling applies";
    return v;
  }
  if (own == nullptr) {
    v.detail = absl::StrCat("this process is in the root cpu cgroup (", facts.cgroup_v1_mount,
                            "): only RT throttling applies");
    return v;
  }
  const std::string where = absl::StrCat("cgroup ", own->path, " (", own->dir, ")");
  if (fifo.empty()) {
    v.detail = absl::StrCat("no SCHED_FIFO/RR processors or threads (the ", where,
                            " budget limits only those)");
    return v;
  }
  if (facts.rt_runtime_us < 0) {
    v.detail = absl::StrCat("RT throttling is off (sched_rt_runtime_us = -1), so the ", where,
                            " RT budget is not enforced");
    return v;
  }
  if (!own->rt_runtime_us.has_value() || !own->rt_period_us.has_value() ||
      *own->rt_period_us <= 0) {
    v.fits = false;
    v.detail = absl::StrCat("cannot read cpu.rt_runtime_us/cpu.rt_period_us of the ", where);
    v.hint = "run schedctl budget as root, or read the files yourself";
    return v;
  }
  const int64_t runtime = *own->rt_runtime_us;
  const int64_t period = *own->rt_period_us;
  if (runtime < 0) {
    v.detail = absl::StrCat("the ", where, " has no RT limit of its own (cpu.rt_runtime_us = -1)");
    return v;
  }
  const double share = static_cast<double>(runtime) / static_cast<double>(period);
  double need = 0;
  std::vector<std::string> over = OverShare(fifo, plan, share, &need);
  const std::string start_in_root =
      absl::StrCat("or start the process in the root cgroup (echo $$ > ", facts.cgroup_v1_mount,
                   "/tasks, then start it from that shell)");
  if (runtime == 0) {
    std::vector<std::string> names;
    for (const RtWork& w : fifo) names.push_back(Describe(w));
    v.fits = false;
    v.detail = absl::StrCat("the ", where,
                            " has cpu.rt_runtime_us = 0: the kernel refuses SCHED_FIFO/RR "
                            "(EPERM) to its threads: ",
                            NameList(names));
    const int64_t want = std::max<int64_t>(
        static_cast<int64_t>(std::ceil(std::min(need, 0.95) * period / 1000.0)) * 1000,
        period / 10);
    v.hint = absl::StrCat(
        "give the cgroup a real-time budget, parents first (each level at most "
        "what its parent leaves for its children): ",
        CgroupCommands(facts, want), "; ", start_in_root);
    return v;
  }
  const std::string allows =
      absl::StrCat("the ", where, " gives real-time threads ", RuntimeOfPeriod(runtime, period),
                   " on each CPU (", Percent(share), ")");
  if (!over.empty()) {
    v.fits = false;
    v.detail = absl::StrCat(absl::StrJoin(over, "; "), "; ", allows);
    if (need >= 1.0) {
      v.hint = absl::StrCat(
          "a busy-spinning processor never fits a cgroup's budget (below 100% of a CPU): drop "
          "busy_spin, or switch RT throttling off (`echo -1 > ",
          kRtRuntimeSysctl, "`, which also stops cgroup RT budgets being enforced)");
      return v;
    }
    const int64_t want = static_cast<int64_t>(std::ceil(need * period / 1000.0)) * 1000;
    v.hint = absl::StrCat("raise the cgroup's budget, parents first: ", CgroupCommands(facts, want),
                          "; ", start_in_root);
    return v;
  }
  v.detail = absl::StrCat(allows, ": ",
                          need > 0 ? absl::StrCat("the periodic tasks declare at most ",
                                                  Percent(need), " per processor")
                                   : "none busy-spins");
  return v;
}

Verdict JudgeDeadline(const std::vector<RtWork>& work, const BudgetFacts& facts) {
  Verdict v;
  v.check = "SCHED_DEADLINE admission";
  double demand = 0;
  std::vector<std::string> names, narrow;
  for (const RtWork& w : work) {
    if (IsFifoOrRr(w) || w.attributes.period_ns == 0) continue;
    demand += static_cast<double>(w.attributes.runtime_ns) / w.attributes.period_ns;
    names.push_back(Describe(w));
    if (!w.attributes.cpus.Empty() && !facts.online.IsSubsetOf(w.attributes.cpus)) {
      narrow.push_back(w.name);
    }
  }
  if (names.empty()) {
    v.detail = "no SCHED_DEADLINE processors or threads";
    return v;
  }
  std::vector<std::string> problems;
  std::vector<std::string> hints;
  if (!narrow.empty()) {
    problems.push_back(absl::StrCat(
        NameList(narrow), " may not run on every online CPU (", facts.online.ToString(),
        "), but the kernel admits a SCHED_DEADLINE thread only when it may run on every CPU of "
        "its root domain (EPERM otherwise)"));
    hints.push_back(
        "leave their cpuset empty (all CPUs), or give the process an exclusive cpuset partition "
        "of those CPUs");
  }
  if (facts.rt_runtime_us == 0) {
    problems.push_back("sched_rt_runtime_us = 0 leaves SCHED_DEADLINE no bandwidth at all");
    hints.push_back(absl::StrCat("echo 950000 > ", kRtRuntimeSysctl));
  } else if (facts.rt_runtime_us > 0 && demand > facts.DeadlineHeadroomCpus() + 1e-9) {
    problems.push_back(absl::StrCat(
        NameList(names), " ask for ", Cpus(demand), " CPUs of bandwidth; the kernel admits ",
        Cpus(facts.DeadlineTotalCpus()), ", of which the deadline servers hold ",
        Cpus(facts.server_cpus), " and ", facts.deadline_threads.size(),
        " SCHED_DEADLINE thread(s) hold ", Cpus(facts.DeadlineReservedCpus()), ": ",
        Cpus(facts.DeadlineHeadroomCpus()), " left"));
    hints.push_back(absl::StrCat(
        "lower runtime/period, stop other SCHED_DEADLINE tasks, or raise sched_rt_runtime_us "
        "(`echo -1 > ",
        kRtRuntimeSysctl, "` switches admission control off)"));
  }
  if (!problems.empty()) {
    v.fits = false;
    v.detail = absl::StrJoin(problems, "; ");
    v.hint = absl::StrJoin(hints, "; ");
    return v;
  }
  v.detail = facts.rt_runtime_us < 0
                 ? absl::StrCat(NameList(names),
                                ": admission control is off (sched_rt_runtime_us "
                                "= -1), every request is admitted")
                 : absl::StrCat(NameList(names), " ask for ", Cpus(demand), " CPUs of ",
                                Cpus(facts.DeadlineHeadroomCpus()), " left");
  return v;
}

Verdict JudgePrivileges(const std::vector<RtWork>& work, const BudgetFacts& facts) {
  Verdict v;
  v.check = "privileges";
  if (work.empty()) {
    v.detail = "no real-time processors or threads";
    return v;
  }
  if (facts.cap_sys_nice) {
    v.detail = "CAP_SYS_NICE: every real-time policy and priority may be set";
    return v;
  }
  std::vector<std::string> refused;
  int highest = 0;
  bool deadline = false;
  for (const RtWork& w : work) {
    if (w.attributes.policy == SchedPolicy::kDeadline) {
      deadline = true;
      refused.push_back(Describe(w));
    } else if (static_cast<uint64_t>(w.attributes.rt_priority) > facts.rtprio_soft) {
      highest = std::max(highest, w.attributes.rt_priority);
      refused.push_back(Describe(w));
    }
  }
  if (refused.empty()) {
    v.detail = absl::StrCat("RLIMIT_RTPRIO ", Limit(facts.rtprio_soft),
                            " covers every SCHED_FIFO/RR priority asked for");
    return v;
  }
  v.fits = false;
  v.detail =
      absl::StrCat("no CAP_SYS_NICE and RLIMIT_RTPRIO is ", Limit(facts.rtprio_soft), ": ",
                   NameList(refused), " will fall back to SCHED_OTHER (see `schedctl check`)");
  std::vector<std::string> hints = {"run it as root or `setcap cap_sys_nice+ep BINARY`"};
  if (highest > 0) {
    hints.push_back(static_cast<uint64_t>(highest) <= facts.rtprio_hard
                        ? absl::StrCat("`ulimit -r ", highest, "` in the shell that starts it")
                        : absl::StrCat("an `rtprio ", highest,
                                       "` line for the user in /etc/security/limits.conf (the "
                                       "hard limit is ",
                                       Limit(facts.rtprio_hard), ")"));
  }
  if (deadline) hints.push_back("SCHED_DEADLINE needs CAP_SYS_NICE whatever RLIMIT_RTPRIO says");
  v.hint = absl::StrJoin(hints, "; ");
  return v;
}

}  // namespace

BudgetFacts BudgetFacts::Read() {
  BudgetFacts f;
  // What the validator checks a conf against, and what of it could not be read.
  const Machine machine = Machine::Read();
  f.rt_runtime_us = machine.rt_runtime_us;
  f.rt_period_us = machine.rt_period_us;
  f.cap_sys_nice = machine.cap_sys_nice;
  f.online = machine.online;
  f.unread = machine.unread;

  if (std::optional<std::string> text = ReadFile("/proc/self/cgroup")) {
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
      if (parts.size() != 3) continue;
      if (parts[0] == "0" && parts[1].empty()) {
        f.cgroup_v2_path = parts[2];
        continue;
      }
      for (absl::string_view controller : absl::StrSplit(parts[1], ',')) {
        if (controller == "cpu") f.cgroup_v1_path = parts[2];
      }
    }
  }
  std::optional<Mount> v1, v2;
  ReadCgroupMounts(&v1, &v2);
  if (v1.has_value()) {
    f.cgroup_v1_mount = v1->mount_point;
    // Levels from the mount's root down to this process's group.
    std::vector<std::string> paths = {v1->root};
    std::string relative = f.cgroup_v1_path;
    if (v1->root != "/" && absl::StartsWith(relative, v1->root)) {
      relative = relative.substr(v1->root.size());
    } else if (v1->root != "/") {
      relative = "";
    }
    std::string path = v1->root == "/" ? "" : v1->root;
    for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
      path = absl::StrCat(path, "/", part);
      paths.push_back(path);
    }
    for (const std::string& p : paths) {
      CgroupLevel level;
      level.path = p;
      level.dir = CgroupDir(*v1, p);
      level.rt_runtime_us = ReadInt(level.dir + "/cpu.rt_runtime_us");
      level.rt_period_us = ReadInt(level.dir + "/cpu.rt_period_us");
      f.cgroup_v1_levels.push_back(level);
    }
  }
  if (v2.has_value()) {
    f.cgroup_v2_mount = v2->mount_point;
    f.cgroup_v2_unified = v2->mount_point == "/sys/fs/cgroup" &&
                          access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  }

  struct rlimit limit;
  if (getrlimit(RLIMIT_RTPRIO, &limit) == 0) {
    f.rtprio_soft = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
    f.rtprio_hard = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
  } else {
    f.unread.push_back(absl::StrCat("getrlimit(RLIMIT_RTPRIO) failed (", std::strerror(errno),
                                    "): assuming 0"));
  }
  ReadDeadlineServers(&f);
  f.deadline_threads = FindDeadlineThreads();
  return f;
}

double BudgetFacts::RtShare() const {
  if (rt_runtime_us < 0 || rt_period_us <= 0) return 1.0;
  return static_cast<double>(rt_runtime_us) / static_cast<double>(rt_period_us);
}

const CgroupLevel* BudgetFacts::OwnCgroup() const {
  if (cgroup_v1_levels.size() < 2) return nullptr;
  return &cgroup_v1_levels.back();
}

double BudgetFacts::DeadlineTotalCpus() const { return RtShare() * online.Count(); }

double BudgetFacts::DeadlineReservedCpus() const {
  double reserved = 0;
  for (const DeadlineThread& t : deadline_threads) {
    if (t.period_ns > 0) reserved += static_cast<double>(t.runtime_ns) / t.period_ns;
  }
  return reserved;
}

double BudgetFacts::DeadlineHeadroomCpus() const {
  return std::max(0.0, DeadlineTotalCpus() - server_cpus - DeadlineReservedCpus());
}

std::string FormatFacts(const BudgetFacts& f) {
  std::string out;
  for (const std::string& unread : f.unread) absl::StrAppend(&out, "assumed: ", unread, "\n");
  // RT throttling.
  absl::StrAppend(&out, "RT throttling: sched_rt_runtime_us = ", f.rt_runtime_us,
                  ", sched_rt_period_us = ", f.rt_period_us, ": ");
  if (f.rt_runtime_us < 0) {
    absl::StrAppend(&out, "unlimited (real-time threads may use 100% of a CPU)\n");
  } else if (f.rt_runtime_us == 0) {
    absl::StrAppend(&out, "0% (real-time threads may not run at all)\n");
  } else {
    absl::StrAppend(&out, Percent(f.RtShare()), " of each CPU for real-time threads (",
                    RuntimeOfPeriod(f.rt_runtime_us, f.rt_period_us), ")\n");
  }
  // cgroups.
  if (!f.cgroup_v1_mount.empty()) {
    absl::StrAppend(&out, "cgroup v1 cpu controller at ", f.cgroup_v1_mount,
                    "; this process is in ", f.cgroup_v1_path.empty() ? "?" : f.cgroup_v1_path,
                    "\n");
    for (const CgroupLevel& level : f.cgroup_v1_levels) {
      absl::StrAppend(&out, "  ", level.path, "  (", level.dir, "): ");
      if (!level.rt_runtime_us.has_value()) {
        absl::StrAppend(&out, "no cpu.rt_runtime_us (kernel without RT group scheduling?)\n");
        continue;
      }
      absl::StrAppend(&out, "cpu.rt_runtime_us = ", *level.rt_runtime_us, ", cpu.rt_period_us = ",
                      level.rt_period_us ? absl::StrCat(*level.rt_period_us) : "?");
      if (*level.rt_runtime_us >= 0 && level.rt_period_us.value_or(0) > 0) {
        absl::StrAppend(&out, " (",
                        Percent(static_cast<double>(*level.rt_runtime_us) / *level.rt_period_us),
                        ")");
      } else if (*level.rt_runtime_us < 0) {
        absl::StrAppend(&out, " (unlimited)");
      }
      absl::StrAppend(&out, "\n");
    }
  } else {
    absl::StrAppend(&out, "cgroup v1 cpu controller: not mounted\n");
  }
  if (f.cgroup_v2_mount.empty()) {
    absl::StrAppend(&out, "cgroup v2: not mounted\n");
  } else if (f.cgroup_v2_unified) {
    absl::StrAppend(&out, "cgroup v2: the unified hierarchy at ", f.cgroup_v2_mount,
                    "; this process is in ", f.cgroup_v2_path,
                    "; v2 has no real-time budget control (no cpu.rt_runtime_us): only RT "
                    "throttling limits real-time threads\n");
  } else {
    absl::StrAppend(&out, "cgroup v2: hybrid set-up, cgroup2 at ", f.cgroup_v2_mount,
                    " (this process in ", f.cgroup_v2_path.empty() ? "?" : f.cgroup_v2_path,
                    "); v2 has no real-time budget control",
                    f.cgroup_v1_mount.empty() ? "" : ", the v1 cpu controller above does", "\n");
  }
  // Privileges.
  absl::StrAppend(&out, "RLIMIT_RTPRIO: soft ", Limit(f.rtprio_soft), ", hard ",
                  Limit(f.rtprio_hard), "\n");
  absl::StrAppend(&out, "CAP_SYS_NICE: ", f.cap_sys_nice ? "yes" : "no", " (effective set)\n");
  // SCHED_DEADLINE.
  if (f.rt_runtime_us < 0) {
    absl::StrAppend(&out,
                    "SCHED_DEADLINE admission: off (sched_rt_runtime_us = -1): every request is "
                    "admitted; ",
                    f.deadline_threads.size(), " SCHED_DEADLINE thread(s) reserve ",
                    Cpus(f.DeadlineReservedCpus()), " CPUs\n");
  } else {
    absl::StrAppend(&out, "SCHED_DEADLINE admission: headroom ", Cpus(f.DeadlineHeadroomCpus()),
                    " CPUs = ", f.online.Count(), " online CPU(s) x ", Percent(f.RtShare()), " (",
                    Cpus(f.DeadlineTotalCpus()), ") - deadline servers ", Cpus(f.server_cpus),
                    " - ", f.deadline_threads.size(), " SCHED_DEADLINE thread(s) on the system ",
                    Cpus(f.DeadlineReservedCpus()), "\n  deadline servers: ", f.server_source,
                    "\n");
  }
  for (const DeadlineThread& t : f.deadline_threads) {
    absl::StrAppend(&out, "  pid ", t.pid, " tid ", t.tid, " ", t.name, ": runtime ",
                    t.runtime_ns / 1000, " us / period ", t.period_ns / 1000, " us (",
                    Percent(t.period_ns > 0 ? static_cast<double>(t.runtime_ns) / t.period_ns : 0),
                    ")\n");
  }
  return out;
}

Verdict JudgeRealTimeAvailable(const BudgetFacts& facts) {
  Verdict v;
  v.check = "real-time for this process";
  v.yes = "available";
  v.no = "not available";
  std::vector<std::string> problems, hints;
  if (facts.rt_runtime_us == 0) {
    problems.push_back("RT throttling gives real-time threads no time (sched_rt_runtime_us = 0)");
    hints.push_back(absl::StrCat("echo 950000 > ", kRtRuntimeSysctl));
  }
  const CgroupLevel* own = facts.OwnCgroup();
  if (own != nullptr && facts.rt_runtime_us != -1 && own->rt_runtime_us.value_or(-1) == 0) {
    problems.push_back(absl::StrCat("its cgroup ", own->path, " has cpu.rt_runtime_us = 0"));
    hints.push_back(
        absl::StrCat("give the cgroup a budget, parents first: ", CgroupCommands(facts, 100000)));
  }
  if (!facts.cap_sys_nice && facts.rtprio_soft == 0) {
    problems.push_back("no CAP_SYS_NICE and RLIMIT_RTPRIO is 0");
    hints.push_back("run as root, `setcap cap_sys_nice+ep BINARY`, or raise RLIMIT_RTPRIO");
  }
  if (!problems.empty()) {
    v.fits = false;
    v.detail = absl::StrJoin(problems, "; ");
    v.hint = absl::StrJoin(hints, "; ");
    return v;
  }
  const uint64_t highest = facts.cap_sys_nice ? 99 : std::min<uint64_t>(facts.rtprio_soft, 99);
  v.detail = absl::StrCat(
      "SCHED_FIFO/RR priorities 1-", highest,
      facts.cap_sys_nice ? " and SCHED_DEADLINE" : " (SCHED_DEADLINE needs CAP_SYS_NICE)",
      ", up to ", Percent(facts.RtShare()), " of each CPU");
  return v;
}

std::vector<Verdict> JudgePlan(const Plan& plan, const BudgetFacts& facts) {
  const std::vector<RtWork> work = RealTimeWork(plan, facts);
  return {JudgeThrottling(work, plan, facts), JudgeCgroup(work, plan, facts),
          JudgeDeadline(work, facts), JudgePrivileges(work, facts)};
}

std::string FormatPerCpu(const Plan& plan, const BudgetFacts& facts) {
  const std::vector<RtWork> work = RealTimeWork(plan, facts);
  CpuSet cpus = plan.process_cpus.Empty() ? facts.online : plan.process_cpus;
  for (const RtWork& w : work) cpus = cpus.Union(w.cpus);
  std::string out =
      "real-time work per CPU (worst case: a SCHED_FIFO/RR thread may use a whole CPU; "
      "SCHED_DEADLINE its runtime/period):\n";
  for (int cpu : cpus.ToVector()) {
    std::vector<std::string> here;
    for (const RtWork& w : work) {
      if (!w.cpus.Contains(cpu)) continue;
      here.push_back(absl::StrCat(
          w.name, " ", DescribePriority(w.attributes), " (",
          IsFifoOrRr(w)
              ? (w.busy_spin ? std::string("100%, busy-spins") : std::string("up to 100%"))
              : Percent(static_cast<double>(w.attributes.runtime_ns) /
                        std::max<uint64_t>(1, w.attributes.period_ns)),
          ")"));
    }
    absl::StrAppend(&out, "  cpu ", cpu, ": ", here.empty() ? "-" : absl::StrJoin(here, ", "),
                    "\n");
  }
  return out;
}

std::string FormatVerdict(const Verdict& verdict) {
  std::string out = absl::StrCat(verdict.check, ": ", verdict.fits ? verdict.yes : verdict.no, ": ",
                                 verdict.detail, "\n");
  if (!verdict.hint.empty()) absl::StrAppend(&out, "  hint: ", verdict.hint, "\n");
  return out;
}

}  // namespace cadence
