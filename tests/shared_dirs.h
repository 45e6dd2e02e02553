// Where tests find the configs they read: `shared/compat/cyber` (Apollo Cyber RT's own
// `.conf` files, outside this repository) and the project's `conf/`.
//
// Bazel runs a test inside its runfiles tree, far from the source tree, so a directory is
// looked for, in order: through $CADENCE_SHARED_DIR (the `shared` directory, or its
// `compat/cyber`; .bazelrc passes the variable through to tests); walking up from the
// working directory; walking up from the real path of the test binary; and walking up from
// the real path of each file symlinked into the runfiles tree ($TEST_SRCDIR: data files
// point back into the source tree, next to which `shared/` lives). At each level both
// `shared/compat/cyber` and `../shared/compat/cyber` are tried.
#ifndef CADENCE_TESTS_SHARED_DIRS_H_
#define CADENCE_TESTS_SHARED_DIRS_H_

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace cadence {
namespace testing {
namespace internal {

inline bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

inline std::string RealPathOf(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

inline std::string ParentOf(const std::string& dir) {
  const size_t slash = dir.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return dir.substr(0, slash);
}

// Walks up from `start` (made absolute and real), returning the first `dir/<relative>`
// for which `accept` holds; "" when none does. Appends the starting point to *looked.
inline std::string WalkUp(const std::string& start, const std::vector<std::string>& relatives,
                          const std::function<bool(const std::string&)>& accept,
                          std::string* looked) {
  std::string dir = RealPathOf(start);
  if (dir.empty()) return "";
  *looked += "\n  up from " + dir;
  for (int depth = 0; depth < 64; ++depth) {
    for (const std::string& relative : relatives) {
      const std::string candidate = RealPathOf(dir + "/" + relative);
      if (!candidate.empty() && accept(candidate)) return candidate;
    }
    if (dir == "/") break;
    dir = ParentOf(dir);
  }
  return "";
}

// Looks for `relatives` (see WalkUp) from the working directory, the test binary and the
// files symlinked into the runfiles tree.
inline std::string Find(const std::vector<std::string>& relatives,
                        const std::function<bool(const std::string&)>& accept,
                        std::string* looked) {
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) != nullptr) {
    const std::string found = WalkUp(cwd, relatives, accept, looked);
    if (!found.empty()) return found;
  }
  const std::string exe = RealPathOf("/proc/self/exe");
  if (!exe.empty()) {
    const std::string found = WalkUp(ParentOf(exe), relatives, accept, looked);
    if (!found.empty()) return found;
  }
  // The runfiles tree (only under Bazel): its files are symlinks into the source tree.
  const char* runfiles = getenv("TEST_SRCDIR");
  if (runfiles == nullptr || runfiles[0] == '\0') runfiles = getenv("RUNFILES_DIR");
  if (runfiles == nullptr || runfiles[0] == '\0') return "";
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(
      runfiles, std::filesystem::directory_options::skip_permission_denied, error);
  std::vector<std::string> tried;
  for (int seen = 0; !error && it != std::filesystem::recursive_directory_iterator() && seen < 2000;
       it.increment(error), ++seen) {
    if (it.depth() > 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_symlink(error)) continue;
    const std::string target = RealPathOf(it->path().string());
    if (target.empty()) continue;
    const std::string parent = ParentOf(target);
    bool again = false;
    for (const std::string& t : tried) again |= t == parent;
    if (again) continue;
    tried.push_back(parent);
    const std::string found = WalkUp(parent, relatives, accept, looked);
    if (!found.empty()) return found;
  }
  return "";
}

inline bool HasConfFiles(const std::string& dir) {
  std::error_code error;
  if (!IsDirectory(dir)) return false;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".conf") return true;
  }
  return false;
}

}  // namespace internal

// The directory of Apollo Cyber RT's `.conf` files (shared/compat/cyber), or "" with
// *where_looked saying where it was looked for.
inline std::string FindCompatCyberDir(std::string* where_looked) {
  where_looked->clear();
  const auto accept = [](const std::string& dir) { return internal::HasConfFiles(dir); };
  if (const char* env = getenv("CADENCE_SHARED_DIR"); env != nullptr && env[0] != '\0') {
    *where_looked += "\n  $CADENCE_SHARED_DIR=" + std::string(env);
    for (const std::string& candidate : {std::string(env) + "/compat/cyber", std::string(env)}) {
      const std::string real = internal::RealPathOf(candidate);
      if (!real.empty() && accept(real)) return real;
    }
  }
  return internal::Find({"shared/compat/cyber", "../shared/compat/cyber"}, accept, where_looked);
}

// The project's `conf/` directory (shipped configs), or "" with *where_looked filled.
inline std::string FindConfDir(std::string* where_looked) {
  where_looked->clear();
  return internal::Find(
      {"conf"}, [](const std::string& dir) { return internal::HasConfFiles(dir); }, where_looked);
}

}  // namespace testing
}  // namespace cadence

#endif  // CADENCE_TESTS_SHARED_DIRS_H_
