"""The image installs exact versions: every runtime dependency has its pin."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_pinned_in_the_constraints() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {
        normalized(re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }
    pins = {}
    for line in (REPO / "hack" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[normalized(name)] = version
    assert wanted <= pins.keys(), f"unpinned: {sorted(wanted - pins.keys())}"
