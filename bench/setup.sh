#!/usr/bin/env bash
# What `make bench` needs besides the virtualenv: wrk (Debian's package) and a PostgreSQL server.
set -euo pipefail
if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends wrk
fi
url="${BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/cpor_bench}"
hostport="${url#*@}"; hostport="${hostport%%/*}"
if command -v pg_isready >/dev/null && ! pg_isready -q -h "${hostport%%:*}" -p "${hostport##*:}"; then
  echo "PostgreSQL does not answer on ${hostport}: start it, or set BENCH_DATABASE_URL (bash .ci/run installs and starts one)." >&2
  exit 1
fi
