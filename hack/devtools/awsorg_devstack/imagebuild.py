"""The operator's image for the tests, built by hack/image.sh once per run.

Several test processes can ask for the same image at once: the workers of one pytest-xdist
run (each has its session fixtures), and sessions of the same checkout. A file lock per tag
lets one build at a time, and the workers of one xdist run (PYTEST_XDIST_TESTRUNUID, the same
in all of them) take the build the first of them made instead of each running the build
again: a build with every layer cached still hashes the context and commits a layer.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
from pathlib import Path

from .stack import REPO

__all__ = ["build_image"]

LOCKS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "awsorg-operator"


def build_image(tag: str) -> str:
    """The image `tag`, built with hack/image.sh (the stand-in base too, when needed) unless
    another worker of this xdist run built it; the script's progress goes to stderr."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")
    LOCKS.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(tag.encode()).hexdigest()[:16]
    stamp = LOCKS / f"image-{name}.run"  # "RUN-ID REFERENCE" of the last build of `tag`
    with open(LOCKS / f"image-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if run and stamp.is_file():
            built_in, _, reference = stamp.read_text().partition(" ")
            if built_in == run:
                return reference
        reference = _build(tag)
        stamp.write_text(f"{run} {reference}")
        return reference


def _build(tag: str) -> str:
    done = subprocess.run(
        [str(REPO / "hack" / "image.sh"), "--tag", tag],
        check=False,
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hack/image.sh failed with exit code {done.returncode}")
    return done.stdout.strip().splitlines()[-1]
