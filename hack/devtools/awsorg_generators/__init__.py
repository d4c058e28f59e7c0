"""Generators of files the project ships or publishes, kept apart from the fixtures and the
experiments because their output is committed and checked:

- `dashboard`: the chart's Grafana dashboard (charts/awsorg-operator/files/);
- `bench_report`: docs/performance.md and its plot, from the benchmark's results.

Development tooling only: never shipped."""
