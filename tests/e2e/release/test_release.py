"""A release cut by hack/release.sh into a real local registry, then checked as a user would.

The registry is Debian's `docker-registry` (distribution) on a loopback port; the key pair is
a throwaway one made by cosign (conftest.py). Every check is a command a user types:
`cosign verify`, `cosign verify-attestation`, `skopeo`, `podman run --platform linux/arm64`.
The docs' own commands run in test_release_docs.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from awsorg_devstack import REPO
from awsorg_devstack.container import RUNTIME_FLAGS
from awsorg_devstack.release import VERSION, Release
from awsorg_localcluster import LocalControlPlane

# The first run on a fresh machine builds the arm64 stand-in base under QEMU (about 6 minutes,
# once); the arm64 image is built without emulation. The tests share the one release.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]


def test_the_last_lines_name_the_index_and_the_chart_by_digest(release: Release) -> None:
    host = release.registry.host
    assert re.fullmatch(rf"{host}/awsorg-operator:{VERSION}@sha256:[0-9a-f]{{64}}", release.image)
    assert re.fullmatch(rf"{host}/charts/awsorg-operator:{VERSION}@sha256:[0-9a-f]{{64}}",
                        release.chart)  # fmt: skip
    assert set(release.platform_digests()) == {"amd64", "arm64"}


def test_a_user_verifies_the_image_and_the_chart_with_the_public_key(release: Release) -> None:
    tag_only = release.image.split("@")[0]
    for ref in (
        release.image,
        tag_only,
        release.chart,
        *(f"{tag_only.rsplit(':', 1)[0]}@{d}" for d in release.platform_digests().values()),
    ):
        done = release.verify(ref)
        assert done.returncode == 0, f"{ref}: {done.stderr}"
        (signature,) = json.loads(done.stdout)
        if "@" in ref:
            assert signature["critical"]["image"]["docker-manifest-digest"] == ref.split("@")[1]


def test_an_unsigned_a_copied_or_a_foreign_signed_digest_is_refused(
    release: Release, tmp_path: Path
) -> None:
    repo = release.repository
    # Unsigned: the arm64 image's content under another manifest (Docker's format), pushed beside
    # the release as a moved tag would point at it.
    unsigned = f"{repo}:{VERSION}-unsigned"
    arm64 = release.platform_digests()["arm64"]
    plain = ("--src-tls-verify=false", "--dest-tls-verify=false")
    release.run("skopeo", "copy", "--format", "v2s2", *plain, f"docker://{repo}@{arm64}",
                f"docker://{unsigned}")  # fmt: skip
    # Re-tagged: the signed index copied to another repository, which has no signatures of it.
    retagged = f"{release.registry.host}/elsewhere:{VERSION}"
    release.run("skopeo", "copy", "--all", *plain, f"docker://{repo}@{release.index_digest}",
                f"docker://{retagged}")  # fmt: skip
    # Signed, but with another key than the project's.
    other = tmp_path / "other"
    other.mkdir()
    release.run("cosign", "generate-key-pair", "--output-key-prefix", str(other / "cosign"))
    for ref, key in ((unsigned, None), (retagged, None), (release.image, other / "cosign.pub")):
        done = release.verify(ref, key)
        assert done.returncode != 0, f"{ref} verified: {done.stdout}"
    assert release.verify(release.image).returncode == 0, "the release itself still verifies"


def test_each_platform_carries_a_verified_sbom_listing_kopf_and_boto3(release: Release) -> None:
    constraints = dict(
        line.split("==") for line in (REPO / "hack" / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )  # fmt: skip
    repo = release.repository
    for arch, digest in release.platform_digests().items():
        (statement,) = release.attestations(f"{repo}@{digest}", "spdxjson")
        assert statement["predicateType"] == "https://spdx.dev/Document"
        assert statement["subject"][0]["digest"]["sha256"] == digest.removeprefix("sha256:")
        versions = {p["name"]: p.get("versionInfo") for p in statement["predicate"]["packages"]}
        for name in ("kopf", "boto3"):
            assert versions.get(name) == constraints[name], f"{arch}: {name} {versions.get(name)}"
        assert versions.get("awsorg-operator") == VERSION, arch


def test_the_provenance_names_the_commit_and_the_command(release: Release) -> None:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    (statement,) = release.attestations(release.image, "slsaprovenance1")
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    build = statement["predicate"]["buildDefinition"]
    assert build["resolvedDependencies"][0]["digest"] == {"gitCommit": head}
    assert build["externalParameters"]["command"][:5] == [
        "hack/release.sh", "--registry", release.registry.host, "--version", VERSION,
    ]  # fmt: skip
    assert "<key>" in build["externalParameters"]["command"]
    assert statement["predicate"]["runDetails"]["builder"]["id"]


def test_the_arm64_image_runs_its_python_as_aarch64_under_qemu(release: Release) -> None:
    repo = release.repository
    ref = f"{repo}@{release.platform_digests()['arm64']}"
    try:
        done = release.run(
            "podman", "run", "--rm", "--tls-verify=false", "--platform", "linux/arm64",
            *RUNTIME_FLAGS, "--entrypoint", "python3", ref,
            "-c", "import platform, kopf, boto3, pydantic_core; print(platform.machine())",
        )  # fmt: skip
    finally:
        # Pulled from this run's registry: nobody else uses it, and storage is shared.
        release.run("podman", "rmi", ref, check=False)
    assert done.stdout.strip() == "aarch64", done.stderr


def test_helm_installs_the_chart_by_version_pinning_the_released_image(
    release: Release, cluster: LocalControlPlane
) -> None:
    chart = release.chart.split(":" + VERSION)[0]
    name, namespace = "released", "awsorg-release-test"
    kube = ("--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace)
    try:
        release.run("helm", "install", name, f"oci://{chart}", "--version", VERSION,
                    "--plain-http", "--create-namespace", *kube)  # fmt: skip
        done = release.run("kubectl", "get", "deployment", "-o", "json", "-l",
                           f"app.kubernetes.io/instance={name}", *kube)  # fmt: skip
        (deployment,) = json.loads(done.stdout)["items"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{release.repository}@{release.index_digest}"
    finally:
        release.run("helm", "uninstall", name, *kube, check=False)
