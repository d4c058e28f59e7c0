"""The workflows pass the linters GitHub projects run on theirs: actionlint (with shellcheck on
every `run:` script) and zizmor's offline audits (template injection, credentials persisted by
checkout, excessive permissions, unpinned actions, ...)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from awsorg_localcluster.tools import tool_path

pytestmark = pytest.mark.integration  # runs actionlint, shellcheck and zizmor

REPO = Path(__file__).parents[2]


def test_actionlint_with_shellcheck_finds_nothing() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing (hack/system-packages.sh installs it)"
    done = subprocess.run(
        [str(tool_path("actionlint")), "-shellcheck", shellcheck, "-no-color"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline_finds_nothing() -> None:
    zizmor = shutil.which("zizmor")
    assert zizmor, "zizmor is missing (hack/requirements-dev.txt)"
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "plain", str(REPO / ".github")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
