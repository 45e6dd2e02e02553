// FetchState: reads the RuntimeState a cadence process publishes on its state socket (see
// state_socket.h), for `schedctl ps` and `schedctl top`. Every failure is a message a user
// can act on: no such process, not a cadence process (or started with --nopublish_state),
// a stale socket, another user's process, no answer.
#ifndef CADENCE_SCHEDULER_INTROSPECTION_STATE_CLIENT_H_
#define CADENCE_SCHEDULER_INTROSPECTION_STATE_CLIENT_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "proto/state.pb.h"

namespace cadence {

// The effective uid process `pid` runs as (/proc/PID/status: unlike the owner of /proc/PID
// it is right for processes that are not dumpable, e.g. started from a file with
// capabilities). NotFound "no process with pid N", or for the id of a thread that is not a
// process's main thread.
absl::StatusOr<uid_t> ProcessUid(pid_t pid);

// The state socket process `pid` listens on, wherever its --state_dir put it ("" when it
// holds none): found through its descriptors (/proc/PID/fd) and its Unix sockets
// (/proc/PID/net/unix), which needs the right to read them: root, or its user when the
// process is dumpable (one started from a binary with file capabilities is not).
std::string HeldStateSocket(pid_t pid);

// The state of process `pid`, looked up in `dir` ("" : kDefaultStateDir, then
// FallbackStateDir of the process's uid). Refuses, before connecting, a process of another
// user unless the caller is root (PermissionDenied, RefusalMessage). Errors: NotFound for no
// such process and for a process that publishes nothing (or, with the --state_dir to give,
// one that publishes in another directory, HeldStateSocket); FailedPrecondition for a stale
// socket (nothing listens); PermissionDenied when the socket or the process refuses;
// DeadlineExceeded when it accepts but does not answer within 5 s; DataLoss for an answer
// that is not a state, or the state of another pid. `socket_path`, when given, is set to
// the socket it read.
absl::StatusOr<proto::RuntimeState> FetchState(pid_t pid, const std::string& dir = "",
                                               std::string* socket_path = nullptr);

// The state served on `socket_path` (no ownership check of its own: the socket's mode and
// the server's peer check decide). `pid` only words the messages ("process N").
absl::StatusOr<proto::RuntimeState> FetchStateFrom(const std::string& socket_path, pid_t pid);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_INTROSPECTION_STATE_CLIENT_H_
