// Components, as in Cyber RT: units of work that a DAG file names by class and instance.
//
//   class Controller : public cadence::Component<SensorReading> {
//     bool Init() override {
//       auto writer = CreateWriter<Command>("/robot/command");
//       if (!writer.ok()) {
//         LOG(ERROR) << writer.status();  // Why; start-up then fails with "Init() returned false".
//         return false;
//       }
//       writer_ = *writer;
//       return true;
//     }
//     bool Proc(const std::shared_ptr<SensorReading>& reading) override { ... }
//   };
//   CADENCE_REGISTER_COMPONENT(Controller)
//
// - Component<M0, ..., M3> (1 to 4 inputs) runs Proc once per message on its first reader's
//   channel, with the latest message of each other reader (an activation where one of those
//   has no message yet is skipped and counted, as Cyber's data fusion does).
// - TimerComponent runs Proc() every `interval` ms as a periodic task (drift-free).
// - A component's task is named by its config name: that is the name a scheduler conf uses
//   to place it.
// - Registration is by class name, at load time, so a shared library loaded by the launcher
//   provides its classes. CYBER_REGISTER_COMPONENT is an alias for code ported from Cyber.
#ifndef CADENCE_SCHEDULER_COMPONENT_COMPONENT_H_
#define CADENCE_SCHEDULER_COMPONENT_COMPONENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "scheduler/component/channel.h"
#include "scheduler/scheduler.h"

namespace cadence {

// What a DAG (or code) says about one component instance.
struct ComponentConfig {
  std::string name;
  std::string config_file_path;
  std::string flag_file_path;
  struct ReaderConfig {
    std::string channel;
    uint32_t pending_queue_size = 1;
  };
  // Components: 1 to 4; the first one's messages trigger Proc.
  std::vector<ReaderConfig> readers;
  // Timer components: the period in milliseconds (> 0).
  uint32_t interval_ms = 0;
};

// Where a component runs: the scheduler its task goes to, the channels it talks on.
struct ComponentContext {
  Scheduler* scheduler = nullptr;
  ChannelRegistry* channels = nullptr;
};

// What a component did so far.
struct ComponentStats {
  std::string name;
  // Proc calls, and those that returned false.
  uint64_t procs = 0;
  uint64_t proc_failures = 0;
  // Activations skipped because a fused input had no message yet.
  uint64_t skipped = 0;
  // Messages its readers dropped (pending queue full).
  uint64_t dropped = 0;
};

class ComponentBase {
 public:
  virtual ~ComponentBase() = default;

  // Sets the component up: Init(), then its readers and its task. Errors name the
  // component and say what is wrong (wrong number of readers, Init() returned false, a
  // channel with another type, the task could not be created).
  virtual absl::Status Initialize(const ComponentConfig& config,
                                  const ComponentContext& context) = 0;

  // Removes its task (waiting for a running Proc) and calls Clear(). After the scheduler's
  // own shutdown the task is left in place (it never runs again), so its statistics stay
  // readable.
  void Shutdown();

  // Its instance name (config name), which is also its task's name.
  const std::string& name() const { return config_.name; }

  // Its task (valid after Initialize).
  TaskId task() const { return task_; }

  // Its statistics.
  virtual ComponentStats Stats() const;

 protected:
  // Called once before the component takes work; return false to refuse to start.
  virtual bool Init() = 0;

  // Called once at shutdown, after the last Proc.
  virtual void Clear() {}

  // Its config.
  const ComponentConfig& config() const { return config_; }

  // The scheduler it runs on.
  Scheduler* scheduler() const { return context_.scheduler; }

  // A writer on `channel` for T messages. Errors: the channel carries another type.
  template <typename T>
  absl::StatusOr<std::shared_ptr<Writer<T>>> CreateWriter(const std::string& channel) {
    absl::StatusOr<Channel<T>*> c = context_.channels->Get<T>(channel);
    if (!c.ok()) return Named(c.status());
    return std::make_shared<Writer<T>>(*c);
  }

  // A latest-only reader on `channel` (it notifies nothing; read it with Latest()). Errors:
  // the channel carries another type.
  template <typename T>
  absl::StatusOr<std::shared_ptr<Reader<T>>> CreateReader(const std::string& channel) {
    absl::StatusOr<Channel<T>*> c = context_.channels->Get<T>(channel);
    if (!c.ok()) return Named(c.status());
    auto reader = std::make_shared<Reader<T>>(channel, 1, context_.scheduler, TaskId{});
    absl::Status status = (*c)->Subscribe(reader.get());
    if (!status.ok()) return Named(status);
    extra_readers_.push_back(reader);
    return reader;
  }

  // `status` with "component <name>: " in front.
  absl::Status Named(const absl::Status& status) const {
    return absl::Status(status.code(), absl::StrCat("component ", name(), ": ", status.message()));
  }

  // Records a Proc call's result.
  void CountProc(bool ok) {
    procs_.fetch_add(1, std::memory_order_relaxed);
    if (!ok) proc_failures_.fetch_add(1, std::memory_order_relaxed);
  }

  ComponentConfig config_;
  ComponentContext context_;
  TaskId task_;
  std::atomic<uint64_t> procs_{0};
  std::atomic<uint64_t> proc_failures_{0};
  std::atomic<uint64_t> skipped_{0};
  // Readers made with CreateReader: they live as long as the component.
  std::vector<std::shared_ptr<void>> extra_readers_;
};

// A component triggered by messages on its first reader's channel; M are its inputs' types.
template <typename... M>
class Component : public ComponentBase {
  static_assert(sizeof...(M) >= 1 && sizeof...(M) <= 4, "a component has 1 to 4 inputs");

 public:
  // Called for each message on the first channel, with the latest of the others. Return
  // false to report a failure (counted).
  virtual bool Proc(const std::shared_ptr<M>&... messages) = 0;

  absl::Status Initialize(const ComponentConfig& config,
                          const ComponentContext& context) override {
    config_ = config;
    context_ = context;
    if (config.readers.size() != sizeof...(M)) {
      return Named(absl::InvalidArgumentError(
          absl::StrCat("its class reads ", sizeof...(M), " channel(s) but the config gives ",
                       config.readers.size(), " reader(s)")));
    }
    if (!Init()) return Named(absl::FailedPreconditionError("Init() returned false"));
    // Every channel's type is checked before any reader is subscribed or the task created,
    // so a channel of another type leaves nothing behind (a subscribed reader would dangle
    // once the failed component is destroyed).
    std::tuple<Channel<M>*...> channels{};
    absl::Status status = ResolveChannels(&channels, std::index_sequence_for<M...>{});
    if (!status.ok()) return status;
    MakeReaders(std::index_sequence_for<M...>{});
    trigger_ = std::make_unique<Reader<First>>(config.readers[0].channel,
                                               config.readers[0].pending_queue_size,
                                               context.scheduler, TaskId{});
    std::get<0>(readers_) = trigger_.get();
    absl::StatusOr<TaskId> task = context.scheduler->CreateTask(config.name, [this] { Drain(); });
    if (!task.ok()) return Named(task.status());
    task_ = *task;
    // The trigger reader notifies the task; subscribed only now that the task exists.
    trigger_->BindTask(task_);
    status = Subscribe(channels, std::index_sequence_for<M...>{});
    if (!status.ok()) context.scheduler->RemoveTask(task_).IgnoreError();
    return status;
  }

  ComponentStats Stats() const override {
    ComponentStats s = ComponentBase::Stats();
    s.dropped = trigger_ != nullptr ? trigger_->dropped() : 0;
    return s;
  }

 private:
  using First = std::tuple_element_t<0, std::tuple<M...>>;

  template <size_t... I>
  void MakeReaders(std::index_sequence<I...>) {
    // Readers 1.. keep the latest message only and notify nothing.
    ((I == 0 ? void() : MakeLatestReader<I>()), ...);
  }

  template <size_t I>
  void MakeLatestReader() {
    using T = std::tuple_element_t<I, std::tuple<M...>>;
    auto reader =
        std::make_shared<Reader<T>>(config_.readers[I].channel, 1, context_.scheduler, TaskId{});
    std::get<I>(readers_) = reader.get();
    extra_readers_.push_back(reader);
  }

  template <size_t... I>
  absl::Status ResolveChannels(std::tuple<Channel<M>*...>* channels, std::index_sequence<I...>) {
    absl::Status status;
    (ResolveChannel<I>(channels, &status), ...);
    return status;
  }

  template <size_t I>
  void ResolveChannel(std::tuple<Channel<M>*...>* channels, absl::Status* status) {
    if (!status->ok()) return;
    using T = std::tuple_element_t<I, std::tuple<M...>>;
    absl::StatusOr<Channel<T>*> channel = context_.channels->Get<T>(config_.readers[I].channel);
    if (!channel.ok()) {
      *status = Named(channel.status());
      return;
    }
    std::get<I>(*channels) = *channel;
  }

  template <size_t... I>
  absl::Status Subscribe(const std::tuple<Channel<M>*...>& channels, std::index_sequence<I...>) {
    absl::Status status;
    (SubscribeOne<I>(channels, &status), ...);
    return status;
  }

  template <size_t I>
  void SubscribeOne(const std::tuple<Channel<M>*...>& channels, absl::Status* status) {
    if (!status->ok()) return;
    absl::Status s = std::get<I>(channels)->Subscribe(std::get<I>(readers_));
    if (!s.ok()) *status = Named(s);
  }

  void Drain() {
    // Only what is pending now: messages arriving meanwhile notify the task again.
    for (size_t n = std::get<0>(readers_)->Pending(); n > 0; --n) {
      std::shared_ptr<First> first = std::get<0>(readers_)->Take();
      if (first == nullptr) return;
      RunProc(first, std::index_sequence_for<M...>{});
    }
  }

  template <size_t... I>
  void RunProc(const std::shared_ptr<First>& first, std::index_sequence<I...>) {
    auto inputs = std::make_tuple((I == 0 ? nullptr : std::get<I>(readers_)->Latest())...);
    std::get<0>(inputs) = first;
    const bool complete = ((std::get<I>(inputs) != nullptr) && ...);
    if (!complete) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    CountProc(Proc(std::get<I>(inputs)...));
  }

  std::tuple<Reader<M>*...> readers_{};
  std::unique_ptr<Reader<First>> trigger_;
};

// A component whose Proc() runs every `interval` milliseconds.
class TimerComponent : public ComponentBase {
 public:
  // Called every interval. Return false to report a failure (counted).
  virtual bool Proc() = 0;

  absl::Status Initialize(const ComponentConfig& config,
                          const ComponentContext& context) override;
};

// The component classes known to this process, by class name.
class ComponentRegistry {
 public:
  using Factory = std::function<std::unique_ptr<ComponentBase>()>;

  // The process-wide registry.
  static ComponentRegistry& Global();

  // Registers a class (CADENCE_REGISTER_COMPONENT does this at load time). A name
  // registered twice keeps the first and records the conflict, which Create reports.
  void Register(const std::string& class_name, Factory factory, const std::string& file);

  // Attributes the registrations that follow to `library` (the launcher brackets dlopen with
  // this); "" for the program itself.
  void SetLoadingLibrary(const std::string& library);

  // A new instance of a class. Errors: NotFound naming the known classes; AlreadyExists
  // when two libraries registered the name.
  absl::StatusOr<std::unique_ptr<ComponentBase>> Create(const std::string& class_name) const;

  // The classes registered by `library` ("" for the program itself).
  std::vector<std::string> ClassesOf(const std::string& library) const;

  // Every registered class name with where it came from ("Foo (libfoo.so)").
  std::vector<std::string> Describe() const;

 private:
  struct Entry {
    Factory factory;
    std::string library;
    std::string file;
    std::vector<std::string> conflicts;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::string loading_;
};

// Registers a component class when its object file is loaded.
struct ComponentRegistrar {
  ComponentRegistrar(const char* class_name, ComponentRegistry::Factory factory,
                     const char* file) {
    ComponentRegistry::Global().Register(class_name, std::move(factory), file);
  }
};

}  // namespace cadence

#define CADENCE_COMPONENT_CONCAT_INNER(a, b) a##b
#define CADENCE_COMPONENT_CONCAT(a, b) CADENCE_COMPONENT_CONCAT_INNER(a, b)

// Registers component class `name` (use at namespace scope, once per class).
#define CADENCE_REGISTER_COMPONENT(name)                                                      \
  static ::cadence::ComponentRegistrar CADENCE_COMPONENT_CONCAT(cadence_component_registrar_, \
                                                                __LINE__)(                    \
      #name, [] { return std::unique_ptr<::cadence::ComponentBase>(new name()); }, __FILE__);

// Cyber RT's spelling.
#define CYBER_REGISTER_COMPONENT(name) CADENCE_REGISTER_COMPONENT(name)

#endif  // CADENCE_SCHEDULER_COMPONENT_COMPONENT_H_
