#!/usr/bin/env bash
# A soak of the operator (reliability matrix row 15): hack/soak.sh MINUTES [OUT]
# Sets up like the tests, then runs the operator for MINUTES against the local control plane
# and the AWS emulator while it restarts the API server, injects AWS faults and makes drift.
# Exits 1 on a rising memory trend, a stalled reconcile counter, an unhealthy /healthz after
# recovery, or a duplicated AWS write; the figures land in OUT (default .work/soak).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -lt 1 ]; then
    echo "usage: $0 MINUTES [OUT]" >&2
    exit 2
fi
source hack/setup.sh
exec python -m awsorg_experiments.soak --minutes "$1" --out "${2:-.work/soak}"
