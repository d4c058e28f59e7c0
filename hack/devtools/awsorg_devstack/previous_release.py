"""The previous release, for the upgrade test (tests/node/test_upgrade.py): which commit it
is, a checkout of it, and its image built by its own hack/image.sh.

Which commit (docs/versioning.md, "CRDs on upgrade"): the newest tag `v*` before HEAD when
there is one. Until there are tags, main as it was just before the newest commit that changed
a CRD (`charts/awsorg-operator/crds/` or `crds/`), following first parents (a merge into main
counts as one commit), so that the upgrade changes the CRD as well as everything since.
The history is read from git: a shallow clone fails with a message, it is never skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .stack import REPO

CRD_PATHS = ("charts/awsorg-operator/crds", "crds")


class HistoryError(RuntimeError):
    """The checkout's history cannot say which release came before; the message says why."""


def git(*args: str, repo: Path = REPO, check: bool = True) -> str:
    # The tests run as root (CI: under sudo) in a checkout another user may own: git refuses
    # such a repository ("dubious ownership") unless it is named safe.
    command = ["git", "-c", f"safe.directory={repo}", "-C", str(repo), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise HistoryError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def previous_release(repo: Path = REPO) -> str:
    """The commit of the previous release (the rule above), as a full hash."""
    if git("rev-parse", "--is-shallow-repository", repo=repo) == "true":
        raise HistoryError(
            f"{repo} is a shallow clone: the upgrade test needs main's history to find the "
            "previous release (git fetch --unshallow, or actions/checkout with fetch-depth: 0)"
        )
    if not git("rev-parse", "--verify", "--quiet", "HEAD^", repo=repo, check=False):
        raise HistoryError(f"HEAD of {repo} has no parent: there is no previous release")
    tag = git("describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD^", repo=repo, check=False)
    if tag:
        return git("rev-list", "-n", "1", tag, repo=repo)
    changed = git("log", "-1", "--first-parent", "--format=%H", "HEAD", "--", *CRD_PATHS, repo=repo)
    if not changed:
        raise HistoryError(f"no commit of {repo} changed {' or '.join(CRD_PATHS)}")
    before = git("rev-parse", "--verify", "--quiet", f"{changed}^1", repo=repo, check=False)
    if not before:
        raise HistoryError(f"{changed} created the CRD: no release before it has one")
    return before


@contextmanager
def checkout(commit: str, folder: Path, repo: Path = REPO) -> Iterator[Path]:
    """A detached worktree of `commit` at `folder`, removed (with git's record of it) on exit."""
    git("worktree", "add", "--detach", str(folder), commit, repo=repo)
    try:
        yield folder
    finally:
        git("worktree", "remove", "--force", str(folder), repo=repo, check=False)
        git("worktree", "prune", repo=repo, check=False)


def build_image_at(source: Path, commit: str) -> str:
    """The image of the checkout `source`, built by its own hack/image.sh (podman's layer cache
    makes a second build seconds); its progress goes to this process's stderr."""
    tag = f"localhost/awsorg-operator:upgrade-from-{commit[:12]}"
    done = subprocess.run(
        [str(source / "hack" / "image.sh"), "--tag", tag],
        cwd=source,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{source}/hack/image.sh failed with exit code {done.returncode}")
    return done.stdout.strip().splitlines()[-1]
