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
# The test and lint tools go in with uv: pip spent about 50 s of CPU resolving and unpacking
# them on every fresh clone, uv about 4 s. uv reads none of pip's configuration, so the index,
# find-links, certificate and timeout this machine's pip uses are handed to it.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check uv=="$(cat hack/uv-version)"
pip_setting() { "$venv/bin/python" -m pip config get "global.$1" 2>/dev/null || true; }
export UV_INDEX_URL=${UV_INDEX_URL:-${PIP_INDEX_URL:-$(pip_setting index-url)}}
export UV_EXTRA_INDEX_URL=${UV_EXTRA_INDEX_URL:-${PIP_EXTRA_INDEX_URL:-$(pip_setting extra-index-url)}}
export UV_FIND_LINKS=${UV_FIND_LINKS:-${PIP_FIND_LINKS:-$(pip_setting find-links)}}
export SSL_CERT_FILE=${SSL_CERT_FILE:-${PIP_CERT:-$(pip_setting cert)}}
export UV_HTTP_TIMEOUT=${UV_HTTP_TIMEOUT:-${PIP_DEFAULT_TIMEOUT:-$(pip_setting timeout)}}
for setting in UV_INDEX_URL UV_EXTRA_INDEX_URL UV_FIND_LINKS SSL_CERT_FILE UV_HTTP_TIMEOUT; do
  [[ -n ${!setting} ]] || unset "$setting"  # empty: uv's own default
done
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" \
    -c hack/constraints.txt -r hack/requirements-dev.txt -e hack/devtools
export PATH="$PWD/$venv/bin:$PATH"

# hack/test.sh times the tools apart from the rest of the set-up.
if declare -F timing_phase >/dev/null; then timing_phase "tools (hack/build-tools.sh)"; fi
printf '\n==> Go-built tools (%s)\n' "${AWSORG_BUILD_ONLY:-all of them}"
hack/build-tools.sh ${AWSORG_BUILD_ONLY:+--only "$AWSORG_BUILD_ONLY"}
