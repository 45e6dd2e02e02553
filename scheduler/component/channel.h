// Channels: typed, in-process publish/subscribe between tasks. A Writer<T> publishes a
// message (a std::shared_ptr<T>, shared by every reader, never copied) to a named channel;
// each Reader<T> on that channel keeps it in a bounded pending queue (Cyber RT's
// `pending_queue_size`) and notifies its task. When the queue is full the oldest message is
// dropped and counted (on the reader and in its task's statistics), never silently.
//
// A channel's type is fixed by its first writer or reader; a second one with another type is
// an error naming both types. Writing allocates nothing (the message is the writer's), takes
// one short priority-inheritance lock per reader and notifies through the scheduler's hot
// path.
#ifndef CADENCE_SCHEDULER_COMPONENT_CHANNEL_H_
#define CADENCE_SCHEDULER_COMPONENT_CHANNEL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "scheduler/common/pi_mutex.h"
#include "scheduler/scheduler.h"

namespace cadence {

// The readable name of a C++ type ("robot::Frame").
std::string TypeName(const std::type_info& type);

// What a channel carried so far.
struct ChannelStats {
  std::string name;
  std::string type;
  int readers = 0;
  uint64_t writes = 0;
};

template <typename T>
class Channel;

// A subscription to a channel: a bounded queue of pending messages, and the latest one.
template <typename T>
class Reader {
 public:
  // A reader that keeps up to `capacity` pending messages (at least 1) and notifies `task`
  // of `scheduler` for each message (no notify when `task` is not valid: latest-only).
  Reader(std::string channel, uint32_t capacity, Scheduler* scheduler, TaskId task)
      : channel_(std::move(channel)),
        ring_(capacity == 0 ? 1 : capacity),
        scheduler_(scheduler),
        task_(task) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The channel it reads.
  const std::string& channel() const { return channel_; }

  // Makes it notify `task` (call before subscribing it to its channel).
  void BindTask(TaskId task) { task_ = task; }

  // Takes the oldest pending message; nullptr when none is pending.
  std::shared_ptr<T> Take() {
    std::shared_ptr<T> message;
    std::lock_guard<PiMutex> lock(mutex_);
    if (size_ == 0) return nullptr;
    message = std::move(ring_[head_]);
    head_ = (head_ + 1) % ring_.size();
    --size_;
    return message;
  }

  // The number of pending messages.
  size_t Pending() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return size_;
  }

  // The newest message received, pending or not; nullptr before the first.
  std::shared_ptr<T> Latest() const {
    std::lock_guard<PiMutex> lock(mutex_);
    return latest_;
  }

  // Messages received so far.
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }

  // Messages dropped because the pending queue was full.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // Called by the channel for every message written (any thread).
  void Deliver(const std::shared_ptr<T>& message) {
    std::shared_ptr<T> evicted;  // Released after the lock: it may free the message.
    std::shared_ptr<T> previous;
    {
      std::lock_guard<PiMutex> lock(mutex_);
      if (size_ == ring_.size()) {
        evicted = std::move(ring_[head_]);
        head_ = (head_ + 1) % ring_.size();
        --size_;
      }
      ring_[(head_ + size_) % ring_.size()] = message;
      ++size_;
      previous = std::move(latest_);
      latest_ = message;
    }
    received_.fetch_add(1, std::memory_order_relaxed);
    if (evicted != nullptr) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      if (task_.valid()) scheduler_->CountDropped(task_, 1);
    }
    if (task_.valid()) scheduler_->NotifyTask(task_).IgnoreError();  // Refused only at shutdown.
  }

 private:
  const std::string channel_;
  mutable PiMutex mutex_;
  std::vector<std::shared_ptr<T>> ring_;
  size_t head_ = 0;
  size_t size_ = 0;
  std::shared_ptr<T> latest_;
  Scheduler* const scheduler_;
  TaskId task_;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> dropped_{0};
};

// The part of a channel that does not depend on its type.
class ChannelBase {
 public:
  ChannelBase(std::string name, const std::type_info& type)
      : name_(std::move(name)), type_(type) {}
  virtual ~ChannelBase() = default;

  // The channel's name ("/robot/motion/sensor").
  const std::string& name() const { return name_; }

  // The type of its messages.
  std::type_index type() const { return type_; }

  // Its statistics.
  virtual ChannelStats Stats() const = 0;

 private:
  const std::string name_;
  const std::type_index type_;
};

// A named channel of T messages: the readers subscribed to it.
template <typename T>
class Channel : public ChannelBase {
 public:
  static constexpr int kMaxReaders = 64;

  explicit Channel(std::string name) : ChannelBase(std::move(name), typeid(T)) {}

  // Subscribes a reader (it must outlive the channel's writers' last write). Errors:
  // ResourceExhausted past kMaxReaders.
  absl::Status Subscribe(Reader<T>* reader) {
    std::lock_guard<std::mutex> lock(subscribe_mutex_);
    const int n = count_.load(std::memory_order_relaxed);
    if (n >= kMaxReaders) {
      return absl::ResourceExhaustedError(
          absl::StrCat("channel ", name(), " has ", kMaxReaders, " readers already"));
    }
    readers_[n].store(reader, std::memory_order_relaxed);
    count_.store(n + 1, std::memory_order_release);
    return absl::OkStatus();
  }

  // Delivers a message to every reader.
  void Publish(const std::shared_ptr<T>& message) {
    writes_.fetch_add(1, std::memory_order_relaxed);
    const int n = count_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) readers_[i].load(std::memory_order_relaxed)->Deliver(message);
  }

  ChannelStats Stats() const override {
    return {name(), TypeName(typeid(T)), count_.load(std::memory_order_acquire),
            writes_.load(std::memory_order_relaxed)};
  }

 private:
  std::mutex subscribe_mutex_;
  std::array<std::atomic<Reader<T>*>, kMaxReaders> readers_{};
  std::atomic<int> count_{0};
  std::atomic<uint64_t> writes_{0};
};

// Publishes T messages to one channel.
template <typename T>
class Writer {
 public:
  explicit Writer(Channel<T>* channel) : channel_(channel) {}

  // The channel it writes.
  const std::string& channel() const { return channel_->name(); }

  // Publishes a message to every reader of the channel.
  void Write(const std::shared_ptr<T>& message) { channel_->Publish(message); }

  // Publishes a copy of `message` (allocates; use the shared_ptr overload on hot paths).
  void Write(const T& message) { channel_->Publish(std::make_shared<T>(message)); }

 private:
  Channel<T>* const channel_;
};

// The channels of one process (or one launcher), by name.
class ChannelRegistry {
 public:
  // The channel named `name` for T messages, created on first use. Errors:
  // InvalidArgument when the channel already carries another type.
  template <typename T>
  absl::StatusOr<Channel<T>*> Get(const std::string& name) {
    if (name.empty()) return absl::InvalidArgumentError("a channel name must not be empty");
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = channels_.find(name);
    if (it == channels_.end()) {
      auto channel = std::make_unique<Channel<T>>(name);
      Channel<T>* raw = channel.get();
      channels_.emplace(name, std::move(channel));
      return raw;
    }
    if (it->second->type() != std::type_index(typeid(T))) {
      return absl::InvalidArgumentError(
          absl::StrCat("channel ", name, " carries ", it->second->Stats().type, ", not ",
                       TypeName(typeid(T))));
    }
    return static_cast<Channel<T>*>(it->second.get());
  }

  // Statistics of every channel, by name.
  std::vector<ChannelStats> Stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ChannelStats> out;
    for (const auto& [name, channel] : channels_) out.push_back(channel->Stats());
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<ChannelBase>> channels_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_COMPONENT_CHANNEL_H_
