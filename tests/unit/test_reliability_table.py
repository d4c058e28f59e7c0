"""docs/reliability.md maps every row of the reliability matrix to tests: every row has at
least one, and every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]
TABLE = REPO / "docs" / "reliability.md"
ROWS = 31
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> dict[int, list[tuple[str, str]]]:
    found = {}
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].isdigit():
            found[int(cells[1])] = TEST_ID.findall(cells[3])
    return found


def defined(path: str) -> set[str]:
    tree = ast.parse((REPO / path).read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_row_has_a_test() -> None:
    table = rows()
    assert sorted(table) == list(range(1, ROWS + 1))
    assert [n for n, ids in table.items() if not ids] == []


def test_every_test_named_exists() -> None:
    missing = [
        f"{path}::{name}"
        for ids in rows().values()
        for path, name in ids
        if not (REPO / path).exists() or name not in defined(path)
    ]
    assert missing == []
