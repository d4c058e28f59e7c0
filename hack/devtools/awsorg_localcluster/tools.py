"""Where the test binaries are: environment overrides, else hack/build-tools.sh's cache.

The overrides are the ones controller-runtime's envtest reads, so a folder
prepared for envtest works here too:

* ``TEST_ASSET_KUBE_APISERVER``, ``TEST_ASSET_ETCD``, ``TEST_ASSET_KUBECTL``
  (and, by the same pattern, ``TEST_ASSET_HELM``, ``TEST_ASSET_KUBECONFORM``):
  the path of one binary;
* ``KUBEBUILDER_ASSETS``: a folder holding ``kube-apiserver``, ``etcd`` and
  ``kubectl``.

Otherwise hack/build-tools.sh answers (``--print-path NAME``), so the
pinned versions and the cache layout live in one place, the script. Nothing
here builds: a missing binary raises :class:`ToolNotFoundError` that says to
run hack/build-tools.sh (a cold build takes long; it is no side effect to
hide in a test fixture).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = [
    "ENVTEST_TOOLS",
    "TOOLS",
    "ToolNotFoundError",
    "argocd_files_dir",
    "build_tools_script",
    "kubeconform_schema_dir",
    "tool_path",
]

#: Binaries that hack/build-tools.sh provides.
TOOLS = (
    "kube-apiserver",
    "etcd",
    "kubectl",
    "helm",
    "kubeconform",
    "argocd",
    "argocd-health-test",
    "cosign",
    "syft",
    "actionlint",
    "kubelet",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "pause",
)
#: The ones an envtest ``KUBEBUILDER_ASSETS`` folder holds.
ENVTEST_TOOLS = ("kube-apiserver", "etcd", "kubectl")

_SCRIPT = Path("hack") / "build-tools.sh"


class ToolNotFoundError(RuntimeError):
    """A binary is neither overridden by the environment nor built yet."""


def _env_var(name: str) -> str:
    return "TEST_ASSET_" + name.upper().replace("-", "_")


def build_tools_script() -> Path:
    """hack/build-tools.sh of the checkout this package (or the cwd) is in."""
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / _SCRIPT
            if candidate.is_file():
                return candidate
    raise ToolNotFoundError(
        "cannot find hack/build-tools.sh above "
        + " or ".join(str(s) for s in starts)
        + "; set TEST_ASSET_<NAME> or KUBEBUILDER_ASSETS instead"
    )


def _executable(path: Path, origin: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolNotFoundError(f"{origin} points to {path}, which is not an executable file")
    return path


def _ask_script(*args: str) -> Path:
    script = build_tools_script()
    done = subprocess.run(
        ["bash", str(script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip()
        raise ToolNotFoundError(
            f"{message}\nbuild the tools first: {script} (a cold build takes a while; "
            "it prints how long) or point TEST_ASSET_<NAME> / KUBEBUILDER_ASSETS to them"
        )
    return Path(done.stdout.strip())


def tool_path(name: str) -> Path:
    """Absolute path of a test binary: ``kube-apiserver``, ``etcd``, ``kubectl``,
    ``helm``, ``kubeconform``, ``argocd`` or ``argocd-health-test``.

    Raises :class:`ToolNotFoundError` if it is neither overridden by the
    environment nor built by hack/build-tools.sh.
    """
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}")
    override = os.environ.get(_env_var(name))
    if override:
        return _executable(Path(override).resolve(), _env_var(name))
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        candidate = Path(assets).resolve() / name
        if name in ENVTEST_TOOLS or candidate.exists():
            return _executable(candidate, "KUBEBUILDER_ASSETS")
    return _executable(_ask_script("--print-path", name), "hack/build-tools.sh")


def argocd_files_dir() -> Path:
    """Folder with what the Argo CD binary needs beside it, from the module it was built
    from: ``crds/*.yaml`` and ``bin/git-verify-wrapper.sh``, ``bin/gpg-wrapper.sh``."""
    return _ask_script("--print-argocd-files")


def kubeconform_schema_dir() -> Path:
    """Folder to pass as ``kubeconform -schema-location`` for the pinned release.

    It holds ``v<version>-standalone[-strict]/`` (and ``master-...`` links),
    generated offline by hack/build-tools.sh from Kubernetes' swagger.json
    (see :mod:`awsorg_localcluster.kubeschemas`).
    """
    return _ask_script("--print-schema-dir")
