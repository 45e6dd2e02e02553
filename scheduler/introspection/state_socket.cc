#include "scheduler/introspection/state_socket.h"

#include <errno.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace cadence {

std::string FallbackStateDir(uid_t uid) { return absl::StrCat("/tmp/cadence-", uid); }

std::string StateSocketPath(const std::string& dir, pid_t pid) {
  return absl::StrCat(dir, "/", pid, ".sock");
}

absl::Status WriteStateReply(int fd, const proto::StateReply& reply) {
  const std::string body = reply.SerializeAsString();
  const uint32_t size = static_cast<uint32_t>(body.size());
  std::string frame = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                       static_cast<char>(size >> 8), static_cast<char>(size)};
  frame += body;
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n = send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat("cannot send the state (", sent, " of ",
                                                 frame.size(),
                                                 " bytes sent): ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

namespace {

// Reads exactly `size` bytes; `what` names them in errors.
absl::Status ReadExactly(int fd, char* data, size_t size, const char* what) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError(absl::StrCat("no answer (", what, ") in time"));
    }
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read the ", what, ": ", std::strerror(errno)));
    }
    if (n == 0) {
      return absl::UnavailableError(
          absl::StrCat("the connection closed after ", got, " of ", size, " bytes of the ", what));
    }
    got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<proto::StateReply> ReadStateReply(int fd) {
  unsigned char header[4];
  absl::Status status = ReadExactly(fd, reinterpret_cast<char*>(header), 4, "length");
  if (!status.ok()) return status;
  const uint32_t size = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                        (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (size > kMaxStateReplyBytes) {
    return absl::DataLossError(absl::StrCat("an answer of ", size, " bytes (at most ",
                                            kMaxStateReplyBytes,
                                            " expected): not a state socket?"));
  }
  std::string body(size, '\0');
  status = ReadExactly(fd, body.data(), size, "state");
  if (!status.ok()) return status;
  proto::StateReply reply;
  if (!reply.ParseFromString(body)) {
    return absl::DataLossError(
        absl::StrCat("an answer of ", size, " bytes that is not a cadence state"));
  }
  return reply;
}

std::string DescribeUser(uid_t uid) {
  struct passwd entry;
  struct passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return absl::StrCat(found->pw_name, " (uid ", uid, ")");
  }
  return absl::StrCat("uid ", uid);
}

std::string RefusalMessage(pid_t pid, uid_t owner, uid_t reader) {
  return absl::StrCat("process ", pid, " belongs to user ", DescribeUser(owner), "; you are ",
                      DescribeUser(reader), ": only its user and root may read its cadence state");
}

}  // namespace cadence
