"""The image recipe's rules, read from the Dockerfile (no container engine runs here)."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass

import pytest

from .helm import REPO

pytestmark = pytest.mark.unit

INSTALL_SCRIPT = "hack/install-package.sh"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def _instructions() -> list[Instruction]:
    text = (REPO / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)  # continuation lines
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    return out


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in _instructions():
        if ins.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _base_images() -> list[str]:
    args: dict[str, str] = {}
    for ins in _instructions():
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, default = ins.args.partition("=")
            args.setdefault(name, default)
    images = []
    for stage in _stages():
        # FROM [--platform=...] IMAGE [AS NAME]; an ARG's default may name another ARG.
        image = next(word for word in stage[0].args.split() if not word.startswith("--"))
        while "${" in image:
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        images.append(image)
    return images


def test_build_is_multi_stage() -> None:
    assert len(_stages()) >= 2


@pytest.mark.parametrize("image", _base_images())
def test_base_is_slim_python_pinned_by_full_version(image: str) -> None:
    assert re.fullmatch(
        r"(docker\.io/library/)?python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image
    ), image
    assert "latest" not in image


def test_final_stage_runs_as_numeric_non_root_user() -> None:
    users = [i.args for i in _stages()[-1] if i.keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user} is not numeric"
    assert all(int(part) != 0 for part in user.split(":"))


def test_final_stage_installs_nothing_and_copies_only_the_environment() -> None:
    final = _stages()[-1]
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    for tool in ("pip", "apt-get", "gcc", "build-essential", "curl", "wget"):
        assert tool not in runs, f"the final stage runs {tool}"
    copies = [i.args for i in final if i.keyword in ("COPY", "ADD")]
    assert copies
    assert all(c.startswith("--from=") for c in copies), copies


def test_the_package_is_installed_by_the_shared_script() -> None:
    build_runs = [i.args for i in _stages()[0] if i.keyword == "RUN"]
    assert any(run.split()[0] == INSTALL_SCRIPT for run in build_runs), build_runs


def test_runtime_environment_allows_a_read_only_root() -> None:
    env = " ".join(i.args for i in _stages()[-1] if i.keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env


def test_entrypoint_is_the_console_script() -> None:
    entry = [i.args for i in _stages()[-1] if i.keyword == "ENTRYPOINT"]
    assert entry
    assert entry[-1].startswith("["), "ENTRYPOINT must use the exec form"
    assert entry[-1].strip('[]"').endswith("/bin/awsorg-operator")


def test_oci_labels() -> None:
    labels = " ".join(i.args for i in _stages()[-1] if i.keyword == "LABEL")
    for key in ("title", "description", "version", "revision", "licenses", "created"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_base_name_label_is_the_base_actually_used() -> None:
    """hack/image.sh builds on a stand-in base where no registry is reachable: the label
    follows the PYTHON_IMAGE build argument rather than naming the default."""
    final = _stages()[-1]
    assert "PYTHON_IMAGE" in [i.args for i in final if i.keyword == "ARG"]
    labels = " ".join(i.args for i in final if i.keyword == "LABEL")
    assert 'org.opencontainers.image.base.name="${PYTHON_IMAGE}"' in labels


def test_the_license_reaches_the_build() -> None:
    """pip puts LICENSE into the package's .dist-info/licenses, which the image copies."""
    assert (REPO / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "!LICENSE" in (REPO / ".dockerignore").read_text().splitlines()


def test_install_script_is_posix_sh_without_cache() -> None:
    script = REPO / INSTALL_SCRIPT
    assert script.stat().st_mode & 0o111, "the install script is not executable"
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "--no-cache-dir" in text
    command = text.split("pip install", 1)[1].replace("\\\n", " ").splitlines()[0]
    assert "-e " not in shlex.split(command)


def test_test_setup_uses_the_same_install_script() -> None:
    """The tests run the package the image's recipe installs: hack/test.sh, or a script it
    runs, calls the install script."""
    test_sh = (REPO / "hack" / "test.sh").read_text()
    called = {REPO / m for m in re.findall(r"hack/[\w-]+\.sh", test_sh)} - {REPO / INSTALL_SCRIPT}
    texts = [test_sh, *(p.read_text() for p in called if p.is_file())]
    assert any(f"{INSTALL_SCRIPT} " in text for text in texts)


def test_dockerignore_lets_in_only_what_the_install_needs() -> None:
    rules = [
        line
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert rules[0] == "*"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert {"pyproject.toml", "operator", INSTALL_SCRIPT} <= allowed
