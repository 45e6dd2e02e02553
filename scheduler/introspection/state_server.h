// StateServer: publishes a running Scheduler's RuntimeState on the process's state socket
// (see state_socket.h), so `schedctl ps` and `schedctl top` can read it without stopping
// the process.
//
// One thread, named "cadence/state", blocks in poll() on the listening socket and an
// eventfd, with no timeout: an idle process is never woken by it. Each connection is
// answered with one snapshot (CaptureState) and closed. The peer's credentials
// (SO_PEERCRED) are checked on top of the socket's 0600 mode: a peer whose uid is neither
// this process's effective uid nor root gets a refusal instead of the state. Stop() wakes
// the thread through the eventfd, joins it and removes the socket file.
//
//   auto server = cadence::StateServer::Start(&scheduler, {.conf_path = "conf/robot.conf"});
//   if (server.ok()) LOG(INFO) << "state: " << (*server)->socket_path();
#ifndef CADENCE_SCHEDULER_INTROSPECTION_STATE_SERVER_H_
#define CADENCE_SCHEDULER_INTROSPECTION_STATE_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "scheduler/introspection/runtime_state.h"
#include "scheduler/scheduler.h"

namespace cadence {

class StateServer {
 public:
  // Creates `<dir>/<pid>.sock` (mode 0600) and starts the answering thread. `dir` ""
  // means kDefaultStateDir, falling back (with a log line saying why) to
  // FallbackStateDir(euid) when that cannot be created or written; an explicit `dir` is
  // created (0700) when missing but never replaced by another. A socket file left by an
  // earlier process with this pid is removed. `scheduler` must outlive the server.
  // Errors: no usable directory (what was tried and why), a path too long for a Unix
  // socket, another server of this process on the same path, a failed syscall, its thread
  // not created (ResourceExhausted when the limit on threads is reached; see
  // thread_creation.h).
  static absl::StatusOr<std::unique_ptr<StateServer>> Start(const Scheduler* scheduler,
                                                            const StateInfo& info,
                                                            const std::string& dir = "");

  // Stops (if not done yet).
  ~StateServer();
  StateServer(const StateServer&) = delete;
  StateServer& operator=(const StateServer&) = delete;

  // Wakes and joins the thread, closes the socket and removes its file. Idempotent.
  void Stop();

  // The socket's path, e.g. "/run/cadence/1234.sock".
  const std::string& socket_path() const { return socket_path_; }

  // Connections answered with the state, and refused (peer of another user).
  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  StateServer(const Scheduler* scheduler, const StateInfo& info)
      : scheduler_(scheduler), info_(info) {}
  absl::Status Listen(const std::string& dir);
  void Serve();
  void Answer(int connection);

  const Scheduler* const scheduler_;
  const StateInfo info_;
  std::string socket_path_;
  // The socket file's identity, so Stop removes only the file it created.
  dev_t socket_dev_ = 0;
  ino_t socket_ino_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_INTROSPECTION_STATE_SERVER_H_
