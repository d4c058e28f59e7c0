"""Fixtures for the chart checks: the pinned helm and kubeconform, built by hack/build-tools.sh."""

from __future__ import annotations

from pathlib import Path

import pytest

from awsorg_localcluster.tools import ToolNotFoundError, kubeconform_schema_dir, tool_path


def _tool(name: str) -> Path:
    try:
        return tool_path(name)
    except ToolNotFoundError as e:
        pytest.fail(f"{name} is needed for this check: {e}", pytrace=False)


@pytest.fixture(scope="session")
def helm() -> Path:
    return _tool("helm")


@pytest.fixture(scope="session")
def kubeconform() -> Path:
    return _tool("kubeconform")


@pytest.fixture(scope="session")
def kube_schemas() -> Path:
    """kubeconform's -schema-location for the Kubernetes release the e2e tests run."""
    try:
        return kubeconform_schema_dir()
    except ToolNotFoundError as e:
        pytest.fail(f"kubeconform's schemas are needed for this check: {e}", pytrace=False)
