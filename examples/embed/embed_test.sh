#!/usr/bin/env bash
# The embed example as the README runs it, on each conf given (the shipped robot confs,
# with periodic and on-demand tasks): it must exit 0, say that every notify of an on-demand
# task ran or was coalesced into a run, and that periodic tasks ran at least that often.
# Notifies and runs there are the example's own counts (OK returns, body executions), and
# the runtime's statistics must match them (else it prints MISMATCH and exits 1).
set -uo pipefail

EMBED="$1"
shift
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
for CONF in "$@"; do
echo "== $CONF"
"$EMBED" --conf="$CONF" --notifies=300 >"$out" 2>&1
rc=$?
fail=0
if [ "$rc" != 0 ]; then echo "FAIL: embed exited $rc"; fail=1; fi
for line in "on-demand tasks: .* every notify ran or was coalesced into a run" \
            "periodic tasks: [0-9]+ releases .* runs \\+ coalesced >= notifies \\(releases run too\\)"; do
  grep -Eq "^$line\$" "$out" || { echo "FAIL: no line matching: $line"; fail=1; }
done
# The periodic tasks of the conf really were released.
grep -Eq "^periodic tasks: [1-9][0-9]* releases" "$out" || { echo "FAIL: no releases"; fail=1; }
if grep -q MISMATCH "$out"; then echo "FAIL: MISMATCH printed"; fail=1; fi
if [ "$fail" != 0 ]; then cat "$out"; status=1; else echo PASS; fi
done
exit "$status"
