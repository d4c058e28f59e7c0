"""What a release reads, kept in step: one version everywhere, a changelog entry for it, the
Artifact Hub metadata, the image's base as Dependabot sees it, and workflows that pin every
action by commit SHA and grant each job only what it declares."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yaml"))


def pyproject_version() -> str:
    found = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M)
    assert found
    return found[1]


def chart() -> dict[str, Any]:
    return yaml.safe_load((REPO / "charts" / "awsorg-operator" / "Chart.yaml").read_text())  # type: ignore[no-any-return]


def test_the_package_and_the_chart_have_one_semver_version() -> None:
    version = pyproject_version()
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?", version)
    assert chart()["version"] == version
    assert chart()["appVersion"] == version


def test_the_current_version_has_a_changelog_section_with_content() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    version = pyproject_version()
    sections = re.split(r"^## ", text, flags=re.M)
    (section,) = [s for s in sections if s.startswith(f"[{version}]")]
    assert section.split("\n", 1)[1].strip(), f"the section of {version} is empty"


def test_artifact_hub_annotations_name_the_image_license_and_changes() -> None:
    annotations = chart()["annotations"]
    (image,) = yaml.safe_load(annotations["artifacthub.io/images"])
    assert image["image"].endswith(f"/awsorg-operator:{pyproject_version()}")
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    changes = yaml.safe_load(annotations["artifacthub.io/changes"])
    assert changes and all({"kind", "description"} <= set(c) for c in changes)
    assert "owners" in yaml.safe_load((REPO / "artifacthub-repo.yml").read_text())


def test_the_dockerfile_base_is_the_one_dependabot_updates() -> None:
    arg = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (REPO / "Dockerfile").read_text(), re.M)
    seen = re.search(r"^FROM (\S+)$", (REPO / "hack/base-image/Dockerfile").read_text(), re.M)
    assert arg and seen
    assert arg[1] == seen[1]


def uses(workflow: Path) -> list[str]:
    return re.findall(r"^\s*(?:-\s+)?uses:\s*(.+)$", workflow.read_text(), re.M)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(workflow: Path) -> None:
    for use in uses(workflow):
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", use.strip()), use


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_no_permission_by_default_and_each_job_declares_its_own(workflow: Path) -> None:
    doc = yaml.safe_load(workflow.read_text())
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        assert "permissions" in job, name
        assert all(v in ("read", "write") for v in job["permissions"].values()), name


def test_the_plan_workflow_watches_the_folder_argo_cd_syncs() -> None:
    doc = yaml.safe_load((REPO / ".github/workflows/plan.yaml").read_text())
    # PyYAML reads the key `on` as True.
    paths = doc[True]["pull_request"]["paths"]
    resources = sorted((REPO / "argocd" / "organizations").glob("*.yaml"))
    assert resources, "argocd/organizations/ holds no resource"
    for path in resources:
        relative = path.relative_to(REPO).as_posix()
        assert any(Path(relative).match(p.replace("**", "*")) for p in paths), relative


def test_the_docs_show_the_plan_workflow_as_shipped() -> None:
    workflow = (REPO / ".github/workflows/plan.yaml").read_text()
    assert f"```yaml\n{workflow}```\n" in (REPO / "docs" / "plan.md").read_text()


def test_the_docs_and_the_plan_job_name_the_current_release() -> None:
    version = pyproject_version()
    install = (REPO / "docs" / "install.md").read_text()
    assert re.findall(r"^VERSION=(\S+)$", install, re.M) == [version]
    plan = (REPO / ".github/workflows/plan.yaml").read_text()
    assert f"IMAGE: ghcr.io/awsorg-operator/awsorg-operator:{version}\n" in plan
