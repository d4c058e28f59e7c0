"""The package stays readable: no module over 250 lines. The import direction between its
layers is import-linter's to check (pyproject.toml; tests/integration/test_layers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).parents[2] / "operator" / "awsorg_operator"


def test_no_module_of_the_package_is_over_250_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 250
    }
    assert long == {}
