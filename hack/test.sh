#!/usr/bin/env bash
# The test command (README, .ci/run): on a fresh machine it installs everything the checks
# need (hack/setup.sh), then runs ruff, mypy --strict and every pytest test: unit,
# integration (AWS emulators over HTTP) and e2e (a real kube-apiserver and etcd).
# The tests run in several processes at once (pytest-xdist; tests/parallel.py says which tests
# share one): they mostly wait on the processes they start, so more workers than cores pay.
# AWSORG_TEST_WORKERS sets how many (1: one process, as plain `pytest` runs them).
# mypy runs beside pytest. It ends with a table of where the time went, also when a step fails:
# the set-up, the tools, each lint, and per test folder (tests/conftest.py), with the fixtures
# that took long (the control planes, the images, the release).
#
#   hack/test.sh [PYTEST ARGS...]      e.g. hack/test.sh -m unit
set -euo pipefail
cd "$(dirname "$0")/.."

TIMINGS=$(mktemp -d)
export AWSORG_TIMINGS=$TIMINGS/pytest.tsv # tests/conftest.py writes the folders' lines here
PHASE="" PHASE_START=${EPOCHREALTIME/./} SUITE_START=${EPOCHREALTIME/./}

# "LABEL<TAB>SECONDS" for the time since $2 (microseconds).
timing_line() {
  local took=$((${EPOCHREALTIME/./} - $2))
  printf '%s\t%d.%d\n' "$1" $((took / 1000000)) $((took % 1000000 / 100000))
}

# Ends the running phase (its time goes to the table) and starts phase $1, if any. hack/setup.sh
# calls it too when it is defined, to time the tools apart from the rest of the set-up.
timing_phase() {
  [ -z "$PHASE" ] || timing_line "$PHASE" "$PHASE_START" >>"$TIMINGS/phases.tsv"
  PHASE=${1:-} PHASE_START=${EPOCHREALTIME/./}
}

# mypy runs beside the tests (minutes on a fresh clone, while the tests mostly wait on the
# processes they start): its output and exit code count once the tests are over.
start_mypy() {
  local start=${EPOCHREALTIME/./}
  # Its cache lives beside the tools' cache, not in the clone: a fresh clone then re-checks
  # only what changed (about 3 s, against a minute of CPU taken from the tests). mypy compares
  # each file's hash with the cache's, and writes its cache files atomically.
  export MYPY_CACHE_DIR=${MYPY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/awsorg-operator/mypy}
  (
    rc=0
    mypy operator hack/devtools tests >"$TIMINGS/mypy.log" 2>&1 || rc=$?
    timing_line "lint: mypy (beside pytest)" "$start" >"$TIMINGS/mypy.tsv"
    exit "$rc"
  ) &
  MYPY_PID=$!
}

finish_mypy() {
  [ -n "${MYPY_PID:-}" ] || return 0
  local rc=0
  wait "$MYPY_PID" || rc=$?
  MYPY_PID=""
  printf '\n==> mypy --strict (ran beside pytest)\n'
  cat "$TIMINGS/mypy.log"
  cat "$TIMINGS/mypy.tsv" >>"$TIMINGS/phases.tsv"
  return "$rc"
}

timing_table() {
  local rc=$?
  timing_phase ""
  finish_mypy || rc=$((rc ? rc : 1))
  printf '\n==> time in seconds (%s)\n' "$([ "$rc" = 0 ] && echo passed || echo "failed: exit code $rc")"
  {
    cat "$TIMINGS/phases.tsv" 2>/dev/null
    sed 's/^/  /' "$AWSORG_TIMINGS" 2>/dev/null
    timing_line total "$SUITE_START"
  } | awk -F'\t' '{ printf "%-64s %8s\n", $1, $2 }'
  rm -rf "$TIMINGS"
  return "$rc"
}
trap timing_table EXIT

timing_phase "set-up (hack/setup.sh: Debian packages, .venv)"
source hack/setup.sh

printf '\n==> ruff\n'
timing_phase "lint: ruff"
ruff check .
ruff format --check .

printf '\n==> mypy --strict, beside pytest (its output follows the tests)\n'
timing_phase ""
start_mypy

printf '\n==> pytest\n'
timing_phase "pytest (all folders, below)"
WORKERS=${AWSORG_TEST_WORKERS:-5}
if [ "$WORKERS" = 1 ]; then pytest "$@"; else pytest -n "$WORKERS" "$@"; fi
timing_phase ""
finish_mypy
