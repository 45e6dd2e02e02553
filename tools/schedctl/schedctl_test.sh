#!/usr/bin/env bash
# End-to-end test of the schedctl binary: exit codes, diagnostics format, plan output;
# budget (against what /proc says), template (on Cyber's DAGs and the robot's), ps, and top's
# errors (a running cadence process is tests/introspection_e2e_test's).
# Arguments: the schedctl binary, conf/robot.conf, examples/robot/robot.dag.
set -uo pipefail

SCHEDCTL="$1"
CONF_DIR="$(dirname "$2")"
ROBOT_DAG="$3"
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
assert names == ["choreo/0", "pool/0", "pool/1"], names
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

# A named file that does not exist is an error for plan as for check (the default plan is
# for a conf looked up by process name, as mainboard -p does).
expect_rc 1 "plan of a missing file" -- "$SCHEDCTL" plan "$tmp/none.conf"
expect_text "$tmp/err" "none.conf: error: cannot read the config: No such file or directory" "missing file in plan"
expect_rc 1 "check of a missing file" -- "$SCHEDCTL" check "$tmp/none.conf"
expect_text "$tmp/out" "cannot read the config" "missing file in check"
expect_text "$tmp/out" "none.conf: FAILED (it could not be read or parsed: 1 error)" \
  "check ends a missing file with its verdict"

# ---- budget: what this machine allows; the expectations are computed from /proc here. ----
rt_runtime="$(cat /proc/sys/kernel/sched_rt_runtime_us)"
rt_period="$(cat /proc/sys/kernel/sched_rt_period_us)"
cap_eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
cap_sys_nice=$(( (0x$cap_eff >> 23) & 1 ))
rtprio="$(ulimit -r)"
# This shell's group of the v1 cpu controller and that group's RT budget (schedctl, started
# from here, is in the same group).
cpu_cgroup="$(awk -F: '("," $2 ",") ~ /,cpu,/ {print $3}' /proc/self/cgroup)"
cpu_mount="$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break;
                    if ($(i + 1) == "cgroup" && ("," $(i + 3) ",") ~ /,cpu,/ && $4 == "/") {
                      print $5; exit } }' /proc/self/mountinfo)"
cgroup_runtime=""
if [ -n "$cpu_cgroup" ] && [ "$cpu_cgroup" != "/" ] && [ -n "$cpu_mount" ]; then
  cgroup_runtime="$(cat "$cpu_mount$cpu_cgroup/cpu.rt_runtime_us" 2>/dev/null)"
fi
rt_usable=1
[ "$rt_runtime" = 0 ] && rt_usable=0
[ "$rt_runtime" != -1 ] && [ "$cgroup_runtime" = 0 ] && rt_usable=0
[ "$cap_sys_nice" = 0 ] && [ "$rtprio" = 0 ] && rt_usable=0
expect_rc $((1 - rt_usable)) "budget (real-time usable: $rt_usable)" -- "$SCHEDCTL" budget
expect_text "$tmp/out" \
  "RT throttling: sched_rt_runtime_us = $rt_runtime, sched_rt_period_us = $rt_period" \
  "budget prints the RT throttling line"
expect_text "$tmp/out" "RLIMIT_RTPRIO: soft " "budget prints RLIMIT_RTPRIO"
expect_text "$tmp/out" "CAP_SYS_NICE: $([ "$cap_sys_nice" = 1 ] && echo yes || echo no)" \
  "budget CAP_SYS_NICE"
expect_text "$tmp/out" "SCHED_DEADLINE admission: " "budget prints the deadline headroom"
if [ "$rt_runtime" = -1 ]; then
  expect_text "$tmp/out" "unlimited" "budget says unlimited for -1"
fi

# robot.conf: one SCHED_FIFO processor whose periodic tasks declare 40% of a CPU.
"$SCHEDCTL" budget "$CONF_DIR/robot.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
throttling_fits="$(awk -v r="$rt_runtime" -v p="$rt_period" \
  'BEGIN { print (r == -1 || (r > 0 && r / p >= 0.4)) ? "fits" : "does not fit" }')"
expect_text "$tmp/out" "robot.conf: RT throttling: $throttling_fits" \
  "budget robot.conf throttling verdict"
# The other verdicts, worked out here from the same facts. robot.conf's real-time work: its
# SCHED_FIFO/RR processors and threads, their highest priority (from `schedctl plan
# --json`), and no SCHED_DEADLINE.
read -r rt_work rt_highest deadline_work < <("$SCHEDCTL" plan "$CONF_DIR/robot.conf" --json |
  python3 -c '
import json, sys
plan = json.load(sys.stdin)
attrs = [p["attributes"] for p in plan["processors"]] + [t["attributes"] for t in plan["threads"]]
rt = [a for a in attrs if a["policy"] in ("SCHED_FIFO", "SCHED_RR")]
print(len(rt), max([a["rt_priority"] for a in rt] or [0]),
      sum(a["policy"] == "SCHED_DEADLINE" for a in attrs))')
[ -n "$rt_work" ] || fail "budget: could not read robot.conf's plan"
# cgroup: only a v1 group below the root with a limit of its own, under enforced throttling,
# can refuse; 0 refuses every FIFO/RR thread, else its share must cover the declared 40%.
cgroup_fits=fits
if [ "$rt_work" -gt 0 ] && [ -n "$cgroup_runtime" ] && [ "$cgroup_runtime" != -1 ] &&
   [ "$rt_runtime" != -1 ]; then
  cgroup_period="$(cat "$cpu_mount$cpu_cgroup/cpu.rt_period_us")"
  cgroup_fits="$(awk -v r="$cgroup_runtime" -v p="$cgroup_period" \
    'BEGIN { print (r > 0 && r / p >= 0.4) ? "fits" : "does not fit" }')"
fi
deadline_fits=fits
[ "$deadline_work" -gt 0 ] && deadline_fits=""  # Judged against admission: not derived here.
privileges_fits=fits
if [ "$rt_work" -gt 0 ] && [ "$cap_sys_nice" = 0 ] && [ "$rtprio" != unlimited ] &&
   [ "$rtprio" -lt "$rt_highest" ]; then
  privileges_fits="does not fit"
fi
expect_text "$tmp/out" "robot.conf: cgroup RT budget: $cgroup_fits" "budget robot.conf cgroup verdict"
[ -z "$deadline_fits" ] ||
  expect_text "$tmp/out" "robot.conf: SCHED_DEADLINE admission: $deadline_fits" \
    "budget robot.conf deadline verdict"
expect_text "$tmp/out" "robot.conf: privileges: $privileges_fits" "budget robot.conf privileges verdict"
if [ "$throttling_fits $cgroup_fits $deadline_fits $privileges_fits" = "fits fits fits fits" ]; then
  expect_text "$tmp/out" "robot.conf: fits (4 checks)" "budget robot.conf final verdict"
  [ "$rc" = 0 ] || fail "budget robot.conf fits but exits $rc"
else
  expect_text "$tmp/out" "robot.conf: does not fit" "budget robot.conf final verdict"
  [ "$rc" = 1 ] || fail "budget robot.conf does not fit but exits $rc: $(cat "$tmp/out")"
fi
expect_rc 1 "budget of a broken conf" -- "$SCHEDCTL" budget "$tmp/bad.conf"
expect_text "$tmp/out" "cannot judge it" "budget refuses a broken conf"
expect_rc 2 "budget with two files" -- \
  "$SCHEDCTL" budget "$CONF_DIR/robot.conf" "$CONF_DIR/robot.conf"

# ---- template: a conf for the tasks of some DAGs. ----
# Cyber's own DAGs live next to this repository, in shared/compat/cyber.
find_compat() {
  local dir candidate
  local shared="${CADENCE_SHARED_DIR:-/nonexistent}"
  for candidate in "$shared/compat/cyber" "$shared"; do
    [ -f "$candidate/common.dag" ] && { echo "$candidate"; return; }
  done
  for dir in "$(dirname "$(readlink -f "$2")")" "$(pwd -P)"; do
    while [ "$dir" != "/" ]; do
      for candidate in "$dir/shared/compat/cyber" "$dir/../shared/compat/cyber"; do
        [ -f "$candidate/common.dag" ] && { readlink -f "$candidate"; return; }
      done
      dir="$(dirname "$dir")"
    done
  done
}
COMPAT="$(find_compat "$@")"
# The config names of a DAG's components (not class_name).
dag_names() { grep -oE '(^|[^_a-z])name *: *"[^"]*"' "$1" | sed -E 's/.*"([^"]*)"/\1/'; }
# template_ok WHAT LAYOUT DAG...: the template in LAYOUT checks clean (strict) and names every
# component of the DAGs.
template_ok() {
  local what="$1" layout="$2"; shift 2
  local args=() dag
  for dag in "$@"; do args+=(-d "$dag"); done
  expect_rc 0 "template $what $layout" -- "$SCHEDCTL" template --layout="$layout" "${args[@]}"
  cp "$tmp/out" "$tmp/t.conf"
  expect_rc 0 "template $what $layout checks" -- "$SCHEDCTL" check --strict "$tmp/t.conf"
  expect_text "$tmp/out" "ok (0 errors, 0 warnings" "template $what $layout checks clean"
  for dag in "$@"; do
    for name in $(dag_names "$dag"); do
      expect_text "$tmp/t.conf" "{ name: \"$name\"" "template $what $layout lists $name"
    done
  done
}
if [ -z "$COMPAT" ]; then
  fail "shared/compat/cyber (Cyber's DAGs) not found; set CADENCE_SHARED_DIR"
else
  got="$(dag_names "$COMPAT/common.dag") $(dag_names "$COMPAT/timer.dag")"
  [ "$got" = "common timer" ] || fail "dag_names: want common and timer, got: $got"
  template_ok "compat" classic "$COMPAT/common.dag" "$COMPAT/timer.dag"
  expect_text "$tmp/t.conf" '{ name: "timer" prio: 15 period_us: 10000 }' "template timer period"
  template_ok "compat" choreography "$COMPAT/common.dag" "$COMPAT/timer.dag"
  expect_text "$tmp/t.conf" '{ name: "timer" processor: 0 prio: 15 period_us: 10000 }' \
    "template choreography puts the timer on processor 0"
fi
[ "$(dag_names "$ROBOT_DAG" | wc -l)" = 7 ] ||
  fail "robot.dag: want 7 component names, got: $(dag_names "$ROBOT_DAG")"
template_ok "robot" classic "$ROBOT_DAG"
template_ok "robot" choreography "$ROBOT_DAG"
expect_rc 0 "template --out_dir (created when missing)" -- \
  "$SCHEDCTL" template -d "$ROBOT_DAG" --layout=both --out_dir="$tmp/confs"
[ -d "$tmp/confs" ] || fail "template --out_dir did not create the directory"
expect_text "$tmp/out" "wrote $tmp/confs/robot_classic.conf" "template --out_dir names its files"
expect_rc 0 "template --out_dir files check" -- "$SCHEDCTL" check --strict \
  "$tmp/confs/robot.conf" "$tmp/confs/robot_classic.conf" "$tmp/confs/robot_choreography.conf"
expect_rc 1 "template --out_dir does not overwrite" -- \
  "$SCHEDCTL" template -d "$ROBOT_DAG" --out_dir="$tmp/confs"
expect_text "$tmp/err" "exists; not overwritten" "template refuses to overwrite"
cat >"$tmp/bad.dag" <<'DAG'
module_config {
  module_library: "x.so"
  components { class_name: "A" config { nme: "a" } }
}
DAG
expect_rc 1 "template of a bad DAG" -- "$SCHEDCTL" template -d "$tmp/bad.dag"
expect_text "$tmp/err" "bad.dag:3:41: error: unknown field 'nme'" \
  "template: DAG error with line:col"
expect_rc 1 "template of a missing DAG" -- "$SCHEDCTL" template -d "$tmp/none.dag"
expect_text "$tmp/err" "none.dag: error: cannot read the DAG file" "template: missing DAG"
expect_rc 2 "template without DAGs" -- "$SCHEDCTL" template
expect_rc 2 "template with a bad layout" -- "$SCHEDCTL" template -d "$ROBOT_DAG" --layout=round
expect_rc 2 "-d outside template" -- "$SCHEDCTL" check -d "$ROBOT_DAG"
expect_rc 0 "--help" -- "$SCHEDCTL" --help
expect_text "$tmp/out" "schedctl check FILE" "--help prints the usage"
expect_rc 2 "template --name with a path" -- \
  "$SCHEDCTL" template -d "$ROBOT_DAG" --out_dir="$tmp/named" --name=../evil
expect_text "$tmp/err" 'is not a plain file name' "template --name with a path is refused"
[ ! -e "$tmp/evil_classic.conf" ] && [ ! -L "$tmp/evil.conf" ] ||
  fail "template --name=../evil wrote outside --out_dir"

# ---- ps: the threads of a process. ----
policy_name() {
  case "$1" in
    0) echo SCHED_OTHER ;; 1) echo SCHED_FIFO ;; 2) echo SCHED_RR ;; 3) echo SCHED_BATCH ;;
    5) echo SCHED_IDLE ;; 6) echo SCHED_DEADLINE ;; *) echo "policy $1" ;;
  esac
}
own_policy="$(policy_name "$(sed 's/.*) //' /proc/$$/stat | awk '{print $39}')")"
expect_rc 0 "ps of the test's shell" -- "$SCHEDCTL" ps --interval_ms=50 $$
expect_text "$tmp/out" "pid $$ (" "ps header"
expect_text "$tmp/out" "TID  NAME" "ps column titles"
grep -E "^ *$$ " "$tmp/out" | grep -qF "$own_policy" ||
  fail "ps: no row for $$ with $own_policy: $(cat "$tmp/out")"
# Whether SCHED_FIFO can be had here is decided first; once it can, a SCHED_FIFO process
# that ps does not show as SCHED_FIFO 10 is a failure.
if chrt -f 10 true 2>/dev/null; then
  chrt -f 10 sleep 30 &
  fifo_pid=$!
  # chrt sets the policy, then execs sleep: once the process is sleep, the policy is set.
  deadline=$((SECONDS + 30))
  while [ "$(cat /proc/$fifo_pid/comm 2>/dev/null)" != sleep ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.01
  done
  fifo_comm="$(cat /proc/$fifo_pid/comm 2>/dev/null)"
  fifo_policy="$(sed 's/.*) //' /proc/$fifo_pid/stat 2>/dev/null | awk '{print $39}')"
  if [ "$fifo_comm" != sleep ]; then
    fail "chrt -f 10 sleep 30 (pid $fifo_pid) did not become sleep in 30 s (comm '$fifo_comm')"
  elif [ "$fifo_policy" != 1 ]; then
    fail "chrt -f 10 sleep 30 runs with policy '$fifo_policy', not SCHED_FIFO (1)"
  else
    expect_rc 0 "ps of a SCHED_FIFO process" -- "$SCHEDCTL" ps --interval_ms=0 $fifo_pid
    grep -E "^ *$fifo_pid " "$tmp/out" | grep -qE "SCHED_FIFO +10 " ||
      fail "ps: no SCHED_FIFO 10 row: $(cat "$tmp/out")"
  fi
  kill "$fifo_pid" 2>/dev/null
  wait "$fifo_pid" 2>/dev/null
else
  echo "SKIP: no SCHED_FIFO here (chrt -f 10 true refused)"
fi
no_pid=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
expect_rc 1 "ps of a pid that does not exist" -- "$SCHEDCTL" ps "$no_pid"
expect_text "$tmp/err" "no process with pid $no_pid" "ps: clear message for a missing pid"
expect_rc 2 "ps without a pid" -- "$SCHEDCTL" ps
expect_rc 2 "ps of a non-number" -- "$SCHEDCTL" ps self

# A process that is not cadence: ps says so (exit 0), top cannot show it (exit 1).
expect_rc 0 "ps of a non-cadence process" -- "$SCHEDCTL" ps --interval_ms=0 --state_dir="$tmp" $$
expect_text "$tmp/out" "cadence: process $$ does not publish cadence state (not a cadence process, or started with --nopublish_state)" "ps: not a cadence process"
expect_rc 1 "top of a non-cadence process" -- "$SCHEDCTL" top --once --interval_ms=10 --state_dir="$tmp" $$
expect_text "$tmp/err" "schedctl: process $$ does not publish cadence state" "top: not a cadence process"
expect_rc 1 "top of a pid that does not exist" -- "$SCHEDCTL" top --once "$no_pid"
expect_text "$tmp/err" "no process with pid $no_pid" "top: clear message for a missing pid"
expect_rc 2 "top without a pid" -- "$SCHEDCTL" top
expect_rc 2 "top with a zero interval" -- "$SCHEDCTL" top --interval_ms=0 $$

# Another user's process that /proc hides: a private /proc mounted with hidepid=1 in a new
# mount namespace, and schedctl run as nobody against pid 1. Needs root, unshare, setpriv.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v setpriv >/dev/null; then
  xdir="$(mktemp -d /tmp/schedctl_test.XXXXXX)"
  chmod 755 "$xdir"
  cp "$SCHEDCTL" "$xdir/schedctl" && chmod 755 "$xdir/schedctl"
  unshare -m sh -c "mount -t proc -o hidepid=1 proc /proc || exit 99
    exec setpriv --reuid=65534 --regid=65534 --clear-groups $xdir/schedctl ps 1" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" = 99 ]; then
    echo "SKIP: cannot mount a private /proc with hidepid here: $(cat "$tmp/err")"
  else
    [ "$rc" = 1 ] ||
      fail "ps of a hidden process as nobody: exit $rc, want 1: $(cat "$tmp/out" "$tmp/err")"
    expect_text "$tmp/err" "cannot read /proc/1/task" "ps refusal names the file"
    expect_text "$tmp/err" "hidepid" "ps refusal says why"
    expect_text "$tmp/err" "run schedctl ps as that user or as root" "ps refusal says what to do"
  fi
  rm -rf "$xdir"
else
  echo "SKIP: the cross-user refusal test needs root, unshare and setpriv"
fi

# Usage errors exit 2.
expect_rc 2 "no command" -- "$SCHEDCTL"
expect_rc 2 "unknown command" -- "$SCHEDCTL" frobnicate
expect_rc 2 "unknown flag" -- "$SCHEDCTL" check --bogus "$CONF_DIR/robot.conf"
expect_rc 2 "flag value not a number" -- "$SCHEDCTL" check --cpus=two "$CONF_DIR/robot.conf"
expect_text "$tmp/err" "schedctl: flag --cpus: 'two' is not a valid int32" "bad flag value named"
expect_rc 2 "plan without file" -- "$SCHEDCTL" plan

# ==== --cpus bounds (schedctl.cc: CpusFlagValid, TargetMachine) ==========================
# Outside 1..1024 (CPU_SETSIZE) is a usage error: not a silent check against this machine
# (-4), not a silent cut to 1024 CPUs (5000). A target with more CPUs than this kernel's
# kernel_max still has CPUs up to N-1.
expect_rc 2 "--cpus=-4" -- "$SCHEDCTL" check --cpus=-4 "$CONF_DIR/robot.conf"
expect_text "$tmp/err" "schedctl: --cpus must be a number of CPUs from 1 to 1024" "--cpus=-4 says why"
expect_text "$tmp/err" "not -4" "--cpus=-4 names the value"
expect_rc 2 "--cpus=5000" -- "$SCHEDCTL" plan --cpus=5000 "$CONF_DIR/robot.conf"
expect_text "$tmp/err" "not 5000" "--cpus=5000 names the value"
expect_rc 2 "--cpus=1025 for template" -- "$SCHEDCTL" template --cpus=1025 -d "$ROBOT_DAG"
printf 'scheduler_conf {\n  classic_conf { groups: [ { name: "big" processor_num: 1 cpuset: "1000-1023" } ] }\n}\n' >"$tmp/big.conf"
expect_rc 0 "--cpus=1024 and CPUs 1000-1023" -- "$SCHEDCTL" check --strict --cpus=1024 "$tmp/big.conf"
expect_text "$tmp/out" "ok (0 errors, 0 warnings" "--cpus=1024 checks CPUs up to 1023"
# ==== end of --cpus bounds ===============================================================

if [ "$failures" = 0 ]; then echo "schedctl_test: all checks passed"; exit 0; fi
echo "schedctl_test: $failures checks failed"
exit 1
