#include "scheduler/config/loader.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/status/status.h"
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
                     const std::string& hint = "") {
  Diagnostic d{Severity::kError, {path, line, column}, "", message, hint};
  return absl::InvalidArgumentError(d.ToString());
}

// Turns the parser's message into a clearer one, with a "did you mean" for unknown fields.
absl::Status ParseErrorStatus(const std::string& path, const FirstErrorCollector& errors) {
  static const std::regex kUnknownField(
      "Message type \"([A-Za-z0-9_.]+)\" has no field named \"([A-Za-z0-9_]+)\"\\.");
  std::smatch match;
  std::string message = errors.message_;
  std::string hint;
  if (std::regex_search(errors.message_, match, kUnknownField)) {
    const std::string type = match[1];
    const std::string field = match[2];
    const Descriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
    const std::string short_type = descriptor != nullptr ? descriptor->name() : type;
    message = absl::StrCat("unknown field '", field, "' in ", short_type);
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
  }
  return ErrorAt(path, errors.line_ + 1, errors.column_ + 1, message, hint);
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

SourceLocation LoadedConfig::FieldLocation(const TextFormat::ParseInfoTree* tree,
                                           const Message& message, const std::string& field,
                                           int index) const {
  if (tree == nullptr) return {path, 0, 0};
  const FieldDescriptor* descriptor = message.GetDescriptor()->FindFieldByName(field);
  if (descriptor == nullptr) return {path, 0, 0};
  if (!descriptor->is_repeated()) index = -1;
  const TextFormat::ParseLocation location = tree->GetLocation(descriptor, index);
  if (location.line < 0) return {path, 0, 0};
  return {path, location.line + 1, location.column + 1};
}

SourceLocation LoadedConfig::ValueLocation(const TextFormat::ParseInfoTree* tree,
                                           const Message& message, const std::string& field,
                                           int index) const {
  SourceLocation where = FieldLocation(tree, message, field, index);
  if (where.line <= 0) return where;
  // Find the line, then the opening quote after the field name's colon.
  size_t start = 0;
  for (int line = 1; line < where.line && start != std::string::npos; ++line) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  if (start == std::string::npos) return where;
  const size_t end = text.find('\n', start);
  const std::string line =
      text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  const size_t colon = line.find(':', where.column - 1);
  if (colon == std::string::npos) return where;
  const size_t quote = line.find_first_of("\"'", colon);
  if (quote == std::string::npos) return where;
  return {path, where.line, static_cast<int>(quote) + 2};
}

const TextFormat::ParseInfoTree* LoadedConfig::Nested(const TextFormat::ParseInfoTree* tree,
                                                      const Message& message,
                                                      const std::string& field, int index) const {
  if (tree == nullptr) return nullptr;
  const FieldDescriptor* descriptor = message.GetDescriptor()->FindFieldByName(field);
  if (descriptor == nullptr) return nullptr;
  if (!descriptor->is_repeated()) index = -1;
  return tree->GetTreeForNested(descriptor, index);
}

const TextFormat::ParseInfoTree* LoadedConfig::SchedulerTree() const {
  return Nested(locations.get(), config, "scheduler_conf");
}

absl::StatusOr<LoadedConfig> ParseConfigText(std::string text, const std::string& path) {
  LoadedConfig loaded;
  loaded.path = path;
  loaded.real_path = path;
  loaded.text = std::move(text);
  if (LooksBinary(loaded.text)) {
    return ErrorAt(path, 0, 0,
                   "this is not a text-format config (it holds binary data); cadence reads "
                   "protobuf text format only and does not guess at binary protobuf",
                   "write the config as text, e.g. `scheduler_conf { policy: \"classic\" }`");
  }
  loaded.locations = std::make_shared<TextFormat::ParseInfoTree>();
  FirstErrorCollector errors;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(loaded.locations.get());
  parser.AllowPartialMessage(true);  // Required fields are checked below, with locations.
  if (!parser.ParseFromString(loaded.text, &loaded.config) || errors.has_error_) {
    if (!errors.has_error_) return ErrorAt(path, 0, 0, "the config does not parse");
    return ParseErrorStatus(path, errors);
  }
  for (const FirstErrorCollector::Warning& w : errors.warnings_) {
    loaded.diagnostics.Warning({path, w.line + 1, w.column + 1}, "", w.message);
  }
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

absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path) {
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
  std::ifstream in(real_path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        Diagnostic{Severity::kError,
                   {path, 0, 0},
                   "",
                   absl::StrCat("cannot open ", real_path, ": ", std::strerror(errno)),
                   ""}
            .ToString());
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();

  // A symlink stored as a plain file (git with core.symlinks=false, or a copy that lost
  // the link) holds just the target's name. Follow it, and say so.
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  if (!trimmed.empty() && trimmed.size() < 256 &&
      trimmed.find_first_of(" \t\n{}:\"#") == std::string::npos &&
      absl::EndsWith(trimmed, ".conf")) {
    const std::string sibling = trimmed[0] == '/' ? trimmed : Dirname(real_path) + "/" + trimmed;
    struct stat st;
    if (stat(sibling.c_str(), &st) == 0 && S_ISREG(st.st_mode) && sibling != real_path) {
      link_notes.Warning({path, 1, 1}, "",
                         absl::StrCat("this file holds only the name '", trimmed,
                                      "': it is read as a symlink to that file"),
                         "a symlink stored as a plain file (e.g. by git with "
                         "core.symlinks=false); make it a real symlink: ln -sf " +
                             trimmed + " " + path);
      absl::StatusOr<LoadedConfig> target = LoadConfigFile(sibling);
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

std::string ConfigPathFor(const std::string& conf_dir, const std::string& name) {
  return absl::StrCat(conf_dir.empty() ? "." : conf_dir, "/", name, ".conf");
}

}  // namespace cadence
