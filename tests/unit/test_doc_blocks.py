"""The docs' marked blocks (README.md, "How the docs are tested"): nothing skipped silently."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from awsorg_devstack import REPO
from awsorg_devstack.docblocks import (
    SCRIPTED_DOCS,
    all_blocks,
    expectation,
    parse,
    problems,
    scenarios,
)

pytestmark = pytest.mark.unit

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def test_every_command_block_of_the_scripted_docs_runs_or_says_why_not() -> None:
    assert problems(all_blocks()) == []


def test_the_scripted_docs_have_the_scenarios_the_e2e_test_runs() -> None:
    found = scenarios()
    assert {"install-manifests", "install-helm", "production"} <= set(found), sorted(found)
    assert any(b.in_pod for b in found["production"]), "plan from inside the pod"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("```sh\nls\n```\n", ["docs/x.md:1: a ```sh block with no marker"]),
        ("```\nls\n```\n", ["docs/x.md:1: a ```(no language) block with no marker"]),
        ("<!-- not-run: -->\n```sh\nls\n```\n", ["docs/x.md:2: `not-run:` needs a reason"]),
        (
            "<!-- run: a in-pod -->\n```sh\nls\n```\n",
            ["docs/x.md:2: an in-pod block is `kubectl exec -i deploy/X -- CMD`"],
        ),
        (
            "```yaml\na: 1\n```\n<!-- not-run: real AWS -->\n```sh\naws sts get-caller-id\n```\n",
            [],
        ),
    ],
)
def test_an_unmarked_or_unexplained_block_is_a_problem(text: str, wanted: list[str]) -> None:
    # As if in a scripted doc, where every command block needs a marker.
    blocks = [replace(b, doc="docs/install.md") for b in parse("d", text)]
    assert [p.replace("docs/install.md", "docs/x.md") for p in problems(blocks)] == wanted


def test_a_block_keeps_its_marker_its_text_and_its_promised_exit_status() -> None:
    text = (
        "intro\n<!-- run: prod in-pod exit=2 -->\n"
        "```bash\nkubectl -n ns exec -i deploy/op -- a b < f\n```\n"
    )
    (block,) = parse("docs/production.md", text)
    assert (block.scenario, block.in_pod, block.exit_status, block.line) == ("prod", True, 2, 3)
    assert block.pod_script("podman exec -i c ") == "podman exec -i c a b < f\n"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_promises_one_state(example: Path) -> None:
    assert expectation(example).condition == "Ready"


def test_every_example_has_its_own_name() -> None:
    names = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in EXAMPLES]
    assert len(set(names)) == len(names), names


@pytest.mark.parametrize("doc", SCRIPTED_DOCS)
def test_every_yaml_and_json_block_of_the_scripted_docs_parses(doc: str) -> None:
    """The data blocks nobody runs (an AppProject, a repository Secret) are at least valid."""
    for block in parse(doc, (REPO / doc).read_text()):
        if block.lang == "yaml":
            assert list(yaml.safe_load_all(block.text)), block.where
        elif block.lang == "json":
            json.loads(block.text)
