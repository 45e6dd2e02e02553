#include "scheduler/introspection/state_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "scheduler/common/thread_creation.h"
#include "scheduler/introspection/state_socket.h"

namespace cadence {
namespace {

// Makes `dir` (with `mode` when it is created) and checks that this process may create a
// socket in it. A `private_dir` must also be a real directory (no symlink) of this user's
// that no one else may enter.
absl::Status PrepareDir(const std::string& dir, mode_t mode, bool private_dir) {
  if (mkdir(dir.c_str(), mode) == 0) {
    // The umask may have taken bits away.
    if (chmod(dir.c_str(), mode) != 0) {
      return absl::PermissionDeniedError(
          absl::StrFormat("cannot set mode %04o on %s: %s", mode, dir, std::strerror(errno)));
    }
  } else if (errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
  }
  struct stat st;
  const int found = private_dir ? lstat(dir.c_str(), &st) : stat(dir.c_str(), &st);
  if (found != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot use ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  if (private_dir && (st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s is not a private directory of uid %d (owner uid %d, mode %04o): remove it, or "
        "name another with --state_dir",
        dir, geteuid(), st.st_uid, st.st_mode & 07777));
  }
  if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create files in ", dir, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool FillAddress(const std::string& path, struct sockaddr_un* address) {
  *address = {};
  address->sun_family = AF_UNIX;
  if (path.size() >= sizeof(address->sun_path)) return false;
  std::memcpy(address->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Whether something accepts connections on `path`.
bool Listening(const std::string& path) {
  struct sockaddr_un address;
  if (!FillAddress(path, &address)) return false;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool connected =
      connect(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateServer>> StateServer::Start(const Scheduler* scheduler,
                                                                const StateInfo& info,
                                                                const std::string& dir) {
  if (scheduler == nullptr) return absl::InvalidArgumentError("no scheduler to publish");
  std::unique_ptr<StateServer> server(new StateServer(scheduler, info));
  absl::Status status;
  if (!dir.empty()) {
    // An absolute path, so that the socket's path (in the log, in /proc/PID/net/unix) means
    // the same from any directory.
    std::string absolute = dir;
    if (dir[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd)) == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cannot publish the state in ", dir, ": the working directory is unknown (",
            std::strerror(errno), "): give an absolute --state_dir"));
      }
      absolute = absl::StrCat(cwd, "/", dir);
    }
    status = PrepareDir(absolute, 0700, /*private_dir=*/false);
    if (status.ok()) status = server->Listen(absolute);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("cannot publish the state in ", absolute,
                                                      ": ", status.message()));
    }
  } else {
    status = PrepareDir(kDefaultStateDir, 0755, /*private_dir=*/false);
    if (status.ok()) status = server->Listen(kDefaultStateDir);
    if (!status.ok() && !absl::IsAlreadyExists(status)) {
      const std::string fallback = FallbackStateDir(geteuid());
      const std::string why = std::string(status.message());
      status = PrepareDir(fallback, 0700, /*private_dir=*/true);
      if (status.ok()) status = server->Listen(fallback);
      if (!status.ok()) {
        return absl::Status(status.code(),
                            absl::StrCat("cannot publish the state in ", kDefaultStateDir, " (",
                                         why, ") nor in ", fallback, ": ", status.message()));
      }
      // Said once it is so (when the fallback fails too, the error above says both).
      LOG(INFO) << "cannot publish the state in " << kDefaultStateDir << " (" << why
                << "): published it in " << fallback << " instead";
    }
    if (!status.ok()) return status;
  }
  server->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (server->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  // On failure `server` goes, and with it the socket file and descriptors (Stop).
  absl::StatusOr<std::thread> thread =
      CreateThread("state server cadence/state", [s = server.get()] { s->Serve(); });
  if (!thread.ok()) return thread.status();
  server->thread_ = *std::move(thread);
  return server;
}

absl::Status StateServer::Listen(const std::string& dir) {
  const std::string path = StateSocketPath(dir, getpid());
  const std::string temporary = absl::StrCat(dir, "/.", getpid(), ".sock.new");
  struct sockaddr_un address;
  if (!FillAddress(temporary, &address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the socket path ", temporary, " is longer than a Unix socket allows (",
                     sizeof(address.sun_path) - 1, " bytes): name a shorter --state_dir"));
  }
  // What an earlier process with this pid left behind is removed; a server of this process
  // on the same path is an error.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a socket"));
    }
    if (Listening(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " is already served (a second StateServer in this process?)"));
    }
    if (unlink(path.c_str()) != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot remove the stale socket ", path, ": ", std::strerror(errno)));
    }
    LOG(INFO) << "removed the stale state socket " << path << " (an earlier process " << getpid()
              << ")";
  }
  unlink(temporary.c_str());

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  // Bound under a temporary name, made 0600, listening, and only then renamed into place:
  // the socket is never reachable with another mode, nor half set up.
  if (bind(fd, reinterpret_cast<const struct sockaddr*>(&address), sizeof(address)) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat("cannot bind ", temporary, ": ", why));
  }
  if (chmod(temporary.c_str(), 0600) != 0 || listen(fd, 16) != 0 ||
      rename(temporary.c_str(), path.c_str()) != 0 || lstat(path.c_str(), &st) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    unlink(temporary.c_str());
    return absl::PermissionDeniedError(absl::StrCat("cannot set up ", path, ": ", why));
  }
  listen_fd_ = fd;
  socket_path_ = path;
  socket_dev_ = st.st_dev;
  socket_ino_ = st.st_ino;
  return absl::OkStatus();
}

StateServer::~StateServer() { Stop(); }

void StateServer::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
  struct stat st;
  if (socket_ino_ != 0 && lstat(socket_path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_) {
    if (unlink(socket_path_.c_str()) != 0) {
      LOG(WARNING) << "cannot remove the state socket " << socket_path_ << ": "
                   << std::strerror(errno);
    }
  }
  socket_ino_ = 0;
}

void StateServer::Serve() {
  pthread_setname_np(pthread_self(), "cadence/state");
  // Answering is bookkeeping, never real-time work, whoever started the server.
  const int policy = sched_getscheduler(0);
  if (policy == SCHED_FIFO || policy == SCHED_RR) {
    const struct sched_param normal = {};
    sched_setscheduler(0, SCHED_OTHER, &normal);
  }
  struct pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    // No timeout: an idle process is not woken.
    const int ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      LOG(ERROR) << "the state server stops: poll: " << std::strerror(errno);
      return;
    }
    if (fds[1].revents != 0) return;  // Stop().
    if ((fds[0].revents & POLLIN) == 0) {
      // An error on the listening socket would make every poll return at once.
      LOG(ERROR) << "the state server stops: " << socket_path_ << " reports poll events "
                 << fds[0].revents;
      return;
    }
    const int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      // E.g. out of file descriptors: the listening socket stays readable, so retrying
      // would spin.
      LOG(ERROR) << "the state server stops: accept on " << socket_path_ << ": "
                 << std::strerror(errno);
      return;
    }
    Answer(connection);
    close(connection);
  }
}

void StateServer::Answer(int connection) {
  // A reader that stops reading cannot hold the thread for long.
  const struct timeval guard = {2, 0};
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof(guard));
  proto::StateReply reply;
  struct ucred peer = {};
  socklen_t size = sizeof(peer);
  if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
    reply.set_error(absl::StrCat("process ", getpid(), " cannot tell who is asking (SO_PEERCRED: ",
                                 std::strerror(errno), ")"));
    refused_.fetch_add(1, std::memory_order_relaxed);
  } else if (peer.uid != geteuid() && peer.uid != 0) {
    reply.set_error(RefusalMessage(getpid(), geteuid(), peer.uid));
    refused_.fetch_add(1, std::memory_order_relaxed);
  } else {
    *reply.mutable_state() = CaptureState(*scheduler_, info_);
    answered_.fetch_add(1, std::memory_order_relaxed);
  }
  if (absl::Status sent = WriteStateReply(connection, reply); !sent.ok()) {
    VLOG(1) << "state reply to pid " << peer.pid << ": " << sent.message();
  }
}

}  // namespace cadence
