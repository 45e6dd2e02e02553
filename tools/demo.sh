#!/usr/bin/env bash
# The main job: installs what is missing, builds, shows what cadence will do with the
# shipped default config (conf/robot.conf), then runs it: real pinned processors with
# their policies, tasks notified, and the requested-vs-effective thread table.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build //tools/schedctl //examples/embed
bazel-bin/tools/schedctl/schedctl check conf/robot.conf
bazel-bin/tools/schedctl/schedctl plan conf/robot.conf
bazel-bin/examples/embed/embed --conf=conf/robot.conf --notifies=2000
