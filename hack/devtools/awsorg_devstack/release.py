"""A release cut by hack/release.sh into a local registry, and the commands a user then runs
against it (cosign, skopeo, helm, kubectl), with the tools hack/build-tools.sh built on PATH."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awsorg_localcluster.tools import tool_path

from .registry import LocalRegistry
from .stack import REPO

__all__ = ["HTTP_REGISTRY", "VERSION", "Release", "ReleaseFailedError", "cut_release"]

VERSION: str = re.search(  # type: ignore[index]
    r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M
)[1]
# cosign's flags for a registry that speaks plain HTTP.
HTTP_REGISTRY = ("--allow-http-registry", "--allow-insecure-registry")


class ReleaseFailedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Release:
    registry: LocalRegistry
    image: str  # HOST:PORT/awsorg-operator:X.Y.Z@sha256:...
    chart: str  # HOST:PORT/charts/awsorg-operator:X.Y.Z@sha256:...
    public_key: Path
    env: dict[str, str]  # PATH with cosign, syft, helm, kubectl; COSIGN_PASSWORD; helm's homes

    @property
    def index_digest(self) -> str:
        return self.image.rsplit("@", 1)[1]

    @property
    def repository(self) -> str:
        return self.image.split(":" + VERSION)[0]

    def platform_digests(self) -> dict[str, str]:
        ref = f"docker://{self.repository}@{self.index_digest}"
        raw = self.run("skopeo", "inspect", "--raw", "--tls-verify=false", ref).stdout
        return {m["platform"]["architecture"]: m["digest"] for m in json.loads(raw)["manifests"]}

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, env=self.env, check=False, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
        return done

    def verify(self, ref: str, key: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`cosign verify` with the public key (a key signature has no transparency log entry)."""
        flags = ("--key", str(key or self.public_key), "--insecure-ignore-tlog=true")
        return self.run("cosign", "verify", *flags, *HTTP_REGISTRY, ref, check=False)

    def attestations(self, ref: str, predicate: str) -> list[dict[str, Any]]:
        """The in-toto statements of `predicate` type on `ref`, verified with the public key."""
        flags = ("--key", str(self.public_key), "--insecure-ignore-tlog=true", "--type", predicate)
        done = self.run("cosign", "verify-attestation", *flags, *HTTP_REGISTRY, ref)
        return [
            json.loads(base64.b64decode(json.loads(line)["payload"]))
            for line in done.stdout.splitlines()
            if line.strip()
        ]


def tools_env(workdir: Path) -> dict[str, str]:
    dirs = {str(tool_path(name).parent) for name in ("cosign", "syft", "helm", "kubectl")}
    return os.environ | {
        "PATH": os.pathsep.join([*sorted(dirs), os.environ["PATH"]]),
        "COSIGN_PASSWORD": secrets.token_hex(16),
        # helm keeps its registry logins and caches here, not in the user's home.
        "HELM_CONFIG_HOME": str(workdir / "helm-config"),
        "HELM_CACHE_HOME": str(workdir / "helm-cache"),
        "HELM_DATA_HOME": str(workdir / "helm-data"),
    }


@contextmanager
def cut_release(workdir: Path) -> Iterator[Release]:
    """A throwaway cosign key pair, a registry on a free loopback port, and hack/release.sh
    run against it; the registry stops on exit."""
    env = tools_env(workdir)
    subprocess.run(["cosign", "generate-key-pair"], cwd=workdir, env=env, check=True,
                   capture_output=True)  # fmt: skip
    with LocalRegistry(workdir / "registry") as registry:
        key = str(workdir / "cosign.key")
        argv = [str(REPO / "hack" / "release.sh"), "--registry", registry.host,
                "--version", VERSION, "--key", key, "--plain-http"]  # fmt: skip
        done = subprocess.run(argv, env=env, check=False, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise ReleaseFailedError(
                f"hack/release.sh exited {done.returncode}:\n{done.stdout}\n"
                f"--- registry log ---\n{registry.log_tail()}"
            )
        image_line, chart_line = done.stdout.strip().splitlines()[-2:]
        yield Release(
            registry,
            image_line.removeprefix("image: "),
            chart_line.removeprefix("chart: "),
            workdir / "cosign.pub",
            env,
        )
