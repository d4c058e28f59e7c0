"""The alerts' runbook links (issue 17, finding 6): by default they point at this project's
repository as pyproject.toml's [project.urls] names it, and each lands on a section of
docs/troubleshooting.md; `runbookBaseURL` moves them all to a fork or a mirror."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from .helm import REPO, render

pytestmark = pytest.mark.integration  # runs helm

DOCS_PATH = "/blob/main/docs/troubleshooting.md"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"


def repository() -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    url: str = project["urls"]["Repository"]
    return url.rstrip("/")


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_urls(helm: Path, tmp_path: Path, **rule: str) -> dict[str, str]:
    values = {"metrics": {"prometheusRule": {"enabled": True, **rule}}}
    spec = render(helm, tmp_path, values).one("PrometheusRule")["spec"]
    return {r["alert"]: r["annotations"]["runbook_url"] for g in spec["groups"] for r in g["rules"]}


def test_by_default_every_runbook_is_in_this_projects_repository(
    helm: Path, tmp_path: Path
) -> None:
    urls = runbook_urls(helm, tmp_path)
    assert urls
    base = repository() + DOCS_PATH
    for alert, url in urls.items():
        assert url == f"{base}#{alert.lower()}", f"{alert}: {url} is not under {base}"


def test_every_runbook_anchor_is_a_section_of_troubleshooting(helm: Path, tmp_path: Path) -> None:
    headings = re.findall(r"^#{1,6} (.+)$", TROUBLESHOOTING.read_text(), flags=re.MULTILINE)
    anchors = {github_anchor(h) for h in headings}
    missing = {
        alert: url
        for alert, url in runbook_urls(helm, tmp_path).items()
        if url.partition("#")[2] not in anchors
    }
    assert not missing, f"no such section in docs/troubleshooting.md: {missing}"


def test_runbook_base_url_moves_every_link(helm: Path, tmp_path: Path) -> None:
    mirror = "https://git.example.com/ops/awsorg/docs/troubleshooting.md"
    urls = runbook_urls(helm, tmp_path, runbookBaseURL=mirror)
    assert all(url == f"{mirror}#{alert.lower()}" for alert, url in urls.items()), urls
