"""docs/install.md's published-chart path and docs/versioning.md's CRD upgrade, run as written
against the release in the local registry, into a control plane of their own."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from awsorg_devstack import REPO
from awsorg_devstack.docblocks import parse
from awsorg_devstack.release import VERSION, Release
from awsorg_localcluster import LocalControlPlane

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

CRD = "auditmanagerorgconfigs.awsorg.io"
SCHEMA = "/spec/versions/0/schema/openAPIV3Schema"

# What differs here from a user's machine, and nothing else: the registry's name, a key pair in
# place of the release workflow's keyless identity (no Sigstore here), and a registry that
# speaks plain HTTP (flags appended to every cosign and skopeo command, and to the helm commands
# that reach the registry). VERSION is the
# one the doc sets; versioning.md's blocks take it from install.md's, as a reader does.
LOCAL = """
VERSION={version}
REGISTRY={registry}
SIGNER=(--key {public_key} --insecure-ignore-tlog=true)
cosign() {{ command cosign "$@" --allow-http-registry --allow-insecure-registry; }}
helm() {{ case $1 in
  install | upgrade | show | pull | push) command helm "$@" --plain-http ;;
  *) command helm "$@" ;;
esac; }}
skopeo() {{ command skopeo "$@" --tls-verify=false; }}
"""


def doc_blocks(doc: str) -> str:
    """The blocks of a doc that the docs' own runner cannot run (they need a release) and that
    name this file as the one that runs them, in order, as one script."""
    blocks = [
        b.text
        for b in parse(doc, (REPO / doc).read_text())
        if b.kind == "not-run" and Path(__file__).name in b.arg
    ]
    assert blocks, f"{doc} has no block marked for {Path(__file__).name}"
    return "\n".join(blocks)


def run_doc(release: Release, script: str, kubeconfig: Path) -> str:
    """Runs a doc's commands, its REGISTRY= and SIGNER=(...) lines replaced by the local ones."""
    script = re.sub(r"^REGISTRY=.*$", "", script, flags=re.M)
    script = re.sub(r"^SIGNER=\((?:.|\n)*?\)$", "", script, flags=re.M)
    local = LOCAL.format(
        version=VERSION, registry=release.registry.host, public_key=release.public_key
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", local + script],
        env=release.env | {"KUBECONFIG": str(kubeconfig)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{script}\n--- output ---\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def user_cluster() -> Iterator[LocalControlPlane]:
    """A control plane of its own: the docs install into awsorg-system under the chart's
    default names, which the other e2e tests' RBAC takes in the session's control plane."""
    with LocalControlPlane() as cp:
        yield cp


def test_the_docs_verify_install_and_upgrade_the_released_chart(
    release: Release, user_cluster: LocalControlPlane
) -> None:
    script = doc_blocks("docs/install.md")
    assert "cosign verify" in script and "helm install" in script, script
    run_doc(release, script, user_cluster.kubeconfig)
    image = "jsonpath={.spec.template.spec.containers[0].image}"
    done = user_cluster.kubectl(
        "-n", "awsorg-system", "get", "deployment", "awsorg-operator", "-o", image
    )
    assert done.stdout == f"{release.repository}@{release.index_digest}"

    # The CRD as an older release would have left it: without the description this one has.
    remove = f'[{{"op": "remove", "path": "{SCHEMA}/description"}}]'
    user_cluster.kubectl("patch", "crd", CRD, "--type=json", "-p", remove)
    run_doc(release, doc_blocks("docs/versioning.md"), user_cluster.kubeconfig)
    path = "{.spec.versions[0].schema.openAPIV3Schema.description}"
    done = user_cluster.kubectl("get", "crd", CRD, "-o", f"jsonpath={path}")
    assert done.stdout, "the documented upgrade did not bring the CRD back to the release's"
    revisions = user_cluster.kubectl(
        "-n", "awsorg-system", "get", "secret", "-o", "name",
        "-l", "owner=helm,name=awsorg-operator,version=2",
    )  # fmt: skip
    assert revisions.stdout.strip(), "helm upgrade made no second revision"
