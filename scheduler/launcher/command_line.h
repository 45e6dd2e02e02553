// Checks a command line against the gflags flags the program defines, before gflags parses
// it. gflags itself exits 1 on an unknown flag or a value it cannot parse, which a script
// cannot tell from a run that failed; with this check first, the programs (mainboard,
// robot_demo, schedctl) report such usage errors themselves and exit 2.
#ifndef CADENCE_SCHEDULER_LAUNCHER_COMMAND_LINE_H_
#define CADENCE_SCHEDULER_LAUNCHER_COMMAND_LINE_H_

#include "absl/status/status.h"

namespace cadence {

// OK when every flag in argv[1..argc) is one the program defines (`--name`, `-name`,
// `--name=value`, `--name value` for a flag that takes one, `--noname` for a bool) and its
// value parses as the flag's type (bool: true/false/yes/no/1/0/t/f/y/n; integers in their
// range; double). Arguments after `--`, and ones that do not start with `-`, are not
// flags. Else InvalidArgument naming the argument and what was expected. Changes no flag.
absl::Status CheckFlags(int argc, char** argv);

// Whether argv[1..argc) asks for help (`--help`, `-help`, `--helpfull`, `--helpshort`, `-h`,
// `--helpon=FILE`, `--helpmatch=TEXT`, before any `--`; the value of a flag given as
// `--flag value` is not looked at). gflags prints the help and exits 1, like a failed run;
// the programs print it themselves (ShowHelp) and exit 0.
bool WantsHelp(int argc, char** argv);

// Prints the program's usage and its flags with their descriptions to stdout: every flag,
// or as gflags would for `--helpon=FILE` (the flags defined in FILE.cc) and
// `--helpmatch=TEXT` (those whose defining file's path contains TEXT).
void ShowHelp(int argc, char** argv);

}  // namespace cadence

#endif  // CADENCE_SCHEDULER_LAUNCHER_COMMAND_LINE_H_
