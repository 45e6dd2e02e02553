// The state socket: where a cadence process publishes its RuntimeState and how an answer
// travels — shared by the StateServer (in the process) and FetchState (in schedctl).
//
// A process with pid P listens on `<dir>/P.sock`, a Unix stream socket of mode 0600 (only
// its user, and root, may connect). `dir` is --state_dir when given, else /run/cadence
// (created 0755 when missing), else, when that cannot be used (a user without write access
// to /run), /tmp/cadence-<uid> (created 0700, and refused unless it is a directory of this
// user's). Each connection gets one answer: a 4-byte big-endian length and a serialized
// proto::StateReply — the state, or why it is refused — and is closed.
#ifndef CADENCE_SCHEDULER_INTROSPECTION_STATE_SOCKET_H_
#define CADENCE_SCHEDULER_INTROSPECTION_STATE_SOCKET_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/state.pb.h"

namespace cadence {

// Where state sockets go by default.
inline constexpr char kDefaultStateDir[] = "/run/cadence";

// The private directory used when kDefaultStateDir cannot be: /tmp/cadence-<uid>.
std::string FallbackStateDir(uid_t uid);

// `<dir>/<pid>.sock`.
std::string StateSocketPath(const std::string& dir, pid_t pid);

// The largest answer a reader accepts.
inline constexpr uint32_t kMaxStateReplyBytes = 64u << 20;

// Writes one framed reply to a connected socket (MSG_NOSIGNAL: a reader that went away is
// an error, not a SIGPIPE). Errors name the errno.
absl::Status WriteStateReply(int fd, const proto::StateReply& reply);

// Reads one framed reply. Errors: the connection closed early, a length past
// kMaxStateReplyBytes, bytes that do not parse, a read error (DeadlineExceeded when the
// socket's receive timeout expired).
absl::StatusOr<proto::StateReply> ReadStateReply(int fd);

// "root (uid 0)", or "uid 1234" for a uid without a passwd entry.
std::string DescribeUser(uid_t uid);

// Why `reader` may not read the state of process `pid` run by `owner`: "process 1234 belongs
// to user root (uid 0); you are nobody (uid 65534): only its user and root may read its
// cadence state".
std::string RefusalMessage(pid_t pid, uid_t owner, uid_t reader);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_INTROSPECTION_STATE_SOCKET_H_
