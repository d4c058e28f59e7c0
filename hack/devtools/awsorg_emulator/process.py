"""Run the emulator as a subprocess for tests: start, wait until healthy, stop."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

from awsorg_devbase import ManagedProcess, WaitTimeoutError, tail, wait_for

from .client import EmulatorControl, SeedName

_LISTENING_RE = re.compile(r"awsorg-emulator listening on (http://\S+)")
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


class EmulatorStartError(RuntimeError):
    """The emulator exited or did not become healthy before the deadline."""


class EmulatorProcess:
    """``with EmulatorProcess() as emu: boto3.client(..., endpoint_url=emu.endpoint_url)``

    Starts ``python -m awsorg_emulator`` on a free port (``port=0``: the emulator
    binds one and prints it), waits for /_emulator/health, and stops the process
    (SIGTERM, then SIGKILL) on exit. stdout and stderr go to ``log_path``, kept after
    stop so a failing test can show it.
    """

    def __init__(
        self,
        *,
        seed: SeedName = "existing-customer",
        maintenance_mode: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.seed = seed
        self.maintenance_mode = maintenance_mode
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.log_path = (
            log_path or Path(tempfile.mkdtemp(prefix="awsorg-emulator-")) / "emulator.log"
        )
        self._process: ManagedProcess | None = None
        self._endpoint_url: str | None = None
        self._control: EmulatorControl | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("emulator not started")
        return self._endpoint_url

    @property
    def control(self) -> EmulatorControl:
        if self._control is None:
            raise RuntimeError("emulator not started")
        return self._control

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        mode: Literal["on", "off"] = "on" if self.maintenance_mode else "off"
        return [
            sys.executable, "-m", "awsorg_emulator",
            "--host", self.host, "--port", str(self.port),
            "--seed", self.seed, "--maintenance-mode", mode,
        ]  # fmt: skip

    def start(self) -> EmulatorProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(_PACKAGE_PARENT), env.get("PYTHONPATH")])
        )
        env.pop("MOTO_ACCOUNT_ID", None)
        # The same child-process handling as the control plane's: its own session, killed
        # with the test run even when that is SIGKILLed, stopped at interpreter exit.
        self._process = ManagedProcess("awsorg-emulator", self.command(), self.log_path, env=env)
        self._process.start()
        try:
            self._wait_until_ready(time.monotonic() + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, deadline: float) -> None:
        url = self._poll(deadline, self._listening_url, "print its listening line")
        self._endpoint_url = url
        self._control = EmulatorControl(url)
        self._poll(
            deadline, lambda: "ok" if self.control.health() else None, "answer /_emulator/health"
        )

    def _poll(self, deadline: float, probe: Callable[[], str | None], what: str) -> str:
        """Polls `probe` (quickly at first: the emulator starts in about a second) until the
        shared start-up `deadline`; a failure is an EmulatorStartError with the log."""

        def check() -> str | None:
            found = probe()
            if not found and self._process is not None and not self._process.running:
                raise EmulatorStartError(
                    f"emulator exited ({self._process.returncode}) before it "
                    f"could {what}; log:\n{self.log_tail()}"
                )
            return found

        try:
            return wait_for(what, check, deadline - time.monotonic(), 0.2, first=0.01)
        except WaitTimeoutError:
            raise EmulatorStartError(
                f"emulator did not {what} in time; log:\n{self.log_tail()}"
            ) from None

    def _listening_url(self) -> str | None:
        # The log is appended to: only this start's lines count (ManagedProcess marks each).
        text = self.log_path.read_text(errors="replace").rsplit("\n=== ", 1)[-1]
        match = _LISTENING_RE.search(text)
        return match.group(1) if match else None

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines) or "(no log)"

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the process (SIGTERM, then SIGKILL after ``timeout``); returns its exit code."""
        process, self._process = self._process, None
        code = process.stop(timeout) if process is not None else None
        if self._control is not None:
            self._control.close()
        return code

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
