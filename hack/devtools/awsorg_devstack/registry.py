"""A real OCI registry (Debian's `docker-registry`, i.e. distribution) on a free loopback port
with its own storage, speaking plain HTTP; for the release tests and by hand."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path
from types import TracebackType

import yaml

from awsorg_devbase import ManagedProcess, free_ports, wait_for

__all__ = ["LocalRegistry", "RegistryNotFoundError"]


class RegistryNotFoundError(RuntimeError):
    pass


def registry_binary() -> Path:
    found = shutil.which("docker-registry")
    if found is None:
        raise RegistryNotFoundError(
            "docker-registry is not installed: hack/system-packages.sh installs Debian's package"
        )
    return Path(found)


class LocalRegistry:
    """`docker-registry serve` on 127.0.0.1, storing under `workdir`. `host` is HOST:PORT as
    image references and `hack/release.sh --registry` take it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        (self.port,) = free_ports(1)
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(workdir / "storage")},
                "delete": {"enabled": True},
            },
            "http": {"addr": f"127.0.0.1:{self.port}"},
        }
        (workdir / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        command = [str(registry_binary()), "serve", str(workdir / "config.yml")]
        self.process = ManagedProcess("docker-registry", command, workdir / "registry.log")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.process.start()
        wait_for("the registry's /v2/ endpoint", self._ready, timeout=timeout)

    def _ready(self) -> bool:
        if not self.process.running:
            raise RuntimeError(f"docker-registry exited:\n{self.process.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=5) as r:
                return int(r.status) == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.process.stop()

    def log_tail(self, lines: int = 50) -> str:
        return self.process.log_tail(lines)

    def __enter__(self) -> LocalRegistry:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
