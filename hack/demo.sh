#!/usr/bin/env bash
# The demo (README): sets up what it needs (hack/setup.sh), then runs the operator against a
# local control plane and the AWS emulators, shows it adopt an organization and correct a
# drift, and stops everything on exit (Ctrl-C included).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/setup.sh
exec python -m awsorg_experiments.demo "$@"
