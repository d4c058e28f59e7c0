"""The docs are the script: the fenced blocks of the Markdown docs, with the marker on the line
before each (README.md, "How the docs are tested").

    <!-- run: SCENARIO [in-pod] [exit=N] -->   run verbatim (bash -euo pipefail) in SCENARIO
    <!-- file: NAME -->                        written to NAME in every scenario of that doc
    <!-- not-run: REASON -->                   cannot run on the local stack, and why

A scenario is the marked blocks of one name, across the docs, in the order the docs list them
(`SCRIPTED_DOCS`, then the other docs by name); each block runs on its own, as a reader who
copies it does. `in-pod` blocks are a `kubectl exec ... --` whose command runs inside the
operator's container; `exit=N` is the exit status the block promises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .stack import REPO

# The docs whose every command block must carry a marker (the others may opt in block by block).
SCRIPTED_DOCS = ("docs/install.md", "docs/production.md", "README.md")
# Fenced blocks in these languages are data or output, not commands: they need no marker.
DATA_LANGUAGES = frozenset({"yaml", "json", "text", "lua", "promql", "mermaid"})
IN_POD_PREFIX = re.compile(r"^kubectl (?:-n \S+ )?exec -i deploy/\S+ -- ", re.M)

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*(?P<kind>run|file|not-run):\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    doc: str  # the doc's path relative to the repository
    line: int  # the line of the opening fence, from 1
    lang: str
    text: str
    kind: str | None = None  # run, file, not-run, or None when unmarked
    arg: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def is_command(self) -> bool:
        return self.lang not in DATA_LANGUAGES

    @property
    def scenario(self) -> str:
        return self.arg.split()[0] if self.kind == "run" and self.arg else ""

    @property
    def in_pod(self) -> bool:
        return self.kind == "run" and "in-pod" in self.arg.split()

    @property
    def exit_status(self) -> int:
        found = re.search(r"\bexit=(\d+)\b", self.arg) if self.kind == "run" else None
        return int(found[1]) if found else 0

    def pod_script(self, runner: str) -> str:
        """An in-pod block with `kubectl exec -i deploy/X --` replaced by `runner`, a command
        that runs what follows in the operator's container (`podman exec -i NAME`)."""
        if not IN_POD_PREFIX.search(self.text):
            raise ValueError(f"{self.where}: an in-pod block is `kubectl exec -i deploy/X -- CMD`")
        return IN_POD_PREFIX.sub(lambda _: runner, self.text)


def parse(doc: str, text: str) -> Iterator[Block]:
    """The fenced blocks of one Markdown text, each with the marker on the line before it."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].startswith(opening["fence"])),
            len(lines),
        )
        marker = _MARKER.match(lines[i - 1].strip()) if i else None
        body = "\n".join(lines[i + 1 : end]) + "\n"
        yield Block(
            doc,
            i + 1,
            opening["lang"],
            body,
            marker["kind"] if marker else None,
            marker["arg"] if marker else "",
        )
        i = end + 1


def doc_paths(repo: Path = REPO) -> list[str]:
    """The scripted docs first, in their reading order, then every other doc by name."""
    others = sorted(str(p.relative_to(repo)) for p in (repo / "docs").glob("*.md"))
    return [*SCRIPTED_DOCS, *(d for d in others if d not in SCRIPTED_DOCS)]


def all_blocks(repo: Path = REPO) -> list[Block]:
    return [b for d in doc_paths(repo) for b in parse(d, (repo / d).read_text())]


def scenarios(repo: Path = REPO) -> dict[str, list[Block]]:
    """Each scenario's blocks in reading order."""
    found: dict[str, list[Block]] = {}
    for block in all_blocks(repo):
        if block.kind == "run":
            found.setdefault(block.scenario, []).append(block)
    return found


def files_for(scenario: list[Block], repo: Path = REPO) -> dict[str, str]:
    """The `file:` blocks of the docs a scenario's blocks come from: name -> content."""
    docs = {b.doc for b in scenario}
    return {b.arg: b.text for b in all_blocks(repo) if b.kind == "file" and b.doc in docs}


def problems(blocks: list[Block]) -> list[str]:
    """What makes a block skipped silently: a command block of a scripted doc with no marker,
    a not-run without a reason, a run without a scenario, a file without a name."""
    found = []
    for b in blocks:
        if b.kind is None and b.is_command and b.doc in SCRIPTED_DOCS:
            found.append(f"{b.where}: a ```{b.lang or '(no language)'} block with no marker")
        elif b.kind in {"not-run", "file"} and not b.arg:
            found.append(
                f"{b.where}: `{b.kind}:` needs a {'reason' if b.kind == 'not-run' else 'name'}"
            )
        elif b.kind == "run" and not b.scenario:
            found.append(f"{b.where}: `run:` needs a scenario name")
        elif b.in_pod and not IN_POD_PREFIX.search(b.text):
            found.append(f"{b.where}: an in-pod block is `kubectl exec -i deploy/X -- CMD`")
    return found


@dataclass(frozen=True)
class Expectation:
    """What an example's `# expect: Ready=True reason=Reconciled` line promises."""

    condition: str
    status: str
    reason: str | None


_EXPECT = re.compile(r"^# expect: ([A-Z]\w*)=(True|False|Unknown)(?: reason=([A-Z]\w*))?\s*$", re.M)


def expectation(example: Path) -> Expectation:
    """The one `# expect:` line of an example's header comment."""
    found = _EXPECT.findall(example.read_text())
    if len(found) != 1:
        raise ValueError(f"{example.name}: wants one `# expect: Ready=True [reason=R]` line")
    ((condition, status, reason),) = found
    return Expectation(condition, status, reason or None)
