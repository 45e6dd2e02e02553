// Test support: what the kernel says a thread of this process is doing, read from
// /proc/self/task/<tid>/ — for tests that must show a thread blocked, asleep in futex
// without using CPU, or boosted, rather than assume it.
#ifndef CADENCE_SCHEDULER_COMMON_TESTING_THREAD_STATE_H_
#define CADENCE_SCHEDULER_COMMON_TESTING_THREAD_STATE_H_

#include <sys/types.h>

#include <functional>
#include <string>

#include "scheduler/common/proc_thread.h"

namespace cadence::test_support {

// Polls thread `tid` of this process until `done(thread)` holds; false after 20 s (a
// failure, not a timing: the state waited for comes as soon as the other thread gets there).
bool WaitForThread(pid_t tid, const std::function<bool(const ProcThread&)>& done);

// The first field of /proc/self/task/<tid>/syscall: the number of the system call the
// thread is blocked in, "running" when it is on a CPU ("" when unreadable).
std::string BlockedInSyscall(pid_t tid);

// For a thread seen in state S: checks that it sleeps in the futex system call without
// using CPU — 200 reads, and at least 50 ms (5 clock ticks), in which it stays in S, blocked
// in futex, its CPU time (stat utime + stime) unchanged. "" when so, else what was seen.
std::string SleepsInFutex(pid_t tid);

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_COMMON_TESTING_THREAD_STATE_H_
