#include "scheduler/config/diagnostic.h"

#include <algorithm>

#include "absl/strings/escaping.h"
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

bool IsUtf8(const std::string& s, size_t* bad) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int more = c < 0x80 ? 0 : (c >= 0xc2 && c <= 0xdf) ? 1 : (c >= 0xe0 && c <= 0xef) ? 2
                                  : (c >= 0xf0 && c <= 0xf4) ? 3 : -1;
    bool ok = more >= 0 && i + more < s.size();
    // The second byte's range (RFC 3629, table 3): no overlong forms, no UTF-16 surrogates
    // (ED A0..BF), nothing past U+10FFFF.
    if (ok && more > 0) {
      const unsigned char second = static_cast<unsigned char>(s[i + 1]);
      const unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
      const unsigned char high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
      ok = second >= low && second <= high;
    }
    for (int k = 2; ok && k <= more; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (!ok) {
      if (bad != nullptr) *bad = i;
      return false;
    }
    i += more + 1;
  }
  return true;
}

std::string Utf8Head(const std::string& s, size_t max_bytes) {
  size_t cut = std::min(max_bytes, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut);
}

std::string Utf8Tail(const std::string& s, size_t max_bytes) {
  size_t start = s.size() - std::min(max_bytes, s.size());
  while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) ++start;
  return s.substr(start);
}

std::string Quoted(const std::string& s) {
  return absl::StrCat("\"", IsUtf8(s) ? absl::Utf8SafeCEscape(s) : absl::CEscape(s), "\"");
}

std::string NameProblem(const std::string& name) {
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      return absl::StrCat("it holds a control character (byte 0x", absl::Hex(c, absl::kZeroPad2),
                          " at offset ", i, ")");
    }
  }
  size_t bad = 0;
  if (!IsUtf8(name, &bad)) {
    return absl::StrCat("it is not UTF-8 (byte 0x",
                        absl::Hex(static_cast<unsigned char>(name[bad]), absl::kZeroPad2),
                        " at offset ", bad, ")");
  }
  return "";
}

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
