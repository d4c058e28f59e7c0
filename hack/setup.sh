#!/usr/bin/env bash
# Sets up a fresh machine for the demo and the tests; fast when everything is already there.
#   - a Python virtual environment ($AWSORG_VENV, default .venv) with the operator installed by
#     the image's own recipe (hack/install-package.sh), the dev tools and the emulators;
#   - Debian's podman and buildah (the image), redis-server (Argo CD) and prometheus (promtool
#     and a real Prometheus), installed with apt-get when missing (hack/system-packages.sh);
#   - kube-apiserver, etcd, kubectl, helm and kubeconform, built once with Go into a cache
#     outside the repository (hack/build-tools.sh); only the tools AWSORG_BUILD_ONLY names
#     (build-tools.sh --only), when set.
# Sourced by hack/test.sh and hack/demo.sh, which then find the tools on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=${AWSORG_VENV:-.venv}

printf '\n==> Debian packages\n'
hack/system-packages.sh

printf '\n==> Python environment in %s\n' "$venv"
hack/install-package.sh "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c hack/constraints.txt -r hack/requirements-dev.txt -e hack/devtools
export PATH="$PWD/$venv/bin:$PATH"

# hack/test.sh times the tools apart from the rest of the set-up.
if declare -F timing_phase >/dev/null; then timing_phase "tools (hack/build-tools.sh)"; fi
printf '\n==> Go-built tools (%s)\n' "${AWSORG_BUILD_ONLY:-all of them}"
hack/build-tools.sh ${AWSORG_BUILD_ONLY:+--only "$AWSORG_BUILD_ONLY"}
