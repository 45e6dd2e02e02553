// Implementation of the robot demo workloads; see workloads.h for what each one computes.
#include "examples/robot/workloads.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numbers>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cadence::robot {
namespace {

// SplitMix64: turns any 64-bit value (a seed, a step) into a well-mixed one.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// xorshift64*, seeded through SplitMix64: the text generator's PRNG (RenderFrame inlines it).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(SplitMix64(seed) | 1) {}

  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }

  // Uniform in [0, n), n > 0 (the tiny modulo bias does not matter here).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>((Next() >> 32) % n); }

 private:
  uint64_t state_;
};

// kSaturate[v + 8] is v clamped to [0, 255], for v in [-8, 262] (a byte plus noise in [-8, 7]).
constexpr std::array<uint8_t, 271> kSaturate = [] {
  std::array<uint8_t, 271> table{};
  for (int i = 0; i < 271; ++i) table[i] = static_cast<uint8_t>(std::clamp(i - 8, 0, 255));
  return table;
}();

// FNV-1a 64 of `bytes`.
uint64_t Fnv1a64(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001B3ULL;
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// Text generation.

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The inverse of DaysFromCivil().
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

// Writes `value` as exactly `width` decimal digits (zero-padded) at `dst`; returns the end.
char* WriteDigits(char* dst, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    dst[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return dst + width;
}

// Appends a microsecond Unix time as YYYY-MM-DDTHH:MM:SS.uuuuuu.
void AppendTimestamp(std::string* out, int64_t unix_us) {
  const int64_t us_per_day = int64_t{86400} * 1000000;
  int64_t days = unix_us / us_per_day;
  int64_t rem = unix_us % us_per_day;
  if (rem < 0) {
    rem += us_per_day;
    --days;
  }
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  const int64_t secs = rem / 1000000;
  // Built in a local buffer and appended once: per-character appends dominate otherwise.
  char buf[26];
  char* p = WriteDigits(buf, static_cast<uint64_t>(year), 4);
  *p++ = '-';
  p = WriteDigits(p, month, 2);
  *p++ = '-';
  p = WriteDigits(p, day, 2);
  *p++ = 'T';
  p = WriteDigits(p, static_cast<uint64_t>(secs / 3600), 2);
  *p++ = ':';
  p = WriteDigits(p, static_cast<uint64_t>(secs / 60 % 60), 2);
  *p++ = ':';
  p = WriteDigits(p, static_cast<uint64_t>(secs % 60), 2);
  *p++ = '.';
  p = WriteDigits(p, static_cast<uint64_t>(rem % 1000000), 6);
  out->append(buf, p);
}

// Appends scaled / 10^decimals (decimals in [0, 9]) in fixed notation ("41.25"); with `trim`,
// trailing fraction zeros (and a bare '.') are dropped ("-1.5", "0"), the value's shortest form.
void AppendDecimal(std::string* out, int64_t scaled, int decimals, bool trim) {
  uint64_t magnitude = scaled < 0 ? 0 - static_cast<uint64_t>(scaled) : scaled;
  uint64_t unit = 1;
  for (int i = 0; i < decimals; ++i) unit *= 10;
  char buf[32];
  char* p = buf;
  if (scaled < 0) *p++ = '-';
  p = std::to_chars(p, buf + 21, magnitude / unit).ptr;  // At most 20 digits.
  uint64_t fraction = magnitude % unit;
  if (trim) {
    while (fraction != 0 && fraction % 10 == 0) {
      fraction /= 10;
      --decimals;
    }
    if (fraction == 0) decimals = 0;
  }
  if (decimals > 0) {
    *p++ = '.';
    p = WriteDigits(p, fraction, decimals);
  }
  out->append(buf, p);
}

// Appends `s` as a double-quoted string with \" \\ \n \t escapes.
void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t run = 0;  // Start of the pending run of characters that need no escape.
  for (size_t i = 0; i < s.size(); ++i) {
    const char* escape = nullptr;
    switch (s[i]) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\t':
        escape = "\\t";
        break;
      default:
        continue;
    }
    out->append(s, run, i - run);
    out->append(escape);
    run = i + 1;
  }
  out->append(s, run);
  out->push_back('"');
}

constexpr std::string_view kMessages[] = {
    "nominal",
    "calibrating encoder",
    "joint \"elbow\" near soft limit",
    "torque spike on phase B",
    "path C:\\logs\\motor\\trace.bin",
    "multi-line\nmessage",
    "tab\tseparated",
    "fan speed reduced",
    "bus voltage sag",
    "",
};

constexpr std::string_view kComments[] = {
    "# telemetry dump",
    "# motor controller restarted",
    "   # indented note: field order is fixed",
    "#",
    "# status=ERROR in a comment does not count",
};

// Appends one well-formed record line (without the newline).
void AppendRecord(std::string* out, Rng* rng, int64_t unix_us) {
  AppendTimestamp(out, unix_us);
  out->append(" motor=");
  out->push_back(static_cast<char>('0' + rng->Below(8)));
  out->append(" temp=");
  AppendDecimal(out, 2000 + rng->Below(6000), 2, /*trim=*/false);
  out->append(" current=");
  AppendDecimal(out, static_cast<int64_t>(rng->Below(10001)) - 5000, 3, /*trim=*/true);
  const uint32_t s = rng->Below(100);
  out->append(s < 85 ? " status=OK" : s < 95 ? " status=WARN" : " status=ERROR");
  if (rng->Below(4) == 0) {
    out->append(" voltage=");
    AppendDecimal(out, 2200 + rng->Below(400), 2, /*trim=*/false);
  }
  if (rng->Below(5) != 0) {
    out->append(" msg=");
    AppendQuoted(out, kMessages[rng->Below(std::size(kMessages))]);
  }
}

// Appends one malformed line (without the newline); `scratch` is reused between calls.
void AppendMalformed(std::string* out, Rng* rng, int64_t unix_us, std::string* scratch) {
  scratch->clear();
  AppendRecord(scratch, rng, unix_us);
  switch (rng->Below(6)) {
    case 0: {  // Truncated before the status field is complete (at least one character kept).
      const size_t status = scratch->find(" status=");
      out->append(*scratch, 0, 1 + rng->Below(static_cast<uint32_t>(status + 8)));
      break;
    }
    case 1: {  // A letter inside the temperature.
      const size_t temp = scratch->find("temp=") + 6;
      (*scratch)[temp] = 'x';
      out->append(*scratch);
      break;
    }
    case 2: {  // A field without '='.
      (*scratch)[scratch->find("current=") + 7] = ' ';
      out->append(*scratch);
      break;
    }
    case 3: {  // An unknown status.
      const size_t status = scratch->find("status=") + 7;
      const size_t end = scratch->find(' ', status);
      scratch->replace(status, end == std::string::npos ? end : end - status, "MAYBE");
      out->append(*scratch);
      break;
    }
    case 4:  // An unterminated quote.
      out->append(*scratch);
      out->append(" note=\"cut off");
      break;
    default: {  // Printable garbage that cannot start a comment.
      out->push_back('@');
      const uint32_t n = 5 + rng->Below(60);
      for (uint32_t i = 0; i < n; ++i) out->push_back(static_cast<char>(' ' + rng->Below(95)));
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text parsing.

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsKeyChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && IsDigit(c));
}

// Reads exactly `width` digits at s[pos] into `value`; false unless all are digits.
bool FixedDigits(std::string_view s, size_t pos, size_t width, unsigned* value) {
  if (pos + width > s.size()) return false;
  for (size_t i = 0; i < width; ++i) {
    if (!IsDigit(s[pos + i])) return false;
  }
  const char* first = s.data() + pos;
  const auto [end, ec] = std::from_chars(first, first + width, *value);
  return ec == std::errc() && end == first + width;
}

// YYYY-MM-DDTHH:MM:SS with an optional '.' and 1 to 9 fraction digits, fields in range.
bool ValidTimestamp(std::string_view t) {
  unsigned year, month, day, hour, minute, second;
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
    return false;
  }
  if (!FixedDigits(t, 0, 4, &year) || !FixedDigits(t, 5, 2, &month) ||
      !FixedDigits(t, 8, 2, &day) || !FixedDigits(t, 11, 2, &hour) ||
      !FixedDigits(t, 14, 2, &minute) || !FixedDigits(t, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  if (t.size() == 19) return true;
  const size_t digits = t.size() - 20;
  if (t[19] != '.' || digits < 1 || digits > 9) return false;
  return std::all_of(t.begin() + 20, t.end(), IsDigit);
}

// The whole of `s` as a finite double.
bool ParseDouble(std::string_view s, double* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
}

// The whole of `s` as an int.
bool ParseInt(std::string_view s, int* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

enum class Status { kOk, kWarn, kError };

// One well-formed record's fields.
struct Record {
  double temp = 0;
  double current = 0;
  Status status = Status::kOk;
};

// Parses a non-blank, non-comment line into `record`; false if malformed. Quoted values are
// decoded into `scratch`, which is reused between calls.
bool ParseRecord(std::string_view line, Record* record, std::string* scratch) {
  // Raw pointers rather than string_view indexing keep unoptimised (fastbuild) builds quick.
  const char* p = line.data();
  const char* const end = p + line.size();
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  const char* const timestamp = p;
  while (p < end && *p != ' ' && *p != '\t') ++p;
  if (!ValidTimestamp(std::string_view(timestamp, static_cast<size_t>(p - timestamp)))) {
    return false;
  }

  enum : unsigned { kMotor = 1, kTemp = 2, kCurrent = 4, kStatus = 8, kAll = 15 };
  unsigned seen = 0;
  while (true) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    if (p == end) break;
    // Key.
    const char* const key_begin = p;
    if (!IsKeyChar(*p, /*first=*/true)) return false;
    while (p < end && IsKeyChar(*p, /*first=*/false)) ++p;
    if (p == end || *p != '=') return false;
    const std::string_view key(key_begin, static_cast<size_t>(p - key_begin));
    ++p;
    // Value.
    std::string_view value;
    if (p < end && *p == '"') {
      ++p;
      scratch->clear();
      bool closed = false;
      while (p < end) {
        // Copy the run up to the next quote or backslash in one go.
        const char* run = p;
        while (p < end && *p != '"' && *p != '\\') ++p;
        scratch->append(run, static_cast<size_t>(p - run));
        if (p == end) break;
        if (*p++ == '"') {
          closed = true;
          break;
        }
        if (p == end) return false;
        switch (*p++) {
          case '"':
            scratch->push_back('"');
            break;
          case '\\':
            scratch->push_back('\\');
            break;
          case 'n':
            scratch->push_back('\n');
            break;
          case 't':
            scratch->push_back('\t');
            break;
          case 'r':
            scratch->push_back('\r');
            break;
          default:
            return false;
        }
      }
      if (!closed || (p < end && *p != ' ' && *p != '\t')) return false;
      value = *scratch;
    } else {
      const char* const value_begin = p;
      while (p < end && *p != ' ' && *p != '\t') {
        if (*p == '"') return false;
        ++p;
      }
      value = std::string_view(value_begin, static_cast<size_t>(p - value_begin));
      if (value.empty()) return false;
    }
    // Known fields.
    unsigned bit = 0;
    if (key == "motor") {
      int motor;
      if (!ParseInt(value, &motor)) return false;
      bit = kMotor;
    } else if (key == "temp") {
      if (!ParseDouble(value, &record->temp)) return false;
      bit = kTemp;
    } else if (key == "current") {
      if (!ParseDouble(value, &record->current)) return false;
      bit = kCurrent;
    } else if (key == "status") {
      if (value == "OK") {
        record->status = Status::kOk;
      } else if (value == "WARN") {
        record->status = Status::kWarn;
      } else if (value == "ERROR") {
        record->status = Status::kError;
      } else {
        return false;
      }
      bit = kStatus;
    }
    if (seen & bit) return false;  // A required field given twice.
    seen |= bit;
  }
  return seen == kAll;
}

// HSV (h in [0, 1), s and v in [0, 1]) to 8-bit RGB.
void HsvToRgb(double h, double s, double v, uint8_t* rgb) {
  const double h6 = (h - std::floor(h)) * 6.0;
  const int sector = std::min(static_cast<int>(h6), 5);
  const double f = h6 - sector;
  const double p = v * (1.0 - s);
  const double q = v * (1.0 - s * f);
  const double t = v * (1.0 - s * (1.0 - f));
  double r, g, b;
  switch (sector) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  rgb[0] = static_cast<uint8_t>(std::lround(std::clamp(r, 0.0, 1.0) * 255.0));
  rgb[1] = static_cast<uint8_t>(std::lround(std::clamp(g, 0.0, 1.0) * 255.0));
  rgb[2] = static_cast<uint8_t>(std::lround(std::clamp(b, 0.0, 1.0) * 255.0));
}

}  // namespace

void RenderFrame(int width, int height, uint64_t sequence, Frame* frame) {
  if (width <= 0 || height <= 0) width = height = 0;
  frame->width = width;
  frame->height = height;
  frame->sequence = sequence;
  frame->rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  if (width == 0) return;

  // The disc travels a Lissajous path around the centre.
  const double phase = static_cast<double>(sequence % 1000000);
  const int cx = static_cast<int>(width / 2.0 + width / 3.0 * std::cos(phase * 0.05));
  const int cy = static_cast<int>(height / 2.0 + height / 3.0 * std::sin(phase * 0.07));
  const int radius = std::max(1, std::min(width, height) / 8);
  const int64_t r2 = int64_t{radius} * radius;
  // 16.16 fixed-point gradient steps, so the inner loop has no division.
  const uint32_t x_step = (255u << 16) / static_cast<uint32_t>(std::max(width - 1, 1));
  const uint32_t y_step = (255u << 16) / static_cast<uint32_t>(std::max(height - 1, 1));
  const uint32_t shift = static_cast<uint32_t>(sequence * 3);

  // The PRNG is xorshift64* (as Rng) kept in a local so the per-pixel loop makes no calls.
  uint64_t state = SplitMix64(sequence) | 1;
  const uint8_t* const saturate = kSaturate.data();
  uint8_t* p = frame->rgb.data();
  for (int y = 0; y < height; ++y) {
    const uint8_t green = static_cast<uint8_t>((static_cast<uint32_t>(y) * y_step) >> 16);
    // The disc's span on this row: |x - cx| <= floor(sqrt(r^2 - dy^2)); empty off the disc.
    int disc_x0 = 1, disc_x1 = 0;
    const int64_t dy = y - cy;
    if (dy * dy <= r2) {
      const int64_t k = r2 - dy * dy;
      int64_t half = static_cast<int64_t>(std::sqrt(static_cast<double>(k)));
      while (half * half > k) --half;
      while ((half + 1) * (half + 1) <= k) ++half;
      disc_x0 = cx - static_cast<int>(half);
      disc_x1 = cx + static_cast<int>(half);
    }
    uint32_t red_fx = 0;
    for (int x = 0; x < width; ++x, red_fx += x_step, p += 3) {
      state ^= state >> 12;
      state ^= state << 25;
      state ^= state >> 27;
      const uint64_t noise = state * 0x2545F4914F6CDD1DULL;
      // Noise in [-8, 7] per channel; kSaturate is indexed by value + 8.
      const uint32_t nr = static_cast<uint32_t>(noise >> 40) & 15;
      const uint32_t ng = static_cast<uint32_t>(noise >> 48) & 15;
      const uint32_t nb = static_cast<uint32_t>(noise >> 56) & 15;
      if (x >= disc_x0 && x <= disc_x1) {
        p[0] = saturate[240 + nr];
        p[1] = saturate[200 + ng];
        p[2] = saturate[40 + nb];
      } else {
        p[0] = saturate[(((red_fx >> 16) + shift) & 255) + nr];
        p[1] = saturate[green + ng];
        p[2] = saturate[((static_cast<uint32_t>(x + y) + shift) & 255) + nb];
      }
    }
  }
}

uint8_t Luma(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((77u * r + 150u * g + 29u * b + 128u) >> 8);
}

void MakePreview(const Frame& frame, int factor, Preview* out) {
  const bool valid =
      factor >= 1 && frame.width > 0 && frame.height > 0 &&
      frame.rgb.size() == static_cast<size_t>(frame.width) * static_cast<size_t>(frame.height) * 3;
  out->width = valid ? frame.width / factor : 0;
  out->height = valid ? frame.height / factor : 0;
  if (out->width == 0 || out->height == 0) out->width = out->height = 0;
  out->luma.resize(static_cast<size_t>(out->width) * static_cast<size_t>(out->height));

  const size_t stride = static_cast<size_t>(frame.width) * 3;
  const uint32_t area = static_cast<uint32_t>(factor) * static_cast<uint32_t>(factor);
  uint8_t* dst = out->luma.data();
  for (int oy = 0; oy < out->height; ++oy) {
    const uint8_t* block_row = frame.rgb.data() + static_cast<size_t>(oy) * factor * stride;
    for (int ox = 0; ox < out->width; ++ox) {
      uint64_t sum_r = 0, sum_g = 0, sum_b = 0;
      const uint8_t* row = block_row + static_cast<size_t>(ox) * factor * 3;
      for (int dy = 0; dy < factor; ++dy, row += stride) {
        const uint8_t* px = row;
        for (int dx = 0; dx < factor; ++dx, px += 3) {
          sum_r += px[0];
          sum_g += px[1];
          sum_b += px[2];
        }
      }
      *dst++ = Luma(static_cast<uint8_t>((sum_r + area / 2) / area),
                    static_cast<uint8_t>((sum_g + area / 2) / area),
                    static_cast<uint8_t>((sum_b + area / 2) / area));
    }
  }
  out->checksum = Fnv1a64(out->luma);
}

std::string GenerateTextFile(uint64_t seed, int lines) {
  std::string out;
  if (lines <= 0) return out;
  out.reserve(static_cast<size_t>(lines) * 110);
  Rng rng(seed);
  std::string scratch;
  // 2026-11-22T10:15:30.123456, plus up to a minute depending on the seed.
  int64_t unix_us = (DaysFromCivil(2026, 11, 22) * 86400 + 10 * 3600 + 15 * 60 + 30) * 1000000 +
                    123456 + static_cast<int64_t>(rng.Below(60000000));
  for (int line = 0; line < lines; ++line) {
    unix_us += 100 + rng.Below(4900);
    const uint32_t kind = rng.Below(100);
    if (kind < 3) {
      out.append(kComments[rng.Below(std::size(kComments))]);
    } else if (kind < 5) {
      AppendMalformed(&out, &rng, unix_us, &scratch);
    } else {
      AppendRecord(&out, &rng, unix_us);
    }
    out.push_back('\n');
  }
  return out;
}

ParseSummary ParseTextFile(std::string_view text) {
  ParseSummary summary;
  double temp_sum = 0;
  std::string scratch;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    size_t first = 0;
    while (first < line.size() && IsBlank(line[first])) ++first;
    if (first == line.size()) continue;
    if (line[first] == '#') {
      ++summary.comments;
      continue;
    }
    Record record;
    if (!ParseRecord(line, &record, &scratch)) {
      ++summary.malformed;
      continue;
    }
    if (summary.records == 0) {
      summary.temp_min = summary.temp_max = record.temp;
    } else {
      summary.temp_min = std::min(summary.temp_min, record.temp);
      summary.temp_max = std::max(summary.temp_max, record.temp);
    }
    ++summary.records;
    temp_sum += record.temp;
    summary.current_sum += record.current;
    switch (record.status) {
      case Status::kOk:
        ++summary.ok;
        break;
      case Status::kWarn:
        ++summary.warn;
        break;
      case Status::kError:
        ++summary.error;
        break;
    }
  }
  if (summary.records > 0) summary.temp_mean = temp_sum / summary.records;
  return summary;
}

double PidStep(Pid* pid, double setpoint, double measured, double dt_s) {
  const double error = setpoint - measured;
  if (!(dt_s > 0)) return pid->kp * error;
  pid->integral += error * dt_s;
  const double derivative = (error - pid->previous_error) / dt_s;
  pid->previous_error = error;
  return pid->kp * error + pid->ki * pid->integral + pid->kd * derivative;
}

double SimulateJoint(Joint* joint, double command, double dt_s) {
  if (dt_s > 0) {
    // Exact discretisation of the first-order lag, stable for any dt.
    const double alpha = 1.0 - std::exp(-dt_s / kJointTimeConstantS);
    joint->velocity += (command - joint->velocity) * alpha;
    joint->position += joint->velocity * dt_s;
  }
  const uint64_t bits = SplitMix64(joint->step++);
  // 53 random bits to [0, 1), then to [-1, 1).
  const double unit = static_cast<double>(bits >> 11) * 0x1.0p-53 * 2.0 - 1.0;
  return joint->position + unit * kJointSensorNoise;
}

void RenderLedEffect(int leds, double t_s, std::vector<uint8_t>* rgb) {
  if (leds <= 0) leds = 0;
  rgb->resize(static_cast<size_t>(leds) * 3);
  // Brightness breathes between 0.15 and 1 with a 2 s period; the rainbow moves at 0.25 turn/s.
  const double breath = 0.575 + 0.425 * std::sin(2.0 * std::numbers::pi * t_s / 2.0);
  const double hue_offset = 0.25 * t_s;
  for (int i = 0; i < leds; ++i) {
    const double hue = hue_offset + static_cast<double>(i) / leds;
    HsvToRgb(hue, 1.0, breath, rgb->data() + static_cast<size_t>(i) * 3);
  }
}

}  // namespace cadence::robot
