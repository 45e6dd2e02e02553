#include "scheduler/launcher/launcher.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "scheduler/common/machine.h"
#include "scheduler/config/loader.h"

namespace cadence {
namespace {

// The self-pipe the stop-signal handlers write to.
int stop_pipe[2] = {-1, -1};

void OnStopSignal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  const int saved = errno;
  [[maybe_unused]] ssize_t n = write(stop_pipe[1], &byte, 1);
  errno = saved;
}

std::string ErrorAt(const SourceLocation& where, const std::string& message,
                    const std::string& hint = "") {
  return Diagnostic{Severity::kError, where, "", message, hint}.ToString();
}

ComponentConfig ConfigOf(const DagComponent& c) {
  ComponentConfig config;
  config.name = c.name;
  config.config_file_path = c.config_file_path;
  config.flag_file_path = c.flag_file_path;
  for (const DagComponent::Reader& r : c.readers) {
    config.readers.push_back({r.channel, r.pending_queue_size});
  }
  config.interval_ms = c.interval_ms;
  return config;
}

}  // namespace

absl::Status InstallStopSignals() {
  static std::once_flag once;
  static absl::Status status;
  std::call_once(once, [] {
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      status = absl::InternalError(
          absl::StrCat("cannot create the stop-signal pipe: ", std::strerror(errno)));
      return;
    }
    struct sigaction action = {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int signal : {SIGINT, SIGTERM}) {
      if (sigaction(signal, &action, nullptr) != 0) {
        status = absl::InternalError(absl::StrCat("cannot install the handler of signal ", signal,
                                                  ": ", std::strerror(errno)));
        return;
      }
    }
  });
  return status;
}

absl::StatusOr<std::unique_ptr<Launcher>> Launcher::Start(const LauncherOptions& options) {
  std::unique_ptr<Launcher> launcher(new Launcher());
  absl::Status status = launcher->Init(options);
  if (!status.ok()) {
    // A failed start writes no trace, and removes the file it created for it.
    if (launcher->created_trace_file_) unlink(launcher->trace_out_.c_str());
    launcher->trace_out_.clear();
    launcher->Shutdown().IgnoreError();
    return status;
  }
  return launcher;
}

absl::Status Launcher::Init(const LauncherOptions& options) {
  absl::Status status = InstallStopSignals();
  if (!status.ok()) return status;

  // 0. The trace file: created now, so that a path that cannot be written is known before
  // the run, not after it.
  if (!options.trace_out.empty()) {
    constexpr size_t kMaxTraceEvents = size_t{1} << 24;
    if (options.trace_events_per_processor < 1 ||
        options.trace_events_per_processor > kMaxTraceEvents) {
      return absl::InvalidArgumentError(absl::StrCat("trace events per processor must be 1 to ",
                                                     kMaxTraceEvents, ", not ",
                                                     options.trace_events_per_processor));
    }
    int fd = open(options.trace_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created_trace_file_ = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = open(options.trace_out.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("cannot open the trace file ", options.trace_out, " for writing"));
    }
    close(fd);
    trace_out_ = options.trace_out;
  }

  // 1. The DAGs, every error of every file at once.
  std::vector<std::string> errors;
  for (const std::string& file : options.dag_files) {
    absl::StatusOr<Dag> dag = LoadDagFile(file);
    if (!dag.ok()) {
      errors.push_back(std::string(dag.status().message()));
      continue;
    }
    if (!dag->diagnostics.ToString().empty()) LOG(WARNING) << dag->diagnostics.ToString();
    dags_.push_back(*std::move(dag));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  status = CheckDagsTogether(dags_);
  if (!status.ok()) return status;

  // 2. The libraries, each loaded once; what each registers is recorded.
  ComponentRegistry& registry = ComponentRegistry::Global();
  std::map<std::pair<const Dag*, std::string>, std::string> resolved;  // (dag, library) -> path
  std::set<std::string> loaded;
  for (const Dag& dag : dags_) {
    for (const DagModule& module : dag.modules) {
      if (module.library.empty()) continue;
      absl::StatusOr<std::string> path = ResolveLibrary(module, dag.path, options.library_path);
      if (!path.ok()) return path.status();
      resolved[{&dag, module.library}] = *path;
      if (!loaded.insert(*path).second) continue;
      registry.SetLoadingLibrary(*path);
      void* handle = dlopen(path->c_str(), RTLD_NOW | RTLD_GLOBAL);
      registry.SetLoadingLibrary("");
      if (handle == nullptr) {
        const char* why = dlerror();
        return absl::InvalidArgumentError(
            ErrorAt(module.where,
                    absl::StrCat("cannot load module_library '", module.library, "' (", *path,
                                 "): ", why != nullptr ? why : "unknown dlopen error"),
                    "a library built for another machine, or missing one of its own dependencies? "
                    "`ldd " +
                        *path + "` shows what it needs"));
      }
      libraries_.push_back(*path);
      LOG(INFO) << "loaded " << *path << ": registers "
                << absl::StrJoin(registry.ClassesOf(*path), ", ");
    }
  }

  // 3. Every component's class, before any thread starts.
  std::vector<const DagComponent*> entries;
  for (const Dag& dag : dags_) {
    for (const DagComponent& c : dag.components) {
      absl::StatusOr<std::unique_ptr<ComponentBase>> component = registry.Create(c.class_name);
      if (!component.ok()) {
        std::string hint;
        auto it = resolved.find({&dag, c.library});
        if (it != resolved.end()) {
          std::vector<std::string> classes = registry.ClassesOf(it->second);
          hint = absl::StrCat(c.library, " registers ",
                              classes.empty() ? "no classes" : absl::StrJoin(classes, ", "),
                              "; a class is registered with CADENCE_REGISTER_COMPONENT(",
                              c.class_name, ")");
        }
        errors.push_back(ErrorAt(c.where, std::string(component.status().message()), hint));
        continue;
      }
      components_.push_back(*std::move(component));
      entries.push_back(&c);
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));

  // 4. The scheduler conf.
  conf_path_ =
      !options.conf_file.empty()
          ? options.conf_file
          : ConfigPathFor(options.conf_dir,
                          options.sched_name.empty() ? options.process_group : options.sched_name);
  // An explicit conf file must exist; `<conf_dir>/<name>.conf` may be missing (the
  // default plan, with a warning), as in Cyber RT.
  absl::StatusOr<Validation> validation =
      LoadAndValidate(conf_path_, Machine::Read(), {.strict = options.strict},
                      options.conf_file.empty() ? ConfNaming::kLookedUp : ConfNaming::kExplicit);
  if (!validation.ok()) return validation.status();
  validation_ = *std::move(validation);
  if (!validation_.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the scheduler conf ", conf_path_, " is not valid:\n", validation_.diagnostics.ToString()));
  }
  if (!validation_.diagnostics.ToString().empty()) {
    LOG(WARNING) << "scheduler conf " << conf_path_ << ":\n" << validation_.diagnostics.ToString();
  }
  LOG(INFO) << "scheduler conf: " << conf_path_ << " (the real file: "
            << (validation_.plan.real_config_path.empty() ? "none, the default plan"
                                                          : validation_.plan.real_config_path)
            << ")";

  // 5. The scheduler, then the components (in DAG order).
  absl::StatusOr<std::unique_ptr<Scheduler>> scheduler = Scheduler::Start(
      validation_.plan,
      {.strict = options.strict,
       .trace_events_per_processor = trace_out_.empty() ? 0 : options.trace_events_per_processor});
  if (!scheduler.ok()) return scheduler.status();
  scheduler_ = *std::move(scheduler);
  const ComponentContext context{scheduler_.get(), &channels_};
  for (size_t i = 0; i < components_.size(); ++i) {
    status = components_[i]->Initialize(ConfigOf(*entries[i]), context);
    if (!status.ok()) {
      return absl::Status(status.code(), ErrorAt(entries[i]->where, std::string(status.message())));
    }
  }

  // 6. The state, once there is something to show.
  if (options.publish_state) {
    absl::StatusOr<std::unique_ptr<StateServer>> server =
        StateServer::Start(scheduler_.get(),
                           {.program = "",
                            .conf_path = conf_path_,
                            .real_conf_path = validation_.plan.real_config_path},
                           options.state_dir);
    if (server.ok()) {
      state_server_ = *std::move(server);
      LOG(INFO) << "scheduling state published on " << state_server_->socket_path()
                << " (schedctl ps/top " << getpid() << ")";
    } else if (!options.state_dir.empty()) {
      // Asked for by name: a start-up error.
      return absl::Status(server.status().code(),
                          absl::StrCat(server.status().message(),
                                       "\n  hint: --state_dir=DIR publishes it elsewhere; "
                                       "--nopublish_state runs without publishing it"));
    } else {
      // Only the default places failed (e.g. someone else's /tmp/cadence-<uid>): the
      // process runs, and says it is not observable.
      state_error_ = std::string(server.status().message());
      LOG(WARNING) << "the scheduling state is not published (schedctl ps/top will not show it): "
                   << state_error_ << "; --state_dir=DIR publishes it elsewhere";
    }
  } else {
    state_error_ = "--nopublish_state";
  }
  return absl::OkStatus();
}

std::string Launcher::state_socket() const {
  return state_server_ != nullptr ? state_server_->socket_path() : std::string();
}

std::string Launcher::StateLine() const {
  return state_server_ != nullptr ? absl::StrCat("state: ", state_server_->socket_path())
                                  : absl::StrCat("state: not published (", state_error_, ")");
}

Launcher::~Launcher() {
  if (shut_down_) return;  // Whoever called Shutdown has its status.
  const absl::Status status = Shutdown();
  if (!status.ok()) LOG(ERROR) << status.message();
}

absl::Status Launcher::Shutdown() {
  if (shut_down_) return shutdown_status_;
  shut_down_ = true;
  if (state_server_ != nullptr) state_server_->Stop();
  if (scheduler_ != nullptr) scheduler_->Shutdown();  // Running activations finish first.
  for (auto& component : components_) component->Shutdown();
  if (scheduler_ != nullptr && !trace_out_.empty()) {
    absl::StatusOr<TraceSummary> trace = scheduler_->WriteTrace(trace_out_);
    if (!trace.ok()) {
      shutdown_status_ = trace.status();
      return shutdown_status_;
    }
    uint64_t capacity = 0;
    for (const ProcessorStats& p : scheduler_->ProcessorStatistics()) {
      capacity = std::max(capacity, p.trace_capacity);
    }
    trace_report_ =
        absl::StrCat("trace written to ", trace_out_, ": ", trace->runs, " runs on ",
                     scheduler_->plan().processors.size(), " processor tracks, ", trace->arrows,
                     " notify arrows, ", trace->deadline_misses, " deadline misses, ",
                     trace->exceptions, " exceptions; ",
                     trace->dropped == 0 ? std::string("nothing dropped")
                                         : absl::StrCat(trace->dropped, " older runs dropped (",
                                                        capacity, " kept per processor)"),
                     " (open it in ui.perfetto.dev or chrome://tracing)");
    LOG(INFO) << trace_report_;
  }
  return shutdown_status_;
}

int Launcher::WaitForStop(std::chrono::milliseconds limit) {
  struct pollfd fd = {stop_pipe[0], POLLIN, 0};
  const bool limited = limit.count() != 0;
  // Time is counted from the start (no start + limit, which could overflow); poll() takes an
  // int of milliseconds, so a limit past INT_MAX ms (~24.8 days) is waited for in pieces.
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    int wait = -1;
    if (limited) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (waited >= limit) return 0;
      wait = static_cast<int>(std::min<int64_t>((limit - waited).count(), INT_MAX));
    }
    const int ready = poll(&fd, 1, wait);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    unsigned char byte = 0;
    if (read(stop_pipe[0], &byte, 1) == 1) return byte;
  }
}

uint64_t Launcher::FailedRuns() const {
  uint64_t failures = 0;
  for (const auto& component : components_) failures += component->Stats().proc_failures;
  if (scheduler_ != nullptr) {
    for (const TaskStats& t : scheduler_->TaskStatistics()) failures += t.exceptions;
  }
  return failures;
}

std::string Launcher::FailureReport() const {
  std::string out;
  for (const auto& component : components_) {
    const ComponentStats stats = component->Stats();
    if (stats.proc_failures > 0) {
      absl::StrAppend(&out, "component ", stats.name, ": ", stats.proc_failures, " of ",
                      stats.procs, " Proc calls failed\n");
    }
  }
  return out;
}

std::string Launcher::Summary() const {
  std::string out = absl::StrCat("conf: ", conf_path_);
  char resolved[PATH_MAX];
  const bool is_link = realpath(conf_path_.c_str(), resolved) != nullptr &&
                       std::string(resolved) == validation_.plan.real_config_path && [&] {
                         struct stat st;
                         return lstat(conf_path_.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
                       }();
  if (is_link) {
    absl::StrAppend(&out, " -> ", validation_.plan.real_config_path);
  }
  absl::StrAppend(
      &out, " (",
      validation_.plan.kind == SchedulerKind::kChoreography ? "choreography" : "classic", ")\n");
  for (const std::string& library : libraries_) absl::StrAppend(&out, "library: ", library, "\n");
  for (const auto& component : components_) {
    TaskPlan placement;
    bool named = false;
    std::string where = "-";
    if (validation_.plan.Placement(component->name(), &placement, &named)) {
      where = validation_.plan.queues[placement.queue].name;
      if (placement.processor >= 0) where = validation_.plan.processors[placement.processor].name;
      if (!named) absl::StrAppend(&where, " (not named in the conf)");
    }
    absl::StrAppend(&out, "component: ", component->name(), " -> ", where, "\n");
  }
  return out;
}

}  // namespace cadence
