#include "scheduler/component/component.h"

#include <cxxabi.h>

#include <cstdlib>

#include "absl/strings/str_join.h"
#include "glog/logging.h"

namespace cadence {

std::string TypeName(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  return name;
}

void ComponentBase::Shutdown() {
  if (task_.valid() && context_.scheduler != nullptr && !context_.scheduler->is_shut_down()) {
    context_.scheduler->RemoveTask(task_).IgnoreError();  // Already gone after shutdown.
  }
  Clear();
}

ComponentStats ComponentBase::Stats() const {
  ComponentStats s;
  s.name = name();
  s.procs = procs_.load(std::memory_order_relaxed);
  s.proc_failures = proc_failures_.load(std::memory_order_relaxed);
  s.skipped = skipped_.load(std::memory_order_relaxed);
  return s;
}

absl::Status TimerComponent::Initialize(const ComponentConfig& config,
                                        const ComponentContext& context) {
  config_ = config;
  context_ = context;
  if (config.interval_ms == 0) {
    return Named(absl::InvalidArgumentError("a timer component's interval must be > 0 ms"));
  }
  if (!config.readers.empty()) {
    return Named(absl::InvalidArgumentError(
        "a timer component has no readers (it runs every interval, not on messages)"));
  }
  if (!Init()) return Named(absl::FailedPreconditionError("Init() returned false"));
  absl::StatusOr<TaskId> task = context.scheduler->CreatePeriodicTask(
      config.name, std::chrono::milliseconds(config.interval_ms), [this] { CountProc(Proc()); });
  if (!task.ok()) return Named(task.status());
  task_ = *task;
  return absl::OkStatus();
}

ComponentRegistry& ComponentRegistry::Global() {
  static ComponentRegistry* registry = new ComponentRegistry();  // Never destroyed.
  return *registry;
}

void ComponentRegistry::Register(const std::string& class_name, Factory factory,
                                 const std::string& file) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(class_name);
  if (!inserted) {
    it->second.conflicts.push_back(
        absl::StrCat(loading_.empty() ? "the program" : loading_, " (", file, ")"));
    return;
  }
  it->second.factory = std::move(factory);
  it->second.library = loading_;
  it->second.file = file;
}

void ComponentRegistry::SetLoadingLibrary(const std::string& library) {
  std::lock_guard<std::mutex> lock(mutex_);
  loading_ = library;
}

absl::StatusOr<std::unique_ptr<ComponentBase>> ComponentRegistry::Create(
    const std::string& class_name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(class_name);
  if (it == entries_.end()) {
    std::vector<std::string> known;
    for (const auto& [name, entry] : entries_) known.push_back(name);
    return absl::NotFoundError(absl::StrCat(
        "unknown component class '", class_name, "'; registered classes: ",
        known.empty() ? "none" : absl::StrJoin(known, ", ")));
  }
  if (!it->second.conflicts.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "component class '", class_name, "' is registered more than once: by ",
        it->second.library.empty() ? "the program" : it->second.library, " (", it->second.file,
        ") and by ", absl::StrJoin(it->second.conflicts, ", ")));
  }
  return it->second.factory();
}

std::vector<std::string> ComponentRegistry::ClassesOf(const std::string& library) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) {
    if (entry.library == library) out.push_back(name);
  }
  return out;
}

std::vector<std::string> ComponentRegistry::Describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) {
    out.push_back(absl::StrCat(name, " (", entry.library.empty() ? "the program" : entry.library,
                               ")"));
  }
  return out;
}

}  // namespace cadence
