// Loader: reads a `.conf` file (protobuf text format, Cyber RT's CyberConfig with its
// `scheduler_conf { ... }` wrapper), following symlinks and saying which real file it
// read, and parses it strictly.
//
// A syntax error, an unknown field (with a "did you mean" naming the closest real field),
// a wrong type or a missing required field is an error with `file:line:col`. Binary
// protobuf is refused, not guessed at. Cyber's other sections (`transport_conf`,
// `run_mode_conf`, `perf_conf`) are accepted and reported as ignored. The loaded config
// keeps the parse locations, so the validator can point at the exact field of a finding.
// The same strict parse and field locations serve other text-format files (ParseTextProto,
// LocationOf), e.g. the launcher's DAG files.
#ifndef CADENCE_SCHEDULER_CONFIG_LOADER_H_
#define CADENCE_SCHEDULER_CONFIG_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "proto/cyber_conf.pb.h"
#include "scheduler/config/diagnostic.h"

namespace cadence {

// A parsed config and where everything in it came from.
struct LoadedConfig {
  // The path as given (e.g. "conf/robot.conf").
  std::string path;
  // The file that was really read, every symlink resolved (absolute).
  std::string real_path;
  // Each hop from `path` to `real_path` when `path` is a symlink ("a -> b", ...).
  std::vector<std::string> link_chain;
  // The file's text.
  std::string text;
  // The line index (filled by ParseConfigText; without it, values are located at their
  // field): the offset where each line of `text` starts, and every tab's offset with the
  // column right after it (the parser advances a tab to the next multiple of 8 columns), so
  // that locating a byte or a column takes two binary searches, never a scan of its line.
  std::vector<size_t> line_starts;
  std::vector<size_t> tabs;
  std::vector<int> tab_columns;
  // The parsed message.
  proto::CyberConfig config;
  // Where each parsed field stands in `text`.
  std::shared_ptr<google::protobuf::TextFormat::ParseInfoTree> locations;
  // What the loader noticed without failing (ignored sections, ...).
  Diagnostics diagnostics;

  // The location of a field of the message whose parse tree is `tree` (index for an
  // element of a repeated field, -1 otherwise); just the file when unknown.
  SourceLocation FieldLocation(const google::protobuf::TextFormat::ParseInfoTree* tree,
                               const google::protobuf::Message& message, const std::string& field,
                               int index = -1) const;

  // The location of the first character inside the quotes of a string field's value;
  // falls back to the field's location.
  SourceLocation ValueLocation(const google::protobuf::TextFormat::ParseInfoTree* tree,
                               const google::protobuf::Message& message, const std::string& field,
                               int index = -1) const;

  // The location of byte `offset` of a string value whose first character inside the quotes
  // is at `value_at` (as ValueLocation gives): escapes (\x30, \060, \n) count as the one byte
  // they stand for, and adjacent literals ("0-1," "3-1", on one line or several) as one
  // string. `value_at` moved by `offset` columns when the text cannot be followed.
  SourceLocation ValueOffsetLocation(SourceLocation value_at, size_t offset) const;

  // The location of byte `byte` of `text`, and the byte of a location (npos when it is
  // not in the text), through the line index.
  SourceLocation LocationOfByte(size_t byte) const;
  size_t ByteOfLocation(SourceLocation where) const;

  // The parse tree of a nested message field (nullptr when unknown).
  const google::protobuf::TextFormat::ParseInfoTree* Nested(
      const google::protobuf::TextFormat::ParseInfoTree* tree,
      const google::protobuf::Message& message, const std::string& field, int index = -1) const;

  // The parse tree of `scheduler_conf` (nullptr when the file has none).
  const google::protobuf::TextFormat::ParseInfoTree* SchedulerTree() const;

  // A location in this file at 1-based line/column.
  SourceLocation At(int line, int column) const { return {path, line, column}; }
};

// Reads and parses the config file at `path` (a regular file, or a symlink to one). Errors
// have the message formatted as "file:line:col: error: ...", hints included: NotFound for a
// path that does not exist or cannot be opened, InvalidArgument for one that is not a
// regular file (a directory, a FIFO, ...) or does not parse, DataLoss when reading fails.
absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path);

// The whole text of the regular file at `path` (symlinks followed), read to its end; never
// a part of it. Errors name the file and the reason: NotFound when it cannot be opened,
// InvalidArgument when it is not a regular file ("<path> is a directory"), DataLoss when a
// read fails part way.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path);

// Parses config text that came from `path` (used for display only).
absl::StatusOr<LoadedConfig> ParseConfigText(std::string text, const std::string& path);

// The conf file of a process group: `<conf_dir>/<name>.conf`.
std::string ConfigPathFor(const std::string& conf_dir, const std::string& name);

// The field names of `descriptor` closest to `unknown`, best first (for "did you mean").
std::vector<std::string> ClosestFieldNames(const google::protobuf::Descriptor& descriptor,
                                           const std::string& unknown);

// Parses protobuf text `text` that came from `path` into *out strictly, recording where each
// field stands in *locations (may be nullptr). Binary data is refused; the parser's first
// error is returned as InvalidArgument "file:line:col: error: ...", an unknown field with a
// "did you mean" hint. Required fields are not checked. The parser's warnings, if any, are
// added to *warnings (may be nullptr).
absl::Status ParseTextProto(const std::string& text, const std::string& path,
                            google::protobuf::Message* out,
                            google::protobuf::TextFormat::ParseInfoTree* locations,
                            Diagnostics* warnings = nullptr);

// The location in `path` of a field of `message`, whose parse tree is `tree` (index for an
// element of a repeated field, -1 otherwise); just the file when unknown. An element of a
// list (`f: [ {..}, {..} ]`) is located at its own first field.
SourceLocation LocationOf(const google::protobuf::TextFormat::ParseInfoTree* tree,
                          const google::protobuf::Message& message, const std::string& field,
                          int index, const std::string& path);

// The parse tree of a nested message field of `message` (nullptr when unknown).
const google::protobuf::TextFormat::ParseInfoTree* NestedTreeOf(
    const google::protobuf::TextFormat::ParseInfoTree* tree,
    const google::protobuf::Message& message, const std::string& field, int index = -1);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_CONFIG_LOADER_H_
