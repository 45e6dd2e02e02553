// libFuzzer target for the config path: every input goes through ParseConfigText and
// Validate on 2-, 8- and 32-CPU machines (and once in strict mode) and must keep the
// properties of config_checks.h; a violation aborts with the reason.
//
// Not a Bazel target (Bazel 4's toolchain here is g++); build it by hand with clang from
// the repository root, after `bazel build //proto:conf_cc_proto` has generated the protos:
//
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I. -Ibazel-bin \
//     tests/fuzz/config_fuzzer.cc scheduler/config/{diagnostic,loader,plan,validator}.cc \
//     scheduler/common/{cpuset,machine,sched_policy}.cc bazel-bin/proto/*.pb.cc \
//     -lprotobuf -labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info \
//     -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle -labsl_strings \
//     -labsl_strings_internal -labsl_str_format_internal -labsl_int128 -labsl_throw_delegate \
//     -labsl_raw_logging_internal -labsl_base -labsl_spinlock_wait -labsl_synchronization \
//     -labsl_time -labsl_time_zone -labsl_stacktrace -labsl_symbolize -labsl_malloc_internal \
//     -labsl_debugging_internal -labsl_demangle_internal -labsl_graphcycles_internal \
//     -labsl_strerror -labsl_bad_optional_access -labsl_exponential_biased -pthread \
//     -o /tmp/config_fuzzer
//   mkdir -p /tmp/config_corpus && cp conf/*.conf ../shared/compat/cyber/*.conf /tmp/config_corpus/
//   /tmp/config_fuzzer -max_total_time=30 -max_len=8192 /tmp/config_corpus
//
// (See tests/fuzz/README.md. The randomized gtest //tests:config_fuzz_test runs the same
// checks on every `bazel test`.)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/config_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const cadence::Machine kMachines[] = {
      cadence::Machine::ForTest(2), cadence::Machine::ForTest(8), cadence::Machine::ForTest(32)};
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const cadence::Machine& machine : kMachines) {
    const std::string problem = cadence::fuzzing::CheckConfig(text, "fuzz.conf", machine);
    if (!problem.empty()) {
      std::fprintf(stderr, "config property violated: %s\n", problem.c_str());
      std::abort();
    }
  }
  const std::string strict =
      cadence::fuzzing::CheckConfig(text, "fuzz.conf", kMachines[1], /*strict=*/true);
  if (!strict.empty()) {
    std::fprintf(stderr, "config property violated (strict): %s\n", strict.c_str());
    std::abort();
  }
  return 0;
}
