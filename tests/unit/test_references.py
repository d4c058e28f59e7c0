"""Every file the documentation and the operator's own comments name exists (issue 17, finding
7: `hack/dashboard.py`, `tests/unit/test_crd.py` and notes outside the repository were named).

What counts as a reference, in docs/*.md, README.md, the chart's README.md (inline code and
links; fenced blocks are commands, run by the docs' own tests) and in the docstrings and
comments of operator/:

- a Markdown link whose target is not a URL or an anchor: resolved from the document's folder;
- a path: a word whose first segment is an entry of the repository's root or of the
  document's folder (`docs/install.md`, `files/prometheus-rules.yaml` in the chart's README),
  or that starts with `./` or `../`. A word like `apps/v1` or `awsorg.io/finalizer` names no
  such entry and is no path;
- in inline code, a bare file name with a file extension (`survey.py`): a file of that name
  must exist somewhere in the repository, unless ALLOWED says why it is not ours.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "awsorg-operator"
DOCUMENTS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md", CHART / "README.md"]

# Bare file names the docs use for the user's own files, not the repository's.
ALLOWED = {
    "prometheus.yml": "the user's Prometheus configuration (docs/monitoring.md)",
    "awsorg-operator-rules.yaml": "where the user copies the rule file (docs/monitoring.md)",
    "resource.yaml": "the user's manifest in `awsorg-operator plan -f resource.yaml`",
    "f.yaml": "the user's manifest in docs/plan.md's pull-request job",
    "values.yaml": "the user's values file as well as the chart's",
}
EXTENSIONS = ("py", "md", "yaml", "yml", "json", "lua", "sh", "toml", "txt", "tpl", "go", "in")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
URL = re.compile(r"\b[a-z]+://\S+")
WORD = re.compile(r"[\w.<>*/-]+")
BARE = re.compile(rf"[\w.-]+\.(?:{'|'.join(EXTENSIONS)})")


def tracked() -> list[str]:
    out = subprocess.run(
        # Tracked files and new ones not ignored: a file being added counts.
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.splitlines()


FILES = tracked()
NAMES = {Path(f).name for f in FILES}
ROOT_ENTRIES = {f.split("/", 1)[0] for f in FILES}


def exists(base: Path, relative: str) -> bool:
    target = (base / relative).resolve()
    if "*" in relative:
        return any(target.parent.glob(target.name))
    inside = target == REPO or REPO in target.parents
    return inside and target.exists()


def path_problems(word: str, base: Path) -> list[str]:
    word = word.split("::", 1)[0].rstrip(".,;:)")
    if not word or "<" in word or "/" not in word or word.startswith("/"):
        return []  # not a path, a placeholder, or an absolute one (`/metrics`, `/tmp`)
    first = word.split("/", 1)[0]
    if word.startswith(("./", "../")):
        return [] if exists(base, word) else [word]
    if first in ROOT_ENTRIES and not exists(REPO, word):
        return [word]
    if first not in ROOT_ENTRIES and first in entries(base) and not exists(base, word):
        return [word]
    return []  # not the repository's: e.g. `.work/`, where the demo writes (ignored by git)


def entries(folder: Path) -> set[str]:
    """The first path segments of the tracked files under `folder`: what it holds in any
    checkout, whatever runs have left beside them."""
    relative = folder.resolve().relative_to(REPO).as_posix()
    prefix = "" if relative == "." else relative + "/"
    return {f[len(prefix) :].split("/", 1)[0] for f in FILES if f.startswith(prefix)}


def text_problems(text: str, base: Path) -> list[str]:
    """The paths in prose that name nothing."""
    return [p for word in WORD.findall(URL.sub(" ", text)) for p in path_problems(word, base)]


def bare_problems(code: str) -> list[str]:
    """The bare file names in inline code that name no file of the repository."""
    names = (word.rstrip(".,;:)") for word in WORD.findall(URL.sub(" ", code)))
    return [n for n in names if BARE.fullmatch(n) and n not in NAMES and n not in ALLOWED]


def markdown_problems(document: Path) -> list[str]:
    text = FENCE.sub("", document.read_text())
    found = []
    for target in LINK.findall(text):
        if not target.startswith(("http://", "https://", "mailto:", "#")):
            relative = target.split("#", 1)[0]
            if relative and not exists(document.parent, relative):
                found.append(target)
    for code in CODE.findall(text):
        found += text_problems(code, document.parent) + bare_problems(code)
    return found


def python_prose(source: str) -> list[str]:
    """The comments and docstrings of a module."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    prose = [t.string for t in tokens if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            prose.append(ast.get_docstring(node) or "")
    return prose


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_a_document_names_exists(document: Path) -> None:
    assert markdown_problems(document) == []


def test_every_file_the_operators_comments_and_docstrings_name_exists() -> None:
    found: dict[str, list[str]] = {}
    for module in sorted((REPO / "operator").rglob("*.py")):
        for prose in python_prose(module.read_text()):
            code = " ".join(CODE.findall(prose))
            problems = text_problems(prose, REPO) + bare_problems(code)
            if problems:
                found.setdefault(str(module.relative_to(REPO)), []).extend(problems)
    assert found == {}


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        ("see `hack/dashboard.py`", ["hack/dashboard.py"]),
        ("`tests/unit/test_crd.py::test_x`", ["tests/unit/test_crd.py"]),
        ("notes in ../outside/NOTES.md", ["../outside/NOTES.md"]),
        ("`no_such_module.py`", ["no_such_module.py"]),
        ("`docs/install.md`, `apps/v1`, `awsorg.io/finalizer`, `survey.py`", []),
    ],
)
def test_the_check_finds_what_it_should_and_nothing_else(text: str, broken: list[str]) -> None:
    code = " ".join(CODE.findall(text))
    assert text_problems(text, REPO) + bare_problems(code) == broken


# The project's planning notes live outside the repository; a reader cannot follow a reference
# to them. Split so that this file does not name them itself.
NOTES = ("AWS-" + "FACTS", "../" + "shared/")


def test_nothing_in_the_repository_points_at_notes_outside_it() -> None:
    found = []
    for name in FILES:
        path = REPO / name
        if path.suffix in (".png", ".json") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found += [f"{name}: {note}" for note in NOTES if note in text]
    assert found == [], "name the public source instead (AWS's or Argo CD's documentation)"
