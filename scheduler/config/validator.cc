#include "scheduler/config/validator.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cadence {
namespace {

using google::protobuf::Message;
using google::protobuf::TextFormat;
using Tree = TextFormat::ParseInfoTree;

// The most processors (threads) one group may ask for; more is surely a typo, and a uint32
// count must not wrap around when it becomes an int.
constexpr uint32_t kMaxProcessors = 1024;

// The most a task's period_us or budget_us may be: 2^62 ns (about 146 years), so that the
// nanoseconds fit an int64 with room for a release time (now + period) that cannot overflow.
// A larger value is surely a unit mistake; converted, it would wrap (18446744073709552 us is
// 2^64 ns + 384 ns: a 384 ns period) or go negative.
constexpr uint64_t kMaxTaskTimeUs = (uint64_t{1} << 62) / 1000;

constexpr const char* kPolicyList =
    "SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE";

// The policy/priority fields of one thread or processor group, gathered from whichever
// message they come from.
struct AttributeFields {
  std::string policy;
  bool has_policy = false;
  int64_t prio = 0;
  bool has_prio = false;
  int64_t nice = 0;
  bool has_nice = false;
  uint64_t runtime_us = 0, deadline_us = 0, period_us = 0;
  bool has_deadline_params = false;
  bool reset_on_fork = true;
  // Field names, for messages and locations.
  std::string policy_field, prio_field, nice_field, runtime_field;
  // Where the priority and nice fields are, when set (see Validator::LocateAttributeFields).
  SourceLocation prio_where, nice_where;
};

int64_t IntValue(const Message& m, const google::protobuf::FieldDescriptor* field) {
  const google::protobuf::Reflection* r = m.GetReflection();
  switch (field->cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(m, field);
    case google::protobuf::FieldDescriptor::CPPTYPE_UINT32:
      return r->GetUInt32(m, field);
    case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(m, field);
    case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<int64_t>(std::min<uint64_t>(r->GetUInt64(m, field), INT64_MAX));
    default:
      return 0;
  }
}

// Gathers `<prefix>policy`, `<prefix>prio`, `<prefix>nice` and `<prefix>runtime_us`/
// `deadline_us`/`period_us` of a thread, group or choreography section (each message names
// them with its own prefix: "", "processor_", "choreography_processor_", "pool_processor_").
AttributeFields GatherAttributeFields(const Message& m, const std::string& prefix,
                                      bool inherit_rt_on_fork) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const google::protobuf::Reflection* r = m.GetReflection();
  auto field = [&](const std::string& name) { return d->FindFieldByName(prefix + name); };
  AttributeFields out;
  out.policy_field = prefix + "policy";
  out.prio_field = prefix + "prio";
  out.nice_field = prefix + "nice";
  out.runtime_field = prefix + "runtime_us";
  out.policy = r->GetString(m, field("policy"));
  out.has_policy = r->HasField(m, field("policy"));
  out.prio = IntValue(m, field("prio"));
  out.has_prio = r->HasField(m, field("prio"));
  out.nice = IntValue(m, field("nice"));
  out.has_nice = r->HasField(m, field("nice"));
  out.runtime_us = static_cast<uint64_t>(IntValue(m, field("runtime_us")));
  out.deadline_us = static_cast<uint64_t>(IntValue(m, field("deadline_us")));
  out.period_us = static_cast<uint64_t>(IntValue(m, field("period_us")));
  out.has_deadline_params = r->HasField(m, field("runtime_us")) ||
                            r->HasField(m, field("deadline_us")) ||
                            r->HasField(m, field("period_us"));
  out.reset_on_fork = !inherit_rt_on_fork;
  return out;
}

class Validator {
 public:
  Validator(const LoadedConfig* config, const Machine& machine, const ValidateOptions& options)
      : config_(config), machine_(machine), options_(options) {}

  Validation Run();
  Validation RunDefault(const std::string& reason, const std::string& path);

 private:
  SourceLocation Where(const Tree* tree, const Message& m, const std::string& field,
                       int index = -1) const {
    if (config_ == nullptr) return {};
    return config_->FieldLocation(tree, m, field, index);
  }
  SourceLocation ValueWhere(const Tree* tree, const Message& m, const std::string& field,
                            int index = -1) const {
    if (config_ == nullptr) return {};
    return config_->ValueLocation(tree, m, field, index);
  }
  const Tree* Nested(const Tree* tree, const Message& m, const std::string& field,
                     int index = -1) const {
    return config_ == nullptr ? nullptr : config_->Nested(tree, m, field, index);
  }
  SourceLocation FileOnly() const { return {config_ ? config_->path : "", 0, 0}; }

  void ProcessCpus(const proto::SchedulerConf& sched, const Tree* tree);
  std::optional<CpuSet> ResolveCpus(const std::string& text, bool given, SourceLocation value_at,
                                    const std::string& field);
  // Fills f->prio_where / nice_where from `tree` (the parse tree of `m`).
  void LocateAttributeFields(AttributeFields* f, const Tree* tree, const Message& m) {
    if (f->has_prio) f->prio_where = Where(tree, m, f->prio_field);
    if (f->has_nice) f->nice_where = Where(tree, m, f->nice_field);
  }
  std::optional<ThreadAttributes> ResolveAttributes(const AttributeFields& f, SourceLocation where,
                                                    const std::string& path);
  // SCHED_DEADLINE on CPUs that do not cover every online CPU: the kernel refuses it.
  void DeadlineAffinityCheck(const ThreadAttributes& a, SourceLocation where,
                             const std::string& path, const std::string& who);
  // The same for processors of a group with this affinity.
  void DeadlineAffinityCheck(const ThreadAttributes& a, Affinity affinity, SourceLocation where,
                             const std::string& path, const std::string& who);
  void PrivilegeCheck(const ThreadAttributes& a, SourceLocation where, const std::string& path,
                      const std::string& who);
  void Classic(const proto::SchedulerConf& sched, const Tree* tree);
  void Choreography(const proto::SchedulerConf& sched, const Tree* tree);
  void InnerThreads(const proto::SchedulerConf& sched, const Tree* tree);
  // Adds `count` processors of a group and one queue they serve; returns the queue index.
  int AddGroup(const std::string& group, int count, Affinity affinity, const CpuSet& cpus,
               int declared_cpus, const ThreadAttributes& attributes, bool busy_spin,
               SourceLocation where, const std::string& path);
  // Whether the task's period_us and budget_us are at most kMaxTaskTimeUs; an error at the
  // field for each that is not.
  bool TaskTimesFit(const Message& task, const std::string& name, const Tree* tree,
                    const std::string& path);
  // `timing_where`: where period_us (or, without one, budget_us) is.
  void AddTask(const std::string& name, int queue, int64_t prio, int processor, uint64_t period_us,
               uint64_t budget_us, SourceLocation where, SourceLocation prio_where,
               SourceLocation timing_where, const std::string& path);
  std::optional<Affinity> ResolveAffinity(const std::string& text, bool given, SourceLocation where,
                                          const std::string& path);
  void RtBudget();
  // Makes processor thread names (what ps/top show, 15 characters) distinct between groups
  // whose names share their first characters; a warning says what was done.
  void DistinctThreadNames();
  Validation Finish();

  const LoadedConfig* config_;
  const Machine& machine_;
  ValidateOptions options_;
  Plan plan_;
  Diagnostics diags_;
  std::map<std::string, SourceLocation> group_names_;
  // Each classic group's config path ("classic_conf.groups[1]") and where its name is.
  struct GroupRef {
    std::string path;
    SourceLocation name_at;
  };
  std::map<std::string, GroupRef> group_refs_;
};

// In quotes, escaped (a name with a newline or a stray byte must not break the message).
std::string Quote(const std::string& s) { return Quoted(s); }

// Linux keeps this many characters of a thread's name (TASK_COMM_LEN - 1).
constexpr size_t kThreadNameLength = 15;

// The thread name of processor `index` of `group`: "<group>/<index>", the group's name cut
// to fit.
std::string ThreadName(const std::string& group, int index) {
  const std::string suffix = absl::StrCat("/", index);
  return Utf8Head(group, kThreadNameLength - suffix.size()) + suffix;
}

// The same, with the middle of a long group name left out ("motion~trol_b/0"), so that the
// end of the name, where groups often differ, is kept.
std::string ElidedThreadName(const std::string& group, int index) {
  const std::string suffix = absl::StrCat("/", index);
  const size_t room = kThreadNameLength - suffix.size();
  if (group.size() <= room) return group + suffix;
  const size_t tail = (room - 1) / 2;
  const size_t head = room - 1 - tail;
  return absl::StrCat(Utf8Head(group, head), "~", Utf8Tail(group, tail), suffix);
}

// "CPU 3 is" / "CPUs 2-5 are".
std::string CpusAre(const CpuSet& cpus) {
  return cpus.Count() == 1 ? absl::StrCat("CPU ", cpus.ToString(), " is")
                           : absl::StrCat("CPUs ", cpus.ToString(), " are");
}

Validation Validator::Run() {
  diags_.Append(config_->diagnostics);
  plan_.config_path = config_->path;
  plan_.real_config_path = config_->real_path;
  const proto::SchedulerConf& sched = config_->config.scheduler_conf();
  const Tree* tree = config_->SchedulerTree();

  ProcessCpus(sched, tree);

  if (sched.has_routine_num()) {
    diags_.Note(Where(tree, sched, "routine_num"), "scheduler_conf.routine_num",
                "routine_num is accepted and ignored: cadence runs tasks on processors, not on "
                "a coroutine pool");
  }

  const std::string policy = sched.policy();
  if (!sched.has_policy()) {
    if (sched.has_choreography_conf() && !sched.has_classic_conf()) {
      diags_.Error(Where(tree, sched, "choreography_conf"), "scheduler_conf.policy",
                   "choreography_conf is given but policy is not: Cyber RT would silently run "
                   "classic and ignore it",
                   "add `policy: \"choreography\"` to scheduler_conf");
      return Finish();
    }
    diags_.Note(FileOnly(), "scheduler_conf.policy", "no policy given: classic, as Cyber RT does");
  } else if (policy != "classic" && policy != "choreography") {
    std::string hint = "use \"classic\" or \"choreography\"";
    const std::string lower = absl::AsciiStrToLower(policy);
    if (lower == "classic" || lower == "choreography") {
      hint = absl::StrCat("policy names are lower case: \"", lower, "\"");
    }
    diags_.Error(ValueWhere(tree, sched, "policy"), "scheduler_conf.policy",
                 absl::StrCat("unknown scheduler policy ", Quote(policy),
                              " (Cyber RT silently falls back to classic here; cadence does not)"),
                 hint);
    return Finish();
  }
  const bool choreography = policy == "choreography";
  if (choreography && sched.has_classic_conf()) {
    diags_.Warning(Where(tree, sched, "classic_conf"), "scheduler_conf.classic_conf",
                   "classic_conf is ignored: policy is \"choreography\"",
                   "remove classic_conf, or set policy: \"classic\"");
  }
  if (!choreography && sched.has_choreography_conf()) {
    diags_.Warning(Where(tree, sched, "choreography_conf"), "scheduler_conf.choreography_conf",
                   "choreography_conf is ignored: policy is \"classic\"",
                   "remove choreography_conf, or set policy: \"choreography\"");
  }
  if (choreography) {
    plan_.kind = SchedulerKind::kChoreography;
    Choreography(sched, tree);
  } else {
    plan_.kind = SchedulerKind::kClassic;
    Classic(sched, tree);
  }
  // (Not for the default group a conf without groups gets: one processor per usable CPU.)
  const bool default_group = !choreography && sched.classic_conf().groups_size() == 0;
  if (plan_.processors.size() > kMaxProcessors && !default_group) {
    const char* conf = choreography ? "choreography_conf" : "classic_conf";
    diags_.Error(Where(tree, sched, conf), absl::StrCat("scheduler_conf.", conf),
                 absl::StrCat("the config asks for ", plan_.processors.size(),
                              " processors in all, more than ", kMaxProcessors,
                              " threads (the limit holds for the whole process, not only per "
                              "group)"),
                 "a processor is a thread: a few per CPU are enough");
  }
  InnerThreads(sched, tree);
  RtBudget();
  return Finish();
}

Validation Validator::RunDefault(const std::string& reason, const std::string& path) {
  plan_.kind = SchedulerKind::kClassic;
  plan_.process_cpus = machine_.Usable();
  diags_.Warning({path, 0, 0}, "", reason,
                 "write a config (see conf/ and `schedctl template`) to choose CPUs and policies");
  ThreadAttributes attributes;
  attributes.cpus = plan_.process_cpus;
  AddGroup("default_grp", std::max(1, plan_.process_cpus.Count()), Affinity::kAnyOf,
           plan_.process_cpus, plan_.process_cpus.Count(), attributes, false, {}, "default");
  plan_.default_queue = 0;
  return Finish();
}

void Validator::DistinctThreadNames() {
  // The groups behind each thread name, in plan order.
  std::map<std::string, std::vector<std::string>> groups_of;
  for (const ProcessorPlan& p : plan_.processors) {
    std::vector<std::string>& groups = groups_of[p.thread_name];
    if (std::find(groups.begin(), groups.end(), p.group) == groups.end()) {
      groups.push_back(p.group);
    }
  }
  // Groups sharing a name get the elided form, each with the first name it collided on.
  std::map<std::string, std::string> elide;  // group -> the shared thread name
  for (const ProcessorPlan& p : plan_.processors) {
    const std::vector<std::string>& groups = groups_of[p.thread_name];
    if (groups.size() > 1) elide.emplace(p.group, p.thread_name);
  }
  if (elide.empty()) return;
  std::set<std::string> used;
  std::map<std::string, std::string> renamed;  // group -> its processor 0's new name
  for (ProcessorPlan& p : plan_.processors) {
    std::string name = elide.count(p.group) ? ElidedThreadName(p.group, p.index) : p.thread_name;
    // Still taken (groups that differ only in the middle, or a group named like an elided
    // name): a number makes it distinct.
    const std::string suffix = absl::StrCat("/", p.index);
    for (int n = 2; used.count(name); ++n) {
      const std::string mark = absl::StrCat("~", n);
      name = absl::StrCat(Utf8Head(p.group, kThreadNameLength - suffix.size() - mark.size()), mark,
                          suffix);
    }
    used.insert(name);
    if (elide.count(p.group) && !renamed.count(p.group)) renamed.emplace(p.group, name);
    p.thread_name = name;
  }
  // One warning per shared name, at the group that came last.
  std::set<std::string> reported;
  for (const ProcessorPlan& p : plan_.processors) {
    const auto it = elide.find(p.group);
    if (it == elide.end() || !reported.insert(it->second).second) continue;
    const std::vector<std::string>& groups = groups_of[it->second];
    std::vector<std::string> quoted, names;
    for (const std::string& g : groups) {
      quoted.push_back(Quote(g));
      names.push_back(Quote(renamed.count(g) ? renamed[g] : g));
    }
    const std::string& last = groups.back();
    const auto ref = group_refs_.find(last);
    const size_t room = kThreadNameLength - absl::StrCat("/", p.index).size();
    diags_.Warning(
        ref != group_refs_.end() ? ref->second.name_at : FileOnly(),
        ref != group_refs_.end() ? ref->second.path + ".name" : std::string(),
        absl::StrCat("the processor threads of groups ", absl::StrJoin(quoted, " and "),
                     groups.size() == 2 ? " would both" : " would all", " show in ps/top as ",
                     Quote(it->second),
                     " (Linux keeps 15 characters of a thread name): they are named ",
                     absl::StrJoin(names, " and "), " instead (and so on for each processor)"),
        absl::StrCat("to choose the names, make the groups' names differ in their first ", room,
                     " characters"));
  }
}

Validation Validator::Finish() {
  DistinctThreadNames();
  for (const std::string& unread : machine_.unread) {
    diags_.Warning({}, "", absl::StrCat("this host's facts were checked against an assumption: ",
                                        unread),
                   "make /proc and /sys readable to the process (a container may hide them)");
  }
  if (options_.strict) diags_.MakeWarningsErrors();
  Validation v;
  v.plan = std::move(plan_);
  v.diagnostics = std::move(diags_);
  return v;
}

std::optional<CpuSet> Validator::ResolveCpus(const std::string& text, bool given,
                                             SourceLocation value_at, const std::string& field) {
  if (!given) return plan_.process_cpus;
  CpuSet requested;
  CpuSet::ParseError error;
  if (!CpuSet::Parse(text, &requested, &error)) {
    const SourceLocation at =
        config_ != nullptr
            ? config_->ValueOffsetLocation(value_at, static_cast<size_t>(std::max(0, error.offset)))
            : value_at;
    diags_.Error(at, field, absl::StrCat("invalid CPU list ", Quote(text), ": ", error.message),
                 "write CPUs as a Linux CPU list, e.g. \"0-3,8\"");
    return std::nullopt;
  }
  if (requested.Empty()) {
    diags_.Error(value_at, field, "the CPU list is empty",
                 "name at least one CPU, or leave the field out to use the process's CPUs");
    return std::nullopt;
  }
  const CpuSet past = requested.Minus(CpuSet::Range(0, machine_.possible_cpus - 1));
  if (!past.Empty()) {
    diags_.Error(value_at, field,
                 absl::StrCat("CPUs ", past.ToString(), " are past the kernel's limit of ",
                              machine_.possible_cpus, " CPUs"),
                 "use CPU numbers below the kernel's limit (/sys/devices/system/cpu/kernel_max)");
    return std::nullopt;
  }
  CpuSet usable = requested;
  if (plan_.restrict_process) {
    const CpuSet outside = usable.Minus(plan_.process_cpus);
    usable = usable.Intersect(plan_.process_cpus);
    if (!outside.Empty() && !usable.Empty()) {
      diags_.Warning(value_at, field,
                     absl::StrCat(CpusAre(outside), " outside the process's CPUs (",
                                  plan_.process_cpus.ToString(), "): using ", usable.ToString()),
                     "name only CPUs of process_level_cpuset (in cadence it holds every CPU "
                     "the process may use; Cyber RT let a group's processors and named threads "
                     "leave it)");
    }
  } else {
    const CpuSet unusable = usable.Minus(machine_.Usable());
    usable = usable.Intersect(machine_.Usable());
    if (!unusable.Empty() && !usable.Empty()) {
      diags_.Warning(
          value_at, field,
          absl::StrCat(CpusAre(unusable), " not online or not allowed for this process (usable: ",
                       machine_.Usable().ToString(), "): using ", usable.ToString()),
          "name only CPUs this machine has; `nproc` and `taskset -p $$` show them");
    }
  }
  if (usable.Empty()) {
    if (plan_.restrict_process) {
      diags_.Error(value_at, field,
                   absl::StrCat("none of the CPUs ", requested.ToString(),
                                " is inside process_level_cpuset (", plan_.process_cpus.ToString(),
                                " usable here)"),
                   "name CPUs of process_level_cpuset, or widen process_level_cpuset (in "
                   "cadence it holds every CPU the process may use; Cyber RT let a group's "
                   "processors and named threads leave it)");
    } else {
      diags_.Error(
          value_at, field,
          absl::StrCat("none of the CPUs ", requested.ToString(),
                       " can be used on this machine (usable: ", machine_.Usable().ToString(), ")"),
          "name CPUs this machine has (`nproc`, `taskset -p $$`), or give this process "
          "the CPUs it needs");
    }
    return std::nullopt;
  }
  return usable;
}

void Validator::ProcessCpus(const proto::SchedulerConf& sched, const Tree* tree) {
  plan_.process_cpus = machine_.Usable();
  if (!sched.has_process_level_cpuset()) return;
  std::optional<CpuSet> cpus = ResolveCpus(sched.process_level_cpuset(), true,
                                           ValueWhere(tree, sched, "process_level_cpuset"),
                                           "scheduler_conf.process_level_cpuset");
  if (cpus.has_value()) {
    plan_.process_cpus = *cpus;
    plan_.restrict_process = true;
  }
}

std::optional<ThreadAttributes> Validator::ResolveAttributes(const AttributeFields& f,
                                                             SourceLocation where,
                                                             const std::string& path) {
  ThreadAttributes a;
  a.reset_on_fork = f.reset_on_fork;
  if (f.has_policy && !f.policy.empty() && !ParsePolicy(f.policy, &a.policy)) {
    std::string hint = absl::StrCat("use one of ", kPolicyList);
    SchedPolicy upper;
    if (ParsePolicy(absl::AsciiStrToUpper(f.policy), &upper)) {
      hint = absl::StrCat("policy names are upper case: ", PolicyName(upper));
    } else if (ParsePolicy(absl::StrCat("SCHED_", absl::AsciiStrToUpper(f.policy)), &upper)) {
      hint = absl::StrCat("write it as ", PolicyName(upper));
    }
    diags_.Error(where, absl::StrCat(path, ".", f.policy_field),
                 absl::StrCat("policy ", Quote(f.policy), " is not a Linux scheduling policy"),
                 hint);
    return std::nullopt;
  }
  const std::string prio_path = absl::StrCat(path, ".", f.prio_field);
  // A priority or nice problem is reported at that field when it is set.
  const SourceLocation prio_at = f.prio_where.line > 0 ? f.prio_where : where;
  const SourceLocation nice_at = f.nice_where.line > 0 ? f.nice_where : prio_at;
  switch (a.policy) {
    case SchedPolicy::kFifo:
    case SchedPolicy::kRr:
      if (f.prio < 1 || f.prio > 99) {
        diags_.Error(prio_at, prio_path,
                     absl::StrCat(PolicyName(a.policy), " needs a priority from 1 to 99, not ",
                                  f.prio, f.has_prio ? "" : " (the field is not set)"),
                     absl::StrCat("set ", f.prio_field, ": 1..99 (99 is the most urgent)"));
        return std::nullopt;
      }
      a.rt_priority = static_cast<int>(f.prio);
      if (f.has_nice) {
        diags_.Warning(nice_at, absl::StrCat(path, ".", f.nice_field),
                       absl::StrCat(f.nice_field, " is ignored for ", PolicyName(a.policy),
                                    " (it has a real-time priority, not a nice value)"),
                       absl::StrCat("remove ", f.nice_field));
      }
      break;
    case SchedPolicy::kOther:
    case SchedPolicy::kBatch: {
      int64_t nice = f.has_nice ? f.nice : (f.has_prio ? f.prio : 0);
      if (f.has_nice && f.has_prio && f.prio != f.nice && f.prio != 0) {
        diags_.Error(
            prio_at, prio_path,
            absl::StrCat(f.prio_field, " (", f.prio, ") and ", f.nice_field, " (", f.nice,
                         ") disagree; for ", PolicyName(a.policy), " both mean the nice value"),
            absl::StrCat("keep only ", f.nice_field));
        return std::nullopt;
      }
      if (nice < -20 || nice > 19) {
        diags_.Error(f.has_nice ? nice_at : prio_at,
                     f.has_nice ? absl::StrCat(path, ".", f.nice_field) : prio_path,
                     absl::StrCat("nice ", nice, " is out of range for ", PolicyName(a.policy),
                                  " (-20..19; for this policy ", f.prio_field,
                                  " is the nice value, as in Cyber RT)"),
                     "use a nice value from -20 (most CPU) to 19 (least)");
        return std::nullopt;
      }
      a.nice = static_cast<int>(nice);
      break;
    }
    case SchedPolicy::kIdle:
      if ((f.has_prio && f.prio != 0) || (f.has_nice && f.nice != 0)) {
        const bool at_prio = f.has_prio && f.prio != 0;
        diags_.Warning(at_prio ? prio_at : nice_at,
                       at_prio ? prio_path : absl::StrCat(path, ".", f.nice_field),
                       "SCHED_IDLE has no priority or nice value: the value given is ignored",
                       "remove the priority, or pick SCHED_OTHER/SCHED_BATCH with a nice value");
      }
      break;
    case SchedPolicy::kDeadline: {
      const uint64_t deadline = f.deadline_us != 0 ? f.deadline_us : f.period_us;
      if (f.runtime_us == 0 || f.period_us == 0) {
        diags_.Error(where, absl::StrCat(path, ".", f.runtime_field),
                     "SCHED_DEADLINE needs a runtime and a period (and optionally a deadline), "
                     "in microseconds",
                     absl::StrCat("set ", f.runtime_field,
                                  " and the matching period_us, e.g. "
                                  "runtime 1000, period 10000"));
        return std::nullopt;
      }
      if (!(f.runtime_us <= deadline && deadline <= f.period_us)) {
        diags_.Error(where, absl::StrCat(path, ".", f.runtime_field),
                     absl::StrCat("SCHED_DEADLINE needs runtime <= deadline <= period, got ",
                                  f.runtime_us, " / ", deadline, " / ", f.period_us, " us"),
                     "order them runtime <= deadline <= period");
        return std::nullopt;
      }
      // The kernel takes nanoseconds below 2^63; larger values would wrap when converted.
      constexpr uint64_t kMaxDeadlineUs = (uint64_t{1} << 63) / 1000;
      if (f.period_us > kMaxDeadlineUs) {
        diags_.Error(where, absl::StrCat(path, ".", f.runtime_field),
                     absl::StrCat("SCHED_DEADLINE period ", f.period_us,
                                  " us is more than the kernel can take (", kMaxDeadlineUs, " us)"),
                     "use a period in microseconds, e.g. 10000 for 10 ms");
        return std::nullopt;
      }
      if (f.runtime_us < 2) {
        diags_.Error(where, absl::StrCat(path, ".", f.runtime_field),
                     "SCHED_DEADLINE runtime must be at least 2 us (the kernel's minimum is "
                     "1024 ns)");
        return std::nullopt;
      }
      a.runtime_ns = f.runtime_us * 1000;
      a.deadline_ns = deadline * 1000;
      a.period_ns = f.period_us * 1000;
      break;
    }
  }
  // SCHED_RESET_ON_FORK only matters for (and is only set on) real-time policies.
  a.reset_on_fork = a.reset_on_fork && IsRealTime(a.policy);
  if (a.policy != SchedPolicy::kDeadline && f.has_deadline_params) {
    diags_.Warning(where, absl::StrCat(path, ".", f.runtime_field),
                   absl::StrCat("SCHED_DEADLINE parameters are ignored for ", PolicyName(a.policy)),
                   "remove them, or set the policy to SCHED_DEADLINE");
  }
  return a;
}

void Validator::PrivilegeCheck(const ThreadAttributes& a, SourceLocation where,
                               const std::string& path, const std::string& who) {
  const std::string why = machine_.WhyNot(a);
  if (why.empty()) return;
  std::string fallback;
  if (IsRealTime(a.policy)) {
    fallback = absl::StrCat("SCHED_OTHER nice ", machine_.LowestNice());
  } else {
    fallback = absl::StrCat(PolicyName(a.policy), " nice ", machine_.LowestNice());
  }
  diags_.Warning(where, path,
                 absl::StrCat(who, " asks for ", DescribePriority(a),
                              " but this process may not use it: it will fall back to ", fallback),
                 why);
}

void Validator::DeadlineAffinityCheck(const ThreadAttributes& a, Affinity affinity,
                                      SourceLocation where, const std::string& path,
                                      const std::string& who) {
  if (a.policy != SchedPolicy::kDeadline || a.cpus.Empty() || machine_.online.Empty()) return;
  // With "1to1" each processor has one CPU of the set; with "range" all of them.
  ThreadAttributes one = a;
  if (affinity == Affinity::kOneOf) one.cpus = CpuSet::Of({a.cpus.ToVector()[0]});
  DeadlineAffinityCheck(one, where, path, who);
}

void Validator::DeadlineAffinityCheck(const ThreadAttributes& a, SourceLocation where,
                                      const std::string& path, const std::string& who) {
  if (a.policy != SchedPolicy::kDeadline || a.cpus.Empty() || machine_.online.Empty()) return;
  const CpuSet left_out = machine_.online.Minus(a.cpus);
  if (left_out.Empty()) return;
  diags_.Warning(where, path,
                 absl::StrCat(who, " asks for SCHED_DEADLINE on CPUs ", a.cpus.ToString(),
                              ", but the kernel admits a SCHED_DEADLINE thread only when it may "
                              "run on every CPU of its root domain (here ",
                              machine_.online.ToString(), "): it will refuse it (EPERM), and ",
                              "the thread falls back to SCHED_OTHER nice ",
                              machine_.LowestNice()),
                 absl::StrCat("give it every CPU (", machine_.online.ToString(),
                              ", affinity \"range\"), or run the process in an exclusive "
                              "cpuset, a root domain of its own"));
}

std::optional<Affinity> Validator::ResolveAffinity(const std::string& text, bool given,
                                                   SourceLocation where, const std::string& path) {
  if (!given || text == "range") return Affinity::kAnyOf;
  if (text == "1to1") return Affinity::kOneOf;
  diags_.Error(where, path,
               absl::StrCat("affinity ", Quote(text), " is neither \"range\" nor \"1to1\""),
               "\"range\": every processor may run on every CPU of the set; \"1to1\": processor "
               "i is pinned to the i-th CPU");
  return std::nullopt;
}

int Validator::AddGroup(const std::string& group, int count, Affinity affinity, const CpuSet& cpus,
                        int declared_cpus, const ThreadAttributes& attributes, bool busy_spin,
                        SourceLocation where, const std::string& path) {
  const int queue = static_cast<int>(plan_.queues.size());
  plan_.queues.push_back({group, {}});
  const std::vector<int> cpu_list = cpus.ToVector();
  if (affinity == Affinity::kOneOf && count > 0) {
    if (count != declared_cpus) {
      diags_.Error(where, path,
                   absl::StrCat("affinity \"1to1\" pins processor i to the i-th CPU, but the group "
                                "has ",
                                count, " processors and ", declared_cpus, " CPUs"),
                   absl::StrCat("make processor_num equal to the number of CPUs in the cpuset (",
                                declared_cpus, "), or use affinity \"range\""));
    } else if (static_cast<int>(cpu_list.size()) < count) {
      diags_.Warning(where, path,
                     absl::StrCat("affinity \"1to1\": only ", cpu_list.size(), " of the ", count,
                                  " CPUs can be used here, so processors ", cpu_list.size(), "-",
                                  count - 1, " share CPUs (processor i runs on CPU ",
                                  cpus.ToString(), "[i mod ", cpu_list.size(), "])"),
                     "lower processor_num on this machine, or use affinity \"range\"");
    }
  }
  for (int i = 0; i < count; ++i) {
    ProcessorPlan p;
    p.group = group;
    p.index = i;
    p.name = absl::StrCat(group, "/", i);
    p.thread_name = ThreadName(group, i);  // Made distinct from other groups' in Finish.
    p.queue = queue;
    p.attributes = attributes;
    p.affinity = affinity;
    p.busy_spin = busy_spin;
    if (affinity == Affinity::kOneOf && !cpu_list.empty()) {
      p.attributes.cpus = CpuSet::Of({cpu_list[i % cpu_list.size()]});
    } else {
      p.attributes.cpus = cpus;
    }
    plan_.queues[queue].processors.push_back(static_cast<int>(plan_.processors.size()));
    plan_.processors.push_back(std::move(p));
  }
  return queue;
}

bool Validator::TaskTimesFit(const Message& task, const std::string& name, const Tree* tree,
                             const std::string& path) {
  bool fit = true;
  for (const char* field : {"period_us", "budget_us"}) {
    const google::protobuf::FieldDescriptor* descriptor =
        task.GetDescriptor()->FindFieldByName(field);
    const uint64_t value = task.GetReflection()->GetUInt64(task, descriptor);
    if (value <= kMaxTaskTimeUs) continue;
    fit = false;
    diags_.Error(Where(tree, task, field), absl::StrCat(path, ".", field),
                 absl::StrCat("task ", Quote(name), " has ", field, " ", value,
                              ", more than the most cadence takes: ", kMaxTaskTimeUs,
                              " us (2^62 ns, about 146 years)"),
                 "give it in microseconds, e.g. 1000 for 1 ms");
  }
  return fit;
}

void Validator::AddTask(const std::string& name, int queue, int64_t prio, int processor,
                        uint64_t period_us, uint64_t budget_us, SourceLocation where,
                        SourceLocation prio_where, SourceLocation timing_where,
                        const std::string& path) {
  if (name.empty()) {
    diags_.Error(where, absl::StrCat(path, ".name"), "a task has no name",
                 "give every task the name the code creates it with");
    return;
  }
  if (const std::string problem = NameProblem(name); !problem.empty()) {
    diags_.Error(where, absl::StrCat(path, ".name"),
                 absl::StrCat("task name ", Quote(name), " cannot be used: ", problem),
                 "use printable characters: the name shows in tables, traces and logs");
    return;
  }
  auto existing = plan_.tasks.find(name);
  if (existing != plan_.tasks.end()) {
    diags_.Error(where, path,
                 absl::StrCat("task ", Quote(name), " is named twice: here (queue ",
                              queue >= 0 ? plan_.queues[queue].name : "?", ") and at ",
                              existing->second.where.ToString(), " (queue ",
                              plan_.queues[existing->second.queue].name, ")"),
                 "a task runs in exactly one place; remove one of the entries");
    return;
  }
  if (queue < 0) return;
  int priority = static_cast<int>(std::clamp<int64_t>(prio, 0, kTaskPriorityLevels - 1));
  if (priority != prio) {
    diags_.Warning(prio_where, absl::StrCat(path, ".prio"),
                   absl::StrCat("task ", Quote(name), " has priority ", prio,
                                ", outside Cyber RT's levels 0-19: clamped to ", priority,
                                " (as Cyber RT does)"),
                   "use a priority from 0 (lowest) to 19 (highest)");
  }
  if (period_us > 0 && budget_us > period_us) {
    diags_.Warning(where, absl::StrCat(path, ".budget_us"),
                   absl::StrCat("task ", Quote(name), " has a budget (", budget_us,
                                " us) longer than its period (", period_us,
                                " us): every run may overrun into the next release"),
                   "make budget_us at most period_us");
  }
  if (!plan_.queues[queue].time_activations && (period_us > 0 || budget_us > 0)) {
    const char* fields = period_us > 0 && budget_us > 0 ? "period_us and budget_us need"
                         : period_us > 0                ? "period_us needs"
                                                        : "budget_us needs";
    diags_.Warning(
        timing_where, absl::StrCat(path, period_us > 0 ? ".period_us" : ".budget_us"),
        absl::StrCat("task ", Quote(name), " is on queue ", Quote(plan_.queues[queue].name),
                     ", whose activations are not timed, but its ", fields,
                     " the clock: its activations are timed"),
        "drop the task's period_us/budget_us, or time the queue's activations "
        "(time_activations: true, the default)");
  }
  TaskPlan t;
  t.name = name;
  t.queue = queue;
  t.priority = priority;
  t.processor = processor;
  t.period_us = period_us;
  t.budget_us = budget_us;
  t.where = where;
  plan_.tasks.emplace(name, std::move(t));
}

void Validator::Classic(const proto::SchedulerConf& sched, const Tree* tree) {
  const proto::ClassicConf& classic = sched.classic_conf();
  const Tree* classic_tree = Nested(tree, sched, "classic_conf");
  if (classic.groups_size() == 0) {
    if (sched.default_proc_num() > kMaxProcessors) {
      diags_.Error(Where(tree, sched, "default_proc_num"), "scheduler_conf.default_proc_num",
                   absl::StrCat("default_proc_num ", sched.default_proc_num(), " is more than ",
                                kMaxProcessors, " threads"));
      return;
    }
    const int count = sched.default_proc_num() > 0 ? static_cast<int>(sched.default_proc_num())
                                                   : plan_.process_cpus.Count();
    diags_.Note(
        sched.has_default_proc_num() ? Where(tree, sched, "default_proc_num") : FileOnly(),
        "scheduler_conf.classic_conf",
        absl::StrCat("no classic groups: one group \"default_grp\" with ", count,
                     " processors on CPUs ", plan_.process_cpus.ToString(),
                     sched.has_default_proc_num() ? " (default_proc_num)" : " (one per usable CPU)",
                     ", as Cyber RT does"));
    ThreadAttributes attributes;
    AddGroup("default_grp", count, Affinity::kAnyOf, plan_.process_cpus, plan_.process_cpus.Count(),
             attributes, false, FileOnly(), "default_grp");
    plan_.default_queue = 0;
    return;
  }
  for (int g = 0; g < classic.groups_size(); ++g) {
    const proto::SchedGroup& group = classic.groups(g);
    const Tree* gt = Nested(classic_tree, classic, "groups", g);
    const SourceLocation group_at = Where(classic_tree, classic, "groups", g);
    const std::string path = absl::StrCat("classic_conf.groups[", g, "]");
    auto [it, inserted] = group_names_.emplace(group.name(), group_at);
    if (inserted) group_refs_.emplace(group.name(), GroupRef{path, Where(gt, group, "name")});
    if (!inserted) {
      diags_.Error(Where(gt, group, "name"), absl::StrCat(path, ".name"),
                   absl::StrCat("group name ", Quote(group.name()), " is used twice: here and at ",
                                it->second.ToString()),
                   "give every group its own name");
      continue;
    }
    if (group.name().empty()) {
      diags_.Error(Where(gt, group, "name"), absl::StrCat(path, ".name"),
                   "a group has an empty name");
      continue;
    }
    if (const std::string problem = NameProblem(group.name()); !problem.empty()) {
      diags_.Error(ValueWhere(gt, group, "name"), absl::StrCat(path, ".name"),
                   absl::StrCat("group name ", Quote(group.name()), " cannot be used: ", problem),
                   "use printable characters: the name shows in thread names, tables and logs");
      continue;
    }
    std::optional<CpuSet> cpus = ResolveCpus(group.cpuset(), group.has_cpuset(),
                                             ValueWhere(gt, group, "cpuset"), path + ".cpuset");
    std::optional<Affinity> affinity =
        ResolveAffinity(group.affinity(), group.has_affinity(), ValueWhere(gt, group, "affinity"),
                        path + ".affinity");
    AttributeFields f = GatherAttributeFields(group, "processor_", group.inherit_rt_on_fork());
    LocateAttributeFields(&f, gt, group);
    const SourceLocation attr_at =
        group.has_processor_policy() ? ValueWhere(gt, group, "processor_policy") : group_at;
    std::optional<ThreadAttributes> attributes = ResolveAttributes(f, attr_at, path);
    const int count = static_cast<int>(group.processor_num());
    if (count == 0) {
      if (group.tasks_size() > 0) {
        diags_.Error(group.has_processor_num() ? Where(gt, group, "processor_num") : group_at,
                     path + ".processor_num",
                     absl::StrCat("group ", Quote(group.name()), " has ", group.tasks_size(),
                                  " tasks but no processors to run them"),
                     "set processor_num to at least 1");
      } else {
        diags_.Warning(
            group.has_processor_num() ? Where(gt, group, "processor_num") : group_at,
            path + ".processor_num",
            absl::StrCat("group ", Quote(group.name()), " has no processors: it does nothing"),
            "set processor_num, or remove the group");
      }
    }
    if (group.processor_num() > kMaxProcessors) {
      diags_.Error(Where(gt, group, "processor_num"), path + ".processor_num",
                   absl::StrCat("processor_num ", group.processor_num(), " is more than ",
                                kMaxProcessors, " threads"));
      continue;
    }
    int queue = -1;
    if (cpus.has_value() && affinity.has_value() && attributes.has_value()) {
      CpuSet::ParseError ignored;
      CpuSet declared = plan_.process_cpus;
      if (group.has_cpuset()) CpuSet::Parse(group.cpuset(), &declared, &ignored);
      attributes->cpus = *cpus;
      PrivilegeCheck(*attributes, attr_at, path + "." + f.policy_field,
                     absl::StrCat("group ", Quote(group.name())));
      DeadlineAffinityCheck(*attributes, *affinity, attr_at, path + "." + f.policy_field,
                            absl::StrCat("group ", Quote(group.name())));
      queue = AddGroup(group.name(), count, *affinity, *cpus, declared.Count(), *attributes,
                       group.busy_spin(), Where(gt, group, "affinity"), path + ".affinity");
      plan_.queues[queue].time_activations = group.time_activations();
      if (count > 0 && plan_.default_queue < 0) plan_.default_queue = queue;
    }
    for (int t = 0; t < group.tasks_size(); ++t) {
      const proto::ClassicTask& task = group.tasks(t);
      const Tree* tt = Nested(gt, group, "tasks", t);
      const std::string tpath = absl::StrCat(path, ".tasks[", t, "]");
      if (task.has_group_name() && task.group_name() != group.name()) {
        diags_.Error(
            ValueWhere(tt, task, "group_name"), tpath + ".group_name",
            absl::StrCat("task ", Quote(task.name()), " is listed in group ", Quote(group.name()),
                         " but its group_name says ", Quote(task.group_name())),
            "list the task inside the group it belongs to and drop group_name");
        continue;
      }
      if (!TaskTimesFit(task, task.name(), tt, tpath)) continue;
      AddTask(task.name(), queue, task.prio(), -1, task.period_us(), task.budget_us(),
              Where(gt, group, "tasks", t),
              task.has_prio() ? Where(tt, task, "prio") : Where(gt, group, "tasks", t),
              Where(tt, task, task.period_us() > 0 ? "period_us" : "budget_us"), tpath);
    }
  }
  if (plan_.default_queue < 0 && !diags_.HasErrors()) {
    diags_.Warning(FileOnly(), "classic_conf",
                   "no group has processors: tasks the config does not name have nowhere to run "
                   "(creating one will fail)");
  } else if (plan_.default_queue > 0) {
    diags_.Note(FileOnly(), "classic_conf",
                absl::StrCat("tasks the config does not name go to group ",
                             Quote(plan_.queues[plan_.default_queue].name),
                             " (the first group with processors)"));
  }
}

void Validator::Choreography(const proto::SchedulerConf& sched, const Tree* tree) {
  const proto::ChoreographyConf& c = sched.choreography_conf();
  const Tree* ct = Nested(tree, sched, "choreography_conf");
  const std::string path = "choreography_conf";
  const SourceLocation conf_at =
      sched.has_choreography_conf() ? Where(tree, sched, "choreography_conf") : FileOnly();

  // The choreography processors: one queue each.
  const int choreo_count =
      static_cast<int>(std::min<uint32_t>(c.choreography_processor_num(), INT32_MAX));
  const bool choreo_too_many = c.choreography_processor_num() > kMaxProcessors;
  if (choreo_too_many) {
    diags_.Error(Where(ct, c, "choreography_processor_num"), path + ".choreography_processor_num",
                 absl::StrCat("choreography_processor_num ", c.choreography_processor_num(),
                              " is more than ", kMaxProcessors, " threads"));
  }
  std::optional<CpuSet> choreo_cpus =
      ResolveCpus(c.choreography_cpuset(), c.has_choreography_cpuset(),
                  ValueWhere(ct, c, "choreography_cpuset"), path + ".choreography_cpuset");
  std::optional<Affinity> choreo_affinity =
      ResolveAffinity(c.choreography_affinity(), c.has_choreography_affinity(),
                      ValueWhere(ct, c, "choreography_affinity"), path + ".choreography_affinity");
  AttributeFields f = GatherAttributeFields(c, "choreography_processor_", c.inherit_rt_on_fork());
  LocateAttributeFields(&f, ct, c);
  const SourceLocation choreo_attr_at = c.has_choreography_processor_policy()
                                            ? ValueWhere(ct, c, "choreography_processor_policy")
                                            : conf_at;
  std::optional<ThreadAttributes> choreo_attributes = ResolveAttributes(f, choreo_attr_at, path);
  std::vector<int> choreo_processors;  // processor index of choreography processor i
  if (choreo_cpus && choreo_affinity && choreo_attributes && choreo_count > 0 && !choreo_too_many) {
    CpuSet::ParseError ignored;
    CpuSet declared = plan_.process_cpus;
    if (c.has_choreography_cpuset()) CpuSet::Parse(c.choreography_cpuset(), &declared, &ignored);
    choreo_attributes->cpus = *choreo_cpus;
    PrivilegeCheck(*choreo_attributes, choreo_attr_at, path + "." + f.policy_field,
                   "the choreography processors");
    DeadlineAffinityCheck(*choreo_attributes, *choreo_affinity, choreo_attr_at,
                          path + "." + f.policy_field, "the choreography processors");
    // One group per processor so each has its own queue; named choreo/<i>.
    const std::vector<int> cpu_list = choreo_cpus->ToVector();
    if (*choreo_affinity == Affinity::kOneOf) {
      if (choreo_count != declared.Count()) {
        diags_.Error(
            Where(ct, c, "choreography_affinity"), path + ".choreography_affinity",
            absl::StrCat("affinity \"1to1\" pins processor i to the i-th CPU, but there "
                         "are ",
                         choreo_count, " choreography processors and ", declared.Count(), " CPUs"),
            "make choreography_processor_num equal to the number of CPUs, or use "
            "\"range\"");
      } else if (static_cast<int>(cpu_list.size()) < choreo_count) {
        diags_.Warning(
            Where(ct, c, "choreography_affinity"), path + ".choreography_affinity",
            absl::StrCat("affinity \"1to1\": only ", cpu_list.size(), " of the ", choreo_count,
                         " CPUs can be used here, so processors share "
                         "CPUs (processor i on the (i mod ",
                         cpu_list.size(), ")-th)"));
      }
    }
    for (int i = 0; i < choreo_count; ++i) {
      const int queue = static_cast<int>(plan_.queues.size());
      plan_.queues.push_back({absl::StrCat("choreo/", i), {}, c.choreography_time_activations()});
      ProcessorPlan p;
      p.group = "choreo";
      p.index = i;
      p.name = absl::StrCat("choreo/", i);
      p.thread_name = p.name;
      p.queue = queue;
      p.attributes = *choreo_attributes;
      p.affinity = *choreo_affinity;
      p.busy_spin = c.choreography_busy_spin();
      if (*choreo_affinity == Affinity::kOneOf && !cpu_list.empty()) {
        p.attributes.cpus = CpuSet::Of({cpu_list[i % cpu_list.size()]});
      }
      choreo_processors.push_back(static_cast<int>(plan_.processors.size()));
      plan_.queues[queue].processors.push_back(static_cast<int>(plan_.processors.size()));
      plan_.processors.push_back(std::move(p));
    }
  }

  // The pool: one classic-style group for every task not placed on a processor.
  const int pool_count = static_cast<int>(std::min<uint32_t>(c.pool_processor_num(), INT32_MAX));
  const bool pool_too_many = c.pool_processor_num() > kMaxProcessors;
  if (pool_too_many) {
    diags_.Error(Where(ct, c, "pool_processor_num"), path + ".pool_processor_num",
                 absl::StrCat("pool_processor_num ", c.pool_processor_num(), " is more than ",
                              kMaxProcessors, " threads"));
  }
  std::optional<CpuSet> pool_cpus =
      ResolveCpus(c.pool_cpuset(), c.has_pool_cpuset(), ValueWhere(ct, c, "pool_cpuset"),
                  path + ".pool_cpuset");
  std::optional<Affinity> pool_affinity =
      ResolveAffinity(c.pool_affinity(), c.has_pool_affinity(), ValueWhere(ct, c, "pool_affinity"),
                      path + ".pool_affinity");
  AttributeFields pf = GatherAttributeFields(c, "pool_processor_", c.inherit_rt_on_fork());
  LocateAttributeFields(&pf, ct, c);
  const SourceLocation pool_attr_at =
      c.has_pool_processor_policy() ? ValueWhere(ct, c, "pool_processor_policy") : conf_at;
  std::optional<ThreadAttributes> pool_attributes = ResolveAttributes(pf, pool_attr_at, path);
  int pool_queue = -1;
  if (pool_cpus && pool_affinity && pool_attributes && pool_count > 0 && !pool_too_many) {
    CpuSet::ParseError ignored;
    CpuSet declared = plan_.process_cpus;
    if (c.has_pool_cpuset()) CpuSet::Parse(c.pool_cpuset(), &declared, &ignored);
    pool_attributes->cpus = *pool_cpus;
    PrivilegeCheck(*pool_attributes, pool_attr_at, path + "." + pf.policy_field,
                   "the pool processors");
    DeadlineAffinityCheck(*pool_attributes, *pool_affinity, pool_attr_at,
                          path + "." + pf.policy_field, "the pool processors");
    pool_queue =
        AddGroup("pool", pool_count, *pool_affinity, *pool_cpus, declared.Count(), *pool_attributes,
                 false, Where(ct, c, "pool_affinity"), path + ".pool_affinity");
    plan_.queues[pool_queue].time_activations = c.pool_time_activations();
    plan_.default_queue = pool_queue;
  }

  bool unplaced = false;
  for (int t = 0; t < c.tasks_size(); ++t) {
    const proto::ChoreographyTask& task = c.tasks(t);
    const Tree* tt = Nested(ct, c, "tasks", t);
    const std::string tpath = absl::StrCat(path, ".tasks[", t, "]");
    const SourceLocation task_at = Where(ct, c, "tasks", t);
    int queue = pool_queue;
    int processor = -1;
    if (task.has_processor()) {
      if (task.processor() < 0 || task.processor() >= choreo_count) {
        diags_.Error(Where(tt, task, "processor"), tpath + ".processor",
                     absl::StrCat("task ", Quote(task.name()), " is placed on processor ",
                                  task.processor(), ", but there ",
                                  choreo_count == 0
                                      ? std::string("are no choreography processors")
                                      : absl::StrCat("are ", choreo_count,
                                                     " choreography processors (0-",
                                                     choreo_count - 1, ")")),
                     choreo_count == 0
                         ? std::string("set choreography_processor_num")
                         : absl::StrCat("use a processor from 0 to ", choreo_count - 1));
        continue;
      }
      if (static_cast<size_t>(task.processor()) < choreo_processors.size()) {
        processor = choreo_processors[task.processor()];
        queue = plan_.processors[processor].queue;
      } else {
        queue = -1;
      }
    } else {
      unplaced = true;
      if (pool_count == 0) {
        diags_.Error(task_at, tpath,
                     absl::StrCat("task ", Quote(task.name()),
                                  " is not placed on a processor and the pool is empty: it could "
                                  "never run"),
                     "give it a `processor`, or set pool_processor_num");
        continue;
      }
    }
    if (!TaskTimesFit(task, task.name(), tt, tpath)) continue;
    AddTask(task.name(), queue, task.prio(), processor, task.period_us(), task.budget_us(), task_at,
            task.has_prio() ? Where(tt, task, "prio") : task_at,
            Where(tt, task, task.period_us() > 0 ? "period_us" : "budget_us"), tpath);
  }
  (void)unplaced;
  if (choreo_count == 0 && pool_count == 0) {
    diags_.Error(conf_at, path,
                 "choreography has no processors at all (choreography_processor_num and "
                 "pool_processor_num are 0)",
                 "set choreography_processor_num and/or pool_processor_num");
  } else if (pool_count == 0) {
    diags_.Warning(conf_at, path + ".pool_processor_num",
                   "the pool is empty: tasks the config does not name have nowhere to run "
                   "(creating one will fail)",
                   "set pool_processor_num to at least 1");
  }
}

void Validator::InnerThreads(const proto::SchedulerConf& sched, const Tree* tree) {
  std::map<std::string, SourceLocation> seen;
  for (int i = 0; i < sched.threads_size(); ++i) {
    const proto::InnerThread& thread = sched.threads(i);
    const Tree* tt = Nested(tree, sched, "threads", i);
    const SourceLocation at = Where(tree, sched, "threads", i);
    const std::string path = absl::StrCat("scheduler_conf.threads[", i, "]");
    if (thread.name().empty()) {
      diags_.Error(at, path + ".name", "a thread entry has no name",
                   "name it as the code does when it asks for its attributes");
      continue;
    }
    if (const std::string problem = NameProblem(thread.name()); !problem.empty()) {
      diags_.Error(ValueWhere(tt, thread, "name"), path + ".name",
                   absl::StrCat("thread name ", Quote(thread.name()), " cannot be used: ", problem),
                   "use printable characters: the name shows in tables and logs");
      continue;
    }
    auto [it, inserted] = seen.emplace(thread.name(), at);
    if (!inserted) {
      diags_.Error(at, path + ".name",
                   absl::StrCat("thread ", Quote(thread.name()), " is listed twice: here and at ",
                                it->second.ToString()),
                   "keep one entry per thread name");
      continue;
    }
    std::optional<CpuSet> cpus = ResolveCpus(thread.cpuset(), thread.has_cpuset(),
                                             ValueWhere(tt, thread, "cpuset"), path + ".cpuset");
    AttributeFields f = GatherAttributeFields(thread, "", thread.inherit_rt_on_fork());
    LocateAttributeFields(&f, tt, thread);
    if (!f.has_prio && !f.has_nice) f.prio = 0;  // Cyber's default prio 1 means nothing here.
    const SourceLocation attr_at = thread.has_policy() ? ValueWhere(tt, thread, "policy") : at;
    std::optional<ThreadAttributes> attributes = ResolveAttributes(f, attr_at, path);
    if (!cpus || !attributes) continue;
    attributes->cpus = thread.has_cpuset() ? *cpus : CpuSet();
    PrivilegeCheck(*attributes, attr_at, path + ".policy",
                   absl::StrCat("thread ", Quote(thread.name())));
    DeadlineAffinityCheck(*attributes, attr_at, path + ".cpuset",
                          absl::StrCat("thread ", Quote(thread.name())));
    plan_.inner_threads.push_back({thread.name(), *attributes, at});
  }
}

void Validator::RtBudget() {
  const int64_t runtime = machine_.EffectiveRtRuntimeUs();
  const int64_t period = machine_.cgroup_rt_period_us.has_value() && machine_.cgroup_path != "/"
                             ? *machine_.cgroup_rt_period_us
                             : machine_.rt_period_us;
  if (runtime < 0 || period <= 0) return;  // No throttling.
  const double budget = static_cast<double>(runtime) / static_cast<double>(period);
  // Declared demand per queue: the sum of budget/period of its periodic tasks.
  std::vector<double> demand(plan_.queues.size(), 0.0);
  for (const auto& [name, task] : plan_.tasks) {
    if (task.period_us > 0 && task.budget_us > 0) {
      demand[task.queue] += static_cast<double>(task.budget_us) / task.period_us;
    }
  }
  CpuSet rt_cpus;
  std::vector<std::string> over;
  double deadline_share = 0;
  std::vector<std::string> deadline_users;  // "bg/0 0.60", each SCHED_DEADLINE thread's share.
  auto add_deadline = [&](const std::string& who, const ThreadAttributes& a) {
    const double share = static_cast<double>(a.runtime_ns) / static_cast<double>(a.period_ns);
    deadline_share += share;
    deadline_users.push_back(absl::StrFormat("%s %.2f", who, share));
  };
  for (size_t q = 0; q < plan_.queues.size(); ++q) {
    CpuSet cpus;
    bool rt = false, spin = false;
    for (int index : plan_.queues[q].processors) {
      const ProcessorPlan& p = plan_.processors[index];
      if (!IsRealTime(p.attributes.policy) || !machine_.MayUse(p.attributes)) continue;
      if (p.attributes.policy == SchedPolicy::kDeadline) {
        add_deadline(p.name, p.attributes);
        continue;
      }
      rt = true;
      spin |= p.busy_spin;
      cpus = cpus.Union(p.attributes.cpus);
    }
    if (!rt) continue;
    rt_cpus = rt_cpus.Union(cpus);
    if (spin) {
      over.push_back(
          absl::StrCat(plan_.queues[q].name, " (busy-spins: 100% of CPU ", cpus.ToString(), ")"));
    } else if (demand[q] > budget * cpus.Count()) {
      over.push_back(absl::StrCat(plan_.queues[q].name, " (its periodic tasks' budgets add up to ",
                                  static_cast<int>(demand[q] * 100), "% of a CPU on ", cpus.Count(),
                                  " CPU(s))"));
    }
  }
  const std::string throttle = absl::StrCat("RT throttling allows real-time threads ", runtime,
                                            " us of every ", period, " us on each CPU");
  if (!over.empty()) {
    diags_.Warning(
        FileOnly(), "",
        absl::StrCat("real-time work can exceed the RT budget: ", absl::StrJoin(over, "; "), "; ",
                     throttle, ", so these processors will be paused"),
        "lower the busy-spin/budgets, or raise /proc/sys/kernel/sched_rt_runtime_us");
  }
  if (!rt_cpus.Empty() && plan_.process_cpus.IsSubsetOf(rt_cpus)) {
    diags_.Warning(FileOnly(), "",
                   absl::StrCat("real-time processors may run on every CPU of the process (",
                                rt_cpus.ToString(),
                                "): when they are busy, every other thread "
                                "of the process gets only what ",
                                "RT throttling leaves (", throttle, ")"),
                   "leave at least one CPU without real-time processors");
  }
  for (const InnerThreadPlan& t : plan_.inner_threads) {
    if (t.attributes.policy == SchedPolicy::kDeadline && machine_.MayUse(t.attributes)) {
      add_deadline(absl::StrCat("thread ", Quote(t.name)), t.attributes);
    }
  }
  const int cpus = std::max(1, plan_.process_cpus.Count());
  if (deadline_share > budget * cpus + 1e-9) {
    diags_.Warning(
        FileOnly(), "",
        absl::StrFormat("SCHED_DEADLINE processors and threads ask for %.2f CPUs of bandwidth "
                        "(%s), more than the %.2f the kernel admits on %d CPU(s) (%s): some "
                        "will be refused and fall back",
                        deadline_share, absl::StrJoin(deadline_users, ", "), budget * cpus, cpus,
                        throttle),
        "lower runtime/period, or use fewer SCHED_DEADLINE processors and threads; `schedctl "
        "budget` also counts the deadline servers and other processes' SCHED_DEADLINE threads");
  }
}

}  // namespace

Validation Validate(const LoadedConfig& config, const Machine& machine,
                    const ValidateOptions& options) {
  return Validator(&config, machine, options).Run();
}

Validation DefaultPlan(const Machine& machine, const std::string& reason,
                       const ValidateOptions& options, const std::string& path) {
  return Validator(nullptr, machine, options).RunDefault(reason, path);
}

absl::StatusOr<Validation> LoadAndValidate(const std::string& path, const Machine& machine,
                                           const ValidateOptions& options, ConfNaming naming) {
  struct stat st;
  if (naming == ConfNaming::kLookedUp && lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    Validation v = DefaultPlan(
        machine,
        absl::StrCat("no config file at ", path, ": using the default plan (classic, one group of ",
                     machine.Usable().Count(), " processors on CPUs ", machine.Usable().ToString(),
                     ", SCHED_OTHER)"),
        options, path);
    return v;
  }
  absl::StatusOr<LoadedConfig> loaded = LoadConfigFile(path);
  if (!loaded.ok()) return loaded.status();
  return Validate(*loaded, machine, options);
}

}  // namespace cadence
