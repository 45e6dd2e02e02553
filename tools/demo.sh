#!/usr/bin/env bash
# The main job: installs what is missing, builds, shows what cadence will do with the
# shipped default config (conf/robot.conf), then runs the robot demo on it: the 1 kHz
# motion path and 100 Hz LED effects on CPU 0 under SCHED_FIFO while preview generation
# and log parsing keep both CPUs busy at low priority. Extra arguments go to robot_demo
# (e.g. --duration_s 30).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build //tools/schedctl //tools/mainboard //examples/robot:all //examples/embed
bazel-bin/tools/schedctl/schedctl check conf/robot.conf
bazel-bin/tools/schedctl/schedctl plan conf/robot.conf
bazel-bin/examples/robot/robot_demo --conf conf/robot.conf --duration_s 10 "$@"
