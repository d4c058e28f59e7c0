#!/usr/bin/env bash
# The test command (README, .ci/run): on a fresh machine it installs everything the checks
# need (hack/setup.sh), then runs ruff, mypy --strict and every pytest test: unit,
# integration (AWS emulators over HTTP) and e2e (a real kube-apiserver and etcd).
#
#   hack/test.sh [PYTEST ARGS...]      e.g. hack/test.sh -m unit
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/setup.sh

printf '\n==> ruff\n'
ruff check .
ruff format --check .

printf '\n==> mypy --strict\n'
mypy operator hack/devtools tests

printf '\n==> pytest\n'
pytest "$@"
