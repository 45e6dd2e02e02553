#include "scheduler/common/thread_creation.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace cadence {
namespace {

// "3 for real uid 1000" / "unlimited": the RLIMIT_NPROC this process has now.
std::string NprocLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NPROC, &limit) != 0) return "unknown";
  if (limit.rlim_cur == RLIM_INFINITY) return "unlimited";
  return absl::StrCat(limit.rlim_cur, " for real uid ", getuid());
}

}  // namespace

absl::Status ThreadCreationError(absl::string_view what, int error) {
  const std::string prefix =
      absl::StrCat(what, ": cannot create its thread: ", std::strerror(error));
  switch (error) {
    case EAGAIN:
      return absl::ResourceExhaustedError(absl::StrCat(
          prefix, " (EAGAIN: a limit on threads is reached: `ulimit -u` / RLIMIT_NPROC, now ",
          NprocLimit(),
          ", counting every thread of that user; or the cgroup's pids.max; or "
          "kernel.threads-max; or no memory for its stack)"));
    case ENOMEM:
      return absl::ResourceExhaustedError(
          absl::StrCat(prefix, " (ENOMEM: no memory for its stack; see `ulimit -v` / RLIMIT_AS)"));
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat(prefix, " (EPERM: the kernel refused it to this process)"));
    default:
      return absl::InternalError(absl::StrCat(prefix, " (errno ", error, ")"));
  }
}

}  // namespace cadence
