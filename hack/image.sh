#!/usr/bin/env bash
# Builds the operator's image from the repository's Dockerfile with podman and prints its
# reference on stdout (everything else goes to stderr).
#
#   hack/image.sh [--standin | --real] [--platform linux/ARCH] [--tag REF] [--oci-archive PATH]
#
# The base is the Dockerfile's PYTHON_IMAGE (the real python:3.11.x-slim-bookworm), unless its
# registry cannot be reached: then, or with --standin, a Debian stand-in base is used,
# localhost/python-standin:3.11-bookworm-ARCH: Debian bookworm's python3 (3.11) assembled with
# mmdebstrap and `podman import`, built once per architecture and then reused from podman's
# storage (`podman rmi localhost/python-standin:3.11-bookworm-amd64` to rebuild it). Its Debian
# mirrors are those of the host's own apt sources, read at run time (debian_sources below). The
# published image uses the real base; the stand-in is for machines without a registry (CI,
# these tests).
#
# --platform linux/amd64 or linux/arm64 (default: the host's). A foreign platform runs under
# QEMU: Debian's qemu-user-static, registered with binfmt_misc here when it is not yet
# (ensure_binfmt; needs root). The arm64 stand-in takes about 6 minutes, once. The image's build
# stage runs natively and installs the foreign platform's wheels; only the runtime stage's
# user creation runs under QEMU (a cached layer after the first build).
#
# "Reachable" is decided without a long hang: a base already in podman's storage is used as
# is; otherwise one HTTPS request to the registry's /v2/ endpoint, 3 s to connect and 5 s in
# all, must get any HTTP answer (401 included). --real skips the check and lets podman pull.
#
# The label org.opencontainers.image.base.name is the base actually used (the Dockerfile
# takes it from PYTHON_IMAGE). VERSION comes from pyproject.toml, REVISION and CREATED from the
# last commit, so a rebuild with nothing changed is all podman layer cache (seconds) but for
# the final commit that writes the labels.
#
#   --tag REF            the image reference (default localhost/awsorg-operator:dev)
#   --print-debian-sources  print the stand-in's Debian sources, taken from the host's, and exit
#   --oci-archive PATH   also export the image as an OCI archive (podman save --format oci-archive)
#
# Needs podman, buildah's chroot isolation and, for the stand-in, mmdebstrap (hack/setup.sh
# installs them on Debian). The flags below are the ones these machines need:
# --isolation chroot (crun refuses hybrid cgroups), and the host's
# CA bundle mounted into the build, because the package mirrors are reached through a TLS proxy.
set -euo pipefail

REPO=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
STANDIN_REPO=localhost/python-standin:3.11-bookworm
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/awsorg-operator
HOST_CA=/etc/ssl/certs/ca-certificates.crt

log() { echo "image: $*" >&2; }
die() {
  log "$*"
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

# The Dockerfile's default base, e.g. docker.io/library/python:3.11.15-slim-bookworm.
default_base() {
  sed -n 's/^ARG PYTHON_IMAGE=//p' "$REPO/Dockerfile" | head -n 1
}

# The registry host that serves an image reference (docker.io is served by registry-1).
registry_of() {
  local first=${1%%/*}
  case $first in
    docker.io) echo registry-1.docker.io ;;
    *.* | *:* | localhost) echo "$first" ;;
    *) echo registry-1.docker.io ;;
  esac
}

registry_reachable() {
  command -v curl >/dev/null || return 1
  curl -sS -o /dev/null --connect-timeout 3 --max-time 5 "https://$(registry_of "$1")/v2/" 2>/dev/null
}

# The Debian architecture of the host (amd64, arm64).
host_arch() {
  case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) uname -m ;;
  esac
}

# One "deb URI SUITE main" line per bookworm suite of the host's own apt sources (one-line
# .list files and deb822 .sources files), so the repository never names a mirror. A host of
# another Debian release lends its mirrors with its suites renamed to bookworm's.
# APT_ROOT (default /) is where /etc/apt and /etc/os-release are read, for the tests.
debian_sources() {
  local root=${APT_ROOT:-}
  python3 - "$root/etc/os-release" "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*.list \
    "$root"/etc/apt/sources.list.d/*.sources <<'PY'
import re, sys
from pathlib import Path

release = dict(
    line.split("=", 1) for line in Path(sys.argv[1]).read_text().splitlines() if "=" in line
)
codename = release.get("VERSION_CODENAME", "bookworm").strip('"')
wanted = {codename + tail: "bookworm" + tail for tail in ("", "-updates", "-security")}
entries = []  # (types, uris, suites)
for name in sys.argv[2:]:
    path = Path(name)
    if not path.is_file():
        continue
    text = path.read_text()
    if name.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                if line[0].isspace() and key:
                    fields[key] += " " + line.strip()
                    continue
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            entries.append((fields.get("types", "").split(), fields.get("uris", "").split(),
                            fields.get("suites", "").split()))
    else:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3:
                entries.append(([words[0]], [words[1]], [words[2]]))
seen = set()
for types, uris, suites in entries:
    if "deb" not in types:
        continue
    for uri in uris:
        for suite in suites:
            if suite in wanted and (uri, suite) not in seen:
                seen.add((uri, suite))
                print(f"deb {uri} {wanted[suite]} main")
PY
}

# binfmt_misc runs foreign binaries under Debian's qemu-user-static: mount it and register the
# architecture from qemu's binfmt.d file (its F flag opens the interpreter now, so it also
# works inside build containers). A no-op on the host's own architecture.
ensure_binfmt() {
  local arch=$1 qemu
  [ "$arch" = "$(host_arch)" ] && return 0
  case $arch in
    arm64) qemu=aarch64 ;;
    *) die "no QEMU mapping for architecture $arch" ;;
  esac
  [ -e "/proc/sys/fs/binfmt_misc/qemu-$qemu" ] && return 0
  local conf=/usr/lib/binfmt.d/qemu-$qemu.conf
  [ -f "$conf" ] || die "$conf is missing: install qemu-user-static (hack/system-packages.sh)"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "cannot mount binfmt_misc (needs root): $arch binaries cannot run here"
  grep -v '^#' "$conf" >/proc/sys/fs/binfmt_misc/register ||
    die "cannot register qemu-$qemu with binfmt_misc (needs root)"
  log "registered qemu-$qemu with binfmt_misc"
}

# The stand-in base for architecture $1, built once. A lock keeps two builds (two worktrees,
# two test sessions) from running mmdebstrap at the same time; the second finds the image made.
ensure_standin() {
  local arch=$1 standin=$STANDIN_REPO-$1
  mkdir -p "$CACHE"
  exec 9>"$CACHE/python-standin-$arch.lock"
  flock -w 900 9 || die "waited 15 minutes for another stand-in build ($CACHE/python-standin-$arch.lock)"
  if podman image exists "$standin"; then
    log "stand-in base: cached, $standin"
  else
    build_standin "$arch" "$standin"
  fi
  exec 9>&-
}

build_standin() {
  local arch=$1 standin=$2 tmp sources start=$SECONDS
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (hack/system-packages.sh installs it)"
  mapfile -t sources < <(debian_sources)
  ((${#sources[@]})) || die "no Debian bookworm entries in the host's apt sources (/etc/apt/sources.list*)"
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  log "stand-in base: mmdebstrap bookworm $arch with python3 (about a minute; 6 under QEMU)"
  mmdebstrap --quiet --arch="$arch" --variant=minbase \
    --include=python3,python3-venv,ca-certificates,netbase,tzdata \
    bookworm "$tmp/rootfs.tar" "${sources[@]}" >&2
  # The ENV the python images set that the Dockerfile relies on: PATH and a UTF-8 locale.
  podman import --quiet --os linux --arch "$arch" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    "$tmp/rootfs.tar" "$standin" >/dev/null
  rm -rf "$tmp"
  trap - EXIT
  log "stand-in base: built $standin in $((SECONDS - start)) s"
}

main() {
  local mode=auto tag=localhost/awsorg-operator:dev archive="" arch
  arch=$(host_arch)
  while (($#)); do
    case $1 in
      --standin) mode=standin ;;
      --real) mode=real ;;
      --platform)
        arch=${2:?--platform needs linux/ARCH}
        arch=${arch#linux/}
        shift
        ;;
      --tag) tag=${2:?--tag needs a reference}; shift ;;
      --oci-archive) archive=${2:?--oci-archive needs a path}; shift ;;
      --print-debian-sources) debian_sources && exit 0 ;;
      -h | --help) usage ;;
      *) log "unknown argument: $1"; usage ;;
    esac
    shift
  done
  command -v podman >/dev/null || die "podman is missing (hack/system-packages.sh installs it)"
  case $arch in
    amd64 | arm64) ;;
    *) die "unsupported platform linux/$arch (linux/amd64, linux/arm64)" ;;
  esac
  ensure_binfmt "$arch"

  local base pull
  base=$(default_base)
  [ -n "$base" ] || die "no 'ARG PYTHON_IMAGE=' default in $REPO/Dockerfile"
  if [ "$mode" = auto ]; then
    if podman image exists "$base"; then
      mode=real
    elif registry_reachable "$base"; then
      mode=real
    else
      log "$(registry_of "$base") cannot be reached: using the Debian stand-in base"
      mode=standin
    fi
  fi
  # The build stage runs on the host's own platform (the Dockerfile's BUILD_PYTHON_IMAGE): the
  # host's stand-in too, so that nothing of a foreign platform's build runs under QEMU.
  local builder=$base
  if [ "$mode" = standin ]; then
    ensure_standin "$arch"
    ensure_standin "$(host_arch)"
    base=$STANDIN_REPO-$arch builder=$STANDIN_REPO-$(host_arch) pull=never
  else
    pull=missing
  fi

  local version revision created mounts=()
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/pyproject.toml" | head -n 1)
  revision=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
  created=$(TZ=UTC git -C "$REPO" log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null ||
    echo unknown)
  [ -f "$HOST_CA" ] && mounts=(-v "$HOST_CA:$HOST_CA:ro")

  # The labels that vary go as --label too: buildah 1.28's layer cache reuses the Dockerfile's
  # LABEL step when only the ARG values in it changed (measured: the revision stayed that of
  # the first build). The ARGs keep `docker build` right. BUILDPLATFORM is given because
  # buildah 1.28 does not set it (docker buildx does).
  local start=$SECONDS key args=(
    --build-arg "PYTHON_IMAGE=$base" --build-arg "BUILD_PYTHON_IMAGE=$builder"
    --build-arg "BUILDPLATFORM=linux/$(host_arch)" --build-arg "VERSION=$version"
    --build-arg "REVISION=$revision" --build-arg "CREATED=$created"
  )
  local -A labels=([base.name]=$base [version]=$version [revision]=$revision [created]=$created)
  for key in "${!labels[@]}"; do
    args+=(--label "org.opencontainers.image.$key=${labels[$key]}")
  done
  local replaced
  replaced=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  log "building $tag for linux/$arch on $base"
  podman build --pull="$pull" --platform "linux/$arch" --isolation chroot "${mounts[@]}" "${args[@]}" \
    --tag "$tag" --file "$REPO/Dockerfile" "$REPO" >&2
  log "built $tag in $((SECONDS - start)) s"
  forget_replaced "$replaced" "$tag"

  if [ -n "$archive" ]; then
    rm -f "$archive"
    podman save --quiet --format oci-archive --output "$archive" "$tag"
    log "exported $archive"
  fi
  echo "$tag"
}

# The image $1 that tag $2 named before this build, once nothing names or uses it: every
# rebuild of a tag (each test run's, after a change) otherwise leaves about 440 MB behind.
# podman refuses to remove an image that another tag names or a container uses, and a layer
# that another image still has is kept.
forget_replaced() {
  local replaced=$1 tag=$2 now
  [ -n "$replaced" ] || return 0
  now=$(podman image inspect --format '{{.Id}}' "$tag")
  [ "$replaced" != "$now" ] || return 0
  if [ -z "$(podman image inspect --format '{{join .RepoTags " "}}' "$replaced" 2>/dev/null)" ]; then
    podman rmi "$replaced" >/dev/null 2>&1 && log "removed the image $tag named before (${replaced:0:12})"
  fi
  return 0
}

main "$@"
