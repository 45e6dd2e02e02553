// The robot demo's components, built into librobot_components.so and named by class in
// examples/robot/robot.dag. Each component's task is its DAG config name, which is what
// conf/robot_*.conf places:
//
//   motion_sensor  (timer, 1 ms)   reads the simulated joint, writes /robot/motion/sensor
//   motion_control (component)     PID on each reading, writes /robot/motion/command
//   led_effects    (timer, 10 ms)  renders a 144-LED animation
//   camera         (timer, 10 ms)  renders a 1280x720 synthetic frame, writes /robot/camera/frame
//   preview        (component)     box-filters each frame into a 3-level luma pyramid
//   file_source    (timer, 10 ms)  generates a 20,000-line telemetry log, writes /robot/files/text
//   parse          (component)     parses each log
//
// The background chain is sized to keep both CPUs busy at low priority on a 2-CPU machine;
// when it cannot keep up, its readers' bounded queues drop the oldest frame or file, and the
// drops are counted.
#include <cmath>
#include <memory>
#include <vector>

#include "examples/robot/messages.h"
#include "examples/robot/workloads.h"
#include "glog/logging.h"
#include "scheduler/component/component.h"
#include "scheduler/processor.h"

namespace cadence::robot {

class MotionSensor : public TimerComponent {
 public:
  bool Init() override {
    auto writer = CreateWriter<SensorReading>("/robot/motion/sensor");
    auto command = CreateReader<MotorCommand>("/robot/motion/command");
    if (!writer.ok() || !command.ok()) {
      LOG(ERROR) << (writer.ok() ? command.status() : writer.status());
      return false;
    }
    writer_ = *writer;
    command_ = *command;
    return true;
  }

  bool Proc() override {
    std::shared_ptr<MotorCommand> command = command_->Latest();
    auto reading = std::make_shared<SensorReading>();
    reading->sequence = ++sequence_;
    reading->release_ns = CurrentRelease();
    reading->position = SimulateJoint(&joint_, command ? command->velocity : 0.0, 0.001);
    // The target alternates between two positions every second.
    reading->setpoint = (sequence_ / 1000) % 2 == 0 ? 1.0 : -1.0;
    writer_->Write(reading);
    return true;
  }

 private:
  std::shared_ptr<Writer<SensorReading>> writer_;
  std::shared_ptr<Reader<MotorCommand>> command_;
  Joint joint_;
  uint64_t sequence_ = 0;
};

class MotionControl : public Component<SensorReading> {
 public:
  bool Init() override {
    auto writer = CreateWriter<MotorCommand>("/robot/motion/command");
    if (!writer.ok()) {
      LOG(ERROR) << writer.status();
      return false;
    }
    writer_ = *writer;
    return true;
  }

  bool Proc(const std::shared_ptr<SensorReading>& reading) override {
    auto command = std::make_shared<MotorCommand>();
    command->sequence = reading->sequence;
    command->velocity = PidStep(&pid_, reading->setpoint, reading->position, 0.001);
    writer_->Write(command);
    return std::isfinite(command->velocity);
  }

 private:
  std::shared_ptr<Writer<MotorCommand>> writer_;
  Pid pid_{20, 0.5, 0.05};
};

class LedEffects : public TimerComponent {
 public:
  bool Init() override { return true; }
  bool Proc() override {
    RenderLedEffect(144, ++frames_ * 0.01, &rgb_);
    return rgb_.size() == 144 * 3;
  }

 private:
  std::vector<uint8_t> rgb_;
  uint64_t frames_ = 0;
};

class Camera : public TimerComponent {
 public:
  bool Init() override {
    auto writer = CreateWriter<CameraFrame>("/robot/camera/frame");
    if (!writer.ok()) {
      LOG(ERROR) << writer.status();
      return false;
    }
    writer_ = *writer;
    return true;
  }
  bool Proc() override {
    auto frame = std::make_shared<CameraFrame>();
    RenderFrame(1280, 720, ++sequence_, &frame->frame);
    writer_->Write(frame);
    return true;
  }

 private:
  std::shared_ptr<Writer<CameraFrame>> writer_;
  uint64_t sequence_ = 0;
};

class PreviewGenerator : public Component<CameraFrame> {
 public:
  bool Init() override { return true; }
  bool Proc(const std::shared_ptr<CameraFrame>& frame) override {
    uint64_t checksum = 0;
    for (int level = 0; level < 3; ++level) {
      MakePreview(frame->frame, 2 << level, &previews_[level]);
      checksum ^= previews_[level].checksum;
    }
    return !previews_[2].luma.empty() && checksum != 0;
  }

 private:
  Preview previews_[3];
};

class FileSource : public TimerComponent {
 public:
  bool Init() override {
    auto writer = CreateWriter<TextFile>("/robot/files/text");
    if (!writer.ok()) {
      LOG(ERROR) << writer.status();
      return false;
    }
    writer_ = *writer;
    return true;
  }
  bool Proc() override {
    auto file = std::make_shared<TextFile>();
    file->seed = ++seed_;
    file->text = GenerateTextFile(file->seed, 20000);
    writer_->Write(file);
    return true;
  }

 private:
  std::shared_ptr<Writer<TextFile>> writer_;
  uint64_t seed_ = 0;
};

class LogParser : public Component<TextFile> {
 public:
  bool Init() override { return true; }
  bool Proc(const std::shared_ptr<TextFile>& file) override {
    const ParseSummary summary = ParseTextFile(file->text);
    records_ += summary.records;
    return summary.records > 0;
  }

 private:
  uint64_t records_ = 0;
};

}  // namespace cadence::robot

using cadence::robot::Camera;
using cadence::robot::FileSource;
using cadence::robot::LedEffects;
using cadence::robot::LogParser;
using cadence::robot::MotionControl;
using cadence::robot::MotionSensor;
using cadence::robot::PreviewGenerator;
CADENCE_REGISTER_COMPONENT(MotionSensor)
CADENCE_REGISTER_COMPONENT(MotionControl)
CADENCE_REGISTER_COMPONENT(LedEffects)
CADENCE_REGISTER_COMPONENT(Camera)
CADENCE_REGISTER_COMPONENT(PreviewGenerator)
CADENCE_REGISTER_COMPONENT(FileSource)
CADENCE_REGISTER_COMPONENT(LogParser)
