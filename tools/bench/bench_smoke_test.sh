#!/usr/bin/env bash
# Smoke test of the bench binary: a very short run must exit 0 and print every table with
# numeric cells. It asserts nothing about timing (benchmarks are not tests).
set -uo pipefail

BENCH="$1"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

"$BENCH" --quick --samples=50 --warmup=10 --w2_seconds=0.1 --w2_after_seconds=0.1 \
  --idle_seconds=0.2 --memory_tasks=500 --load_settle_seconds=0.2 >"$out" 2>/dev/null
rc=$?
if [ "$rc" != 0 ]; then
  echo "FAIL: bench exited $rc"; cat "$out"; exit 1
fi

python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
failures = []
for needle in ["## Machine", "nproc:", "kernel:", "PREEMPT_RT:", "warm-up",
               "## W1 wake latency", "## Floors", "## W2 throughput", "## W3 chain",
               "## W4 isolation", "same-time floor: timer on CPU 1",
               "same-time floor: timer on CPU 0", "## Idle", "## Memory",
               "cadence classic, removed and created again",
               "cadence choreography, removed and created again",
               "cadence classic motion", "cadence choreography motion", "# done in"]:
    if needle not in text:
        failures.append("missing: " + needle)
number = re.compile(r"^-?\d+(\.\d+)?x?$")
# Every table: a header row, a rule, at least one data row; each data row has a numeric cell.
for block in text.split("\n## ")[1:]:
    lines = block.split("\n")
    title = lines[0]
    if title == "Machine":
        continue
    rows = [l for l in lines[3:] if l and not l.startswith("#")]
    if not lines[2].startswith("---"):
        failures.append("table %r has no header rule" % title)
    if not rows:
        failures.append("table %r has no rows" % title)
    header = [c.strip() for c in lines[1].split("|")]
    for row in rows:
        cells = [c.strip() for c in row.split("|")]
        if len(cells) != len(header):
            failures.append("table %r: row has %d cells, header %d: %r"
                            % (title, len(cells), len(header), row))
        if not any(number.match(c) for c in cells[1:]):
            failures.append("table %r: no numeric cell in %r" % (title, row))
# Each of W1, W2, W3, W4, idle and memory has classic and choreography rows (issue 6: every
# workload for both).
for block in text.split("\n## ")[1:]:
    title = block.split("\n")[0]
    if title.split(" ")[0] in ("W1", "W2", "W3", "W4", "Idle:", "Memory:"):
        for kind in ("cadence classic", "cadence choreography"):
            if kind not in block:
                failures.append("table %r has no %s row" % (title, kind))
# W2: every notify is followed by a run (not timing: a lost notify is a bug in any runner).
for block in text.split("\n## ")[1:]:
    lines = block.split("\n")
    if not lines[0].startswith("W2 "):
        continue
    header = [c.strip() for c in lines[1].split("|")]
    if "notifies not run after" not in header:
        failures.append("W2 has no 'notifies not run after' column")
        continue
    col = header.index("notifies not run after")
    for row in [l for l in lines[3:] if l and not l.startswith("#")]:
        cells = [c.strip() for c in row.split("|")]
        if len(cells) > col and cells[col] not in ("-", "0"):
            failures.append("W2 %r: %s notifies not followed by a run" % (cells[0], cells[col]))
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
PY
rc=$?
[ "$rc" = 0 ] || { echo "--- bench output:"; cat "$out"; exit 1; }
echo "PASS"
