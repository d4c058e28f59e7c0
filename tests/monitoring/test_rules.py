"""The alert rules (charts/awsorg-operator/files/prometheus-rules.yaml): valid for promtool,
every alert tested firing and not firing (prometheus-rules.test.yaml), and every runbook link
lands on a section of docs/troubleshooting.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "charts" / "awsorg-operator" / "files" / "prometheus-rules.yaml"
RULE_TESTS = Path(__file__).parent / "prometheus-rules.test.yaml"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
REQUIRED_ALERTS = {
    "AwsorgOperatorDown",
    "AwsorgResourceNotReady",
    "AwsorgResourceDriftedUnderObserve",
    "AwsorgChangeAwaitingApproval",
    "AwsorgChangeRefused",
    "AwsorgAwsAccessDenied",
    "AwsorgReconcileStale",
}


def _alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is needed: hack/system-packages.sh installs Debian's prometheus")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.integration
def test_promtool_accepts_the_rules() -> None:
    done = _run("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


@pytest.mark.integration
def test_promtool_unit_tests_of_every_alert_pass() -> None:
    done = _run("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.unit
def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    names = {a["alert"] for a in _alerts()}
    assert names >= REQUIRED_ALERTS
    assert firing == names, names ^ firing
    assert quiet == names, names ^ quiet


@pytest.mark.unit
@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: str(a["alert"]))
def test_every_alert_says_what_and_where_to_read_on(alert: dict[str, Any]) -> None:
    notes = alert["annotations"]
    assert set(notes) == {"summary", "description", "runbook_url"}
    assert alert["labels"]["severity"] in ("warning", "critical")
    if alert["alert"] != "AwsorgOperatorDown":  # the others are about one resource
        assert "{{ $labels.name }}" in notes["summary"]
        assert "{{ $labels.name }}" in notes["description"]


def _github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.unit
def test_every_runbook_url_lands_on_a_troubleshooting_section() -> None:
    headings = re.findall(r"^#{1,6} (.+)$", TROUBLESHOOTING.read_text(), flags=re.MULTILINE)
    anchors = {_github_anchor(h) for h in headings}
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("/docs/troubleshooting.md"), url
        assert anchor == alert["alert"].lower(), url  # one section per alert
        assert anchor in anchors, f"{url}: no such section in docs/troubleshooting.md"
