// Tests of channels and components: a reader's bounded pending queue (oldest dropped and
// counted), a written message reaching Proc as the same shared object, every message
// processed in write order when the queue is big enough, fused inputs (an activation with a
// missing input is skipped and counted), Initialize's errors (and that a failed Initialize
// leaves no task and no subscription behind), timer components as periodic releases,
// failures of Proc counted, the class registry, Shutdown, and latest-only readers made in
// Init. Synchronisation is by condition variables only; nothing here sleeps to wait for the
// scheduler, and nothing asserts on timing.
#include "scheduler/component/component.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/common/machine.h"
#include "scheduler/component/channel.h"
#include "scheduler/config/loader.h"
#include "scheduler/config/validator.h"
#include "scheduler/processor.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/test_plans.h"

namespace cadence {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kGuard = 30s;

constexpr char kConf[] = R"(
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [{ name: "g" processor_num: 1 affinity: "range" cpuset: "0-1" }]
  }
})";

std::unique_ptr<Scheduler> StartOrNull() {
  return test_support::StartOrNull(test_support::PlanFromText(kConf));
}

// What a task body saw, with a wait for "at least n".
template <typename T>
class Log {
 public:
  void Add(T item) {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.push_back(std::move(item));
    changed_.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kGuard, [&] { return items_.size() >= n; });
  }
  std::vector<T> Get() {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> items_;
};

// A one-shot event.
class Event {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mutex_);
    set_ = true;
    changed_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kGuard, [&] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

struct Msg {
  int value = 0;
};
struct Pose {
  int value = 0;
};
struct Map {
  int value = 0;
};

std::shared_ptr<Msg> MakeMsg(int value) { return std::make_shared<Msg>(Msg{value}); }

ComponentConfig ConfigOf(const std::string& name,
                         std::vector<ComponentConfig::ReaderConfig> readers) {
  ComponentConfig config;
  config.name = name;
  config.readers = std::move(readers);
  return config;
}

Writer<Msg> WriterOn(ChannelRegistry* registry, const std::string& channel) {
  absl::StatusOr<Channel<Msg>*> c = registry->Get<Msg>(channel);
  EXPECT_TRUE(c.ok()) << c.status();
  return Writer<Msg>(*c);
}

// A one-input component that logs every message Proc gets (the shared objects themselves).
class Recorder : public Component<Msg> {
 public:
  bool Proc(const std::shared_ptr<Msg>& message) override {
    seen.Add(message);
    return true;
  }
  std::vector<int> Values() {
    std::vector<int> out;
    for (const auto& m : seen.Get()) out.push_back(m->value);
    return out;
  }
  Log<std::shared_ptr<Msg>> seen;

 protected:
  bool Init() override { return true; }
};

TEST(ReaderTest, AloneKeepsTheNewestMessagesAndCountsDrops) {
  Reader<Msg> reader("/ch", 2, nullptr, TaskId{});  // TaskId{}: notifies nothing.
  std::vector<std::shared_ptr<Msg>> written;
  for (int i = 1; i <= 5; ++i) {
    written.push_back(MakeMsg(i));
    reader.Deliver(written.back());
  }
  EXPECT_EQ(reader.Pending(), 2u);
  std::shared_ptr<Msg> first = reader.Take();
  std::shared_ptr<Msg> second = reader.Take();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first.get(), written[3].get());
  EXPECT_EQ(first->value, 4);
  EXPECT_EQ(second.get(), written[4].get());
  EXPECT_EQ(second->value, 5);
  EXPECT_EQ(reader.Take(), nullptr);
  EXPECT_EQ(reader.Pending(), 0u);
  EXPECT_EQ(reader.dropped(), 3u);
  EXPECT_EQ(reader.received(), 5u);
  EXPECT_EQ(reader.Latest().get(), written[4].get());
}

TEST(ReaderTest, CapacityZeroKeepsOneMessage) {
  Reader<Msg> reader("/ch", 0, nullptr, TaskId{});
  reader.Deliver(MakeMsg(1));
  reader.Deliver(MakeMsg(2));
  std::shared_ptr<Msg> taken = reader.Take();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->value, 2);
  EXPECT_EQ(reader.Take(), nullptr);
  EXPECT_EQ(reader.dropped(), 1u);
}

TEST(ChannelRegistryTest, ChannelsAreTypedAndCountWrites) {
  ChannelRegistry registry;
  absl::StatusOr<Channel<Msg>*> a = registry.Get<Msg>("/a");
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Channel<Msg>*> again = registry.Get<Msg>("/a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*a, *again);
  absl::StatusOr<Channel<int>*> wrong = registry.Get<int>("/a");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr(TypeName(typeid(Msg))));
  EXPECT_THAT(std::string(wrong.status().message()), HasSubstr("int"));
  EXPECT_FALSE(registry.Get<Msg>("").ok());

  Reader<Msg> reader("/a", 4, nullptr, TaskId{});
  ASSERT_TRUE((*a)->Subscribe(&reader).ok());
  Writer<Msg> writer(*a);
  writer.Write(Msg{1});
  writer.Write(MakeMsg(2));
  std::vector<ChannelStats> stats = registry.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "/a");
  EXPECT_EQ(stats[0].readers, 1);
  EXPECT_EQ(stats[0].writes, 2u);
  EXPECT_EQ(reader.received(), 2u);
}

TEST(ComponentTest, WrittenMessageRunsProcWithThatSameMessage) {
  ChannelRegistry registry;
  Recorder component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(component.Initialize(ConfigOf("recorder", {{"/ch", 10}}), {s.get(), &registry}).ok());
  Writer<Msg> writer = WriterOn(&registry, "/ch");
  std::shared_ptr<Msg> message = MakeMsg(42);
  writer.Write(message);
  ASSERT_TRUE(component.seen.WaitFor(1));
  const std::vector<std::shared_ptr<Msg>> seen = component.seen.Get();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].get(), message.get()) << "Proc got a copy, not the written message";
  EXPECT_EQ(component.name(), "recorder");
  absl::StatusOr<TaskId> task = s->FindTask("recorder");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(*task, component.task());
}

// Blocks in Proc on a gate for message 1 (after saying it entered).
class Blocker : public Recorder {
 public:
  bool Proc(const std::shared_ptr<Msg>& message) override {
    Recorder::Proc(message);
    if (message->value == 1) {
      entered.Set();
      EXPECT_TRUE(gate.Wait()) << "the gate was never opened";
    }
    return true;
  }
  Event entered;
  Event gate;
};

TEST(ComponentTest, FullPendingQueueDropsOldestAndCountsThem) {
  ChannelRegistry registry;
  Blocker component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(component.Initialize(ConfigOf("blocker", {{"/ch", 2}}), {s.get(), &registry}).ok());
  Writer<Msg> writer = WriterOn(&registry, "/ch");
  writer.Write(MakeMsg(1));
  if (!component.entered.Wait()) {
    component.gate.Set();
    FAIL() << "Proc never ran for message 1";
  }
  // Proc is blocked on message 1: 2 and 3 fill the queue, 4, 5 and 6 push out 2, 3 and 4.
  for (int i = 2; i <= 6; ++i) writer.Write(MakeMsg(i));
  // Counted as they happen, on the writer's thread.
  EXPECT_EQ(component.Stats().dropped, 3u);
  component.gate.Set();
  ASSERT_TRUE(component.seen.WaitFor(3));
  component.Shutdown();  // Waits for a running Proc: nothing runs after this.
  EXPECT_THAT(component.Values(), ElementsAre(1, 5, 6));
  const ComponentStats stats = component.Stats();
  EXPECT_EQ(stats.dropped, 3u);
  EXPECT_EQ(stats.procs, 3u);
  absl::StatusOr<TaskStats> task = s->TaskStatistics(component.task());
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->dropped, 3u);
}

TEST(ComponentTest, EveryMessageIsProcessedInWriteOrderWhenTheQueueIsBigEnough) {
  constexpr int kMessages = 1000;
  ChannelRegistry registry;
  Recorder component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(
      component.Initialize(ConfigOf("ordered", {{"/ch", kMessages}}), {s.get(), &registry}).ok());
  Writer<Msg> writer = WriterOn(&registry, "/ch");
  for (int i = 0; i < kMessages; ++i) writer.Write(MakeMsg(i));
  ASSERT_TRUE(component.seen.WaitFor(kMessages));
  component.Shutdown();
  const std::vector<int> values = component.Values();
  ASSERT_EQ(values.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) ASSERT_EQ(values[i], i) << "out of order at " << i;
  EXPECT_EQ(component.Stats().procs, static_cast<uint64_t>(kMessages));
  EXPECT_EQ(component.Stats().dropped, 0u);
}

// Two inputs: poses trigger Proc, with the latest map.
class Fuser : public Component<Pose, Map> {
 public:
  bool Proc(const std::shared_ptr<Pose>& pose, const std::shared_ptr<Map>& map) override {
    seen.Add({pose->value, map->value});
    return true;
  }
  Log<std::pair<int, int>> seen;

 protected:
  bool Init() override { return true; }
};

TEST(ComponentTest, FusedInputMissingAMessageSkipsTheActivationAndCountsIt) {
  ChannelRegistry registry;
  Fuser component;
  Log<int> probe;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(
      component.Initialize(ConfigOf("fuser", {{"/pose", 10}, {"/map", 1}}), {s.get(), &registry})
          .ok());
  // A second task on the one processor: queued after the component's activation at the same
  // priority, it runs after that activation has finished (FIFO within a priority level).
  absl::StatusOr<TaskId> probe_task = s->CreateTask("probe", [&] { probe.Add(1); });
  ASSERT_TRUE(probe_task.ok()) << probe_task.status();
  absl::StatusOr<Channel<Pose>*> poses = registry.Get<Pose>("/pose");
  absl::StatusOr<Channel<Map>*> maps = registry.Get<Map>("/map");
  ASSERT_TRUE(poses.ok() && maps.ok());
  Writer<Pose> pose_writer(*poses);
  Writer<Map> map_writer(*maps);

  pose_writer.Write(Pose{1});  // No map yet: skipped.
  ASSERT_TRUE(s->NotifyTask(*probe_task).ok());
  ASSERT_TRUE(probe.WaitFor(1));
  EXPECT_EQ(component.Stats().skipped, 1u);
  EXPECT_EQ(component.Stats().procs, 0u);

  // A map alone triggers nothing (its reader keeps the latest only, and notifies no one).
  const uint64_t notifies = s->TaskStatistics(component.task())->notifies;
  map_writer.Write(Map{7});
  EXPECT_EQ(s->TaskStatistics(component.task())->notifies, notifies);

  pose_writer.Write(Pose{2});
  ASSERT_TRUE(component.seen.WaitFor(1));
  map_writer.Write(Map{8});
  pose_writer.Write(Pose{3});
  ASSERT_TRUE(component.seen.WaitFor(2));
  component.Shutdown();
  EXPECT_THAT(component.seen.Get(), ElementsAre(std::pair(2, 7), std::pair(3, 8)));
  EXPECT_EQ(component.Stats().skipped, 1u);
  EXPECT_EQ(component.Stats().procs, 2u);
}

class Strings : public Component<std::string> {
 public:
  bool Proc(const std::shared_ptr<std::string>&) override { return true; }

 protected:
  bool Init() override { return true; }
};

TEST(ComponentTest, ChannelOfAnotherTypeFailsInitializeNamingBothTypes) {
  ChannelRegistry registry;
  ASSERT_TRUE(registry.Get<int>("/x").ok());
  Strings component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  absl::Status status =
      component.Initialize(ConfigOf("strings", {{"/x", 1}}), {s.get(), &registry});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("component strings"));
  EXPECT_THAT(message, HasSubstr("int"));
  EXPECT_THAT(message, HasSubstr(TypeName(typeid(std::string))));
  // Nothing is left behind: no task under its name, no reader on the channel.
  EXPECT_EQ(s->FindTask("strings").status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(registry.Stats().size(), 1u);
  EXPECT_EQ(registry.Stats()[0].readers, 0);
}

class IntAndString : public Component<int, std::string> {
 public:
  bool Proc(const std::shared_ptr<int>&, const std::shared_ptr<std::string>&) override {
    return true;
  }

 protected:
  bool Init() override { return true; }
};

TEST(ComponentTest, FailedInitializeLeavesNoReaderSubscribedToItsOtherChannels) {
  ChannelRegistry registry;
  ASSERT_TRUE(registry.Get<int>("/x").ok());
  Recorder other;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  auto component = std::make_unique<IntAndString>();
  // "/a" is fine; "/x" carries int, not std::string.
  absl::Status status =
      component->Initialize(ConfigOf("fused", {{"/a", 1}, {"/x", 1}}), {s.get(), &registry});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("component fused"));
  EXPECT_EQ(s->FindTask("fused").status().code(), absl::StatusCode::kNotFound);
  for (const ChannelStats& c : registry.Stats()) {
    EXPECT_EQ(c.readers, 0) << "channel " << c.name << " kept a reader of the failed component";
  }
  // The failed component goes away; writing to its first channel must touch nothing of it.
  component.reset();
  absl::StatusOr<Channel<int>*> a = registry.Get<int>("/a");
  ASSERT_TRUE(a.ok());
  Writer<int>(*a).Write(1);
  // The name is free for a corrected component.
  EXPECT_TRUE(other.Initialize(ConfigOf("fused", {{"/m", 1}}), {s.get(), &registry}).ok());
}

class TwoInputs : public Component<Msg, Map> {
 public:
  bool Proc(const std::shared_ptr<Msg>&, const std::shared_ptr<Map>&) override { return true; }

 protected:
  bool Init() override { return true; }
};

class Refuser : public Component<Msg> {
 public:
  bool Proc(const std::shared_ptr<Msg>&) override { return true; }

 protected:
  bool Init() override { return false; }
};

class Ticker : public TimerComponent {
 public:
  bool Proc() override {
    releases.Add(CurrentRelease());
    names.Add(CurrentTask() != nullptr ? CurrentTask()->name : "");
    return true;
  }
  Log<int64_t> releases;
  Log<std::string> names;

 protected:
  bool Init() override { return true; }
};

TEST(ComponentTest, InitializeErrorsNameTheComponentAndTheProblem) {
  ChannelRegistry registry;
  TwoInputs two;
  Refuser refuser;
  Ticker zero, with_readers;
  Recorder first, second;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  const ComponentContext context{s.get(), &registry};

  absl::Status status = two.Initialize(ConfigOf("two", {{"/m", 1}}), context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("component two"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("reads 2 channel(s)"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("gives 1 reader(s)"));

  status = refuser.Initialize(ConfigOf("refuser", {{"/m", 1}}), context);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("component refuser"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("Init() returned false"));
  EXPECT_EQ(s->FindTask("refuser").status().code(), absl::StatusCode::kNotFound);

  ComponentConfig config = ConfigOf("zero", {});
  config.interval_ms = 0;
  status = zero.Initialize(config, context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("component zero"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("interval must be > 0"));

  config = ConfigOf("with_readers", {{"/m", 1}});
  config.interval_ms = 1;
  status = with_readers.Initialize(config, context);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("has no readers"));

  // A task name in use is reported, named.
  ASSERT_TRUE(first.Initialize(ConfigOf("taken", {{"/m", 1}}), context).ok());
  status = second.Initialize(ConfigOf("taken", {{"/m", 1}}), context);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()), HasSubstr("component taken"));
}

TEST(ComponentTest, TimerComponentRunsProcAsPeriodicReleasesOfItsNamedTask) {
  Ticker ticker;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ComponentConfig config = ConfigOf("ticker", {});
  config.interval_ms = 1;
  ASSERT_TRUE(ticker.Initialize(config, {s.get(), nullptr}).ok());
  ASSERT_TRUE(ticker.releases.WaitFor(10));
  ticker.Shutdown();  // Waits for a running Proc: its count is final.
  for (int64_t release : ticker.releases.Get()) {
    EXPECT_GT(release, 0) << "a timer component's Proc ran outside a periodic release";
  }
  for (const std::string& name : ticker.names.Get()) EXPECT_EQ(name, "ticker");
  EXPECT_GE(ticker.Stats().procs, 10u);
  EXPECT_EQ(ticker.Stats().procs, ticker.releases.Get().size());
  absl::StatusOr<TaskStats> task = s->TaskStatistics(ticker.task());
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->name, "ticker");
  EXPECT_EQ(task->period_ns, 1'000'000u);
}

// Proc fails for odd values.
class OddFails : public Recorder {
 public:
  bool Proc(const std::shared_ptr<Msg>& message) override {
    Recorder::Proc(message);
    return message->value % 2 == 0;
  }
};

TEST(ComponentTest, ProcReturningFalseIsCountedAsAFailure) {
  ChannelRegistry registry;
  OddFails component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(component.Initialize(ConfigOf("odd", {{"/ch", 10}}), {s.get(), &registry}).ok());
  Writer<Msg> writer = WriterOn(&registry, "/ch");
  for (int i = 0; i < 5; ++i) writer.Write(MakeMsg(i));
  ASSERT_TRUE(component.seen.WaitFor(5));
  component.Shutdown();  // Waits for the last Proc to be counted.
  const ComponentStats stats = component.Stats();
  EXPECT_EQ(stats.name, "odd");
  EXPECT_EQ(stats.procs, 5u);
  EXPECT_EQ(stats.proc_failures, 2u);
}

class Plain : public Component<Msg> {
 public:
  bool Proc(const std::shared_ptr<Msg>&) override { return true; }

 protected:
  bool Init() override { return true; }
};

class Other : public Plain {};

TEST(ComponentRegistryTest, CreatesRegisteredClassesAndReportsUnknownOnes) {
  ComponentRegistry registry;
  registry.Register(
      "Plain", [] { return std::unique_ptr<ComponentBase>(new Plain()); }, "plain.cc");
  registry.Register(
      "Other", [] { return std::unique_ptr<ComponentBase>(new Other()); }, "other.cc");
  absl::StatusOr<std::unique_ptr<ComponentBase>> plain = registry.Create("Plain");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_NE(dynamic_cast<Plain*>(plain->get()), nullptr);
  EXPECT_EQ(dynamic_cast<Other*>(plain->get()), nullptr);
  absl::StatusOr<std::unique_ptr<ComponentBase>> other = registry.Create("Other");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(dynamic_cast<Other*>(other->get()), nullptr);

  absl::StatusOr<std::unique_ptr<ComponentBase>> unknown = registry.Create("Nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("Nope"));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("Other, Plain"));
  EXPECT_THAT(registry.ClassesOf(""), ElementsAre("Other", "Plain"));
  EXPECT_THAT(registry.Describe(), ElementsAre("Other (the program)", "Plain (the program)"));

  ComponentRegistry empty;
  absl::StatusOr<std::unique_ptr<ComponentBase>> none = empty.Create("Plain");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("none"));
}

TEST(ComponentRegistryTest, NameRegisteredByTwoLibrariesIsAnErrorNamingBoth) {
  ComponentRegistry registry;
  registry.SetLoadingLibrary("liba.so");
  registry.Register(
      "Twice", [] { return std::unique_ptr<ComponentBase>(new Plain()); }, "a.cc");
  registry.SetLoadingLibrary("libb.so");
  registry.Register(
      "Twice", [] { return std::unique_ptr<ComponentBase>(new Other()); }, "b.cc");
  registry.SetLoadingLibrary("");
  absl::StatusOr<std::unique_ptr<ComponentBase>> twice = registry.Create("Twice");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kAlreadyExists);
  const std::string message(twice.status().message());
  EXPECT_THAT(message, HasSubstr("Twice"));
  EXPECT_THAT(message, HasSubstr("liba.so"));
  EXPECT_THAT(message, HasSubstr("libb.so"));
  EXPECT_THAT(registry.ClassesOf("liba.so"), ElementsAre("Twice"));
  EXPECT_TRUE(registry.ClassesOf("libb.so").empty()) << "the first registration is kept";
  EXPECT_TRUE(registry.ClassesOf("").empty());
}

class RegisteredTestComponent : public Plain {};

}  // namespace
}  // namespace cadence

// At namespace scope, as a component library does.
CADENCE_REGISTER_COMPONENT(cadence::RegisteredTestComponent)

namespace cadence {
namespace {

TEST(ComponentRegistryTest, RegisterMacroRegistersIntoTheGlobalRegistry) {
  absl::StatusOr<std::unique_ptr<ComponentBase>> created =
      ComponentRegistry::Global().Create("cadence::RegisteredTestComponent");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_NE(dynamic_cast<RegisteredTestComponent*>(created->get()), nullptr);
  EXPECT_THAT(ComponentRegistry::Global().ClassesOf(""),
              testing::Contains("cadence::RegisteredTestComponent"));
}

// Counts Clear() calls.
class Clearing : public Recorder {
 public:
  std::atomic<int> clears{0};

 protected:
  void Clear() override { clears.fetch_add(1); }
};

TEST(ComponentTest, ShutdownRemovesTheTaskAndCallsClearOnce) {
  ChannelRegistry registry;
  Clearing component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(component.Initialize(ConfigOf("clearing", {{"/ch", 4}}), {s.get(), &registry}).ok());
  ASSERT_TRUE(s->FindTask("clearing").ok());
  Writer<Msg> writer = WriterOn(&registry, "/ch");
  writer.Write(MakeMsg(1));
  ASSERT_TRUE(component.seen.WaitFor(1));
  EXPECT_EQ(component.clears.load(), 0);
  component.Shutdown();
  EXPECT_EQ(s->FindTask("clearing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s->NotifyTask(component.task()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(component.clears.load(), 1);
  // A message written after Shutdown notifies a removed task: refused, never run. The
  // scheduler's Shutdown lets every queued and running activation finish first, so a run
  // for it, had one been queued, would have happened by the check.
  writer.Write(MakeMsg(2));
  s->Shutdown();
  EXPECT_EQ(component.Values(), std::vector<int>{1});
  EXPECT_EQ(component.clears.load(), 1);
}

// Reads a latest-only "/cmd" reader made in Init whenever a tick arrives.
class Commanded : public Component<Msg> {
 public:
  bool Proc(const std::shared_ptr<Msg>&) override {
    std::shared_ptr<int> latest = command_->Latest();
    seen.Add(latest == nullptr ? -1 : *latest);
    return true;
  }
  std::shared_ptr<Reader<int>> command() const { return command_; }
  Log<int> seen;
  absl::Status init_status;

 protected:
  bool Init() override {
    absl::StatusOr<std::shared_ptr<Reader<int>>> reader = CreateReader<int>("/cmd");
    init_status = reader.status();
    if (!reader.ok()) return false;
    command_ = *reader;
    return true;
  }

 private:
  std::shared_ptr<Reader<int>> command_;
};

TEST(ComponentTest, LatestOnlyReaderCreatedInInitSeesTheLatestValue) {
  ChannelRegistry registry;
  Commanded component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(
      component.Initialize(ConfigOf("commanded", {{"/tick", 4}}), {s.get(), &registry}).ok());
  ASSERT_TRUE(component.init_status.ok()) << component.init_status;
  ASSERT_NE(component.command(), nullptr);
  absl::StatusOr<Channel<int>*> cmd = registry.Get<int>("/cmd");
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  Writer<int> command_writer(*cmd);
  Writer<Msg> tick_writer = WriterOn(&registry, "/tick");

  for (int i = 1; i <= 3; ++i) command_writer.Write(i);
  ASSERT_NE(component.command()->Latest(), nullptr);
  EXPECT_EQ(*component.command()->Latest(), 3);
  EXPECT_EQ(component.command()->received(), 3u);
  // Latest-only: commands notify nothing.
  EXPECT_EQ(s->TaskStatistics(component.task())->notifies, 0u);

  tick_writer.Write(MakeMsg(0));
  ASSERT_TRUE(component.seen.WaitFor(1));
  command_writer.Write(7);
  tick_writer.Write(MakeMsg(1));
  ASSERT_TRUE(component.seen.WaitFor(2));
  component.Shutdown();
  EXPECT_THAT(component.seen.Get(), ElementsAre(3, 7));
}

TEST(ComponentTest, CreateReaderOnAChannelOfAnotherTypeFailsNamed) {
  ChannelRegistry registry;
  ASSERT_TRUE(registry.Get<std::string>("/cmd").ok());
  Commanded component;
  std::unique_ptr<Scheduler> s = StartOrNull();
  ASSERT_NE(s, nullptr);
  absl::Status status =
      component.Initialize(ConfigOf("commanded", {{"/tick", 4}}), {s.get(), &registry});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(component.init_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(component.init_status.message()), HasSubstr("component commanded"));
  EXPECT_THAT(std::string(component.init_status.message()), HasSubstr("int"));
}

}  // namespace
}  // namespace cadence
