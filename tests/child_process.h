// Test support for tests that run the project's binaries as child processes (fork + execve
// from the test's runfiles tree): a Child whose stdout is a pipe read line by line (so a
// test waits for a readiness line, never for a fixed time) and whose stderr goes to a file;
// its end (exit code, signal, output) as an Outcome; and its threads read back from /proc.
// Every wait is bounded by kGuard, a failure guard only.
//
// Fork from a single-threaded test: the child allocates between fork and execve.
#ifndef CADENCE_TESTS_CHILD_PROCESS_H_
#define CADENCE_TESTS_CHILD_PROCESS_H_

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "scheduler/common/proc_thread.h"

extern char** environ;

namespace cadence::test_support {

// The failure guard of every wait on a child.
constexpr std::chrono::seconds kGuard(30);

inline std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How a finished child ended and what it printed.
struct Outcome {
  bool exited = false;  // WIFEXITED
  int exit_code = -1;   // WEXITSTATUS
  int signal = 0;       // WTERMSIG when killed
  std::string out;
  std::string err;

  std::string Describe() const {
    return absl::StrCat(
        exited ? absl::StrCat("exit code ", exit_code) : absl::StrCat("killed by signal ", signal),
        "\n--- stdout ---\n", out, "\n--- stderr ---\n", err);
  }
};

// A binary running as a child process: stdout through a pipe, stderr into a file.
class Child {
 public:
  // Starts `binary` with `args` (argv[0] is the binary). `before_exec` runs in the child
  // between fork and execv (e.g. to drop privileges); a non-empty result is the reason it
  // failed, and the child exits 127 after printing it.
  static std::unique_ptr<Child> Start(const std::string& binary,
                                      const std::vector<std::string>& args,
                                      std::string (*before_exec)() = nullptr) {
    auto child = std::unique_ptr<Child>(new Child());
    child->command_ = absl::StrCat(binary, " ", absl::StrJoin(args, " "));
    child->err_path_ = absl::StrCat(TempDir(), "/child_stderr_XXXXXX");
    const int err_fd = mkostemp(child->err_path_.data(), O_CLOEXEC);
    if (err_fd < 0) {
      ADD_FAILURE() << "mkostemp: " << strerror(errno);
      return nullptr;
    }
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << strerror(errno);
      close(err_fd);
      return nullptr;
    }
    std::vector<std::string> argv_storage = {binary};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    // The test is single-threaded, so the child may allocate between fork and execv.
    const pid_t pid = fork();
    if (pid == 0) {
      // dup2 clears O_CLOEXEC on the new descriptors; the originals close at execv.
      if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0) _exit(126);
      if (before_exec != nullptr) {
        const std::string failed = before_exec();
        if (!failed.empty()) {
          const std::string message = "before exec: " + failed + " failed\n";
          [[maybe_unused]] ssize_t n = write(STDERR_FILENO, message.data(), message.size());
          _exit(127);
        }
      }
      execve(binary.c_str(), argv.data(), environ);
      const std::string message = absl::StrCat("execve ", binary, ": ", strerror(errno), "\n");
      [[maybe_unused]] ssize_t n = write(STDERR_FILENO, message.data(), message.size());
      _exit(127);
    }
    close(out[1]);
    close(err_fd);
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << strerror(errno);
      close(out[0]);
      return nullptr;
    }
    child->pid_ = pid;
    child->out_fd_ = out[0];
    return child;
  }

  ~Child() {
    if (pid_ > 0) {
      // A test that failed half-way: do not leave the child behind.
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (!err_path_.empty()) unlink(err_path_.c_str());
  }

  pid_t pid() const { return pid_; }
  const std::string& command() const { return command_; }
  const std::string& out() const { return out_; }
  std::string err() const { return ReadFile(err_path_); }

  // Reads stdout until a line containing `marker` has arrived. False (with a gtest
  // failure) when the child closed stdout first or the guard expired.
  bool WaitForLine(const std::string& marker) {
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    size_t scanned = 0;
    while (true) {
      // Only complete lines count.
      for (size_t end; (end = out_.find('\n', scanned)) != std::string::npos; scanned = end + 1) {
        if (absl::StrContains(out_.substr(scanned, end - scanned), marker)) return true;
      }
      if (eof_) {
        ADD_FAILURE() << command_ << ": closed stdout before printing '" << marker << "'\n"
                      << "--- stdout ---\n"
                      << out_ << "\n--- stderr ---\n"
                      << err();
        return false;
      }
      if (!ReadSome(deadline)) {
        ADD_FAILURE() << command_ << ": no '" << marker << "' within " << kGuard.count()
                      << " s\n--- stdout ---\n"
                      << out_ << "\n--- stderr ---\n"
                      << err();
        return false;
      }
    }
  }

  // Sends `signal` (0: none), reads stdout to its end and reaps the child.
  Outcome Finish(int signal = 0) {
    Outcome outcome;
    if (pid_ <= 0) return outcome;
    if (signal != 0) {
      EXPECT_EQ(kill(pid_, signal), 0) << strerror(errno);
    }
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    while (!eof_) {
      if (!ReadSome(deadline)) {
        ADD_FAILURE() << command_ << ": did not finish within " << kGuard.count()
                      << " s; killing it";
        kill(pid_, SIGKILL);
        break;
      }
    }
    // Stdout closed: the child is exiting. Its exit is awaited through a pidfd, guarded too.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) {
      if (!WaitReadable(pidfd, deadline)) {
        ADD_FAILURE() << command_ << ": closed stdout but did not exit within " << kGuard.count()
                      << " s; killing it";
        kill(pid_, SIGKILL);
      }
      close(pidfd);
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid_, &status, 0), pid_) << strerror(errno);
    pid_ = -1;
    outcome.exited = WIFEXITED(status);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    outcome.out = out_;
    outcome.err = err();
    return outcome;
  }

 private:
  Child() = default;

  // Waits (at most until `deadline`) for `fd` to become readable; false when the deadline
  // passed (or poll failed).
  static bool WaitReadable(int fd, std::chrono::steady_clock::time_point deadline) {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      struct pollfd p = {fd, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left.count()) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) {
        ADD_FAILURE() << "poll: " << strerror(errno);
        return false;
      }
      if (ready > 0) return true;
    }
  }

  // Waits (at most until `deadline`) for stdout to become readable and reads what is
  // there; false when the deadline passed.
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      if (!WaitReadable(out_fd_, deadline)) return false;
      char buffer[4096];
      const ssize_t n = read(out_fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
      } else {
        out_.append(buffer, static_cast<size_t>(n));
      }
      return true;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool eof_ = false;
  std::string command_;
  std::string err_path_;
  std::string out_;
};

// Runs a binary to its end (guarded) and returns how it ended.
inline Outcome RunToEnd(const std::string& binary, const std::vector<std::string>& args) {
  std::unique_ptr<Child> child = Child::Start(binary, args);
  if (child == nullptr) return {};
  return child->Finish();
}

// The threads of `pid`, by name (the kernel's comm), read from /proc.
inline std::map<std::string, ProcThread> ThreadsOf(pid_t pid) {
  std::map<std::string, ProcThread> threads;
  absl::StatusOr<std::vector<pid_t>> tids = ListThreads(pid);
  EXPECT_TRUE(tids.ok()) << tids.status();
  if (!tids.ok()) return threads;
  for (pid_t tid : *tids) {
    absl::StatusOr<ProcThread> thread = ReadProcThread(pid, tid);
    if (thread.ok()) threads[thread->name] = *thread;  // A thread that just ended is skipped.
  }
  return threads;
}

inline std::string Names(const std::map<std::string, ProcThread>& threads) {
  std::vector<std::string> names;
  for (const auto& [name, thread] : threads) names.push_back(name);
  return absl::StrJoin(names, ", ");
}

}  // namespace cadence::test_support

#endif  // CADENCE_TESTS_CHILD_PROCESS_H_
