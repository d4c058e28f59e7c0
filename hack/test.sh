#!/usr/bin/env bash
# The test command (README, .ci/run): on a fresh machine it installs everything the checks
# need, then runs ruff, mypy and every pytest test (unit, integration, e2e).
#
#   hack/test.sh [PYTEST ARGS...]      e.g. hack/test.sh -m unit
#
# AWSORG_VENV (default .venv) is the virtual environment; the Kubernetes binaries are built
# once into a cache outside the repository (see hack/build-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AWSORG_VENV:-.venv}

step() { printf '\n==> %s\n' "$*"; }

step "Python environment in $venv (the image's install recipe, then the test tools)"
hack/install-package.sh "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r hack/requirements-dev.txt -e hack/devtools
export PATH="$PWD/$venv/bin:$PATH"

step "ruff"
ruff check .
ruff format --check .

step "mypy --strict"
mypy operator hack/devtools tests

step "pytest"
pytest "$@"
