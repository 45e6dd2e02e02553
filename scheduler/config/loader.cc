#include "scheduler/config/loader.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"

namespace cadence {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;

// Collects the text-format parser's first error (it stops there) with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!has_error_) {
      has_error_ = true;
      line_ = line;
      column_ = column;
      message_ = message;
    }
  }
  void AddWarning(int line, int column, const std::string& message) override {
    warnings_.push_back({line, column, message});
  }

  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
  struct Warning {
    int line, column;
    std::string message;
  };
  std::vector<Warning> warnings_;
};

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

absl::Status ErrorAt(const std::string& path, int line, int column, const std::string& message,
                     const std::string& hint = "", const std::string& field = "") {
  Diagnostic d{Severity::kError, {path, line, column}, field, message, hint};
  return absl::InvalidArgumentError(d.ToString());
}

// Where the comment of the line [start, end) of `text` begins (a '#' outside a string), or
// `end` when it has none.
size_t CommentStart(const std::string& text, size_t start, size_t end) {
  for (size_t i = start; i < end; ++i) {
    if (text[i] == '#') return i;
    if (text[i] == '"' || text[i] == '\'') {
      const char quote = text[i];
      for (++i; i < end && text[i] != quote; ++i) {
        if (text[i] == '\\') ++i;
      }
    }
  }
  return end;
}

// Byte `i` of `text` moved back over white space and `#` comments: the end of the last
// token before it. `i` itself must not be inside a comment (the parser stops at tokens).
size_t SkipBackSpaceAndComments(const std::string& text, size_t i) {
  i = std::min(i, text.size());
  while (i > 0) {
    const char c = text[i - 1];
    if (c == '\n') {
      const size_t line_end = i - 1;
      const size_t newline = line_end == 0 ? std::string::npos : text.rfind('\n', line_end - 1);
      i = CommentStart(text, newline == std::string::npos ? 0 : newline + 1, line_end);
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      --i;
    } else {
      break;
    }
  }
  return i;
}

// The identifier that ends at byte `end` of `text` (where it starts is `*start`).
std::string IdentifierEndingAt(const std::string& text, size_t end, size_t* start = nullptr) {
  size_t i = end;
  while (i > 0 && (absl::ascii_isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_')) {
    --i;
  }
  if (start != nullptr) *start = i;
  return text.substr(i, end - i);
}

// The name of the field whose value starts at byte `at` of `text` ("name: <value>", white
// space and comments between them), or "" when what precedes it is not "identifier :".
std::string FieldBefore(const std::string& text, size_t at) {
  size_t i = SkipBackSpaceAndComments(text, at);
  if (i == 0 || text[i - 1] != ':') return "";
  return IdentifierEndingAt(text, SkipBackSpaceAndComments(text, i - 1));
}

// The path of the message being parsed at byte `end` of `text` ("scheduler_conf.classic_conf.
// groups[1]"), from the root message `root`: a light scan of the text before it (the parser
// stopped at `end`, so everything before it parsed). Repeated message fields get their index.
std::string MessagePathAt(const std::string& text, size_t end, const Descriptor* root,
                          const Descriptor** innermost = nullptr) {
  struct Frame {
    const Descriptor* descriptor;
    std::string path;
    std::map<std::string, int> seen;  // Elements of each repeated field so far.
    std::string list;                 // Inside `field: [ ... ]`: the field.
  };
  std::vector<Frame> frames = {{root, "", {}, ""}};
  std::string ident;  // The last field name, while its value is expected.
  end = std::min(end, text.size());
  auto open = [&](const std::string& name) {
    Frame& top = frames.back();
    const FieldDescriptor* f =
        top.descriptor != nullptr ? top.descriptor->FindFieldByName(name) : nullptr;
    std::string path = top.path.empty() ? name : absl::StrCat(top.path, ".", name);
    if (f != nullptr && f->is_repeated()) absl::StrAppend(&path, "[", top.seen[name]++, "]");
    frames.push_back({f != nullptr ? f->message_type() : nullptr, path, {}, ""});
  };
  for (size_t i = 0; i < end;) {
    const char c = text[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == ',' || c == ';') {
      ++i;
    } else if (c == '#') {
      while (i < end && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      for (++i; i < end && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      ident.clear();
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = i;
      while (i < end && (absl::ascii_isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
        ++i;
      }
      // A field name is followed by ':' or by the message it opens; anything else (an enum
      // value, true/false) is a value.
      size_t next = i;
      while (next < text.size() && absl::ascii_isspace(static_cast<unsigned char>(text[next]))) {
        ++next;
      }
      const char after = next < text.size() ? text[next] : '\0';
      if (after == ':' || after == '{' || after == '<') ident = text.substr(start, i - start);
    } else if (c == '{' || c == '<') {
      // An element of `field: [ {...}, ... ]` (the list stays open in the enclosing frame),
      // or the message the last field name opens.
      open(!frames.back().list.empty() ? frames.back().list : ident);
      ident.clear();
      ++i;
    } else if (c == '}' || c == '>') {
      if (frames.size() > 1) frames.pop_back();
      ++i;
    } else if (c == '[') {
      frames.back().list = ident;
      ident.clear();
      ++i;
    } else if (c == ']') {
      frames.back().list.clear();
      ++i;
    } else {
      ++i;  // ':' and the characters of numbers.
    }
  }
  if (innermost != nullptr) *innermost = frames.back().descriptor;
  return frames.back().path;
}

// The field `name` of the message being parsed at byte `at` (nullptr when there is no such
// field), and its path ("scheduler_conf.classic_conf.groups[1].name") in `*path`.
const FieldDescriptor* FieldAt(const std::string& text, size_t at, const Descriptor* root,
                               const std::string& name, std::string* path) {
  if (name.empty()) return nullptr;
  const Descriptor* message = nullptr;
  const std::string message_path = MessagePathAt(text, at, root, &message);
  const FieldDescriptor* f = message != nullptr ? message->FindFieldByName(name) : nullptr;
  if (f != nullptr) *path = message_path.empty() ? name : absl::StrCat(message_path, ".", name);
  return f;
}

// What a field of this type takes, for a hint.
std::string ValueKind(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "a whole number, 0 or more, without quotes";
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      return "a whole number, without quotes";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number, without quotes";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string in double quotes, e.g. \"SCHED_FIFO\"";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "one of its enum names";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a message in braces, `{ ... }`";
  }
  return "";
}

// The parser's "Message type \"T\" has no field named \"F\"." split into T and F.
// (Plain string matching: std::regex recurses per character and overflows the stack on a
// long field name.)
bool ParseUnknownField(const std::string& message, std::string* type, std::string* field) {
  static constexpr absl::string_view kType = "Message type \"";
  static constexpr absl::string_view kField = "\" has no field named \"";
  if (!absl::StartsWith(message, kType)) return false;
  const size_t type_end = message.find(std::string(kField), kType.size());
  if (type_end == std::string::npos) return false;
  const size_t field_start = type_end + kField.size();
  const size_t field_end = message.find('"', field_start);
  if (field_end == std::string::npos || field_end == field_start) return false;
  *type = message.substr(kType.size(), type_end - kType.size());
  *field = message.substr(field_start, field_end - field_start);
  return true;
}

// The byte offset in `line` of the parser's 0-based `column` (the tokenizer advances a tab
// to the next multiple of 8 columns), and back.
size_t ByteOfColumn(absl::string_view line, int column) {
  int col = 0;
  size_t i = 0;
  for (; i < line.size() && col < column; ++i) col += line[i] == '\t' ? 8 - col % 8 : 1;
  return i;
}
int ColumnOfByte(absl::string_view line, size_t byte) {
  int col = 0;
  for (size_t i = 0; i < line.size() && i < byte; ++i) col += line[i] == '\t' ? 8 - col % 8 : 1;
  return col;
}

// The text of 0-based line `line` and the offset where it starts (npos past the end).
absl::string_view LineOf(const std::string& text, int line, size_t* start_out) {
  size_t start = 0;
  for (int l = 0; l < line && start != std::string::npos; ++l) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  *start_out = start;
  if (start == std::string::npos) return {};
  const size_t end = text.find('\n', start);
  return absl::string_view(text).substr(start,
                                        end == std::string::npos ? std::string::npos : end - start);
}

// The parser reports an unknown field at the token after its name (the ':' or '{'); finds
// the 0-based line and column of the name itself, the last one before that token.
void FindFieldName(const std::string& text, const std::string& field, int* line, int* column) {
  size_t line_start = 0;
  const absl::string_view error_line = LineOf(text, *line, &line_start);
  if (line_start == std::string::npos) return;
  const size_t error_at = line_start + ByteOfColumn(error_line, *column);
  if (error_at < field.size()) return;
  const size_t name_at = text.rfind(field, error_at - field.size());
  if (name_at == std::string::npos) return;
  const size_t newline = name_at == 0 ? std::string::npos : text.rfind('\n', name_at - 1);
  const size_t name_line_start = newline == std::string::npos ? 0 : newline + 1;
  *line = static_cast<int>(std::count(text.begin(), text.begin() + name_at, '\n'));
  *column =
      ColumnOfByte(absl::string_view(text).substr(name_line_start), name_at - name_line_start);
}

// The last character of the token before byte `at` of `text` ('\0' if none).
char CharBefore(const std::string& text, size_t at) {
  const size_t i = SkipBackSpaceAndComments(text, at);
  return i > 0 ? text[i - 1] : '\0';
}

// The identifier of the token before byte `at` (if `colon`, also before a ':' there), or "".
std::string IdentifierBefore(const std::string& text, size_t at, bool colon) {
  size_t i = SkipBackSpaceAndComments(text, at);
  if (colon && i > 0 && text[i - 1] == ':') i = SkipBackSpaceAndComments(text, i - 1);
  return IdentifierEndingAt(text, i);
}

// The 1-based line of the innermost `[` still open at byte `at` (outside strings and
// comments), or 0.
int OpenListLine(const std::string& text, size_t at) {
  std::vector<size_t> open;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    const char c = text[i];
    if (c == '#') {
      while (i < at && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      for (++i; i < at && text[i] != c && text[i] != '\n'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '[') {
      open.push_back(i);
    } else if (c == ']' && !open.empty()) {
      open.pop_back();
    }
  }
  if (open.empty()) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + open.back(), '\n'));
}

// Where the string still open at byte `at` begins on its line (its opening quote), or npos.
size_t OpenStringStart(const std::string& text, size_t at) {
  at = std::min(at, text.size());
  const size_t newline = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
  for (size_t i = newline == std::string::npos ? 0 : newline + 1; i < at; ++i) {
    if (text[i] == '#') return std::string::npos;
    if (text[i] != '"' && text[i] != '\'') continue;
    const size_t open = i;
    for (++i; i < at && text[i] != text[open]; ++i) {
      if (text[i] == '\\') ++i;
    }
    if (i >= at) return open;
  }
  return std::string::npos;
}

// The name of a message field of `message` for an example (`scheduler_conf`), or "".
std::string MessageFieldExample(const Descriptor* message) {
  for (int i = 0; message != nullptr && i < message->field_count(); ++i) {
    if (message->field(i)->message_type() != nullptr) return message->field(i)->name();
  }
  return "";
}

// Whether `text` holds a quote that word processors put in place of ' and ".
bool HasTypographicQuote(absl::string_view text) {
  for (const char* quote : {"\u2018", "\u2019", "\u201c", "\u201d"}) {
    if (absl::StrContains(text, quote)) return true;
  }
  return false;
}

constexpr char kTypographicQuotes[] =
    "typographic quotes (\u201c \u201d \u2018 \u2019) are not quotes in protobuf text format: use "
    "plain \" (an editor or word processor may have changed them)";

// A hint for the parser's syntax errors (what was written, what the format wants there), or
// "" for errors it does not know. `at` is the byte where the parser stopped; `field` gets
// the path of the field the error is about, when there is one.
std::string SyntaxHint(const std::string& message, const std::string& text, size_t at,
                       const Descriptor* root, std::string* field) {
  const absl::string_view rest = absl::string_view(text).substr(std::min(at, text.size()));
  auto field_named = [&](const std::string& name) {
    return FieldAt(text, at, root, name, field);
  };
  const bool at_end = absl::EndsWith(message, "found \"\".");
  // C-style comments, wherever the parser met them.
  if (absl::StartsWith(rest, "//") || absl::StartsWith(rest, "/*")) {
    field_named(FieldBefore(text, at));
    return "comments start with `#` in protobuf text format (`//` and `/* */` are not "
           "comments)";
  }
  if (at == 0 && absl::StartsWith(rest, "\xef\xbb\xbf")) {
    return "the file starts with a UTF-8 byte-order mark (bytes EF BB BF): save it without one";
  }
  if (absl::StartsWith(message, "Expected \":\", found ")) {
    const std::string name = IdentifierBefore(text, at, false);
    if (name.empty()) return "";
    const FieldDescriptor* f = field_named(name);
    if (absl::StartsWith(rest, "=")) {
      return absl::StrCat("a field and its value are separated by `:`, not `=`: `", name,
                          ": ...`");
    }
    if (f != nullptr && f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::StrCat("write a `:` between `", name, "` and its value (`", name,
                          ": ...`); `", name, "` takes ", ValueKind(*f));
    }
    return absl::StrCat("write a `:` between `", name, "` and its value, or `", name,
                        " { ... }` for a message");
  }
  const bool expected_comma = absl::StartsWith(message, "Expected \",\", found ");
  if (expected_comma || absl::StartsWith(message, "Expected \"{\", found ")) {
    const char before = CharBefore(text, at);
    const int list_line = OpenListLine(text, at);
    const std::string opened =
        list_line > 0 ? absl::StrCat("the `[` list opened at line ", list_line) : "a `[` list";
    if (at_end && (expected_comma || before == '[' || before == ',')) {
      return absl::StrCat("the file ends inside ", opened,
                          ": its `]` is missing (or the file was cut short)");
    }
    if (expected_comma) {
      if (absl::StartsWith(rest, "}") || absl::StartsWith(rest, ">")) {
        return absl::StrCat(opened, " is not closed: end it with `]` after its last item");
      }
      return "the items of a `[ ... ]` list are separated by commas: `[ { ... }, { ... } ]`";
    }
    if (before == ',' && absl::StartsWith(rest, "]")) {
      return "a `[ ... ]` list takes no comma after its last item: remove the `,` before `]`";
    }
    if (before == ',' && (absl::StartsWith(rest, "}") || absl::StartsWith(rest, ">"))) {
      return absl::StrCat(opened, " is not closed: end it with `]` after its last item (and "
                                  "no comma after that item)");
    }
    if (before == '[' || before == ',') {
      return "each item of a list of messages is a message in braces: `[ { ... }, { ... } ]`";
    }
    const std::string name = IdentifierBefore(text, at, true);
    const FieldDescriptor* f = field_named(name);
    if (f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (absl::StartsWith(rest, "=")) {
        return absl::StrCat("a message follows its field's name without `=`: `", name,
                            " { ... }` (or `", name, ": { ... }`)");
      }
      return absl::StrCat("`", name, "` is a message: its fields go in braces, `", name,
                          " { ... }`");
    }
    field->clear();
    return "";
  }
  if (absl::StartsWith(message, "Expected identifier, got: ")) {
    // The parser reads a bool's value (true/false) as an identifier: a wrong value there is
    // the value's error, which the caller explains.
    std::string unused;
    const FieldDescriptor* value_of = FieldAt(text, at, root, FieldBefore(text, at), &unused);
    if (value_of != nullptr && value_of->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return "";
    }
    const Descriptor* message_type = nullptr;
    MessagePathAt(text, at, root, &message_type);
    std::string example = MessageFieldExample(message_type);
    if (example.empty()) example = MessageFieldExample(root);
    if (absl::StartsWith(rest, "\"") || absl::StartsWith(rest, "'")) {
      const size_t close = rest.find(rest[0], 1);
      const std::string quoted(rest.substr(1, close == absl::string_view::npos ? 0 : close - 1));
      size_t name_start = 0;
      if (!quoted.empty() && IdentifierEndingAt(quoted, quoted.size(), &name_start) == quoted &&
          name_start == 0) {
        return absl::StrCat("field names are written without quotes: `", quoted, ": ...`, not `",
                            rest.substr(0, close + 1), ": ...`");
      }
      return "a field name is expected here, without quotes";
    }
    if (absl::StartsWith(rest, "{")) {
      if (SkipBackSpaceAndComments(text, at) == 0) {
        return absl::StrCat("a file is a list of fields, e.g. `",
                            MessageFieldExample(root), " { ... }`, without braces around the "
                            "whole file (protobuf text format, not JSON)");
      }
      return absl::StrCat("a `{` opens a message right after its field's name, e.g. `",
                          example, " {`; this one follows no field name");
    }
    return "a field name is expected here: letters, digits and `_`";
  }
  if (message == "String literals cannot cross line boundaries." ||
      message == "Unexpected end of string.") {
    const size_t open = OpenStringStart(text, at);
    if (open != std::string::npos) {
      field_named(FieldBefore(text, open));
      if (HasTypographicQuote(absl::string_view(text).substr(open, at - open))) {
        return absl::StrCat("this string ends with a typographic quote: ", kTypographicQuotes);
      }
    }
    if (message == "Unexpected end of string.") {
      return "the file ends inside this string: add its closing quote (or the file was cut "
             "short)";
    }
    return "a string ends on the line it starts on: add its closing quote";
  }
  if (absl::StartsWith(message, "Non-repeated field \"")) {
    const size_t start = strlen("Non-repeated field \"");
    const size_t end = message.find('"', start);
    if (end == std::string::npos) return "";
    const std::string name = message.substr(start, end - start);
    field_named(name);
    return absl::StrCat("`", name,
                        "` takes one value in each message: remove all but one of them");
  }
  if (absl::StartsWith(message, "Interpreting non ascii codepoint")) {
    field_named(FieldBefore(text, at));
    if (HasTypographicQuote(rest.substr(0, 3))) return kTypographicQuotes;
    if (absl::StartsWith(rest, "\u00a0")) {
      return "a no-break space (U+00A0) stands where the format wants a plain space: replace it";
    }
    if (absl::StartsWith(rest, "\u200b") || absl::StartsWith(rest, "\u200c") ||
        absl::StartsWith(rest, "\u200d") || absl::StartsWith(rest, "\u2060") ||
        absl::StartsWith(rest, "\xef\xbb\xbf")) {
      return "an invisible character (a zero-width space or joiner, or a byte-order mark) "
             "stands here: remove it";
    }
    return "outside strings the format takes ASCII only: remove this character, or quote the "
           "text if it is a value";
  }
  return "";
}

// Turns the parser's message into a clearer one, with a "did you mean" for unknown fields.
absl::Status ParseErrorStatus(const std::string& path, const std::string& text,
                              const FirstErrorCollector& errors, const Descriptor* root) {
  std::string message = errors.message_;
  std::string hint;
  std::string field_name;
  int line = errors.line_;
  int column = errors.column_;
  // The byte where the parser stopped (npos when its line is past the text).
  size_t error_at = std::string::npos;
  {
    size_t line_start = 0;
    const absl::string_view error_line = LineOf(text, line, &line_start);
    if (line_start != std::string::npos) error_at = line_start + ByteOfColumn(error_line, column);
  }
  std::string type, field;
  if (ParseUnknownField(errors.message_, &type, &field)) {
    FindFieldName(text, field, &line, &column);
    const Descriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
    const std::string short_type = descriptor != nullptr ? descriptor->name() : type;
    message = absl::StrCat("unknown field '", field, "' in ", short_type);
    if (error_at != std::string::npos) {
      const std::string message_path = MessagePathAt(text, error_at, root);
      field_name = message_path.empty() ? field : absl::StrCat(message_path, ".", field);
    }
    if (descriptor != nullptr) {
      std::vector<std::string> closest = ClosestFieldNames(*descriptor, field);
      if (!closest.empty()) {
        std::vector<std::string> quoted;
        for (const std::string& name : closest) quoted.push_back(absl::StrCat("'", name, "'"));
        hint = absl::StrCat("did you mean ", absl::StrJoin(quoted, " or "), "?");
      }
      if (descriptor == proto::CyberConfig::descriptor() &&
          proto::SchedulerConf::descriptor()->FindFieldByName(field) != nullptr) {
        hint = absl::StrCat("'", field,
                            "' belongs inside `scheduler_conf { ... }`, as in Cyber RT's files");
      }
      if (hint.empty()) {
        std::vector<std::string> names;
        for (int i = 0; i < descriptor->field_count(); ++i) {
          names.push_back(descriptor->field(i)->name());
        }
        hint = absl::StrCat(short_type, " has: ", absl::StrJoin(names, ", "));
      }
    }
  } else if (absl::StartsWith(message, "Expected identifier, got: ") &&
             (message.size() == strlen("Expected identifier, got: ") ||
              (absl::EndsWith(message, "got: }") &&
               (error_at == std::string::npos || FieldBefore(text, error_at).empty())))) {
    // The end of the file inside a message, or a `}` that closes nothing (not one that
    // follows `busy_spin:`, whose value is missing).
    int depth = 0;
    for (size_t i = 0; i < text.size(); ++i) {  // Braces outside strings and comments.
      const char c = text[i];
      if (c == '#') {
        while (i < text.size() && text[i] != '\n') ++i;
      } else if (c == '"' || c == '\'') {
        for (++i; i < text.size() && text[i] != c; ++i) {
          if (text[i] == '\\') ++i;
        }
      } else if (c == '{' || c == '<') {
        ++depth;
      } else if (c == '}' || c == '>') {
        --depth;
      }
    }
    hint = absl::EndsWith(message, "got: }")
               ? "this `}` closes no message: remove it, or add the `{` it belongs to"
               : absl::StrCat("the file ends inside a message: ",
                              depth > 1 ? absl::StrCat(depth, " closing `}` are") :
                                          std::string("a closing `}` is"),
                              " missing (or the file was cut short)");
  } else if (error_at != std::string::npos &&
             !(hint = SyntaxHint(message, text, error_at, root, &field_name)).empty()) {
    // A syntax error the hint explains.
  } else {
    // A value the field's type does not take ("Expected integer, got: \"1\"", "Integer
    // out of range (3)" for a bool, ...): name the field and what it takes.
    field_name.clear();
    if (error_at != std::string::npos) {
      const std::string name = FieldBefore(text, error_at);
      std::string path;  // The field's full path, as the validator's findings give it.
      const FieldDescriptor* f = FieldAt(text, error_at, root, name, &path);
      if (f != nullptr && f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        hint = absl::StrCat("`", name, "` takes ", ValueKind(*f));
        field_name = path;
      }
    }
  }
  return ErrorAt(path, line + 1, column + 1, message, hint, field_name);
}

// Finds required fields that are not set, reporting each at the message that lacks it.
void CheckRequired(const LoadedConfig& loaded, const Message& message,
                   const TextFormat::ParseInfoTree* tree, SourceLocation here,
                   const std::string& path, std::vector<std::string>* missing,
                   SourceLocation* first) {
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string field_path = path.empty() ? field->name() : path + "." + field->name();
    if (field->is_required() && !reflection->HasField(message, field)) {
      if (missing->empty()) *first = here;
      missing->push_back(absl::StrCat(here.ToString(), ": error: missing required field '",
                                      field->name(), "' in ", descriptor->name(), " [", field_path,
                                      "]"));
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        CheckRequired(loaded, reflection->GetRepeatedMessage(message, field, j),
                      tree ? tree->GetTreeForNested(field, j) : nullptr,
                      loaded.FieldLocation(tree, message, field->name(), j),
                      absl::StrCat(field_path, "[", j, "]"), missing, first);
      }
    } else if (reflection->HasField(message, field)) {
      CheckRequired(loaded, reflection->GetMessage(message, field),
                    tree ? tree->GetTreeForNested(field, -1) : nullptr,
                    loaded.FieldLocation(tree, message, field->name()), field_path, missing, first);
    }
  }
}

// Whether the text looks like binary protobuf or other non-text data.
bool LooksBinary(const std::string& text) {
  for (unsigned char c : text) {
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\v')) {
      return true;
    }
  }
  return false;
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::vector<std::string> ClosestFieldNames(const Descriptor& descriptor,
                                           const std::string& unknown) {
  std::vector<std::string> containing;
  int best = INT_MAX;
  std::vector<std::string> closest;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const std::string& name = descriptor.field(i)->name();
    if (name.find(unknown) != std::string::npos || unknown.find(name) != std::string::npos) {
      containing.push_back(name);
    }
    const int distance = EditDistance(unknown, name);
    if (distance < best) {
      best = distance;
      closest = {name};
    } else if (distance == best) {
      closest.push_back(name);
    }
  }
  // A near-miss spelling wins; else the fields that contain the name (or it them).
  const int tolerance = std::max<int>(2, static_cast<int>(unknown.size()) / 3);
  if (best <= tolerance) return closest;
  return containing;
}

SourceLocation LocationOf(const TextFormat::ParseInfoTree* tree, const Message& message,
                          const std::string& field, int index, const std::string& path) {
  if (tree == nullptr) return {path, 0, 0};
  const FieldDescriptor* descriptor = message.GetDescriptor()->FindFieldByName(field);
  if (descriptor == nullptr) return {path, 0, 0};
  if (!descriptor->is_repeated()) index = -1;
  if (descriptor->is_repeated() && descriptor->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      index >= 0 && index < message.GetReflection()->FieldSize(message, descriptor)) {
    // List syntax (`groups: [ {..}, {..} ]`) records one location for the whole list, so
    // when the field's locations do not cover every element, each element is located at
    // its own first field.
    const int size = message.GetReflection()->FieldSize(message, descriptor);
    if (tree->GetLocation(descriptor, size - 1).line < 0) {
      const Message& element =
          message.GetReflection()->GetRepeatedMessage(message, descriptor, index);
      const TextFormat::ParseInfoTree* nested = tree->GetTreeForNested(descriptor, index);
      TextFormat::ParseLocation first(-1, -1);
      const Descriptor* type = element.GetDescriptor();
      for (int i = 0; nested != nullptr && i < type->field_count(); ++i) {
        const TextFormat::ParseLocation at =
            nested->GetLocation(type->field(i), type->field(i)->is_repeated() ? 0 : -1);
        if (at.line < 0) continue;
        if (first.line < 0 || at.line < first.line ||
            (at.line == first.line && at.column < first.column)) {
          first = at;
        }
      }
      if (first.line >= 0) return {path, first.line + 1, first.column + 1};
    }
  }
  const TextFormat::ParseLocation location = tree->GetLocation(descriptor, index);
  if (location.line < 0) return {path, 0, 0};
  return {path, location.line + 1, location.column + 1};
}

SourceLocation LoadedConfig::FieldLocation(const TextFormat::ParseInfoTree* tree,
                                           const Message& message, const std::string& field,
                                           int index) const {
  return LocationOf(tree, message, field, index, path);
}

namespace {

// Skips whitespace and `#` comments from byte `i` of `text`; the first byte after them.
size_t SkipSpaceAndComments(const std::string& text, size_t i) {
  while (i < text.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else {
      break;
    }
  }
  return i;
}

// How many bytes the escape starting at text[i] (a backslash) stands for, and where it ends
// (*end): \x with 1-2 hex digits and 1-3 octal digits are one byte, \u and \U a code point
// in UTF-8, anything else one character.
size_t Unescape(const std::string& text, size_t i, size_t* end) {
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  ++i;  // The backslash.
  if (i < text.size() && (text[i] == 'x' || text[i] == 'X')) {
    ++i;
    for (int k = 0; k < 2 && i < text.size() && absl::ascii_isxdigit(text[i]); ++k) ++i;
    *end = i;
    return 1;
  }
  if (i < text.size() && is_octal(text[i])) {
    for (int k = 0; k < 3 && i < text.size() && is_octal(text[i]); ++k) ++i;
    *end = i;
    return 1;
  }
  if (i < text.size() && (text[i] == 'u' || text[i] == 'U')) {
    const int digits = text[i] == 'u' ? 4 : 8;
    ++i;
    uint32_t code = 0;
    for (int k = 0; k < digits && i < text.size() && absl::ascii_isxdigit(text[i]); ++k, ++i) {
      const char c = absl::ascii_tolower(text[i]);
      code = code * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *end = i;
    return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  *end = std::min(i + 1, text.size());
  return 1;
}

}  // namespace

SourceLocation LoadedConfig::LocationOfByte(size_t byte) const {
  if (line_starts.empty() || byte > text.size()) return {path, 0, 0};
  const size_t l = static_cast<size_t>(
      std::upper_bound(line_starts.begin(), line_starts.end(), byte) - line_starts.begin() - 1);
  const size_t start = line_starts[l];
  // The last tab of the line before `byte`: the column runs on from the one after it.
  const size_t k = static_cast<size_t>(std::lower_bound(tabs.begin(), tabs.end(), byte) -
                                       tabs.begin());
  int column = static_cast<int>(byte - start);
  if (k > 0 && tabs[k - 1] >= start) {
    column = tab_columns[k - 1] + static_cast<int>(byte - tabs[k - 1] - 1);
  }
  return {path, static_cast<int>(l + 1), column + 1};
}

size_t LoadedConfig::ByteOfLocation(SourceLocation where) const {
  const size_t l = static_cast<size_t>(where.line - 1);
  if (where.line <= 0 || where.column <= 0 || l >= line_starts.size()) return std::string::npos;
  const size_t start = line_starts[l];
  const size_t end = l + 1 < line_starts.size() ? line_starts[l + 1] - 1 : text.size();
  const int column = where.column - 1;
  // The line's tabs are tabs[first, last); the first byte at or past `column` (a column
  // inside a tab's span is the byte after it, as the parser counts).
  const size_t first = static_cast<size_t>(std::lower_bound(tabs.begin(), tabs.end(), start) -
                                           tabs.begin());
  const size_t last = static_cast<size_t>(std::lower_bound(tabs.begin(), tabs.end(), end) -
                                          tabs.begin());
  // The last tab of the line whose following column is at most `column`.
  const size_t k = static_cast<size_t>(
      std::upper_bound(tab_columns.begin() + first, tab_columns.begin() + last, column) -
      tab_columns.begin());
  size_t segment = start;  // Where the run of non-tab bytes holding `column` starts...
  int segment_column = 0;  // ...and its column.
  if (k > first) {
    segment = tabs[k - 1] + 1;
    segment_column = tab_columns[k - 1];
  }
  size_t byte = segment + static_cast<size_t>(column - segment_column);
  if (k < last && byte > tabs[k]) byte = tabs[k] + 1;  // Inside the next tab's span.
  return std::min(std::min(byte, end), text.size());
}

SourceLocation LoadedConfig::ValueLocation(const TextFormat::ParseInfoTree* tree,
                                           const Message& message, const std::string& field,
                                           int index) const {
  SourceLocation where = FieldLocation(tree, message, field, index);
  // The opening quote after the field name's colon, on that line or a later one (comments
  // and blank space skipped).
  const size_t name = ByteOfLocation(where);
  if (name == std::string::npos) return where;
  const size_t colon = text.find(':', name);
  if (colon == std::string::npos) return where;
  const size_t quote = SkipSpaceAndComments(text, colon + 1);
  if (quote >= text.size() || (text[quote] != '"' && text[quote] != '\'')) return where;
  return LocationOfByte(quote + 1);
}

SourceLocation LoadedConfig::ValueOffsetLocation(SourceLocation value_at, size_t offset) const {
  SourceLocation fallback = value_at;
  if (fallback.column > 0) fallback.column += static_cast<int>(offset);
  size_t i = ByteOfLocation(value_at);
  if (i == std::string::npos || i == 0 || (text[i - 1] != '"' && text[i - 1] != '\'')) {
    return fallback;
  }
  char quote = text[i - 1];
  size_t decoded = 0;  // Bytes of the value before text[i].
  while (true) {
    // At a closing quote: an adjacent literal, if any, continues the value; if none does,
    // the offset is the value's end, at that quote.
    while (i < text.size() && text[i] == quote) {
      const size_t next = SkipSpaceAndComments(text, i + 1);
      if (next >= text.size() || (text[next] != '"' && text[next] != '\'')) {
        return decoded == offset ? LocationOfByte(i) : fallback;
      }
      quote = text[next];
      i = next + 1;
    }
    if (i >= text.size()) return fallback;
    size_t end = i + 1;
    const size_t bytes = text[i] == '\\' ? Unescape(text, i, &end) : 1;
    if (offset < decoded + bytes) return LocationOfByte(i);
    decoded += bytes;
    i = end;
  }
}

const TextFormat::ParseInfoTree* NestedTreeOf(const TextFormat::ParseInfoTree* tree,
                                              const Message& message, const std::string& field,
                                              int index) {
  if (tree == nullptr) return nullptr;
  const FieldDescriptor* descriptor = message.GetDescriptor()->FindFieldByName(field);
  if (descriptor == nullptr) return nullptr;
  if (!descriptor->is_repeated()) index = -1;
  return tree->GetTreeForNested(descriptor, index);
}

const TextFormat::ParseInfoTree* LoadedConfig::Nested(const TextFormat::ParseInfoTree* tree,
                                                      const Message& message,
                                                      const std::string& field, int index) const {
  return NestedTreeOf(tree, message, field, index);
}

const TextFormat::ParseInfoTree* LoadedConfig::SchedulerTree() const {
  return Nested(locations.get(), config, "scheduler_conf");
}

absl::Status ParseTextProto(const std::string& text, const std::string& path, Message* out,
                            TextFormat::ParseInfoTree* locations, Diagnostics* warnings) {
  if (LooksBinary(text)) {
    const std::string hint =
        out->GetDescriptor() == proto::CyberConfig::descriptor()
            ? "write the config as text, e.g. `scheduler_conf { policy: \"classic\" }`"
            : absl::StrCat("write the ", out->GetDescriptor()->name(), " as protobuf text format");
    return ErrorAt(path, 0, 0,
                   "this is not a text-format config (it holds binary data); cadence reads "
                   "protobuf text format only and does not guess at binary protobuf",
                   hint);
  }
  FirstErrorCollector errors;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (locations != nullptr) parser.WriteLocationsTo(locations);
  parser.AllowPartialMessage(true);  // Required fields are the caller's to check.
  if (!parser.ParseFromString(text, out) || errors.has_error_) {
    if (!errors.has_error_) return ErrorAt(path, 0, 0, "the config does not parse");
    return ParseErrorStatus(path, text, errors, out->GetDescriptor());
  }
  if (warnings != nullptr) {
    for (const FirstErrorCollector::Warning& w : errors.warnings_) {
      warnings->Warning({path, w.line + 1, w.column + 1}, "", w.message);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadedConfig> ParseConfigText(std::string text, const std::string& path) {
  LoadedConfig loaded;
  loaded.path = path;
  loaded.real_path = path;
  loaded.text = std::move(text);
  loaded.line_starts.push_back(0);
  int column = 0;  // Of text[i], as the parser counts.
  for (size_t i = 0; i < loaded.text.size(); ++i) {
    if (loaded.text[i] == '\n') {
      loaded.line_starts.push_back(i + 1);
      column = 0;
    } else if (loaded.text[i] == '\t') {
      column += 8 - column % 8;
      loaded.tabs.push_back(i);
      loaded.tab_columns.push_back(column);
    } else {
      ++column;
    }
  }
  loaded.locations = std::make_shared<TextFormat::ParseInfoTree>();
  const absl::Status parsed = ParseTextProto(loaded.text, path, &loaded.config,
                                             loaded.locations.get(), &loaded.diagnostics);
  if (!parsed.ok()) return parsed;
  std::vector<std::string> missing;
  SourceLocation first;
  CheckRequired(loaded, loaded.config, loaded.locations.get(), {path, 0, 0}, "", &missing, &first);
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(missing, "\n"));
  }
  const proto::CyberConfig& config = loaded.config;
  for (const char* section : {"transport_conf", "run_mode_conf", "perf_conf"}) {
    const FieldDescriptor* field = proto::CyberConfig::descriptor()->FindFieldByName(section);
    if (config.GetReflection()->HasField(config, field)) {
      loaded.diagnostics.Note(loaded.FieldLocation(loaded.locations.get(), config, section),
                              section,
                              absl::StrCat("'", section,
                                           "' is accepted for compatibility with Cyber RT and "
                                           "ignored: cadence reads only scheduler_conf"));
    }
  }
  if (!config.has_scheduler_conf()) {
    loaded.diagnostics.Warning({path, 0, 0}, "scheduler_conf",
                               "the config has no scheduler_conf section: the default plan "
                               "applies",
                               "add `scheduler_conf { policy: \"classic\" ... }`");
  }
  return loaded;
}

namespace {

// LoadConfigFile, with the real paths already read through plain-text links (to stop a
// cycle of them).
absl::StatusOr<LoadedConfig> LoadFollowing(const std::string& path,
                                           std::vector<std::string>* visited) {
  std::vector<std::string> chain;
  Diagnostics link_notes;
  // Follow the symlinks one hop at a time, so the chain can be reported.
  std::string current = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (lstat(current.c_str(), &st) != 0) {
      const int error = errno;
      std::string message =
          current == path
              ? absl::StrCat("cannot read the config: ", std::strerror(error))
              : absl::StrCat("the symlink ", chain.back(), " is dangling: ", std::strerror(error));
      return absl::NotFoundError(
          Diagnostic{Severity::kError,
                     {path, 0, 0},
                     "",
                     message,
                     error == ENOENT ? "check the path, or the symlink's target" : ""}
              .ToString());
    }
    if (!S_ISLNK(st.st_mode)) break;
    char target[PATH_MAX];
    const ssize_t n = readlink(current.c_str(), target, sizeof(target) - 1);
    if (n < 0) break;
    target[n] = '\0';
    std::string next =
        target[0] == '/' ? std::string(target) : absl::StrCat(Dirname(current), "/", target);
    chain.push_back(absl::StrCat(current, " -> ", target));
    current = next;
  }
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(
        Diagnostic{Severity::kError,
                   {path, 0, 0},
                   "",
                   absl::StrCat("cannot resolve the config's path: ", std::strerror(errno)),
                   ""}
            .ToString());
  }
  std::string real_path = resolved;
  absl::StatusOr<std::string> read = ReadRegularFile(real_path);
  if (!read.ok()) {
    return absl::Status(
        read.status().code(),
        Diagnostic{Severity::kError,
                   {path, 0, 0},
                   "",
                   absl::StrCat("cannot read the config: ", read.status().message()),
                   absl::IsInvalidArgument(read.status())
                       ? "name a config file (or a symlink to one), e.g. conf/robot.conf"
                       : ""}
            .ToString());
  }
  std::string text = *std::move(read);

  // A symlink stored as a plain file (git with core.symlinks=false, or a copy that lost
  // the link) holds just the target's name. Follow it, and say so.
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  if (!trimmed.empty() && trimmed.size() < 256 &&
      trimmed.find_first_of(" \t\n{}:\"#") == std::string::npos &&
      absl::EndsWith(trimmed, ".conf")) {
    const std::string sibling = trimmed[0] == '/' ? trimmed : Dirname(real_path) + "/" + trimmed;
    struct stat st;
    if (stat(sibling.c_str(), &st) == 0 && S_ISREG(st.st_mode) && sibling != real_path) {
      visited->push_back(real_path);
      char sibling_real[PATH_MAX];
      if (realpath(sibling.c_str(), sibling_real) != nullptr &&
          std::find(visited->begin(), visited->end(), std::string(sibling_real)) !=
              visited->end()) {
        return absl::InvalidArgumentError(Diagnostic{
            Severity::kError,
            {path, 1, 1},
            "",
            absl::StrCat("this file holds only the name '", trimmed, "', which leads back to ",
                         sibling_real, ": these plain-text links form a cycle"),
            "make the config a real file, or a real symlink to one"}
                                              .ToString());
      }
      link_notes.Warning({path, 1, 1}, "",
                         absl::StrCat("this file holds only the name '", trimmed,
                                      "': it is read as a symlink to that file"),
                         "a symlink stored as a plain file (e.g. by git with "
                         "core.symlinks=false); make it a real symlink: ln -sf " +
                             trimmed + " " + path);
      absl::StatusOr<LoadedConfig> target = LoadFollowing(sibling, visited);
      if (!target.ok()) return target.status();
      target->link_chain.insert(target->link_chain.begin(),
                                absl::StrCat(path, " => ", trimmed, " (plain-text link)"));
      Diagnostics all = link_notes;
      all.Append(target->diagnostics);
      target->diagnostics = all;
      return target;
    }
  }

  absl::StatusOr<LoadedConfig> loaded = ParseConfigText(std::move(text), path);
  if (!loaded.ok()) return loaded.status();
  loaded->real_path = real_path;
  loaded->link_chain = chain;
  return loaded;
}

}  // namespace

absl::StatusOr<std::string> ReadRegularFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st = {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int error = errno;
    const mode_t type = st.st_mode & S_IFMT;
    close(fd);
    if (type == 0) {
      return absl::NotFoundError(absl::StrCat("cannot stat ", path, ": ", std::strerror(error)));
    }
    const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "of an unknown type";
    return absl::InvalidArgumentError(absl::StrCat(path, " is ", what, ", not a regular file"));
  }
  std::string text;
  char buffer[1 << 14];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      text.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int error = errno;
      close(fd);
      return absl::DataLossError(absl::StrCat("reading ", path, " failed after ", text.size(),
                                              " bytes: ", std::strerror(error)));
    }
  }
  close(fd);
  return text;
}

absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path) {
  std::vector<std::string> visited;
  return LoadFollowing(path, &visited);
}

std::string ConfigPathFor(const std::string& conf_dir, const std::string& name) {
  return absl::StrCat(conf_dir.empty() ? "." : conf_dir, "/", name, ".conf");
}

}  // namespace cadence
