#include "tools/schedctl/ps.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "scheduler/common/thread_attributes.h"

namespace cadence {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string UserName(uid_t uid) {
  struct passwd entry;
  struct passwd* found = nullptr;
  char buffer[1024];
  if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return absl::StrCat("uid ", uid, " (", found->pw_name, ")");
  }
  return absl::StrCat("uid ", uid);
}

// The hidepid= option /proc is mounted with, "" when none.
std::string ProcHidePid() {
  std::optional<std::string> text = ReadFile("/proc/self/mountinfo");
  if (!text) return "";
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5 || fields[4] != "/proc") continue;
    for (absl::string_view field : fields) {
      for (absl::string_view option : absl::StrSplit(field, ',')) {
        if (absl::StartsWith(option, "hidepid=")) return std::string(option);
      }
    }
  }
  return "";
}

// Opens `path` to see whether /proc lets us read it: OK, NotFound (gone) or
// PermissionDenied with a message that says whose process it is and what to do.
absl::Status CheckReadable(const std::string& path, pid_t pid) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return absl::OkStatus();
  }
  const int err = errno;
  if (err == ENOENT || err == ESRCH) {
    return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
  }
  if (err != EACCES && err != EPERM) {
    return absl::UnknownError(absl::StrCat("cannot read ", path, ": ", std::strerror(err)));
  }
  struct stat st;
  const std::string owner = stat(absl::StrCat("/proc/", pid).c_str(), &st) == 0
                                ? absl::StrCat(" belongs to ", UserName(st.st_uid))
                                : std::string(" is not ours");
  const std::string hidepid = ProcHidePid();
  return absl::PermissionDeniedError(
      absl::StrCat("cannot read ", path, ": ", std::strerror(err), ": pid ", pid, owner,
                   hidepid.empty() ? std::string(", and /proc does not let ")
                                   : absl::StrCat(", and /proc is mounted with ", hidepid,
                                                  ", which hides other users' processes from "),
                   UserName(getuid()), "; run schedctl ps as that user or as root"));
}

// Time on CPU in nanoseconds: schedstat's first field, else utime+stime from stat.
uint64_t CpuNanoseconds(pid_t pid, const ProcThread& thread) {
  if (std::optional<std::string> text =
          ReadFile(absl::StrCat("/proc/", pid, "/task/", thread.tid, "/schedstat"))) {
    std::vector<absl::string_view> fields = absl::StrSplit(*text, ' ', absl::SkipEmpty());
    uint64_t ns = 0;
    if (!fields.empty() && absl::SimpleAtoi(fields[0], &ns)) return ns;
  }
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return thread.cpu_ticks * (1000000000ull / static_cast<uint64_t>(ticks_per_second));
}

std::string PolicyText(int native) {
  SchedPolicy policy;
  if (FromNativePolicy(native, &policy)) return PolicyName(policy);
  if (native == 7) return "SCHED_EXT";
  return absl::StrCat("policy ", native);
}

// "m:ss.cc" like ps's TIME.
std::string CpuTime(uint64_t ns) {
  const uint64_t centiseconds = ns / 10000000;
  return absl::StrFormat("%d:%02d.%02d", centiseconds / 6000, (centiseconds / 100) % 60,
                         centiseconds % 100);
}

}  // namespace

absl::StatusOr<ProcessSample> SampleProcess(pid_t pid) {
  if (pid <= 0) return absl::InvalidArgumentError(absl::StrCat("not a process id: ", pid));
  const std::string dir = absl::StrCat("/proc/", pid);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
    return CheckReadable(dir, pid);
  }
  // A thread id that is not a process's main thread also has a /proc/TID entry (hidden
  // from listings); say which process it belongs to.
  if (std::optional<std::string> status = ReadFile(dir + "/status")) {
    for (absl::string_view line : absl::StrSplit(*status, '\n')) {
      pid_t tgid = 0;
      if (absl::ConsumePrefix(&line, "Tgid:") &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &tgid) && tgid != pid) {
        return absl::NotFoundError(absl::StrCat(pid, " is a thread of process ", tgid,
                                                ", not a process: try schedctl ps ", tgid));
      }
    }
  }
  ProcessSample sample;
  sample.pid = pid;
  sample.uid = st.st_uid;
  if (absl::Status readable = CheckReadable(dir + "/task", pid); !readable.ok()) return readable;
  absl::StatusOr<std::vector<pid_t>> tids = ListThreads(pid);
  if (!tids.ok()) {
    if (absl::Status readable = CheckReadable(dir + "/task", pid); !readable.ok()) return readable;
    return tids.status();
  }
  if (std::optional<std::string> comm = ReadFile(dir + "/comm")) {
    sample.name = std::string(absl::StripTrailingAsciiWhitespace(*comm));
  }
  for (pid_t tid : *tids) {
    const std::string stat_path = absl::StrCat(dir, "/task/", tid, "/stat");
    if (absl::Status readable = CheckReadable(stat_path, pid); !readable.ok()) {
      if (absl::IsNotFound(readable)) continue;  // The thread exited.
      return readable;
    }
    absl::StatusOr<ProcThread> thread = ReadProcThread(pid, tid);
    if (!thread.ok()) {
      if (absl::IsNotFound(thread.status())) continue;
      return thread.status();
    }
    ThreadSample t;
    t.thread = *thread;
    t.cpu_ns = CpuNanoseconds(pid, *thread);
    if (absl::StatusOr<ThreadAttributes> a = ReadThreadAttributes(tid); a.ok()) t.attributes = *a;
    sample.threads.push_back(std::move(t));
  }
  if (sample.threads.empty()) {
    return absl::NotFoundError(absl::StrCat("no process with pid ", pid, " (it exited)"));
  }
  return sample;
}

std::string FormatThreadTable(const ProcessSample* first, const ProcessSample& last,
                              std::chrono::nanoseconds elapsed) {
  std::map<pid_t, uint64_t> before;
  if (first != nullptr) {
    for (const ThreadSample& t : first->threads) before[t.thread.tid] = t.cpu_ns;
  }
  const bool measured = first != nullptr && elapsed.count() > 0;
  std::string out = absl::StrCat(
      "pid ", last.pid, " (", last.name, "), ", UserName(last.uid), ": ", last.threads.size(),
      last.threads.size() == 1 ? " thread" : " threads", "; ",
      measured
          ? absl::StrFormat("CPU%% over %d ms (100%% = one CPU)",
                            std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count())
          : std::string("CPU% not measured"),
      "; TIME since each thread started\n");
  const char kRow[] = "%7s  %-15s %1s %-14s %6s %4s  %-12s %4s %6s %10s\n";
  absl::StrAppendFormat(&out, kRow, "TID", "NAME", "S", "POLICY", "RTPRIO", "NICE", "ALLOWED CPUS",
                        "LAST", "CPU%", "TIME");
  std::vector<std::string> deadline;
  for (const ThreadSample& t : last.threads) {
    const ProcThread& p = t.thread;
    SchedPolicy policy = SchedPolicy::kOther;
    const bool known = FromNativePolicy(p.policy, &policy);
    const bool realtime = known && (policy == SchedPolicy::kFifo || policy == SchedPolicy::kRr);
    const bool nice = known && UsesNice(policy);
    std::string cpu_percent = "-";
    if (auto it = before.find(p.tid); measured && it != before.end() && t.cpu_ns >= it->second) {
      cpu_percent = absl::StrFormat(
          "%.1f", 100.0 * static_cast<double>(t.cpu_ns - it->second) / elapsed.count());
    }
    absl::StrAppendFormat(&out, kRow, absl::StrCat(p.tid), p.name, std::string(1, p.state),
                          PolicyText(p.policy), realtime ? absl::StrCat(p.rt_priority) : "-",
                          nice ? absl::StrCat(p.nice) : "-", p.cpus_allowed.ToString(),
                          absl::StrCat(p.last_cpu), cpu_percent, CpuTime(t.cpu_ns));
    if (known && policy == SchedPolicy::kDeadline && t.attributes.has_value()) {
      deadline.push_back(absl::StrCat("  tid ", p.tid, " ", p.name, ": SCHED_DEADLINE runtime ",
                                      t.attributes->runtime_ns / 1000, " us, deadline ",
                                      t.attributes->deadline_ns / 1000, " us, period ",
                                      t.attributes->period_ns / 1000, " us\n"));
    }
  }
  for (const std::string& line : deadline) out += line;
  return out;
}

}  // namespace cadence
