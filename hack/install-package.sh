#!/bin/sh
# Installs awsorg-operator from this repository into a Python virtual environment.
#
#   hack/install-package.sh VENV
#
# VENV is created (python3 -m venv) when it does not exist yet. This is the one install recipe:
# the Dockerfile's build stage runs it, and so does the local/CI test setup, so the tests that
# run the installed package also prove the image's install step.
#
# PYTHON picks the interpreter that creates a new VENV (default: python3).
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 VENV" >&2
    exit 2
fi
venv=$1
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi

# Built from a fresh copy of what the image's build context holds (.dockerignore): setuptools
# builds in place and never empties its build/ folder, so a module renamed or removed since the
# last install would otherwise be installed again from there.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -R "$repo/pyproject.toml" "$repo/README.md" "$repo/LICENSE" "$repo/operator" "$src/"
find "$src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

# A regular (non-editable) install, as in the image; no wheel or HTTP cache is kept.
# Exact dependency versions from hack/constraints.txt: the image and the tests run the same.
PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --no-cache-dir \
    -c "$repo/hack/constraints.txt" "$src"
