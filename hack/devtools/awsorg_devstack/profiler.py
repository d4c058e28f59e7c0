"""Sample a running operator with py-spy (https://github.com/benfred/py-spy, on PyPI) over a
window of its work, and summarise where its CPU went. Only the thread holding the GIL is
sampled: waiting for AWS costs no CPU and does not show."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType

RATE = 50  # samples per second: low enough not to slow the operator down by itself


def available() -> bool:
    return _py_spy() is not None


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profile:
    """``with Profile(pid, out) as p: ...`` then ``p.top()``: collapsed stacks in ``out``."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profile:
        tool = _py_spy()
        assert tool is not None, "py-spy is not installed (hack/requirements-dev.txt)"
        args = [tool, "record", "--pid", str(self.pid), "--format", "raw", "--rate", str(RATE)]
        # --gil: only the thread holding the GIL, i.e. Python running; waiting for AWS or
        # the API server releases it (py-spy cannot tell idle threads apart here).
        args += ["--gil", "--nonblocking", "--output", str(self.out)]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def top(self, n: int = 15) -> dict[str, list[tuple[str, float]]]:
        """The share of samples by the function that ran (self) and by every function on the
        stack (inclusive), the largest first."""
        return summarise(self.out.read_text() if self.out.exists() else "", n)


def summarise(raw: str, n: int = 15) -> dict[str, list[tuple[str, float]]]:
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        total += int(count)
        leaf[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if total == 0:
        return {"self": [], "inclusive": [], "samples": []}
    share = {k: round(v / total, 3) for k, v in leaf.most_common(n)}
    incl = {k: round(v / total, 3) for k, v in inclusive.most_common(n * 3)}
    return {
        "self": list(share.items()),
        # The outermost frames (thread bootstrap, the event loop) are on every stack: keep
        # those under 95 % so the list says where the time went, not that threads ran.
        "inclusive": [(k, v) for k, v in incl.items() if v < 0.95][:n],
        "samples": [("total", float(total))],
    }


def _short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for cut in ("site-packages/", "lib/python3.11/", "operator/"):
        if cut in path:
            path = path.split(cut, 1)[1]
    return f"{name} ({path})"
