#include "scheduler/launcher/command_line.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"

namespace cadence {
namespace {

template <typename T>
bool IntegerParses(const std::string& value) {
  T parsed;
  if (absl::StartsWithIgnoreCase(value, "0x")) return absl::SimpleHexAtoi(value, &parsed);
  return absl::SimpleAtoi(value, &parsed);
}

// Whether gflags would accept `value` for a flag of `type` (gflags' type names).
bool ValueParses(const std::string& type, const std::string& value) {
  if (type == "string") return true;
  if (type == "bool") {
    const std::string v = absl::AsciiStrToLower(value);
    for (const char* ok : {"true", "false", "yes", "no", "1", "0", "t", "f", "y", "n"}) {
      if (v == ok) return true;
    }
    return false;
  }
  if (type == "int32") return IntegerParses<int32_t>(value);
  if (type == "uint32") return IntegerParses<uint32_t>(value);
  if (type == "int64") return IntegerParses<int64_t>(value);
  if (type == "uint64") return IntegerParses<uint64_t>(value);
  if (type == "double") {
    double parsed;
    return absl::SimpleAtod(value, &parsed);
  }
  return true;  // A type this check does not know: left to gflags.
}

}  // namespace

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::string name = arg.substr(arg[1] == '-' ? 2 : 1, arg.find('=') - (arg[1] == '-' ? 2 : 1));
    if (name == "help" || name == "helpfull" || name == "helpshort" || name == "h") return true;
    // `--flag value`: the value is not a flag, even when it reads "-h".
    gflags::CommandLineFlagInfo info;
    if (arg.find('=') == std::string::npos && gflags::GetCommandLineFlagInfo(name.c_str(), &info) &&
        info.type != "bool") {
      ++i;
    }
  }
  return false;
}

void ShowHelp(const char* argv0) { gflags::ShowUsageWithFlags(argv0); }

absl::Status CheckFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    const size_t equals = name.find('=');
    const bool has_value = equals != std::string::npos;
    if (has_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      // --noNAME for a bool flag NAME.
      if (!has_value && absl::StartsWith(name, "no") &&
          gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) && info.type == "bool") {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", arg, "'"));
    }
    if (!has_value) {
      if (info.type == "bool") continue;
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag '", arg, "' needs a value (", info.type, ")"));
      }
      value = argv[++i];
    }
    if (!ValueParses(info.type, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, ": '", value, "' is not a valid ", info.type));
    }
  }
  return absl::OkStatus();
}

}  // namespace cadence
