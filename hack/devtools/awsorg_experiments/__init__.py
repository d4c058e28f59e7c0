"""Experiments on the whole stack that awsorg_devstack's fixtures set up, run by hack/*.sh;
they measure or show rather than assert (tests/e2e runs each briefly, to keep them working):

- `bench`: the benchmark (hack/bench.sh), whose results awsorg_generators.bench_report turns
  into docs/performance.md;
- `soak`: the operator for minutes under faults, watched for leaks and stalls (hack/soak.sh);
- `demo`: the operator taking over an organization and correcting drift (hack/demo.sh).
- `nodesizing`: the chart's pod's memory per organization count on the one-node cluster
  (hack/node-sizing.sh), from `nodememory`'s load and cgroup readings, which
  tests/node/test_memory.py shares.

Kept apart from the fixtures so that what the tests stand on holds no experiment.
Development tooling only: never shipped."""
