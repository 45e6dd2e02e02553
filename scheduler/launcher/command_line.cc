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

namespace {

// The help asked for in argv[1..argc): `restrict` gets the file filter of `--helpon` or
// `--helpmatch` ("" for all flags). False when there is none.
bool FindHelp(int argc, char** argv, std::string* restrict) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const size_t equals = arg.find('=');
    const size_t start = arg[1] == '-' ? 2 : 1;
    const std::string name =
        arg.substr(start, equals == std::string::npos ? std::string::npos : equals - start);
    if (name == "help" || name == "helpfull" || name == "helpshort" || name == "h") {
      restrict->clear();
      return true;
    }
    if (name == "helpon" || name == "helpmatch") {
      std::string value;
      if (equals != std::string::npos) {
        value = arg.substr(equals + 1);
      } else if (i + 1 < argc) {
        value = argv[i + 1];
      }
      // As gflags: --helpon=FILE is the flags of FILE.cc, --helpmatch a part of the path;
      // with no value, every flag.
      *restrict = name == "helpon" && !value.empty() ? absl::StrCat("/", value, ".") : value;
      return true;
    }
    // `--flag value`: the value is not a flag, even when it reads "-h".
    gflags::CommandLineFlagInfo info;
    if (equals == std::string::npos && gflags::GetCommandLineFlagInfo(name.c_str(), &info) &&
        info.type != "bool") {
      ++i;
    }
  }
  return false;
}

}  // namespace

bool WantsHelp(int argc, char** argv) {
  std::string restrict;
  return FindHelp(argc, argv, &restrict);
}

void ShowHelp(int argc, char** argv) {
  std::string restrict;
  FindHelp(argc, argv, &restrict);
  if (restrict.empty()) {
    gflags::ShowUsageWithFlags(argv[0]);
  } else {
    gflags::ShowUsageWithFlagsRestrict(argv[0], restrict.c_str());
  }
}

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
