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

# The Debian name of this machine's architecture, as TARGETARCH spells it.
case $(uname -m) in
    x86_64) here=amd64 ;;
    aarch64 | arm64) here=arm64 ;;
    *) here=$(uname -m) ;;
esac
export PIP_DISABLE_PIP_VERSION_CHECK=1

# TARGETARCH (the Dockerfile's build argument) names another architecture when the image is
# built for a foreign platform: the build stage runs natively and installs that platform's
# wheels, so nothing runs under emulation. pip takes foreign wheels only with --target, so
# they go to a folder first, then into the environment: scripts to bin/, the rest to
# site-packages, byte-compiled there (bytecode does not depend on the architecture).
install_foreign() {
    case $1 in
        amd64) machine=x86_64 ;;
        arm64) machine=aarch64 ;;
        *) echo "$0: no wheel platform for TARGETARCH=$1" >&2 && exit 1 ;;
    esac
    # The target base is the same Debian release as the build stage's: the same glibc, and every
    # manylinux tag up to it (pip 23, Debian's, does not expand a PEP 600 tag by itself).
    read -r pyver platforms site <<EOF
$("$venv/bin/python" -c 'import platform, sys, sysconfig
major, minor = map(int, platform.libc_ver()[1].split(".")[:2])
tags = [f"manylinux_{major}_{m}_{sys.argv[1]}" for m in range(17, minor + 1)]
tags += [f"manylinux2014_{sys.argv[1]}"]
print(f"{sys.version_info[0]}.{sys.version_info[1]}", ",".join(tags), sysconfig.get_path("purelib"))
' "$machine")
EOF
    "$venv/bin/python" -m pip wheel --no-cache-dir --no-deps --wheel-dir "$src/wheels" "$src"
    # PIP_PLATFORM holds several platforms, separated by blanks.
    PIP_PLATFORM=$(echo "$platforms" | tr , ' ') "$venv/bin/python" -m pip install \
        --no-cache-dir --no-compile --target "$src/target" --python-version "$pyver" \
        --implementation cp --only-binary=:all: -c "$repo/hack/constraints.txt" "$src"/wheels/*.whl
    mv "$src/target/bin/"* "$venv/bin/"
    rmdir "$src/target/bin"
    cp -R "$src/target/." "$site/"
    "$venv/bin/python" -m compileall -q "$site"
}

# A regular (non-editable) install, as in the image; no wheel or HTTP cache is kept.
# Exact dependency versions from hack/constraints.txt: the image and the tests run the same.
if [ -n "${TARGETARCH:-}" ] && [ "$TARGETARCH" != "$here" ]; then
    install_foreign "$TARGETARCH"
else
    "$venv/bin/python" -m pip install --no-cache-dir -c "$repo/hack/constraints.txt" "$src"
fi
