"""Generators of files the project ships or publishes, kept apart from the fixtures and the
experiments because their output is committed and checked:

- `dashboard`: the chart's Grafana dashboard (charts/awsorg-operator/files/);
- `bench_report`: docs/performance.md and its plot, from the benchmark's results.
- `states`: from the operator's table of what each condition state means
  (`awsorg_operator.meanings`), Argo CD's health check, its test cases and the docs' tables.

Development tooling only: never shipped."""
