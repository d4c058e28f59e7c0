"""The stand-in base's Debian sources are the host's own, read at run time, so that the
repository names no mirror: hack/image.sh --print-debian-sources on a made-up /etc."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # runs a shell script, no long-lived process

REPO = Path(__file__).parents[2]

DEB822 = """\
Types: deb
URIs: http://mirror.example.invalid/debian
Suites: {codename} {codename}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://sources.example.invalid/debian
Suites: {codename}

Types: deb
URIs: http://off.example.invalid/debian
Suites: {codename}
Enabled: no
"""
ONE_LINE = """\
# a comment
deb [arch=amd64 signed-by=/k] http://sec.example.invalid/debian-security {codename}-security main
deb https://vendor.example.invalid/apt vendor-{codename} main
"""


def sources(tmp_path: Path, codename: str) -> list[str]:
    apt = tmp_path / "etc" / "apt" / "sources.list.d"
    apt.mkdir(parents=True)
    (tmp_path / "etc" / "os-release").write_text(f"ID=debian\nVERSION_CODENAME={codename}\n")
    (apt / "debian.sources").write_text(DEB822.format(codename=codename))
    (apt / "security.list").write_text(ONE_LINE.format(codename=codename))
    (apt / "other.sources.disabled").write_text(DEB822.format(codename=codename))
    done = subprocess.run(
        [str(REPO / "hack" / "image.sh"), "--print-debian-sources"],
        env=os.environ | {"APT_ROOT": str(tmp_path)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.splitlines()


@pytest.mark.parametrize("codename", ["bookworm", "trixie"])
def test_the_hosts_enabled_debian_suites_become_bookworms(tmp_path: Path, codename: str) -> None:
    assert sorted(sources(tmp_path, codename)) == [
        "deb http://mirror.example.invalid/debian bookworm main",
        "deb http://mirror.example.invalid/debian bookworm-updates main",
        "deb http://sec.example.invalid/debian-security bookworm-security main",
    ]
