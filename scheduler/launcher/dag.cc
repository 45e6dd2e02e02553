#include "scheduler/launcher/dag.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "google/protobuf/text_format.h"
#include "proto/dag_conf.pb.h"
#include "scheduler/config/loader.h"

namespace cadence {
namespace {

using google::protobuf::TextFormat;
using Tree = TextFormat::ParseInfoTree;

constexpr char kWorkspace[] = "cadence";
constexpr char kBazelBin[] = "bazel-bin/";

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string JoinPath(const std::string& dir, const std::string& relative) {
  if (dir.empty()) return relative;
  if (dir.back() == '/') return dir + relative;
  return absl::StrCat(dir, "/", relative);
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : std::string();
}

std::string CurrentDir() {
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof(cwd)) != nullptr ? std::string(cwd) : std::string(".");
}

// Whether `path` exists and is not a directory.
bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

// All findings of `diagnostics` of severity `severity`, formatted one per line.
std::string Format(const Diagnostics& diagnostics, Severity severity) {
  std::vector<std::string> lines;
  for (const Diagnostic& d : diagnostics.all()) {
    if (d.severity == severity) lines.push_back(d.ToString());
  }
  return absl::StrJoin(lines, "\n");
}

// Checks one DAG's parsed text and flattens it into *dag, recording findings in *found.
class DagChecker {
 public:
  DagChecker(const std::string& path, const Tree* tree, Dag* dag, Diagnostics* found)
      : path_(path), tree_(tree), dag_(dag), found_(found) {}

  void Check(const proto::DagConfig& config) {
    if (config.module_config_size() == 0) {
      found_->Error({path_, 1, 1}, "", "the DAG has no module_config: it would start nothing",
                    "add `module_config { module_library: \"...\" components { ... } }`");
    }
    const size_t components_before = dag_->components.size();
    for (int i = 0; i < config.module_config_size(); ++i) {
      CheckModule(config.module_config(i), NestedTreeOf(tree_, config, "module_config", i),
                  LocationOf(tree_, config, "module_config", i, path_),
                  absl::StrCat("module_config[", i, "]"));
    }
    if (config.module_config_size() > 0 && dag_->components.size() == components_before) {
      found_->Error(LocationOf(tree_, config, "module_config", 0, path_), "module_config",
                    "the DAG has no components: it would start nothing",
                    "add `components { class_name: \"...\" config { name: \"...\" } }` or "
                    "`timer_components { ... }` to a module_config");
    }
  }

 private:
  void CheckModule(const proto::ModuleConfig& module, const Tree* tree, const SourceLocation& at,
                   const std::string& field) {
    DagModule out;
    out.library = module.module_library();
    out.where =
        module.has_module_library() ? LocationOf(tree, module, "module_library", -1, path_) : at;
    const bool has_components = module.components_size() + module.timer_components_size() > 0;
    if (out.library.empty()) {
      if (has_components) {
        found_->Error(out.where, field + ".module_library",
                      module.has_module_library() ? "module_library is empty"
                                                  : "this module_config has no module_library",
                      "name the shared library its components are registered in, e.g. "
                      "`module_library: \"bazel-bin/pkg/libfoo.so\"`");
      } else {
        found_->Warning(at, field,
                        "this module_config has neither a module_library nor components: it is "
                        "ignored");
      }
    }
    if (!out.library.empty() || has_components) dag_->modules.push_back(out);

    const size_t first_component = dag_->components.size();
    for (int j = 0; j < module.components_size(); ++j) {
      CheckComponent(module.components(j), NestedTreeOf(tree, module, "components", j),
                     LocationOf(tree, module, "components", j, path_),
                     absl::StrCat(field, ".components[", j, "]"), out.library);
    }
    for (int j = 0; j < module.timer_components_size(); ++j) {
      CheckTimerComponent(module.timer_components(j),
                          NestedTreeOf(tree, module, "timer_components", j),
                          LocationOf(tree, module, "timer_components", j, path_),
                          absl::StrCat(field, ".timer_components[", j, "]"), out.library);
    }
    // Components and timer components may be interleaved in the file: keep the file's order.
    std::stable_sort(dag_->components.begin() + first_component, dag_->components.end(),
                     [](const DagComponent& a, const DagComponent& b) {
                       return std::pair(a.where.line, a.where.column) <
                              std::pair(b.where.line, b.where.column);
                     });
  }

  // The checks common to both kinds of component: class_name, config and config.name.
  // Returns the component's config tree and location through *config_tree / *config_at.
  template <typename Info>
  DagComponent CheckCommon(const Info& info, const Tree* tree, const SourceLocation& at,
                           const std::string& field, const std::string& library,
                           DagComponent::Kind kind, const Tree** config_tree,
                           SourceLocation* config_at) {
    const char* what = kind == DagComponent::Kind::kComponent ? "component" : "timer component";
    DagComponent out;
    out.kind = kind;
    out.library = library;
    out.class_name = info.class_name();
    out.where = info.has_class_name() ? LocationOf(tree, info, "class_name", -1, path_) : at;
    if (out.class_name.empty()) {
      found_->Error(out.where, field + ".class_name",
                    info.has_class_name() ? "class_name is empty"
                                          : absl::StrCat("this ", what, " has no class_name"),
                    "give the name its class is registered under in the module library");
    } else if (const std::string problem = NameProblem(out.class_name); !problem.empty()) {
      found_->Error(out.where, field + ".class_name",
                    absl::StrCat("class_name ", Quoted(out.class_name), " cannot be used: ",
                                 problem),
                    "give the name its class is registered under in the module library");
    }
    *config_tree = NestedTreeOf(tree, info, "config");
    *config_at = info.has_config() ? LocationOf(tree, info, "config", -1, path_) : at;
    if (!info.has_config()) {
      found_->Error(at, field + ".config", absl::StrCat("this ", what, " has no config"),
                    kind == DagComponent::Kind::kComponent
                        ? "add `config { name: \"...\" readers { channel: \"/...\" } }`"
                        : "add `config { name: \"...\" interval: 10 }`");
      return out;
    }
    const auto& config = info.config();
    out.name = config.name();
    out.config_file_path = config.config_file_path();
    out.flag_file_path = config.flag_file_path();
    if (out.name.empty()) {
      found_->Error(
          config.has_name() ? LocationOf(*config_tree, config, "name", -1, path_) : *config_at,
          field + ".config.name",
          config.has_name() ? absl::StrCat("the ", what, "'s name is empty")
                            : absl::StrCat("this ", what, "'s config has no name"),
          "the name identifies the component and is the name of its task");
    } else if (const std::string problem = NameProblem(out.name); !problem.empty()) {
      found_->Error(LocationOf(*config_tree, config, "name", -1, path_), field + ".config.name",
                    absl::StrCat("the ", what, "'s name ", Quoted(out.name),
                                 " cannot be used: ", problem),
                    "use printable characters: the name is its task's, shown in tables, "
                    "traces and logs");
    }
    return out;
  }

  void CheckComponent(const proto::ComponentInfo& info, const Tree* tree, const SourceLocation& at,
                      const std::string& field, const std::string& library) {
    const Tree* config_tree = nullptr;
    SourceLocation config_at;
    DagComponent out = CheckCommon(info, tree, at, field, library, DagComponent::Kind::kComponent,
                                   &config_tree, &config_at);
    if (info.has_config()) {
      const proto::ComponentConfig& config = info.config();
      const std::string readers_field = field + ".config.readers";
      if (config.readers_size() == 0) {
        found_->Error(config_at, readers_field,
                      absl::StrCat("component '", out.name,
                                   "' has no readers: a component is triggered by its first "
                                   "reader's channel"),
                      "add `readers { channel: \"/some/channel\" }`, or make it a timer "
                      "component (timer_components) if it runs on a period");
      } else if (config.readers_size() > kMaxDagReaders) {
        found_->Error(LocationOf(config_tree, config, "readers", kMaxDagReaders, path_),
                      absl::StrCat(readers_field, "[", kMaxDagReaders, "]"),
                      absl::StrCat("component '", out.name, "' has ", config.readers_size(),
                                   " readers; Cyber's maximum is ", kMaxDagReaders),
                      "a component reads at most 4 channels; split it into two components");
      }
      for (int k = 0; k < config.readers_size(); ++k) {
        const proto::ReaderOption& reader = config.readers(k);
        const Tree* reader_tree = NestedTreeOf(config_tree, config, "readers", k);
        const SourceLocation reader_at = LocationOf(config_tree, config, "readers", k, path_);
        const std::string reader_field = absl::StrCat(readers_field, "[", k, "]");
        DagComponent::Reader r;
        r.channel = reader.channel();
        r.pending_queue_size = reader.pending_queue_size();
        r.where = reader.has_channel() ? LocationOf(reader_tree, reader, "channel", -1, path_)
                                       : reader_at;
        if (r.channel.empty()) {
          found_->Error(r.where, reader_field + ".channel",
                        reader.has_channel() ? "the reader's channel name is empty"
                                             : "this reader has no channel",
                        "name the channel it reads, e.g. `channel: \"/apollo/prediction\"`");
        }
        if (reader.has_pending_queue_size() && reader.pending_queue_size() == 0) {
          found_->Error(LocationOf(reader_tree, reader, "pending_queue_size", -1, path_),
                        reader_field + ".pending_queue_size",
                        "pending_queue_size must be at least 1 (it is how many messages wait "
                        "for the component)",
                        "leave it out for the default, 1");
        } else if (reader.pending_queue_size() > kMaxPendingQueueSize) {
          // The queue is allocated when the reader is created: a mistyped size would take
          // gigabytes, or end in std::bad_alloc.
          found_->Error(LocationOf(reader_tree, reader, "pending_queue_size", -1, path_),
                        reader_field + ".pending_queue_size",
                        absl::StrCat("pending_queue_size ", reader.pending_queue_size(),
                                     " is too large: at most ", kMaxPendingQueueSize,
                                     " (the queue is allocated up front, 16 bytes a message)"),
                        "a reader that falls this far behind drops the oldest messages; a "
                        "few are usually enough");
        }
        out.readers.push_back(std::move(r));
      }
    }
    dag_->components.push_back(std::move(out));
  }

  void CheckTimerComponent(const proto::TimerComponentInfo& info, const Tree* tree,
                           const SourceLocation& at, const std::string& field,
                           const std::string& library) {
    const Tree* config_tree = nullptr;
    SourceLocation config_at;
    DagComponent out = CheckCommon(info, tree, at, field, library,
                                   DagComponent::Kind::kTimerComponent, &config_tree, &config_at);
    if (info.has_config()) {
      const proto::TimerComponentConfig& config = info.config();
      out.interval_ms = config.interval();
      if (config.interval() == 0) {
        found_->Error(config.has_interval() ? LocationOf(config_tree, config, "interval", -1, path_)
                                            : config_at,
                      field + ".config.interval",
                      config.has_interval()
                          ? "interval must be > 0 ms"
                          : absl::StrCat("timer component '", out.name,
                                         "' has no interval: interval must be > 0 ms"),
                      "the period in milliseconds, e.g. `interval: 10`");
      }
    }
    dag_->components.push_back(std::move(out));
  }

  const std::string& path_;
  const Tree* tree_;
  Dag* dag_;
  Diagnostics* found_;
};

// " (class C)" for a component with a class name, "" otherwise.
std::string ClassOf(const DagComponent& component) {
  if (component.class_name.empty()) return "";
  return absl::StrCat(" (class ", component.class_name, ")");
}

// Records an error for each component whose name an earlier one (in `dags` order) already
// has, naming both locations.
void CheckUniqueNames(const std::vector<const Dag*>& dags, Diagnostics* found) {
  struct First {
    const Dag* dag;
    const DagComponent* component;
  };
  std::map<std::string, First> first;
  for (const Dag* dag : dags) {
    for (const DagComponent& component : dag->components) {
      if (component.name.empty()) continue;
      const auto [it, inserted] = first.try_emplace(component.name, First{dag, &component});
      if (inserted) continue;
      const First& earlier = it->second;
      std::string hint =
          "component names name their tasks and must be unique in a process; "
          "rename one of them";
      if (earlier.dag != dag && !dag->real_path.empty() &&
          earlier.dag->real_path == dag->real_path) {
        hint =
            absl::StrCat("both are the DAG file ", dag->real_path, ", given twice: give it once");
      }
      found->Error(component.where, "",
                   absl::StrCat("component name '", component.name, "'", ClassOf(component),
                                " is already used at ", earlier.component->where.ToString(),
                                ClassOf(*earlier.component)),
                   hint);
    }
  }
}

}  // namespace

absl::StatusOr<Dag> LoadDagFile(const std::string& path) {
  Dag dag;
  dag.path = path;
  const auto cannot_read = [&path](absl::StatusCode code, absl::string_view why,
                                   const std::string& hint) {
    return absl::Status(code, Diagnostic{Severity::kError,
                                         {path, 0, 0},
                                         "",
                                         absl::StrCat("cannot read the DAG file: ", why),
                                         hint}
                                  .ToString());
  };
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return cannot_read(absl::StatusCode::kNotFound, std::strerror(errno),
                       "check the path, or the symlink's target");
  }
  dag.real_path = resolved;
  // A directory, a FIFO or a read that fails part way is an error, never an empty DAG.
  absl::StatusOr<std::string> read = ReadRegularFile(dag.real_path);
  if (!read.ok()) return cannot_read(read.status().code(), read.status().message(), "");
  const std::string text = *std::move(read);

  proto::DagConfig config;
  Tree locations;
  Diagnostics found;
  const absl::Status parsed = ParseTextProto(text, path, &config, &locations, &found);
  if (!parsed.ok()) return parsed;
  DagChecker(path, &locations, &dag, &found).Check(config);
  CheckUniqueNames({&dag}, &found);
  if (found.HasErrors()) return absl::InvalidArgumentError(Format(found, Severity::kError));
  dag.diagnostics = found;
  return dag;
}

absl::Status CheckDagsTogether(const std::vector<Dag>& dags) {
  std::vector<const Dag*> all;
  for (const Dag& dag : dags) all.push_back(&dag);
  Diagnostics found;
  CheckUniqueNames(all, &found);
  if (found.HasErrors()) return absl::InvalidArgumentError(Format(found, Severity::kError));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveLibrary(const DagModule& module, const std::string& dag_path,
                                           const std::vector<std::string>& search_dirs) {
  const std::string& library = module.library;
  if (library.empty()) {
    return absl::InvalidArgumentError(
        Diagnostic{Severity::kError, module.where, "", "module_library is empty", ""}.ToString());
  }
  std::vector<std::string> tried;
  // Whether `candidate` (not tried before) is the library.
  const auto found = [&tried](const std::string& candidate) {
    if (std::find(tried.begin(), tried.end(), candidate) != tried.end()) return false;
    tried.push_back(candidate);
    return IsFile(candidate);
  };
  const auto result = [&library](const std::string& file) {
    VLOG(1) << "module_library " << library << " is " << file;
    return file;
  };
  if (library[0] == '/') {
    if (found(library)) return result(library);
  } else {
    const std::string cwd = CurrentDir();
    if (found(JoinPath(cwd, library))) return result(tried.back());
    for (const std::string& dir : search_dirs) {
      if (!dir.empty() && found(JoinPath(dir, library))) return result(tried.back());
    }
    if (found(JoinPath(Dirname(dag_path), library))) return result(tried.back());
    const std::string real_dag = RealPath(dag_path);
    if (!real_dag.empty() && found(JoinPath(Dirname(real_dag), library))) {
      return result(tried.back());
    }
    if (absl::StartsWith(library, kBazelBin)) {
      const std::string rest = library.substr(sizeof(kBazelBin) - 1);
      std::vector<std::string> runfiles;
      const std::string exe = RealPath("/proc/self/exe");
      if (!exe.empty()) runfiles.push_back(exe + ".runfiles");
      for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
        const char* dir = getenv(env);
        if (dir != nullptr && dir[0] != '\0') runfiles.push_back(dir);
      }
      for (const std::string& dir : runfiles) {
        if (found(JoinPath(JoinPath(dir, kWorkspace), rest))) return result(tried.back());
      }
      if (found(JoinPath(cwd, rest))) return result(tried.back());
    }
  }
  return absl::NotFoundError(Diagnostic{
      Severity::kError, module.where, "",
      absl::StrCat("module_library '", library, "' not found; tried: ", absl::StrJoin(tried, ", ")),
      library[0] == '/' ? "check the path"
                        : "build the library first (a path beginning with bazel-bin/ is also "
                          "looked for in the runfiles tree), or pass the directory it is in with "
                          "--library_path DIR"}
                                 .ToString());
}

}  // namespace cadence
