#include "scheduler/common/proc_thread.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cadence {
namespace {

std::string TaskDir(pid_t pid, pid_t tid) {
  return pid == 0 ? absl::StrCat("/proc/self/task/", tid)
                  : absl::StrCat("/proc/", pid, "/task/", tid);
}

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

}  // namespace

absl::StatusOr<ProcThread> ReadProcThread(pid_t pid, pid_t tid) {
  const std::string dir = TaskDir(pid, tid);
  std::string stat, status;
  if (!ReadWhole(dir + "/stat", &stat) || !ReadWhole(dir + "/status", &status)) {
    return absl::NotFoundError(absl::StrCat("cannot read ", dir, ": ", std::strerror(errno)));
  }
  ProcThread t;
  t.tid = tid;
  // comm is in parentheses and may hold spaces or ')': the fields start after the last ')'.
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::InternalError(absl::StrCat("unexpected format of ", dir, "/stat"));
  }
  t.name = stat.substr(open + 1, close - open - 1);
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  // fields[0] is stat field 3 (state); stat field n is fields[n - 3].
  auto field = [&](int n, int64_t* value) {
    return static_cast<int>(fields.size()) > n - 3 && absl::SimpleAtoi(fields[n - 3], value);
  };
  int64_t utime = 0, stime = 0, prio = 0, nice = 0, cpu = 0, rt = 0, policy = 0;
  if (fields.empty() || !field(14, &utime) || !field(15, &stime) || !field(18, &prio) ||
      !field(19, &nice) || !field(39, &cpu) || !field(40, &rt) || !field(41, &policy)) {
    return absl::InternalError(absl::StrCat("unexpected format of ", dir, "/stat"));
  }
  t.state = fields[0].empty() ? '?' : fields[0][0];
  t.cpu_ticks = static_cast<uint64_t>(utime + stime);
  t.priority = static_cast<int>(prio);
  t.nice = static_cast<int>(nice);
  t.last_cpu = static_cast<int>(cpu);
  t.rt_priority = static_cast<int>(rt);
  t.policy = static_cast<int>(policy);
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, "Cpus_allowed_list:")) {
      CpuSet::ParseError error;
      CpuSet::Parse(std::string(absl::StripAsciiWhitespace(line)), &t.cpus_allowed, &error);
    } else if (absl::ConsumePrefix(&line, "voluntary_ctxt_switches:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &t.voluntary_switches);
    } else if (absl::ConsumePrefix(&line, "nonvoluntary_ctxt_switches:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &t.involuntary_switches);
    }
  }
  return t;
}

absl::StatusOr<std::vector<pid_t>> ListThreads(pid_t pid) {
  const std::string path = pid == 0 ? "/proc/self/task" : absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot list ", path, ": ", std::strerror(errno)));
  }
  std::vector<pid_t> tids;
  while (struct dirent* entry = readdir(dir)) {
    int tid = 0;
    if (absl::SimpleAtoi(entry->d_name, &tid)) tids.push_back(tid);
  }
  closedir(dir);
  std::sort(tids.begin(), tids.end());
  return tids;
}

}  // namespace cadence
