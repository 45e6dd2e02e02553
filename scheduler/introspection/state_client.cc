#include "scheduler/introspection/state_client.h"

#include <errno.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "scheduler/introspection/state_socket.h"

namespace cadence {
namespace {

// Closes a descriptor at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::string HeldStateSocket(pid_t pid) {
  // The inodes of the sockets the process holds (/proc/PID/fd links read "socket:[123]").
  std::vector<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  if (DIR* dir = opendir(fd_dir.c_str())) {
    while (const struct dirent* entry = readdir(dir)) {
      char target[64];
      const ssize_t n = readlink(absl::StrCat(fd_dir, "/", entry->d_name).c_str(), target,
                                 sizeof(target) - 1);
      if (n <= 0) continue;
      absl::string_view link(target, static_cast<size_t>(n));
      if (absl::ConsumePrefix(&link, "socket:[") && absl::ConsumeSuffix(&link, "]")) {
        inodes.emplace_back(link);
      }
    }
    closedir(dir);
  }
  if (inodes.empty()) return "";
  // Its network namespace's Unix sockets: "Num RefCount Protocol Flags Type St Inode Path".
  // The path is the one bound, the temporary name the server renames to <pid>.sock once it
  // listens (see StateServer::Listen).
  // The path is everything after the inode (it may hold blanks). A path with a newline in
  // it (another process's socket name, say) could pose as a line of its own: an inode that
  // two lines claim is not trusted.
  std::ifstream in(absl::StrCat("/proc/", pid, "/net/unix"));
  const std::string temporary = absl::StrCat("/.", pid, ".sock.new");
  std::string line, found;
  int matches = 0;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    absl::string_view inode;
    for (int field = 0; field < 7; ++field) {  // Num RefCount Protocol Flags Type St Inode.
      rest = absl::StripLeadingAsciiWhitespace(rest);
      const size_t end = rest.find(' ');
      if (end == absl::string_view::npos) {
        rest = {};
        break;
      }
      if (field == 6) inode = rest.substr(0, end);
      rest.remove_prefix(end);
    }
    if (inode.empty() || rest.empty() || rest[0] != ' ') continue;
    if (std::find(inodes.begin(), inodes.end(), inode) == inodes.end()) continue;
    const absl::string_view path = rest.substr(1);
    if (!absl::EndsWith(path, temporary)) continue;
    ++matches;
    found = StateSocketPath(std::string(path.substr(0, path.size() - temporary.size())), pid);
  }
  return matches == 1 ? found : "";
}

absl::StatusOr<uid_t> ProcessUid(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (pid <= 0 || !in) return absl::NotFoundError(absl::StrCat("no process with pid ", pid));
  std::stringstream text;
  text << in.rdbuf();
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    // A thread id that is not a process's main thread has a /proc entry too.
    pid_t tgid = 0;
    if (absl::ConsumePrefix(&line, "Tgid:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &tgid) && tgid != pid) {
      return absl::NotFoundError(
          absl::StrCat(pid, " is a thread of process ", tgid, ", not a process: try ", tgid));
    }
    if (!absl::ConsumePrefix(&line, "Uid:")) continue;
    // Real, effective, saved, filesystem.
    std::vector<absl::string_view> ids =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uid_t uid = 0;
    if (ids.size() >= 2 && absl::SimpleAtoi(ids[1], &uid)) return uid;
  }
  return absl::NotFoundError(absl::StrCat("no process with pid ", pid, " (it exited)"));
}

absl::StatusOr<proto::RuntimeState> FetchStateFrom(const std::string& socket_path, pid_t pid) {
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat(socket_path, " is too long for a Unix socket path"));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Fd socket_fd{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (socket_fd.fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(socket_fd.fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof(address)) !=
      0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("process ", pid,
                       " does not publish cadence state (not a cadence process, or started with "
                       "--nopublish_state): no ",
                       socket_path));
    }
    if (err == ECONNREFUSED) {
      return absl::FailedPreconditionError(
          absl::StrCat("stale state socket ", socket_path, ": nothing listens on it (process ", pid,
                       " ended without removing it, or its pid was reused by another process)"));
    }
    if (err == EACCES || err == EPERM) {
      struct stat st;
      if (stat(socket_path.c_str(), &st) == 0) {
        return absl::PermissionDeniedError(RefusalMessage(pid, st.st_uid, geteuid()));
      }
      return absl::PermissionDeniedError(
          absl::StrCat("cannot reach ", socket_path, ": ", std::strerror(err)));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", socket_path, ": ", std::strerror(err)));
  }
  // A process that accepts but does not answer (stopped with SIGSTOP, say) is not waited
  // for forever.
  const struct timeval guard = {5, 0};
  setsockopt(socket_fd.fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
  absl::StatusOr<proto::StateReply> reply = ReadStateReply(socket_fd.fd);
  if (!reply.ok()) {
    if (absl::IsDeadlineExceeded(reply.status())) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid, " accepted the connection on ", socket_path,
                       " but did not answer within 5 s (stopped, or overloaded?)"));
    }
    return absl::Status(reply.status().code(),
                        absl::StrCat(socket_path, ": ", reply.status().message()));
  }
  if (reply->has_error()) return absl::PermissionDeniedError(reply->error());
  if (!reply->has_state()) {
    return absl::DataLossError(absl::StrCat(socket_path, " answered neither a state nor an error"));
  }
  if (reply->state().pid() != pid) {
    return absl::DataLossError(
        absl::StrCat(socket_path, " answers for process ", reply->state().pid(), ", not ", pid));
  }
  return std::move(*reply->mutable_state());
}

absl::StatusOr<proto::RuntimeState> FetchState(pid_t pid, const std::string& dir,
                                               std::string* socket_path) {
  absl::StatusOr<uid_t> owner = ProcessUid(pid);
  if (!owner.ok()) return owner.status();
  const uid_t reader = geteuid();
  if (reader != 0 && reader != *owner) {
    return absl::PermissionDeniedError(RefusalMessage(pid, *owner, reader));
  }
  std::vector<std::string> dirs;
  if (!dir.empty()) {
    dirs = {dir};
  } else {
    dirs = {kDefaultStateDir, FallbackStateDir(*owner)};
  }
  std::vector<std::string> tried;
  for (const std::string& d : dirs) {
    const std::string path = StateSocketPath(d, pid);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      tried.push_back(absl::StrCat(path, " (", std::strerror(errno), ")"));
      continue;
    }
    if (socket_path != nullptr) *socket_path = path;
    return FetchStateFrom(path, pid);
  }
  // A process started with its own --state_dir holds its socket elsewhere.
  const std::string held = HeldStateSocket(pid);
  for (const std::string& d : dirs) {
    if (!held.empty() && held == StateSocketPath(d, pid)) {
      return absl::NotFoundError(absl::StrCat(
          "process ", pid, " listens on ", held,
          " but that file was removed while it runs: nothing can connect to it; restart the "
          "process to publish its state again"));
    }
  }
  if (!held.empty()) {
    const std::string held_dir = held.substr(0, held.rfind('/'));
    return absl::NotFoundError(absl::StrCat(
        "process ", pid, " publishes its cadence state in another directory: it holds ", held,
        ", not ", absl::StrJoin(tried, ", "), "; give the same --state_dir: --state_dir=",
        held_dir.empty() ? "/" : held_dir));
  }
  return absl::NotFoundError(
      absl::StrCat("process ", pid,
                   " does not publish cadence state (not a cadence process, or started with "
                   "--nopublish_state); looked for ",
                   absl::StrJoin(tried, ", ")));
}

}  // namespace cadence
