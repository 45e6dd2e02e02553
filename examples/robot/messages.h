// The messages of the robot demo's channels.
//
//   /robot/motion/sensor   SensorReading  motion_sensor (1 kHz timer) -> motion_control
//   /robot/motion/command  MotorCommand   motion_control -> motion_sensor (the simulated joint)
//   /robot/camera/frame    CameraFrame    camera (timer) -> preview
//   /robot/files/text      TextFile       file_source (timer) -> parse
#ifndef CADENCE_EXAMPLES_ROBOT_MESSAGES_H_
#define CADENCE_EXAMPLES_ROBOT_MESSAGES_H_

#include <cstdint>
#include <string>

#include "examples/robot/workloads.h"

namespace cadence::robot {

// One reading of the joint's position.
struct SensorReading {
  uint64_t sequence = 0;
  // The ideal release time of the sensor run that took it (CLOCK_MONOTONIC ns).
  int64_t release_ns = 0;
  double position = 0;
  double setpoint = 0;
};

// The controller's velocity command for the joint.
struct MotorCommand {
  uint64_t sequence = 0;
  double velocity = 0;
};

// A camera frame.
struct CameraFrame {
  Frame frame;
};

// A generated log file to parse.
struct TextFile {
  uint64_t seed = 0;
  std::string text;
};

}  // namespace cadence::robot

#endif  // CADENCE_EXAMPLES_ROBOT_MESSAGES_H_
