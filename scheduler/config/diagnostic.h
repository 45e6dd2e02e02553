// Diagnostic: one finding about a config — an error or a warning, where it is
// (file:line:col), which field, what is wrong and a hint on how to fix it — and
// Diagnostics, the list the loader and validator fill.
//
// Formatted the way compilers do, so editors can jump to it:
//   conf/robot.conf:12:17: error: policy "SCHED_FIFOO" is not a Linux policy [processor_policy]
//     hint: use one of SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
#ifndef CADENCE_SCHEDULER_CONFIG_DIAGNOSTIC_H_
#define CADENCE_SCHEDULER_CONFIG_DIAGNOSTIC_H_

#include <cstddef>
#include <string>
#include <vector>

namespace cadence {

// Whether `s` is UTF-8; if not, *bad (when given) is the offset of the first byte that is
// not.
bool IsUtf8(const std::string& s, size_t* bad = nullptr);

// The longest prefix (suffix) of the UTF-8 string `s` of at most `max_bytes` bytes that does
// not cut a character in two (for names the kernel keeps 15 bytes of).
std::string Utf8Head(const std::string& s, size_t max_bytes);
std::string Utf8Tail(const std::string& s, size_t max_bytes);

// `s` in double quotes, escaped, so that a name with a newline or a stray byte cannot break
// a message.
std::string Quoted(const std::string& s);

// Why `name` cannot name a group, task, thread or component — it is printed in tables,
// thread names, traces and logs and written into generated confs — or "" when it can: a
// control character, or bytes that are not UTF-8.
std::string NameProblem(const std::string& name);

// A place in a config file; line and column are 1-based, 0 when unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:col", "file:line" or "file", as much as is known.
  std::string ToString() const;
};

// kNote is information that never fails a check (not even in strict mode), e.g. a Cyber
// section cadence accepts and ignores.
enum class Severity { kNote, kWarning, kError };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLocation where;
  // The config field concerned (e.g. "classic_conf.groups[1].cpuset"), "" if none.
  std::string field;
  std::string message;
  // How to fix it; "" if there is nothing more to say.
  std::string hint;

  // "file:line:col: error: message [field]" plus an indented "hint:" line when there is one.
  std::string ToString() const;
};

// The findings of loading and validating one config, in the order they were found.
class Diagnostics {
 public:
  // Records an error.
  void Error(SourceLocation where, std::string field, std::string message, std::string hint = "");

  // Records a note.
  void Note(SourceLocation where, std::string field, std::string message, std::string hint = "");

  // Records a warning.
  void Warning(SourceLocation where, std::string field, std::string message, std::string hint = "");

  // Appends all of `other`.
  void Append(const Diagnostics& other);

  // Turns every warning into an error (strict mode).
  void MakeWarningsErrors();

  // Whether any error was recorded.
  bool HasErrors() const;

  // Number of errors / warnings.
  int ErrorCount() const;
  int WarningCount() const;

  // Whether no finding was recorded.
  bool empty() const { return all_.empty(); }

  // All findings, in order.
  const std::vector<Diagnostic>& all() const { return all_; }

  // Every finding formatted, one per line (hints on their own indented lines).
  std::string ToString() const;

 private:
  std::vector<Diagnostic> all_;
};

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_CONFIG_DIAGNOSTIC_H_
