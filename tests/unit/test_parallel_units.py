"""tests/parallel.py: which tests share an xdist worker, and which go first."""

from __future__ import annotations

import pytest

from awsorg_devstack import REPO
from tests.parallel import LONGEST_FIRST, SHARED, unit_of

pytestmark = pytest.mark.unit


def test_the_release_tests_share_one_unit() -> None:
    assert unit_of("tests/e2e/release/test_release.py::test_a") == unit_of(
        "tests/e2e/release/test_release_docs.py::test_b"
    )


def test_each_other_e2e_module_is_a_unit_of_its_own() -> None:
    assert unit_of("tests/e2e/test_operator.py::test_a") == "tests/e2e/test_operator.py"
    assert unit_of("tests/e2e/test_operator.py::TestX::test_b") == "tests/e2e/test_operator.py"
    assert unit_of("tests/e2e/test_docs.py::test_a[x]") == "tests/e2e/test_docs.py"


def test_the_node_tests_go_to_two_nodes() -> None:
    memory = unit_of("tests/node/test_memory.py::test_a")
    assert unit_of("tests/node/test_restart.py::test_b") == memory
    rest = {unit_of(f"tests/node/{m}.py::test_c") for m in ("test_pod", "test_argocd")}
    assert rest == {"tests/node"} and memory != "tests/node"


def test_every_other_folder_stays_whole() -> None:
    assert unit_of("tests/unit/test_plan.py::test_a") == "tests/unit"
    assert unit_of("tests/localcluster/test_node.py::test_a") == "tests/localcluster"


def test_the_longest_units_exist() -> None:
    """A renamed module would silently lose its place at the front."""
    named = {unit for _, unit in SHARED}
    missing = [u for u in LONGEST_FIRST if u not in named and not (REPO / u).exists()]
    assert missing == []
