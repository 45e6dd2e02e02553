#include "tools/bench/system.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "scheduler/common/thread_creation.h"

namespace cadence::bench {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FirstLine(const std::string& path) {
  std::string text = ReadFile(path);
  return std::string(absl::StripAsciiWhitespace(text.substr(0, text.find('\n'))));
}

// The value of a "Key:  value" line of a /proc status-like file ("" when absent).
std::string StatusField(const std::string& text, const std::string& key) {
  // "Key:\tvalue" (/proc/<pid>/status) or "key\t: value" (/proc/cpuinfo).
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos &&
        absl::StripAsciiWhitespace(line.substr(0, colon)) == key) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

// "12345 kB" -> 12345 * 1024.
int64_t KbField(const std::string& text, const std::string& key) {
  std::string value = StatusField(text, key);
  int64_t kb = 0;
  if (!absl::SimpleAtoi(value.substr(0, value.find(' ')), &kb)) return 0;
  return kb * 1024;
}

std::string TaskPath(pid_t tid, const char* file) {
  return absl::StrCat("/proc/self/task/", tid, "/", file);
}

// The fields of /proc/self/task/<tid>/stat after the command name (field 3 onwards).
std::vector<std::string> StatFields(pid_t tid) {
  std::string text = ReadFile(TaskPath(tid, "stat"));
  const size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return {};
  return absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
}

}  // namespace

std::string LoadAverage() { return FirstLine("/proc/loadavg"); }

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void SleepUntil(int64_t deadline_ns) {
  struct timespec ts;
  ts.tv_sec = deadline_ns / 1000000000;
  ts.tv_nsec = deadline_ns % 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void Spin(int64_t ns) {
  const int64_t end = NowNs() + ns;
  while (NowNs() < end) {
  }
}

std::vector<std::string> DescribeMachine() {
  std::vector<std::string> lines;
  struct utsname u;
  uname(&u);
  const std::string realtime = FirstLine("/sys/kernel/realtime");
  const bool rt = realtime == "1" || absl::StrContains(u.version, "PREEMPT_RT");
  lines.push_back(absl::StrCat("nproc: ", sysconf(_SC_NPROCESSORS_ONLN)));
  lines.push_back(absl::StrCat("kernel: ", u.release, " (", u.version, ") ", u.machine));
  lines.push_back(absl::StrCat("PREEMPT_RT: ", rt ? "yes" : "no", " (/sys/kernel/realtime: ",
                               realtime.empty() ? "absent" : realtime, ")"));
  const std::string cpuinfo = ReadFile("/proc/cpuinfo");
  lines.push_back(absl::StrCat("cpu: ", StatusField(cpuinfo, "model name"),
                               absl::StrContains(cpuinfo, " hypervisor") ? " (virtual machine)"
                                                                         : ""));
  const std::string idle = FirstLine("/sys/devices/system/cpu/cpuidle/current_driver");
  lines.push_back(absl::StrCat(
      "cpuidle driver: ", idle.empty() ? "none" : idle, "; clocksource: ",
      FirstLine("/sys/devices/system/clocksource/clocksource0/current_clocksource")));
  lines.push_back(absl::StrCat("loadavg at start: ", FirstLine("/proc/loadavg"),
                               " (other work on the machine skews every row)"));
  lines.push_back(absl::StrCat("sched_rt_runtime_us/period_us: ",
                               FirstLine("/proc/sys/kernel/sched_rt_runtime_us"), "/",
                               FirstLine("/proc/sys/kernel/sched_rt_period_us")));
  return lines;
}

pid_t Gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

absl::Status SetUpCurrentThread(const ThreadSetup& setup) {
  if (!setup.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : setup.cpus) CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      return absl::InternalError(absl::StrCat("sched_setaffinity: ", std::strerror(errno)));
    }
  }
  struct sched_param param {};
  param.sched_priority = setup.policy == SCHED_FIFO ? setup.rt_priority : 0;
  if (sched_setscheduler(0, setup.policy, &param) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("sched_setscheduler(", setup.policy, ", ", param.sched_priority,
                     "): ", std::strerror(errno)));
  }
  if (setup.policy != SCHED_FIFO && setpriority(PRIO_PROCESS, Gettid(), setup.nice) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("setpriority: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ThreadCpuNs(pid_t tid) {
  // The kernel's per-thread CPU-time clock of another thread of this process
  // (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)): nanosecond resolution, unlike /proc ticks.
  const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6);
  struct timespec ts;
  if (clock_gettime(clock, &ts) == 0) {
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  std::vector<std::string> f = StatFields(tid);  // utime, stime: fields 14, 15
  int64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) || !absl::SimpleAtoi(f[12], &stime)) {
    return absl::NotFoundError(absl::StrCat("no CPU time for thread ", tid));
  }
  return (utime + stime) * (1000000000 / sysconf(_SC_CLK_TCK));
}

absl::StatusOr<uint64_t> ThreadContextSwitches(pid_t tid) {
  const std::string text = ReadFile(TaskPath(tid, "status"));
  uint64_t voluntary = 0, involuntary = 0;
  if (!absl::SimpleAtoi(StatusField(text, "voluntary_ctxt_switches"), &voluntary) ||
      !absl::SimpleAtoi(StatusField(text, "nonvoluntary_ctxt_switches"), &involuntary)) {
    return absl::NotFoundError(absl::StrCat("no context switches for thread ", tid));
  }
  return voluntary + involuntary;
}

char ThreadState(pid_t tid) {
  std::vector<std::string> f = StatFields(tid);
  return f.empty() || f[0].empty() ? '?' : f[0][0];
}

std::vector<CpuTicks> PerCpuTicks() {
  std::vector<CpuTicks> out;
  // "cpuN user nice system idle iowait irq softirq steal ...", in USER_HZ ticks.
  for (absl::string_view line : absl::StrSplit(ReadFile("/proc/stat"), '\n')) {
    if (!absl::StartsWith(line, "cpu") || line.size() < 4 || !absl::ascii_isdigit(line[3])) {
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    CpuTicks t;
    if (!absl::SimpleAtoi(f[0].substr(3), &t.cpu)) continue;
    for (size_t i = 1; i < f.size() && i <= 8; ++i) {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(f[i], &v)) break;
      t.total += v;
      // idle, iowait, and steal (the hypervisor ran something else: not this machine's work).
      if (i == 4 || i == 5 || i == 8) t.idle += v;
    }
    out.push_back(t);
  }
  return out;
}

Memory ProcessMemory() {
  const std::string text = ReadFile("/proc/self/status");
  return {KbField(text, "VmRSS"), KbField(text, "VmSize")};
}

DmaLatencyHold::DmaLatencyHold() {
  fd_ = open("/dev/cpu_dma_latency", O_RDWR | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = absl::StrCat("open /dev/cpu_dma_latency: ", std::strerror(errno));
    return;
  }
  const int32_t zero = 0;
  if (write(fd_, &zero, sizeof(zero)) != sizeof(zero)) {
    error_ = absl::StrCat("write /dev/cpu_dma_latency: ", std::strerror(errno));
    close(fd_);
    fd_ = -1;
  }
}

DmaLatencyHold::~DmaLatencyHold() {
  if (fd_ >= 0) close(fd_);
}

bool HaveProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (access(absl::StrCat(dir, "/", name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

BackgroundLoad::BackgroundLoad(int cpus, double settle_s) {
  const bool have_stress_ng = HaveProgram("stress-ng");
  if (have_stress_ng) {
    const std::string n = absl::StrCat(cpus);
    std::vector<const char*> argv = {"stress-ng", "--cpu", n.c_str(), "--quiet", nullptr};
    const pid_t parent = getpid();
    child_ = fork();
    if (child_ == 0) {
      // Ends with the bench, also when it is killed or interrupted (stress-ng stops its
      // workers on SIGTERM), so that no load is left running.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      setpgid(0, 0);
      // Real-time attributes are not inherited (SCHED_RESET_ON_FORK or SCHED_OTHER
      // callers); nice 0 as the protocol asks.
      struct sched_param param {};
      sched_setscheduler(0, SCHED_OTHER, &param);
      setpriority(PRIO_PROCESS, 0, 0);
      cpu_set_t all;
      CPU_ZERO(&all);
      for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
      sched_setaffinity(0, sizeof(all), &all);
      execvp(argv[0], const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    if (child_ > 0) {
      setpgid(child_, child_);
      description_ = absl::StrCat("stress-ng --cpu ", cpus, " (nice 0)");
    }
  }
  if (child_ <= 0) {
    child_ = -1;
    absl::Status refused;
    for (int i = 0; i < cpus && refused.ok(); ++i) {
      absl::StatusOr<std::thread> thread = CreateThread("busy load thread", [this] {
        SetUpCurrentThread({}).IgnoreError();  // SCHED_OTHER nice 0, any CPU.
        while (!stop_.load(std::memory_order_relaxed)) {
        }
      });
      if (thread.ok()) {
        threads_.push_back(*std::move(thread));
      } else {
        refused = thread.status();
      }
    }
    description_ = absl::StrCat(threads_.size(), " busy threads at nice 0 (",
                                have_stress_ng ? "stress-ng could not be started" : "stress-ng not found",
                                ")");
    if (!refused.ok()) {
      absl::StrAppend(&description_, "; only ", threads_.size(), " of ", cpus,
                      " could be started: ", refused.message());
    }
  }
  SleepUntil(NowNs() + static_cast<int64_t>(settle_s * 1e9));
}

BackgroundLoad::~BackgroundLoad() {
  if (child_ > 0) {
    kill(-child_, SIGTERM);
    int status = 0;
    waitpid(child_, &status, 0);
  }
  stop_.store(true);
  for (auto& t : threads_) t.join();
}

absl::StatusOr<std::string> RunCapturingStdout(std::vector<std::string> args, bool quiet_stderr) {
  if (args.empty()) return absl::InvalidArgumentError("no program to run");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  const pid_t parent = getpid();
  const pid_t child = fork();
  if (child < 0) {
    const int error = errno;
    close(pipefd[0]);
    close(pipefd[1]);
    return absl::ErrnoToStatus(error, absl::StrCat("cannot start ", args[0], ": fork"));
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // Ends with the bench.
    if (getppid() != parent) _exit(1);
    if (dup2(pipefd[1], STDOUT_FILENO) < 0) _exit(126);
    if (quiet_stderr) {
      const int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, STDERR_FILENO);
    }
    struct sched_param param {};
    sched_setscheduler(0, SCHED_OTHER, &param);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = read(pipefd[0], buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buffer, n);
  }
  close(pipefd[0]);
  // This child only: waitpid(-1) would also reap the background load's.
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0) return absl::ErrnoToStatus(errno, absl::StrCat("waitpid for ", args[0]));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return out;
  return absl::InternalError(
      WIFEXITED(status) ? absl::StrCat(args[0], " failed (exit ", WEXITSTATUS(status),
                                       WEXITSTATUS(status) == 127 ? ": could not be run" : "", ")")
                        : absl::StrCat(args[0], " failed (signal ", WTERMSIG(status), ")"));
}

CyclictestResult RunCyclictest(int prio, int cpu, int loops,
                               const std::vector<std::string>& extra) {
  CyclictestResult r;
  std::vector<std::string> args = {"cyclictest", "-m",
                                   "-p",         absl::StrCat(prio),
                                   "-i",         "1000",
                                   "-l",         absl::StrCat(loops),
                                   "-a",         absl::StrCat(cpu),
                                   "-q",         "-h",
                                   "10000"};
  args.insert(args.end(), extra.begin(), extra.end());
  r.command = absl::StrJoin(args, " ");
  if (!HaveProgram("cyclictest")) {
    r.why_not = "cyclictest not found (Debian package rt-tests)";
    return r;
  }
  absl::StatusOr<std::string> run = RunCapturingStdout(args, /*quiet_stderr=*/true);
  if (!run.ok()) {
    r.why_not = std::string(run.status().message());
    return r;
  }
  const std::string& out = *run;
  std::vector<uint64_t> counts(10001, 0);
  double max_us = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "# Max Latencies:")) {
      uint64_t v = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(16)), &v)) max_us = v;
    } else if (absl::StartsWith(line, "# Histogram Overflows:")) {
      absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(22)), &r.overflows);
    } else if (!line.empty() && absl::ascii_isdigit(line[0])) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      uint64_t bucket = 0, count = 0;
      if (f.size() >= 2 && absl::SimpleAtoi(f[0], &bucket) && absl::SimpleAtoi(f[1], &count) &&
          bucket < counts.size()) {
        counts[bucket] += count;
      }
    }
  }
  r.latency = FromHistogram(counts, r.overflows, max_us);
  r.late = r.overflows;
  for (size_t us = 1001; us < counts.size(); ++us) r.late += counts[us];
  r.ran = r.latency.count > 0;
  if (!r.ran) r.why_not = "cyclictest printed no histogram";
  return r;
}

}  // namespace cadence::bench
