#!/usr/bin/env bash
# Cuts a release: a signed multi-arch image and a signed OCI Helm chart, with SBOMs and
# provenance, pushed to one registry and verified there.
#
#   hack/release.sh --registry HOST:PORT --version X.Y.Z --key COSIGN_KEY [--plain-http]
#   hack/release.sh --registry ghcr.io/OWNER --version X.Y.Z --keyless        (in GitHub Actions)
#
# Steps, each checked before the next:
#   1. X.Y.Z must equal pyproject.toml's version, Chart.yaml's version and appVersion, and
#      CHANGELOG.md must have a "## [X.Y.Z]" section. Nothing is stamped: the release commit
#      carries the version, so the tag, the package, the chart and the image all agree.
#   2. The image for linux/amd64 and linux/arm64 (hack/image.sh; arm64 from arm64 wheels), pushed as
#      one OCI index, REGISTRY/awsorg-operator:X.Y.Z.
#   3. An SPDX SBOM of each platform image (syft, read from the registry), attached to that
#      image as a signed attestation (predicate type https://spdx.dev/Document).
#   4. A SLSA v1 provenance attestation (https://slsa.dev/provenance/v1: source commit,
#      builder, build command) on the index and on each platform image.
#   5. Signatures on the index and on every platform image (cosign sign --recursive).
#   6. The chart with the image pinned by digest (values image.repository, tag and digest, and
#      the artifacthub.io/images annotation), pushed as oci://REGISTRY/charts/awsorg-operator
#      version X.Y.Z, and signed.
#   7. Verification of every signature and attestation with the public key (or, keyless, the
#      workflow's identity), of the index's platforms and of the chart's pinned digest.
# The last two lines of stdout are
#   image: REGISTRY/awsorg-operator:X.Y.Z@sha256:...
#   chart: REGISTRY/charts/awsorg-operator:X.Y.Z@sha256:...
#
#   --key FILE     a cosign private key (COSIGN_PASSWORD in the environment if it has one).
#                  Key signatures are not written to a transparency log: verify them with
#                  `cosign verify --key cosign.pub --insecure-ignore-tlog=true`.
#   --keyless      sign with the ambient OIDC identity (GitHub Actions' id-token) through
#                  Sigstore's public Fulcio and Rekor; verification expects the identity
#                  $GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF.
#   --plain-http   the registry speaks HTTP (a local registry for tests), not HTTPS.
#
# Registry credentials are those the tools already have: podman's auth file (or
# ~/.docker/config.json, which podman, cosign and syft all read) and `helm registry login`.
# Needs podman, skopeo, helm, cosign, syft (hack/setup.sh provides them) and python3.
set -euo pipefail

REPO=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
PLATFORMS=(amd64 arm64)
ARGV=("$@")

log() { echo "release: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

REGISTRY="" VERSION="" KEY="" KEYLESS=0 PLAIN_HTTP=0
parse_args() {
  while (($#)); do
    case $1 in
      --registry) REGISTRY=${2:?--registry needs HOST:PORT} && shift ;;
      --version) VERSION=${2:?--version needs X.Y.Z} && shift ;;
      --key) KEY=${2:?--key needs a cosign private key file} && shift ;;
      --keyless) KEYLESS=1 ;;
      --plain-http) PLAIN_HTTP=1 ;;
      -h | --help) usage ;;
      *) log "unknown argument: $1" && usage ;;
    esac
    shift
  done
  if [ -z "$REGISTRY" ] || [ -z "$VERSION" ]; then usage; fi
  [[ $VERSION =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] ||
    die "--version $VERSION is not SemVer X.Y.Z[-PRERELEASE]"
  if ((KEYLESS)); then
    [ -z "$KEY" ] || die "--key and --keyless exclude each other"
  else
    [ -n "$KEY" ] || die "--key FILE or --keyless is needed"
    [ -f "$KEY" ] || die "no cosign key at $KEY"
  fi
  REGISTRY=${REGISTRY%/}
}

need_tools() {
  local tool
  for tool in podman skopeo helm cosign syft python3 git; do
    command -v "$tool" >/dev/null || die "$tool is missing (hack/setup.sh installs it)"
  done
}

# The flags each tool needs for this registry and this kind of signing.
tool_flags() {
  SKOPEO=() PODMAN_TLS=() HELM=() COSIGN_REG=() SIGN=() VERIFY=()
  if ((PLAIN_HTTP)); then
    SKOPEO=(--tls-verify=false) PODMAN_TLS=(--tls-verify=false) HELM=(--plain-http)
    COSIGN_REG=(--allow-http-registry --allow-insecure-registry)
    export SYFT_REGISTRY_INSECURE_USE_HTTP=true
  fi
  if ((KEYLESS)); then
    : "${GITHUB_SERVER_URL:?keyless verification expects GitHub Actions (GITHUB_SERVER_URL)}"
    : "${GITHUB_WORKFLOW_REF:?keyless verification expects GitHub Actions (GITHUB_WORKFLOW_REF)}"
    SIGN=(--yes)
    VERIFY=(--certificate-identity "$GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF"
      --certificate-oidc-issuer https://token.actions.githubusercontent.com)
  else
    # No transparency log can be reached with a key of one's own on a private registry:
    # cosign v3 signs without one only with the old bundle format and no signing config.
    SIGN=(--key "$KEY" --yes --tlog-upload=false --use-signing-config=false --new-bundle-format=false)
    cosign public-key --key "$KEY" >"$WORK/cosign.pub" || die "cannot read the public key of $KEY"
    VERIFY=(--key "$WORK/cosign.pub" --insecure-ignore-tlog=true)
  fi
}

field() { sed -n "s/^$2 = \"\\(.*\\)\"\$/\\1/p;s/^$2: \"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\}\$/\\1/p" "$1" | head -n 1; }

check_version() {
  local chart=$REPO/charts/awsorg-operator/Chart.yaml found
  found=$(field "$REPO/pyproject.toml" version)
  [ "$found" = "$VERSION" ] || die "pyproject.toml says version $found, not $VERSION: bump it in the release commit"
  for key in version appVersion; do
    found=$(field "$chart" "$key")
    [ "$found" = "$VERSION" ] || die "Chart.yaml says $key $found, not $VERSION: bump it in the release commit"
  done
  grep -q "^## \[$VERSION\]" "$REPO/CHANGELOG.md" || die "CHANGELOG.md has no '## [$VERSION]' section"
  log "version $VERSION: pyproject.toml, Chart.yaml and CHANGELOG.md agree"
}

# Builds one image per platform and pushes them as one OCI index; sets INDEX_DIGEST and
# PLATFORM_DIGEST[arch].
build_and_push_index() {
  local list=$LIST arch tag
  podman manifest create "$list" >/dev/null
  for arch in "${PLATFORMS[@]}"; do
    tag=$(cd "$REPO" && hack/image.sh --platform "linux/$arch" --tag "$list-$arch")
    podman manifest add "$list" "containers-storage:$tag" >/dev/null
  done
  log "pushing $IMAGE:$VERSION (${PLATFORMS[*]})"
  podman manifest push --all --format oci "${PODMAN_TLS[@]}" --digestfile "$WORK/index.digest" \
    "$list" "docker://$IMAGE:$VERSION" >&2
  INDEX_DIGEST=$(cat "$WORK/index.digest")
  skopeo inspect --raw "${SKOPEO[@]}" "docker://$IMAGE@$INDEX_DIGEST" >"$WORK/index.json"
  declare -gA PLATFORM_DIGEST=()
  for arch in "${PLATFORMS[@]}"; do
    PLATFORM_DIGEST[$arch]=$(python3 -c '
import json, sys
index = json.load(open(sys.argv[1]))
(digest,) = [m["digest"] for m in index["manifests"]
             if m["platform"]["os"] == "linux" and m["platform"]["architecture"] == sys.argv[2]]
print(digest)' "$WORK/index.json" "$arch") || die "the pushed index has no single linux/$arch image"
    log "linux/$arch: $IMAGE@${PLATFORM_DIGEST[$arch]}"
  done
}

attest() {
  cosign attest "${SIGN[@]}" "${COSIGN_REG[@]}" --type "$1" --predicate "$2" "$3" >&2
}

attach_sboms() {
  local arch ref
  for arch in "${PLATFORMS[@]}"; do
    ref=$IMAGE@${PLATFORM_DIGEST[$arch]}
    log "SBOM of linux/$arch"
    syft scan --quiet "registry:$ref" -o "spdx-json=$WORK/sbom-$arch.spdx.json"
    attest spdxjson "$WORK/sbom-$arch.spdx.json" "$ref"
  done
}

# The SLSA v1 provenance predicate: what was built from which commit, by whom, how.
write_provenance() {
  local commit dirty=false source builder invocation
  commit=$(git -C "$REPO" rev-parse HEAD)
  [ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ] || dirty=true
  if [ -n "${GITHUB_REPOSITORY:-}" ]; then
    source="git+$GITHUB_SERVER_URL/$GITHUB_REPOSITORY@${GITHUB_REF:-$commit}"
    builder="$GITHUB_SERVER_URL/$GITHUB_WORKFLOW_REF"
    invocation="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID/attempts/${GITHUB_RUN_ATTEMPT:-1}"
  else
    source="git+$(sed -n 's/^Repository = "\(.*\)"$/\1/p' "$REPO/pyproject.toml")@$commit"
    builder="local://$(hostname)/hack/release.sh"
    invocation="local://$(hostname)/release/$VERSION/$STARTED"
  fi
  python3 - "$WORK/provenance.json" "$source" "$commit" "$dirty" "$builder" "$invocation" \
    "$STARTED" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$VERSION" "$REGISTRY" "$INDEX_DIGEST" \
    "${ARGV[@]}" <<'PY'
import json, sys
out, source, commit, dirty, builder, invocation, started, finished, version, registry, index, *argv = sys.argv[1:]
# The key's path says nothing about the build and may name a private folder.
command = ["hack/release.sh", *("<key>" if i and argv[i - 1] == "--key" else a for i, a in enumerate(argv))]
predicate = {
    "buildDefinition": {
        "buildType": "https://github.com/awsorg-operator/awsorg-operator/blob/main/docs/versioning.md#release-provenance",
        "externalParameters": {
            "version": version,
            "registry": registry,
            "platforms": ["linux/amd64", "linux/arm64"],
            "command": command,
            "source": {"uri": source, "uncommittedChanges": dirty == "true"},
        },
        "resolvedDependencies": [{"uri": source, "digest": {"gitCommit": commit}}],
    },
    "runDetails": {
        "builder": {"id": builder},
        "metadata": {"invocationId": invocation, "startedOn": started, "finishedOn": finished},
        "byproducts": [{"name": "index", "digest": {"sha256": index.removeprefix("sha256:")}}],
    },
}
json.dump(predicate, open(out, "w"), indent=2)
PY
}

attach_provenance() {
  local arch
  write_provenance
  attest slsaprovenance1 "$WORK/provenance.json" "$IMAGE@$INDEX_DIGEST"
  for arch in "${PLATFORMS[@]}"; do
    attest slsaprovenance1 "$WORK/provenance.json" "$IMAGE@${PLATFORM_DIGEST[$arch]}"
  done
}

sign_image() {
  log "signing $IMAGE@$INDEX_DIGEST and its platform images"
  cosign sign "${SIGN[@]}" "${COSIGN_REG[@]}" --recursive "$IMAGE@$INDEX_DIGEST" >&2
}

# The chart as released: a copy whose values and Artifact Hub annotation pin the image.
package_chart() {
  local copy=$WORK/chart/awsorg-operator
  mkdir -p "$WORK/chart"
  cp -r "$REPO/charts/awsorg-operator" "$copy"
  python3 - "$copy" "$IMAGE" "$VERSION" "$INDEX_DIGEST" <<'PY'
import re, sys
from pathlib import Path
chart, image, version, digest = sys.argv[1:]
values = Path(chart, "values.yaml")
text = values.read_text()
block = re.search(r"^image:\n(?:[ #].*\n|\n)*", text, re.M)
assert block, "values.yaml has no top-level image: block"
pinned = block[0]
for key, value in (("repository", image), ("tag", version), ("digest", digest)):
    pinned, n = re.subn(rf"^  {key}: .*$", f"  {key}: {value}", pinned, count=1, flags=re.M)
    assert n == 1, f"values.yaml's image block has no {key}"
values.write_text(text[: block.start()] + pinned + text[block.end():])
meta = Path(chart, "Chart.yaml")
text = meta.read_text()
images = (
    "  artifacthub.io/images: |\n"
    f"    - name: awsorg-operator\n      image: {image}:{version}@{digest}\n"
    "      platforms: [linux/amd64, linux/arm64]\n"
)
text, n = re.subn(r"^  artifacthub\.io/images: \|\n(?:    .*\n)*", images, text, flags=re.M)
assert n == 1, "Chart.yaml has no artifacthub.io/images annotation"
meta.write_text(text)
PY
  helm package "$copy" --destination "$WORK" >&2
  CHART_TGZ=$WORK/awsorg-operator-$VERSION.tgz
  [ -f "$CHART_TGZ" ] || die "helm package did not write $CHART_TGZ"
}

push_chart() {
  log "pushing oci://$REGISTRY/charts/awsorg-operator $VERSION"
  helm push "$CHART_TGZ" "oci://$REGISTRY/charts" "${HELM[@]}" 2>&1 | tee "$WORK/helm-push.log" >&2
  CHART_DIGEST=$(sed -n 's/^Digest: \(sha256:[0-9a-f]\{64\}\)$/\1/p' "$WORK/helm-push.log")
  [ -n "$CHART_DIGEST" ] || die "helm push printed no digest"
  log "signing $CHART@$CHART_DIGEST"
  cosign sign "${SIGN[@]}" "${COSIGN_REG[@]}" "$CHART@$CHART_DIGEST" >&2
}

verify_all() {
  local arch ref
  log "verifying what was pushed"
  for ref in "$IMAGE@$INDEX_DIGEST" "$CHART@$CHART_DIGEST"; do
    cosign verify "${VERIFY[@]}" "${COSIGN_REG[@]}" "$ref" >/dev/null
  done
  cosign verify-attestation "${VERIFY[@]}" "${COSIGN_REG[@]}" --type slsaprovenance1 \
    "$IMAGE@$INDEX_DIGEST" >/dev/null
  for arch in "${PLATFORMS[@]}"; do
    ref=$IMAGE@${PLATFORM_DIGEST[$arch]}
    cosign verify "${VERIFY[@]}" "${COSIGN_REG[@]}" "$ref" >/dev/null
    cosign verify-attestation "${VERIFY[@]}" "${COSIGN_REG[@]}" --type slsaprovenance1 "$ref" >/dev/null
    cosign verify-attestation "${VERIFY[@]}" "${COSIGN_REG[@]}" --type spdxjson "$ref" \
      >"$WORK/sbom-$arch.verified"
    python3 - "$WORK/sbom-$arch.verified" <<'PY' || die "the SBOM attested for linux/$arch lacks the operator's packages"
import base64, json, sys
names = set()
for line in open(sys.argv[1]):
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    names |= {p["name"] for p in statement["predicate"].get("packages", [])}
missing = {"awsorg-operator", "kopf", "boto3"} - names
sys.exit(f"missing {sorted(missing)}" if missing else 0)
PY
  done
  # What the chart pins is what was pushed.
  helm show values "oci://$REGISTRY/charts/awsorg-operator" --version "$VERSION" "${HELM[@]}" \
    >"$WORK/values.pulled" 2>/dev/null
  grep -qx "  digest: $INDEX_DIGEST" "$WORK/values.pulled" || die "the pushed chart does not pin $INDEX_DIGEST"
  grep -qx "  repository: $IMAGE" "$WORK/values.pulled" || die "the pushed chart does not name $IMAGE"
  log "verified: signatures, SBOM and provenance attestations, the chart's pinned digest"
}

cleanup() {
  local arch
  podman manifest rm "$LIST" >/dev/null 2>&1 || true
  for arch in "${PLATFORMS[@]}"; do podman untag "$LIST-$arch" "$LIST-$arch" 2>/dev/null || true; done
  rm -rf "$WORK"
}

main() {
  parse_args "$@"
  need_tools
  STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  WORK=$(mktemp -d)
  # The local manifest list and image tags are this run's own (podman's storage is shared by
  # every checkout and run on the machine) and go when it ends; the layers stay as cache.
  LIST=localhost/awsorg-operator:release-$VERSION-${WORK##*.}
  trap cleanup EXIT
  IMAGE=$REGISTRY/awsorg-operator
  CHART=$REGISTRY/charts/awsorg-operator
  check_version
  tool_flags
  build_and_push_index
  sign_image
  attach_sboms
  attach_provenance
  package_chart
  push_chart
  verify_all
  echo "image: $IMAGE:$VERSION@$INDEX_DIGEST"
  echo "chart: $CHART:$VERSION@$CHART_DIGEST"
}

main "$@"
