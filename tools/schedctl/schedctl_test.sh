#!/usr/bin/env bash
# End-to-end test of the schedctl binary: exit codes, diagnostics format, plan output.
set -uo pipefail

SCHEDCTL="$1"
CONF_DIR="$(dirname "$2")"
failures=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_rc() {  # expect_rc WANT DESCRIPTION -- command...
  local want="$1" what="$2"; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" = "$want" ] || fail "$what: exit $rc, want $want; stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"
}
expect_text() {  # expect_text FILE TEXT DESCRIPTION
  grep -qF -- "$2" "$1" || fail "$3: '$2' not in: $(cat "$1")"
}

# A valid shipped config checks clean, also in strict mode, and its plan names processors.
expect_rc 0 "check shipped robot.conf" -- "$SCHEDCTL" check --strict "$CONF_DIR/robot.conf"
expect_text "$tmp/out" "ok (0 errors, 0 warnings" "check shipped robot.conf"
expect_rc 0 "plan shipped robot.conf" -- "$SCHEDCTL" plan "$CONF_DIR/robot.conf"
expect_text "$tmp/out" "realtime/0" "plan lists the realtime processor"
expect_text "$tmp/out" "SCHED_FIFO 60" "plan shows the policy"
expect_text "$tmp/out" "robot_classic.conf" "plan names the real file behind the symlink"
expect_text "$tmp/out" "cpu 0" "plan has a per-CPU map"

# JSON output parses and has the processors.
expect_rc 0 "plan --json" -- "$SCHEDCTL" plan --json "$CONF_DIR/robot_choreography.conf"
python3 - "$tmp/out" <<'PY' || fail "plan --json is not the expected JSON"
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["scheduler"] == "choreography", plan["scheduler"]
names = [p["name"] for p in plan["processors"]]
assert names == ["choreo/0", "pool/0"], names
tasks = {t["name"]: t for t in plan["tasks"]}
assert tasks["motion_control"]["processor"] == 0, tasks["motion_control"]
assert tasks["preview"]["processor"] == -1, tasks["preview"]
PY

# A broken config: exit 1 and a file:line:col diagnostic naming the field.
cat >"$tmp/bad.conf" <<'CONF'
scheduler_conf {
  policy: "classic"
  classic_conf {
    groups: [
      { name: "g" processor_num: 1 cpuset: "0,,1" processor_policy: "SCHED_FIFO" processor_prio: 10 }
    ]
  }
}
CONF
expect_rc 1 "check bad cpuset" -- "$SCHEDCTL" check "$tmp/bad.conf"
expect_text "$tmp/out" "bad.conf:5:47: error: invalid CPU list" "cpuset error with line:col"
expect_text "$tmp/out" "[classic_conf.groups[0].cpuset]" "cpuset error names the field"
expect_rc 1 "plan of a bad config" -- "$SCHEDCTL" plan "$tmp/bad.conf"
expect_text "$tmp/err" "no plan" "plan refuses a bad config"

# An unknown field: did you mean.
printf 'scheduler_conf {\n  polcy: "classic"\n}\n' >"$tmp/typo.conf"
expect_rc 1 "check typo" -- "$SCHEDCTL" check "$tmp/typo.conf"
expect_text "$tmp/out" "typo.conf:2:3: error: unknown field 'polcy'" "unknown field location"
expect_text "$tmp/out" "did you mean 'policy'?" "did you mean"

# Strict mode turns warnings into errors.
printf 'scheduler_conf {\n  classic_conf { groups: [ { name: "g" processor_num: 1 tasks: [ { name: "t" prio: 25 } ] } ] }\n}\n' >"$tmp/warn.conf"
expect_rc 0 "warning only" -- "$SCHEDCTL" check "$tmp/warn.conf"
expect_text "$tmp/out" "warning: task \"t\" has priority 25" "clamp warning"
expect_rc 1 "strict" -- "$SCHEDCTL" check --strict "$tmp/warn.conf"

# No config file at all: the default plan, with a warning.
expect_rc 0 "plan of a missing file" -- "$SCHEDCTL" plan "$tmp/none.conf"
expect_text "$tmp/err" "no config file at" "default plan warning"
expect_text "$tmp/out" "default_grp/0" "default plan processors"
expect_rc 1 "check of a missing file" -- "$SCHEDCTL" check "$tmp/none.conf"
expect_text "$tmp/out" "cannot read the config" "missing file in check"

# Usage errors exit 2.
expect_rc 2 "no command" -- "$SCHEDCTL"
expect_rc 2 "unknown command" -- "$SCHEDCTL" frobnicate
expect_rc 2 "unknown flag" -- "$SCHEDCTL" check --bogus "$CONF_DIR/robot.conf"
expect_rc 2 "plan without file" -- "$SCHEDCTL" plan

if [ "$failures" = 0 ]; then echo "schedctl_test: all checks passed"; exit 0; fi
echo "schedctl_test: $failures checks failed"
exit 1
