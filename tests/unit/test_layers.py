"""The layers import one way (kopf's .importlinter is the model): the plan and the snapshot
know nothing of boto3, botocore, kopf or kubernetes; the AWS side nothing of Kubernetes; the
reconciler reaches AWS only through the seam. Checked over the whole import closure."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).parents[2] / "operator" / "awsorg_operator"
SDKS = {"boto3", "botocore", "types_boto3_organizations", "types_boto3_auditmanager"}
KUBERNETES = {"kopf", "kubernetes"}


def module_path(name: str) -> Path:
    rel = name.removeprefix("awsorg_operator").strip(".").replace(".", "/")
    candidate = PACKAGE / rel
    return candidate / "__init__.py" if candidate.is_dir() else candidate.with_suffix(".py")


@cache
def direct_imports(name: str) -> frozenset[str]:
    tree = ast.parse(module_path(name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "awsorg_operator" or node.module.endswith(".aws"):
                found |= {f"{node.module}.{a.name}" for a in node.names}
    return frozenset(
        n for n in found if not n.startswith("awsorg_operator") or module_path(n).exists()
    )


def closure(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        for imported in direct_imports(current):
            if imported not in seen:
                seen.add(imported)
                if imported.startswith("awsorg_operator"):
                    todo.append(imported)
    return seen


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


PURE = [
    "failures",
    "state",
    "actions",
    "plan",
    "external",
    "writes",
    "report",
    "checks",
    "resource",
    "api",
    "conditions",
    "ownership",
    "logfields",
    "preview",
    "plan_report",
]


@pytest.mark.parametrize("module", PURE)
def test_the_pure_layers_import_no_sdk_and_no_kubernetes(module: str) -> None:
    reached = closure(f"awsorg_operator.{module}")
    assert not roots(reached) & (SDKS | KUBERNETES), sorted(reached)
    assert not any(
        m.startswith(("awsorg_operator.aws", "awsorg_operator.handlers")) for m in reached
    )


@pytest.mark.parametrize("module", ["reconciler"])
def test_the_reconciler_reaches_aws_only_through_the_seam(module: str) -> None:
    reached = closure(f"awsorg_operator.{module}")
    assert not roots(reached) & (SDKS | KUBERNETES), sorted(reached)
    assert not any(m.startswith("awsorg_operator.aws") for m in reached)


@pytest.mark.parametrize(
    "module", sorted(p.stem for p in (PACKAGE / "aws").glob("*.py") if p.stem != "__init__")
)
def test_the_aws_side_knows_nothing_of_kubernetes(module: str) -> None:
    reached = closure(f"awsorg_operator.aws.{module}")
    assert not roots(reached) & KUBERNETES, sorted(reached)
    kube_side = ("awsorg_operator.api", "awsorg_operator.handlers", "awsorg_operator.reconciler")
    assert not any(m.startswith(kube_side) for m in reached), sorted(reached)


def test_the_check_can_fail() -> None:
    """handlers imports kopf: the closure must see it, or the checks above prove nothing."""
    assert "kopf" in roots(closure("awsorg_operator.handlers"))


def test_no_module_of_the_package_is_over_300_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert long == {}
