#include "scheduler/common/testing/thread_state.h"

#include <sys/syscall.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace cadence::test_support {

using Clock = std::chrono::steady_clock;

bool WaitForThread(pid_t tid, const std::function<bool(const ProcThread&)>& done) {
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < give_up) {
    absl::StatusOr<ProcThread> t = ReadProcThread(0, tid);
    if (t.ok() && done(*t)) return true;
    std::this_thread::yield();
  }
  return false;
}

std::string BlockedInSyscall(pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/self/task/", tid, "/syscall"));
  std::string first;
  in >> first;
  return first;
}

std::string SleepsInFutex(pid_t tid) {
  absl::StatusOr<ProcThread> at_start = ReadProcThread(0, tid);
  if (!at_start.ok()) return std::string(at_start.status().message());
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(50);
  for (int i = 0; i < 200 || Clock::now() < until; ++i) {
    const std::string syscall_nr = BlockedInSyscall(tid);
    absl::StatusOr<ProcThread> now = ReadProcThread(0, tid);
    if (!now.ok()) return std::string(now.status().message());
    if (now->state != 'S') {
      return absl::StrCat("state ", std::string(1, now->state), " at read ", i);
    }
    if (syscall_nr != std::to_string(SYS_futex)) {
      return absl::StrCat("in syscall \"", syscall_nr, "\", not futex (", SYS_futex, "), at read ",
                          i);
    }
    if (now->cpu_ticks != at_start->cpu_ticks) {
      return absl::StrCat("CPU time grew from ", at_start->cpu_ticks, " to ", now->cpu_ticks,
                          " ticks at read ", i);
    }
  }
  return "";
}

}  // namespace cadence::test_support
