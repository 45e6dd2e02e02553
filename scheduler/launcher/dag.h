// Dag: a launcher's DAG file (Apollo Cyber RT's `.dag`, protobuf text format DagConfig),
// read and checked, then flattened into plain data: the module libraries to load and the
// components and timer components to create from them, each with where it was written.
//
// Loading is strict the way the config loader is: a syntax error or an unknown field (with
// a "did you mean") is an error at `file:line:col`, and so is each thing Cyber would only
// notice at start-up or silently get wrong — an empty module_library, class_name or
// component name, a component without readers or with more than Cyber's 4, an empty
// channel, a pending_queue_size of 0, a timer without an interval. All errors of a file
// are reported at once. Cyber's own `.dag` files load unchanged.
#ifndef CADENCE_SCHEDULER_LAUNCHER_DAG_H_
#define CADENCE_SCHEDULER_LAUNCHER_DAG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scheduler/config/diagnostic.h"

namespace cadence {

// Cyber's maximum number of readers of one component.
inline constexpr int kMaxDagReaders = 4;

// The largest pending_queue_size a DAG may ask for (the reader's queue is allocated when it
// is created).
inline constexpr uint32_t kMaxPendingQueueSize = 65536;

// One component entry of a DAG, flattened.
struct DagComponent {
  enum class Kind { kComponent, kTimerComponent };
  Kind kind = Kind::kComponent;
  std::string class_name;
  std::string name;              // config.name: also the name of its task
  std::string config_file_path;  // as written
  std::string flag_file_path;
  struct Reader {
    std::string channel;
    uint32_t pending_queue_size = 1;
    SourceLocation where;  // location of its channel (or of the readers entry)
  };
  std::vector<Reader> readers;  // components only; the first one triggers the component
  uint32_t interval_ms = 0;     // timer components only
  std::string library;          // the module_library of its module_config, as written
  SourceLocation where;         // location of its class_name (or of the entry)
};

// One module_config of a DAG: the shared library its components come from.
struct DagModule {
  std::string library;   // module_library, as written
  SourceLocation where;  // location of module_library (or of the module_config)
};

// A loaded DAG file.
struct Dag {
  std::string path;       // as given
  std::string real_path;  // symlinks resolved
  std::vector<DagModule> modules;
  std::vector<DagComponent> components;  // in file order
  Diagnostics diagnostics;               // warnings found while loading (never errors)
};

// Reads and checks one DAG file. Errors (InvalidArgument/NotFound) formatted as
// "file:line:col: error: message" (+ hint), all errors of the file, one per line.
absl::StatusOr<Dag> LoadDagFile(const std::string& path);

// Checks several DAGs together: a component name used twice (in one DAG or across DAGs) is
// an InvalidArgument error naming both locations, one line per duplicate.
absl::Status CheckDagsTogether(const std::vector<Dag>& dags);

// The file a module_library names: tried in order — as written if absolute; relative to the
// current directory; relative to each of `search_dirs`; relative to the DAG file's directory
// (as given, then with symlinks resolved); and, for a path beginning with "bazel-bin/", the
// rest relative to the running executable's Bazel runfiles tree
// (<realpath(/proc/self/exe)>.runfiles/cadence/, $RUNFILES_DIR/cadence/,
// $TEST_SRCDIR/cadence/) and to the current directory. Returns the first that exists, or
// NotFound "file:line:col: error: module_library '<x>' not found; tried: a, b, c" with a hint.
absl::StatusOr<std::string> ResolveLibrary(const DagModule& module, const std::string& dag_path,
                                           const std::vector<std::string>& search_dirs);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_DAG_H_
