#!/usr/bin/env bash
# The chart's memory sizing on the one-node cluster (issue 15 item 4.4, issue 19 item 5):
#   hack/node-sizing.sh [--orgs 1,10,100,1000] [--out .work/node-sizing]
# Sets up like the tests, starts the node (root: a kubelet and containerd) and the AWS
# emulator, installs the chart with `helm install` for each organization count, and records
# the operator container's peak memory as its cgroup counts it. Writes sizing.md (the table of
# docs/configuration.md, "Sizing") and sizing.json into the --out folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/setup.sh
exec python -m awsorg_experiments.nodesizing "$@"
