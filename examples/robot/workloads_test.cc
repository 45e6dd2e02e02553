// Tests of the robot demo workloads: each one computes what workloads.h promises (checked
// against hand-computed values on tiny inputs), is deterministic, reuses its buffers, and the
// parser survives any input. No timing is asserted.
#include "examples/robot/workloads.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace cadence::robot {
namespace {

// A width x height frame where every pixel is (r, g, b).
Frame UniformFrame(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  Frame frame;
  frame.width = width;
  frame.height = height;
  for (int i = 0; i < width * height; ++i) frame.rgb.insert(frame.rgb.end(), {r, g, b});
  return frame;
}

// Sets pixel (x, y) of `frame` to (r, g, b).
void SetPixel(Frame* frame, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  uint8_t* p = frame->rgb.data() + (static_cast<size_t>(y) * frame->width + x) * 3;
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

TEST(RenderFrameTest, SizedAndDeterministicPerSequence) {
  Frame a, b;
  RenderFrame(64, 48, 7, &a);
  RenderFrame(64, 48, 7, &b);
  EXPECT_EQ(a.width, 64);
  EXPECT_EQ(a.height, 48);
  EXPECT_EQ(a.sequence, 7u);
  ASSERT_EQ(a.rgb.size(), 64u * 48u * 3u);
  EXPECT_EQ(a.rgb, b.rgb);
}

TEST(RenderFrameTest, DiffersAcrossSequences) {
  Frame a, b;
  RenderFrame(64, 48, 7, &a);
  RenderFrame(64, 48, 8, &b);
  ASSERT_EQ(a.rgb.size(), b.rgb.size());
  int differing = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) differing += a.rgb[i] != b.rgb[i];
  // Noise, gradient shift and disc all move: most bytes change, not a handful.
  EXPECT_GT(differing, static_cast<int>(a.rgb.size() / 2));
}

TEST(RenderFrameTest, ReusesItsBufferForTheSameSize) {
  Frame frame;
  RenderFrame(320, 240, 0, &frame);
  const uint8_t* data = frame.rgb.data();
  const size_t capacity = frame.rgb.capacity();
  for (uint64_t seq = 1; seq < 5; ++seq) {
    RenderFrame(320, 240, seq, &frame);
    EXPECT_EQ(frame.rgb.data(), data);
    EXPECT_EQ(frame.rgb.capacity(), capacity);
  }
}

TEST(RenderFrameTest, NonPositiveSizeGivesEmptyFrame) {
  Frame frame;
  RenderFrame(0, 10, 1, &frame);
  EXPECT_EQ(frame.width, 0);
  EXPECT_EQ(frame.height, 0);
  EXPECT_TRUE(frame.rgb.empty());
  RenderFrame(10, -3, 1, &frame);
  EXPECT_TRUE(frame.rgb.empty());
}

TEST(LumaTest, HandComputedValues) {
  EXPECT_EQ(Luma(0, 0, 0), 0);
  EXPECT_EQ(Luma(255, 255, 255), 255);
  EXPECT_EQ(Luma(128, 128, 128), 128);
  // (77*200 + 150*100 + 29*50 + 128) >> 8 = 31978 >> 8 = 124.
  EXPECT_EQ(Luma(200, 100, 50), 124);
  // (77*255 + 128) >> 8 = 19763 >> 8 = 77.
  EXPECT_EQ(Luma(255, 0, 0), 77);
}

TEST(MakePreviewTest, DimensionsAreFloorOfSizeOverFactor) {
  Frame frame;
  Preview preview;
  RenderFrame(1280, 720, 3, &frame);
  MakePreview(frame, 4, &preview);
  EXPECT_EQ(preview.width, 320);
  EXPECT_EQ(preview.height, 180);
  EXPECT_EQ(preview.luma.size(), 320u * 180u);

  RenderFrame(101, 37, 3, &frame);
  MakePreview(frame, 4, &preview);
  EXPECT_EQ(preview.width, 25);
  EXPECT_EQ(preview.height, 9);
  EXPECT_EQ(preview.luma.size(), 25u * 9u);

  MakePreview(frame, 1, &preview);
  EXPECT_EQ(preview.width, 101);
  EXPECT_EQ(preview.height, 37);
}

TEST(MakePreviewTest, UniformFrameGivesItsLumaEverywhere) {
  const Frame frame = UniformFrame(64, 48, 200, 100, 50);
  Preview preview;
  MakePreview(frame, 4, &preview);
  ASSERT_EQ(preview.luma.size(), 16u * 12u);
  for (uint8_t y : preview.luma) ASSERT_EQ(y, 124);
}

TEST(MakePreviewTest, BoxFilterAveragesEachChannelOfA2x2Block) {
  Frame frame = UniformFrame(2, 2, 0, 0, 0);
  SetPixel(&frame, 0, 0, 10, 100, 0);
  SetPixel(&frame, 1, 0, 20, 110, 0);
  SetPixel(&frame, 0, 1, 30, 120, 0);
  SetPixel(&frame, 1, 1, 40, 130, 4);
  Preview preview;
  MakePreview(frame, 2, &preview);
  ASSERT_EQ(preview.width, 1);
  ASSERT_EQ(preview.height, 1);
  // Means (25, 115, 1): (77*25 + 150*115 + 29*1 + 128) >> 8 = 19332 >> 8 = 75.
  EXPECT_EQ(preview.luma[0], 75);
}

TEST(MakePreviewTest, EachOutputPixelComesFromItsOwnBlockAndEdgesAreDropped) {
  // 5x5 grey frame, factor 2: blocks top-left {0,0,255,255} -> 127.5 rounds to 128,
  // top-right uniform 60, bottom-left uniform 200, bottom-right {1,2,3,4} -> 2.5 rounds to 3.
  // Row 4 and column 4 (the partial blocks) are 250 and must not leak in.
  Frame frame = UniformFrame(5, 5, 250, 250, 250);
  auto grey = [&frame](int x, int y, uint8_t v) { SetPixel(&frame, x, y, v, v, v); };
  grey(0, 0, 0), grey(1, 0, 0), grey(0, 1, 255), grey(1, 1, 255);
  grey(2, 0, 60), grey(3, 0, 60), grey(2, 1, 60), grey(3, 1, 60);
  grey(0, 2, 200), grey(1, 2, 200), grey(0, 3, 200), grey(1, 3, 200);
  grey(2, 2, 1), grey(3, 2, 2), grey(2, 3, 3), grey(3, 3, 4);
  Preview preview;
  MakePreview(frame, 2, &preview);
  ASSERT_EQ(preview.width, 2);
  ASSERT_EQ(preview.height, 2);
  EXPECT_EQ(preview.luma, (std::vector<uint8_t>{128, 60, 200, 3}));
}

TEST(MakePreviewTest, ChecksumIsFnv1aOfLumaAndBufferIsReused) {
  Frame frame;
  Preview preview;
  RenderFrame(640, 480, 11, &frame);
  MakePreview(frame, 4, &preview);
  uint64_t fnv = 0xCBF29CE484222325ULL;
  for (uint8_t b : preview.luma) fnv = (fnv ^ b) * 0x100000001B3ULL;
  EXPECT_EQ(preview.checksum, fnv);

  const uint64_t first = preview.checksum;
  const uint8_t* data = preview.luma.data();
  RenderFrame(640, 480, 12, &frame);
  MakePreview(frame, 4, &preview);
  EXPECT_EQ(preview.luma.data(), data);
  EXPECT_NE(preview.checksum, first);
}

TEST(MakePreviewTest, InvalidInputGivesEmptyPreview) {
  Frame frame = UniformFrame(8, 8, 1, 2, 3);
  Preview preview;
  MakePreview(frame, 0, &preview);
  EXPECT_EQ(preview.width, 0);
  EXPECT_TRUE(preview.luma.empty());
  MakePreview(frame, 9, &preview);  // Larger than the frame.
  EXPECT_EQ(preview.width, 0);
  EXPECT_EQ(preview.height, 0);
  EXPECT_TRUE(preview.luma.empty());
  frame.rgb.pop_back();  // Size no longer matches the dimensions.
  MakePreview(frame, 2, &preview);
  EXPECT_TRUE(preview.luma.empty());
}

constexpr std::string_view kSmallLog =
    "# header comment\n"
    "2026-11-22T10:15:30.123456 motor=3 temp=41.25 current=-1.5 status=OK msg=\"all good\"\n"
    "2026-11-22T10:15:30.223456 motor=1 temp=55.5 current=2.25 status=WARN "
    "msg=\"hot \\\"motor\\\" 1\"\n"
    "   # indented comment with status=ERROR\r\n"
    "2026-11-22T10:15:30.323456 motor=2 temp=38 current=0.25 status=ERROR msg=\"stall\\\\n\"\n"
    "2026-11-22T10:15:30.423456 motor=2 temp=4x.0 current=0.25 status=OK\n"
    "2026-11-22T10:15:30.523456 motor=2 temp=40.0 current=0.25 status=MAYBE\n"
    "garbage line without fields\n"
    "2026-11-22T10:15:30.623456 motor=4 temp=60.75 current=-0.5 status=OK msg=\"unterminated\n"
    "\n"
    "2026-11-22T10:15:30.723456 motor=5 temp=30.5 current=1 status=OK voltage=24.0\r\n"
    "2026-11-22T10:15:30.823456 motor=6 temp=70 current=1 status=OK status=OK\n"
    "2026-11-22T10:15:30.923456 motor=6 temp=70 status=OK\n"
    "2026-13-22T10:15:30.923456 motor=6 temp=70 current=1 status=OK";

TEST(ParseTextFileTest, HandWrittenLogCountsExactly) {
  const ParseSummary s = ParseTextFile(kSmallLog);
  EXPECT_EQ(s.records, 4);
  EXPECT_EQ(s.comments, 2);
  // Bad number, unknown status, garbage, unterminated quote, duplicate status, missing
  // current, month 13.
  EXPECT_EQ(s.malformed, 7);
  EXPECT_EQ(s.ok, 2);
  EXPECT_EQ(s.warn, 1);
  EXPECT_EQ(s.error, 1);
  EXPECT_DOUBLE_EQ(s.temp_min, 30.5);
  EXPECT_DOUBLE_EQ(s.temp_max, 55.5);
  EXPECT_DOUBLE_EQ(s.temp_mean, (41.25 + 55.5 + 38 + 30.5) / 4);  // 41.3125
  EXPECT_DOUBLE_EQ(s.current_sum, 2.0);
}

TEST(ParseTextFileTest, QuotedValuesAndEscapes) {
  // An escaped quote does not end the string; a bad escape or text glued after the closing
  // quote is malformed; a quote inside a bare value is malformed.
  const ParseSummary s = ParseTextFile(
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=OK msg=\"a \\\" b=c\"\n"
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=OK msg=\"bad \\q escape\"\n"
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=OK msg=\"x\"y\n"
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=OK msg=x\"y\n"
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=\"WARN\"\n"
      "2026-01-01T00:00:00 motor=1 temp=1 current=1 status=OK msg=\"ends in backslash\\");
  EXPECT_EQ(s.records, 2);
  EXPECT_EQ(s.warn, 1);
  EXPECT_EQ(s.malformed, 4);
}

TEST(ParseTextFileTest, EmptyAndBlankTextGiveZeros) {
  for (std::string_view text : {"", "\n", "\n\n  \t\n", "\r\n"}) {
    const ParseSummary s = ParseTextFile(text);
    EXPECT_EQ(s.records, 0);
    EXPECT_EQ(s.comments, 0);
    EXPECT_EQ(s.malformed, 0);
    EXPECT_EQ(s.temp_min, 0);
    EXPECT_EQ(s.temp_max, 0);
    EXPECT_EQ(s.temp_mean, 0);
  }
}

TEST(ParseTextFileTest, GarbageNeverCrashesAndCountsMalformed) {
  // Every byte value, including NUL and bytes above 0x7F, in arbitrary order.
  std::string garbage;
  uint64_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    garbage.push_back(static_cast<char>(x >> 56));
  }
  const ParseSummary s = ParseTextFile(garbage);
  EXPECT_EQ(s.records, 0);
  EXPECT_GT(s.malformed, 0);

  const std::string_view kBadLines[] = {
      "=",
      "\"",
      "2026-11-22T10:15:30.",
      "2026-11-22T10:15:30 =x",
      "2026-11-22T10:15:30 motor=",
      "2026-11-22T10:15:30 motor=1 temp=nan current=1 status=OK",
      "2026-11-22T10:15:30 motor=1 temp=1e999 current=1 status=OK",
      "2026-11-22T10:15:30 motor=1.5 temp=1 current=1 status=OK",
      std::string_view("\0\0\0", 3),
  };
  for (std::string_view text : kBadLines) {
    const ParseSummary t = ParseTextFile(text);
    EXPECT_EQ(t.records, 0) << text;
    EXPECT_EQ(t.malformed, 1) << text;
  }
}

TEST(ParseTextFileTest, TruncatedTextNeverCrashesAndAccountsForEveryLine) {
  const std::string text = GenerateTextFile(99, 200);
  const ParseSummary full = ParseTextFile(text);
  for (size_t cut = 0; cut <= text.size(); cut += 7) {
    const std::string_view prefix = std::string_view(text).substr(0, cut);
    const ParseSummary s = ParseTextFile(prefix);
    int lines = 0;
    for (char c : prefix) lines += c == '\n';
    // The cut-off last line counts unless it is still blank (an indented comment's indent).
    const std::string_view last = prefix.substr(prefix.rfind('\n') + 1);
    if (last.find_first_not_of(" \t") != std::string_view::npos) ++lines;
    ASSERT_EQ(s.records + s.comments + s.malformed, lines) << "cut at " << cut;
    ASSERT_LE(s.records, full.records);
  }
}

TEST(GenerateTextFileTest, DeterministicPerSeedAndDifferentAcrossSeeds) {
  const std::string a = GenerateTextFile(1, 500);
  EXPECT_EQ(a, GenerateTextFile(1, 500));
  EXPECT_NE(a, GenerateTextFile(2, 500));
  EXPECT_TRUE(GenerateTextFile(1, 0).empty());
  // A shorter file from the same seed is a prefix of a longer one.
  EXPECT_EQ(a.substr(0, GenerateTextFile(1, 100).size()), GenerateTextFile(1, 100));
}

TEST(GenerateTextFileTest, ParsesBackWithEveryKindOfLine) {
  const int lines = 20000;
  const std::string text = GenerateTextFile(42, lines);
  int newlines = 0;
  for (char c : text) newlines += c == '\n';
  EXPECT_EQ(newlines, lines);
  EXPECT_EQ(text.rfind("2026-11-22T10:", 0), 0u) << text.substr(0, 80);

  const ParseSummary s = ParseTextFile(text);
  EXPECT_EQ(s.records + s.comments + s.malformed, lines);
  EXPECT_EQ(s.ok + s.warn + s.error, s.records);
  // About 3% comments, 2% malformed, and 85/10/5% OK/WARN/ERROR among records.
  EXPECT_GT(s.comments, lines / 50);
  EXPECT_LT(s.comments, lines / 25);
  EXPECT_GT(s.malformed, lines / 100);
  EXPECT_LT(s.malformed, lines / 33);
  EXPECT_GT(s.warn, s.records / 20);
  EXPECT_GT(s.error, s.records / 40);
  EXPECT_GT(s.ok, s.records * 8 / 10);
  EXPECT_GE(s.temp_min, 20.0);
  EXPECT_LT(s.temp_max, 80.0);
  EXPECT_NEAR(s.temp_mean, 50.0, 1.0);
  // Current is uniform in [-5, 5]: the sum is a random walk, far below records * 5.
  EXPECT_LT(std::abs(s.current_sum), s.records * 0.1);
}

TEST(PidTest, StepMatchesHandComputation) {
  Pid pid{.kp = 2.0, .ki = 0.5, .kd = 0.1};
  // e = 10 - 4 = 6; integral = 0.06; derivative = (6 - 0) / 0.01 = 600.
  // 2*6 + 0.5*0.06 + 0.1*600 = 12 + 0.03 + 60 = 72.03.
  EXPECT_DOUBLE_EQ(PidStep(&pid, 10.0, 4.0, 0.01), 72.03);
  EXPECT_DOUBLE_EQ(pid.integral, 0.06);
  EXPECT_DOUBLE_EQ(pid.previous_error, 6.0);
  // e = 10 - 7 = 3; integral = 0.09; derivative = (3 - 6) / 0.01 = -300.
  // 2*3 + 0.5*0.09 - 0.1*300 = 6 + 0.045 - 30 = -23.955.
  EXPECT_DOUBLE_EQ(PidStep(&pid, 10.0, 7.0, 0.01), -23.955);
  // A non-positive dt is proportional only and leaves the state alone.
  EXPECT_DOUBLE_EQ(PidStep(&pid, 1.0, 0.0, 0.0), 2.0);
  EXPECT_DOUBLE_EQ(pid.integral, 0.09);
}

TEST(SimulateJointTest, FollowsCommandWithNoiseBoundedAndDeterministic) {
  Joint a, b;
  for (int i = 0; i < 1000; ++i) {
    const double measured = SimulateJoint(&a, 1.0, 0.001);
    EXPECT_EQ(measured, SimulateJoint(&b, 1.0, 0.001));
    EXPECT_LE(std::abs(measured - a.position), kJointSensorNoise);
  }
  EXPECT_EQ(a.step, 1000u);
  // After 1 s (50 time constants) at 1 rad/s the velocity is 1 and the position about
  // 1 s - tau = 0.98 rad.
  EXPECT_NEAR(a.velocity, 1.0, 1e-9);
  EXPECT_NEAR(a.position, 1.0 - kJointTimeConstantS, 2e-3);
}

TEST(SimulateJointTest, ClosedLoopConvergesToSetpoint) {
  // A 1 kHz loop: read the sensor, step the PID, command the joint; 2000 steps = 2 s. The joint
  // starts 1 rad away; the loop settles in a few hundred ms (about 0.35% overshoot here).
  Pid pid{.kp = 20.0, .ki = 0.5, .kd = 0.05};
  Joint joint;
  const double setpoint = 1.0;
  const double dt = 0.001;
  double measured = SimulateJoint(&joint, 0.0, dt);
  for (int i = 0; i < 2000; ++i) {
    const double command = PidStep(&pid, setpoint, measured, dt);
    measured = SimulateJoint(&joint, command, dt);
  }
  EXPECT_NEAR(joint.position, setpoint, 5e-3);
  EXPECT_NEAR(measured, setpoint, 5e-3 + kJointSensorNoise);
  EXPECT_NEAR(joint.velocity, 0.0, 0.01);
}

TEST(RenderLedEffectTest, SizedAndChangesOverTime) {
  std::vector<uint8_t> a, b;
  RenderLedEffect(60, 0.0, &a);
  RenderLedEffect(60, 0.5, &b);
  ASSERT_EQ(a.size(), 60u * 3u);
  ASSERT_EQ(b.size(), 60u * 3u);
  EXPECT_NE(a, b);
  // Reuse: same size, same buffer.
  const uint8_t* data = b.data();
  RenderLedEffect(60, 0.75, &b);
  EXPECT_EQ(b.data(), data);
  RenderLedEffect(0, 1.0, &b);
  EXPECT_TRUE(b.empty());
}

TEST(RenderLedEffectTest, FullyBrightRainbowHasExpectedColours) {
  // At t = 0.5 s the breathing is at its peak (value 1) and the hue offset is 0.125 turn, so
  // with 8 LEDs LED i has hue (i + 1) / 8: LED 7 wraps to red, LED 2 is cyan-green
  // (hue 0.375 -> sector 2, f = 0.25: r = 0, g = 255, b = 64).
  std::vector<uint8_t> rgb;
  RenderLedEffect(8, 0.5, &rgb);
  EXPECT_EQ(rgb[7 * 3 + 0], 255);
  EXPECT_EQ(rgb[7 * 3 + 1], 0);
  EXPECT_EQ(rgb[7 * 3 + 2], 0);
  EXPECT_EQ(rgb[2 * 3 + 0], 0);
  EXPECT_EQ(rgb[2 * 3 + 1], 255);
  EXPECT_EQ(rgb[2 * 3 + 2], 64);
}

}  // namespace
}  // namespace cadence::robot
