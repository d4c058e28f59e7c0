#!/usr/bin/env bash
# The benchmark (issue 9): hack/bench.sh [--quick] [--label NAME] [--orgs 10,100,1000] [--trials N]
# Sets up like the tests, then runs the operator as the chart does against the local control
# plane and the AWS emulator with an injected per-call latency, and measures time to Ready,
# AWS calls per re-check and many organizations. Results land in .work/bench/NAME.json (NAME
# defaults to "current"); docs/performance.md and its plot are written from the labels given
# in BENCH_REPORT (default: the label just run), read from BENCH_OUT. The figures in
# docs/performance.md come from docs/performance-data/{before,after}.json:
#   BENCH_OUT=docs/performance-data BENCH_REPORT="before after" hack/bench.sh --label after
#   hack/bench.sh --quick               # a few minutes: small N, 2 trials (CI runs it as a test)
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/setup.sh
label=current
args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --label) label="$2"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
out="${BENCH_OUT:-.work/bench}"
python -m awsorg_experiments.bench --label "$label" --out "$out" "${args[@]}"
# shellcheck disable=SC2086  # the labels are words
python -m awsorg_generators.bench_report --results "$out" --doc "${BENCH_DOC:-docs/performance.md}" \
    ${BENCH_TEMPLATE:+--template "$BENCH_TEMPLATE"} ${BENCH_REPORT:-$label}
