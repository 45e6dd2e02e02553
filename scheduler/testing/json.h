// A small strict JSON parser for tests (RFC 8259: no comments, no trailing commas, no
// NaN, no leading zeros, no unescaped control characters in strings, valid UTF-8 only,
// no duplicate keys, nothing after the value), so a test can both check that a file is
// valid JSON and look inside it. Numbers keep their literal text, so a test can compare
// them exactly (e.g. trace timestamps with NanosOf).
#ifndef CADENCE_SCHEDULER_TESTING_JSON_H_
#define CADENCE_SCHEDULER_TESTING_JSON_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cadence::test_support {

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  // A string's value, or a number's literal text.
  std::string text;
  std::vector<Json> array;
  // Members in file order.
  std::vector<std::pair<std::string, Json>> object;

  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }

  // The member `key` of an object, or nullptr.
  const Json* Find(std::string_view key) const {
    if (type != Type::kObject) return nullptr;
    for (const auto& [k, v] : object) {
      if (k == key) return &v;
    }
    return nullptr;
  }

  // The member `key` as a string ("" when absent or not a string).
  std::string StringOf(std::string_view key) const {
    const Json* v = Find(key);
    return v != nullptr && v->is_string() ? v->text : std::string();
  }

  // A number as a double (0 when not a number).
  double Number() const { return is_number() ? std::strtod(text.c_str(), nullptr) : 0; }
};

namespace json_internal {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Json> ParseDocument() {
    Json value;
    SkipSpace();
    if (!ParseValue(&value, 0)) return Error();
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("unexpected text after the value");
      return Error();
    }
    return value;
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", error_at_, ": ", error_));
  }
  bool Fail(const std::string& what) {
    if (error_.empty()) {
      error_ = what;
      error_at_ = pos_;
    }
    return false;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Json* out, int depth) {
    if (depth > 64) return Fail("nested too deeply");
    if (pos_ >= text_.size()) return Fail("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      out->type = Json::Type::kString;
      return ParseString(&out->text);
    }
    if (c == 't') {
      out->type = Json::Type::kBool;
      out->boolean = true;
      return Literal("true");
    }
    if (c == 'f') {
      out->type = Json::Type::kBool;
      return Literal("false");
    }
    if (c == 'n') return Literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    return Fail(absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }

  bool ParseObject(Json* out, int depth) {
    out->type = Json::Type::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a member name");
      std::string key;
      if (!ParseString(&key)) return false;
      if (out->Find(key) != nullptr) return Fail("duplicate key \"" + key + "\"");
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':'");
      ++pos_;
      SkipSpace();
      Json value;
      if (!ParseValue(&value, depth + 1)) return false;
      out->object.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool ParseArray(Json* out, int depth) {
    out->type = Json::Type::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      Json value;
      if (!ParseValue(&value, depth + 1)) return false;
      out->array.push_back(std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool ParseNumber(Json* out) {
    out->type = Json::Type::kNumber;
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
      if (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        return Fail("leading zero");
      }
    } else if (digits() == 0) {
      return Fail("expected a digit");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return Fail("expected a digit after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Fail("expected an exponent");
    }
    out->text = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool Hex4(uint32_t* value) {
    if (pos_ + 4 > text_.size()) return Fail("short \\u escape");
    *value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      *value <<= 4;
      if (c >= '0' && c <= '9') {
        *value |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        *value |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        *value |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Fail("bad hex digit in \\u escape");
      }
    }
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t code) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // A raw (unescaped) UTF-8 sequence starting at pos_; false when it is not valid UTF-8.
  bool RawUtf8(std::string* out) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text_[k]); };
    const unsigned char c = byte(pos_);
    size_t n = 0;
    uint32_t code = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      n = 1;
      code = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      code = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      code = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      code = c & 0x07;
      min = 0x10000;
    } else {
      return Fail("invalid UTF-8");
    }
    if (pos_ + n > text_.size()) return Fail("truncated UTF-8");
    for (size_t k = 1; k < n; ++k) {
      if ((byte(pos_ + k) & 0xC0) != 0x80) return Fail("invalid UTF-8");
      code = (code << 6) | (byte(pos_ + k) & 0x3F);
    }
    if (code < min || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return Fail("invalid UTF-8");
    }
    out->append(text_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // The opening quote.
    while (true) {
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("unescaped control character in a string");
      if (c != '\\') {
        if (!RawUtf8(out)) return false;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) return Fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t code = 0;
          if (!Hex4(&code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF) {
            uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") return Fail("lone high surrogate");
            pos_ += 2;
            if (!Hex4(&low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Fail("bad low surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            return Fail("lone low surrogate");
          }
          AppendUtf8(out, code);
          break;
        }
        default:
          return Fail(absl::StrCat("bad escape '\\", std::string(1, e), "'"));
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
  size_t error_at_ = 0;
};

}  // namespace json_internal

// Parses `text` strictly; InvalidArgument with the byte offset and the reason otherwise.
inline absl::StatusOr<Json> ParseJson(std::string_view text) {
  return json_internal::Parser(text).ParseDocument();
}

// A non-negative decimal number of microseconds with at most three decimals (how trace
// timestamps are written) as exact nanoseconds; -1 when it is not one.
inline int64_t NanosOf(const Json& value) {
  if (!value.is_number()) return -1;
  const std::string& t = value.text;
  const size_t dot = t.find('.');
  int64_t whole = 0;
  if (!absl::SimpleAtoi(t.substr(0, dot), &whole) || whole < 0) return -1;
  int64_t fraction = 0;
  if (dot != std::string::npos) {
    std::string digits = t.substr(dot + 1);
    if (digits.empty() || digits.size() > 3) return -1;
    digits.resize(3, '0');
    if (!absl::SimpleAtoi(digits, &fraction)) return -1;
  }
  return whole * 1000 + fraction;
}

}  // namespace cadence::test_support

#endif  // CADENCE_SCHEDULER_TESTING_JSON_H_
