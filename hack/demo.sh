#!/usr/bin/env bash
# The demo (README): sets up what it needs (hack/setup.sh), then runs the operator against a
# local control plane and the AWS emulators, shows it adopt an organization and correct a
# drift, and stops everything on exit (Ctrl-C included).
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo runs etcd and kube-apiserver only: build nothing else (Argo CD alone takes minutes).
AWSORG_BUILD_ONLY=control-plane
source hack/setup.sh
exec python -m awsorg_experiments.demo "$@"
