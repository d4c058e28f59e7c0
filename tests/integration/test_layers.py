"""The layers import one way, as import-linter contracts in pyproject.toml (kopf's
`.importlinter` is the model): `__main__` > `kube` | `cli` > `reconciler` | `aws` > the core >
`api`; the AWS side imports nothing of Kubernetes or of the API model; only the sides import
an SDK. Each contract is also shown to break, on a copy of the package with one bad import, so
a new module falls under them without anyone listing it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # runs lint-imports

REPO = Path(__file__).parents[2]
PACKAGE = REPO / "operator" / "awsorg_operator"


def lint_imports(root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_keeps_every_contract(tmp_path: Path) -> None:
    done = lint_imports(REPO / "operator", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # A new module nobody placed in a layer.
        ("shortcut.py", '"""A new module."""\n', "exhaustive"),
        # The pure core reaching for an SDK, even through a module added today.
        ("plan.py", "import boto3  # noqa\n", "Only the sides import an SDK"),
        ("new_core.py", "import kopf  # noqa\n", "Only the sides import an SDK"),
        # The reconciler around the seam, straight to the boto3 side.
        ("reconciler.py", "from awsorg_operator.aws import connector  # noqa\n", "layers"),
        # The AWS side learning about Kubernetes or the API model.
        ("aws/clients.py", "import kopf  # noqa\n", "The AWS side knows nothing"),
        ("aws/new.py", "from awsorg_operator import api  # noqa\n", "The AWS side knows nothing"),
        # The plan command and the kopf side stay apart.
        ("cli/output.py", "from awsorg_operator.kube import handlers  # noqa\n", "layers"),
    ],
)
def test_a_bad_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    root = tmp_path / "src"
    shutil.copytree(PACKAGE, root / "awsorg_operator", ignore=shutil.ignore_patterns("__pycache__"))
    target = root / "awsorg_operator" / module
    target.write_text((target.read_text() if target.exists() else "") + line)
    done = lint_imports(root, tmp_path)
    assert done.returncode != 0, done.stdout
    assert broken in done.stdout and "BROKEN" in done.stdout, done.stdout
