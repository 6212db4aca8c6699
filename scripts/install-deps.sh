#!/usr/bin/env bash
# Installs the Debian packages MeshDB builds and tests with, when any is missing.
# Used by `make run`, `make test` and .ci/run; safe to run again (does nothing when all are there).
set -euo pipefail

packages=(
  libsqlite3-dev   # CSQLite: the shard store
  liblz4-dev       # CLZ4: chunk compression
  libssl-dev       # TLS on every port (later issues)
  libedit-dev      # meshdb sql: line editing and history
  pkg-config       # how SwiftPM finds the two system libraries
  lz4              # the `lz4 -b1` baseline in the micro-benchmarks
  sqlite3          # handy for inspecting shard files
  postgresql-15    # the baseline of the benchmarks and of the REPL/pgbench/bench tests (and pgbench)
  postgresql-client # psql, for the wire tests
  librsvg2-bin     # rsvg-convert: the chart rendering test
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing missing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
