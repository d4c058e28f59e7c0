"""A real Prometheus server (Debian's `prometheus`) that scrapes the operator and evaluates the
chart's alert rules, on a free port with its own storage; for the tests and by hand."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from awsorg_devbase import ManagedProcess, free_ports, wait_for

from .stack import CHART

RULES = CHART / "files" / "prometheus-rules.yaml"
JOB = "awsorg-operator"  # the job name the rules select (the chart's ServiceMonitor sets it)


class PrometheusNotFoundError(RuntimeError):
    pass


def prometheus_binary() -> Path:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if found is None:
        raise PrometheusNotFoundError(
            "prometheus is not installed: hack/system-packages.sh installs Debian's package"
        )
    return Path(found)


def shortened_rules(rules: Path, for_duration: str) -> dict[str, Any]:
    """The rule file with every alert's `for` set to `for_duration` and nothing else changed:
    the same expressions, labels and annotations, on a test's time scale."""
    doc: dict[str, Any] = yaml.safe_load(rules.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_duration
    return doc


class PrometheusServer:
    """`prometheus` scraping `targets` every `interval` and evaluating `rules` as often."""

    def __init__(
        self,
        workdir: Path,
        targets: list[str],
        rules: dict[str, Any],
        interval: str = "1s",
    ) -> None:
        self.workdir = workdir
        (self.port,) = free_ports(1)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(workdir / "rules.yaml")],
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "scrape_timeout": interval,
                    "static_configs": [{"targets": targets}],
                }
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = [
            str(prometheus_binary()),
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.process = ManagedProcess("prometheus", command, workdir / "prometheus.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.process.start()
        wait_for("Prometheus to be ready", self._ready, timeout=timeout)

    def _ready(self) -> bool:
        if not self.process.running:
            raise RuntimeError(f"prometheus exited:\n{self.process.log_tail()}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as r:
                return int(r.status) == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus answered {body}")
        return body["data"]

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing; resolved ones are not listed)."""
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.alerts()
            if a["labels"].get("alertname") == alertname and a["state"] == "firing"
        ]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)
