#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test, then the stress
# and randomized tests again under ThreadSanitizer and AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
status=0
run() {
  echo "==> bazel test $*"
  bazel test --nocache_test_results "$@" || status=1
}
run //...
run --config=tsan --test_tag_filters=stress //...
run --config=asan --test_tag_filters=stress,fuzz //...
if [ "$status" = 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
