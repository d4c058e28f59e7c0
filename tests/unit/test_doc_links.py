"""Every relative link of the docs leads somewhere: the file exists and, for a `#fragment`
into Markdown, the heading does (GitHub's anchors). Files the scripted docs name in backticks
exist too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from awsorg_devstack import REPO
from awsorg_devstack.docblocks import SCRIPTED_DOCS, doc_paths

pytestmark = pytest.mark.unit

LINK = re.compile(r"\]\(([^)\s]+)\)")
NAMED = re.compile(r"`((?:operator|hack|docs|tests|charts|crds|argocd|examples)/[\w./-]+)`")
DOCS = [*doc_paths(), "charts/awsorg-operator/README.md"]


def anchors(markdown: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown.read_text(), re.M):
        found.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, fragment = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists() or (
            linked.suffix == ".md" and fragment and fragment not in anchors(linked)
        ):
            broken.append(target)
    return broken


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_leads_somewhere(doc: str) -> None:
    assert broken_links(REPO / doc) == []


@pytest.mark.parametrize("doc", SCRIPTED_DOCS)
def test_every_file_a_scripted_doc_names_exists(doc: str) -> None:
    named = NAMED.findall((REPO / doc).read_text())
    assert [n for n in named if not (REPO / n).exists()] == []


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    (tmp_path / "other.md").write_text(
        "# Other\n## 5. Upgrading\n## Cross-account: `roleARN` + `externalID`\n"
    )
    doc.write_text(
        "[a](other.md) [b](other.md#5-upgrading) [c](other.md#cross-account-rolearn--externalid)\n"
        "[d](missing.md) [e](other.md#missing) [f](https://example.com/x) [g](#nowhere)\n"
    )
    assert broken_links(doc) == ["missing.md", "other.md#missing", "#nowhere"]
