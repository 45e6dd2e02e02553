#!/usr/bin/env bash
# The main job: installs what is missing, builds, and shows what cadence will do with the
# shipped default config (conf/robot.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build //tools/schedctl
bazel-bin/tools/schedctl/schedctl check conf/robot.conf
bazel-bin/tools/schedctl/schedctl plan conf/robot.conf
