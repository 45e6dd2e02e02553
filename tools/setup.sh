#!/usr/bin/env bash
# Installs what cadence needs to build, test and benchmark, if it is missing (Debian 12,
# as root). Idempotent: does nothing when everything is there.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap      # Bazel 4.2.3, works offline with the shims in third_party/
  g++ libc6-dev
  libprotobuf-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev
  rt-tests stress-ng   # cyclictest and load for tools/bench
  python3              # JSON checks in the end-to-end tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "setup: installing packages needs root (run as root or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
