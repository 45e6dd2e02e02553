#include "scheduler/config/diagnostic.h"

#include "absl/strings/str_cat.h"

namespace cadence {
namespace {

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kNote:
      return "note";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

}  // namespace

std::string SourceLocation::ToString() const {
  std::string out = file.empty() ? std::string("<config>") : file;
  if (line > 0) {
    absl::StrAppend(&out, ":", line);
    if (column > 0) absl::StrAppend(&out, ":", column);
  }
  return out;
}

std::string Diagnostic::ToString() const {
  std::string out = absl::StrCat(where.ToString(), ": ", SeverityName(severity), ": ", message);
  if (!field.empty()) absl::StrAppend(&out, " [", field, "]");
  if (!hint.empty()) absl::StrAppend(&out, "\n  hint: ", hint);
  return out;
}

void Diagnostics::Error(SourceLocation where, std::string field, std::string message,
                        std::string hint) {
  all_.push_back(
      {Severity::kError, std::move(where), std::move(field), std::move(message), std::move(hint)});
}

void Diagnostics::Note(SourceLocation where, std::string field, std::string message,
                       std::string hint) {
  all_.push_back(
      {Severity::kNote, std::move(where), std::move(field), std::move(message), std::move(hint)});
}

void Diagnostics::Warning(SourceLocation where, std::string field, std::string message,
                          std::string hint) {
  all_.push_back({Severity::kWarning, std::move(where), std::move(field), std::move(message),
                  std::move(hint)});
}

void Diagnostics::Append(const Diagnostics& other) {
  all_.insert(all_.end(), other.all_.begin(), other.all_.end());
}

void Diagnostics::MakeWarningsErrors() {
  for (Diagnostic& d : all_) {
    if (d.severity == Severity::kWarning) {
      d.severity = Severity::kError;
      d.message += " (an error in strict mode)";
    }
  }
}

bool Diagnostics::HasErrors() const { return ErrorCount() > 0; }

int Diagnostics::ErrorCount() const {
  int n = 0;
  for (const Diagnostic& d : all_) n += d.severity == Severity::kError;
  return n;
}

int Diagnostics::WarningCount() const {
  int n = 0;
  for (const Diagnostic& d : all_) n += d.severity == Severity::kWarning;
  return n;
}

std::string Diagnostics::ToString() const {
  std::string out;
  for (const Diagnostic& d : all_) absl::StrAppend(&out, d.ToString(), "\n");
  return out;
}

}  // namespace cadence
