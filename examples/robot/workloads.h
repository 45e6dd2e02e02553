// Workloads for the robot demo: the CPU work its tasks do between scheduler activations, all of
// it real computation on generated data so that timing and CPU-placement experiments measure
// something honest. There are two heavy "background" jobs (rendering a camera frame and
// box-filtering it into a luma preview; generating and parsing a telemetry log), and three
// light real-time helpers (a PID step, a simulated joint that a 1 kHz loop can close around,
// and an LED animation). Everything is deterministic for its inputs, uses no clocks or global
// state, and the functions that fill a caller-owned buffer allocate only when the buffer's size
// changes, so a periodic task reusing its buffers runs allocation-free in steady state.
#ifndef CADENCE_EXAMPLES_ROBOT_WORKLOADS_H_
#define CADENCE_EXAMPLES_ROBOT_WORKLOADS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cadence::robot {

// A synthetic camera frame: 8-bit RGB, row-major, `rgb.size() == width * height * 3`.
struct Frame {
  int width = 0;
  int height = 0;
  uint64_t sequence = 0;
  std::vector<uint8_t> rgb;
};

// Fills `frame` with the deterministic moving test pattern for `sequence` (gradients, a moving
// disc and PRNG noise); allocates only when the size changes; non-positive sizes give 0x0.
void RenderFrame(int width, int height, uint64_t sequence, Frame* frame);

// A preview: a frame box-filtered down by an integer factor, as 8-bit luma, row-major.
struct Preview {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> luma;
  // FNV-1a 64 over `luma`.
  uint64_t checksum = 0;
};

// Luma of one RGB pixel, integer BT.601: (77 R + 150 G + 29 B + 128) >> 8 (grey maps to itself).
uint8_t Luma(uint8_t r, uint8_t g, uint8_t b);

// Shrinks `frame` by `factor`: each output pixel is the rounded per-channel mean of its
// factor x factor block (partial blocks at the right/bottom edge are dropped, so the preview is
// floor(w/f) x floor(h/f)), converted with Luma(). A factor below 1 or a frame whose `rgb` size
// does not match its dimensions gives an empty 0x0 preview. Allocates only on size changes.
void MakePreview(const Frame& frame, int factor, Preview* out);

// A generated telemetry log of `lines` newline-terminated lines, deterministic for `seed`.
// Records look like
//   2026-11-22T10:15:30.123456 motor=3 temp=41.25 current=-1.5 status=OK msg="..."
// with varied values (temp in [20, 80), current in [-5, 5]), mostly OK with some WARN/ERROR,
// optional msg/voltage fields and escaped quotes in messages; about 3% are '#' comment lines and
// about 2% malformed lines (truncated, bad number, missing '=', unknown status, unterminated
// quote, garbage). There are no blank lines, so ParseTextFile() of the result counts
// records + comments + malformed == lines.
std::string GenerateTextFile(uint64_t seed, int lines);

// What ParseTextFile() found.
struct ParseSummary {
  int records = 0;
  int comments = 0;
  int malformed = 0;
  int ok = 0, warn = 0, error = 0;
  // Over well-formed records only; all 0 when there are none.
  double temp_min = 0, temp_max = 0, temp_mean = 0;
  double current_sum = 0;
};

// Parses a telemetry log. Lines end at '\n' (a trailing '\r' is dropped; the last line needs no
// newline). Blank lines are skipped; a line whose first non-blank character is '#' is a comment.
// Any other line is a record: a timestamp YYYY-MM-DDTHH:MM:SS[.fraction] and then blank-separated
// key=value fields, where a value is either bare (no '"') or a double-quoted string with escapes
// \" \\ \n \t \r. motor (integer), temp and current (finite numbers) and status (OK, WARN or
// ERROR) are required, once each; other keys are accepted and ignored. A line breaking any of
// these rules counts as malformed and contributes nothing else. Never fails on any input.
ParseSummary ParseTextFile(std::string_view text);

// A PID controller and its state. The derivative is taken on the error.
struct Pid {
  double kp = 0, ki = 0, kd = 0;
  double integral = 0;
  double previous_error = 0;
};

// One PID step: e = setpoint - measured, integral += e dt, returns
// kp e + ki integral + kd (e - previous_error) / dt; a non-positive dt returns kp e only.
double PidStep(Pid* pid, double setpoint, double measured, double dt_s);

// A simulated joint: its velocity follows the velocity command as a first-order lag
// (kJointTimeConstantS) and its position integrates the velocity.
struct Joint {
  double position = 0, velocity = 0;
  uint64_t step = 0;
};

// Time constant of the joint's velocity response to a command, in seconds.
inline constexpr double kJointTimeConstantS = 0.02;
// Half-width of the uniform sensor noise on the measured position.
inline constexpr double kJointSensorNoise = 5e-4;

// Advances `joint` by `dt_s` under velocity `command`; returns the measured position, which is
// the true position plus deterministic noise (a function of joint->step) within
// +-kJointSensorNoise. A non-positive dt only takes a reading.
double SimulateJoint(Joint* joint, double command, double dt_s);

// Fills `rgb` (3 bytes per LED, allocating only on size changes) with a rainbow moving along the
// strip under a breathing brightness at time `t_s`; non-positive `leds` gives an empty buffer.
void RenderLedEffect(int leds, double t_s, std::vector<uint8_t>* rgb);

}  // namespace cadence::robot

#endif  // CADENCE_EXAMPLES_ROBOT_WORKLOADS_H_
