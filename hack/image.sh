#!/usr/bin/env bash
# Builds the operator's image from the repository's Dockerfile with podman and prints its
# reference on stdout (everything else goes to stderr).
#
#   hack/image.sh [--standin | --real] [--tag REF] [--oci-archive PATH]
#
# The base is the Dockerfile's PYTHON_IMAGE (the real python:3.11.x-slim-bookworm), unless its
# registry cannot be reached: then, or with --standin, a Debian stand-in base is used,
# localhost/python-standin:3.11-bookworm: Debian bookworm's python3 (3.11) assembled with
# mmdebstrap and `podman import`, built once and then reused from podman's storage
# (`podman rmi localhost/python-standin:3.11-bookworm` to rebuild it). The published image
# uses the real base; the stand-in is for machines without a registry (CI, these tests).
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
#   --oci-archive PATH   also export the image as an OCI archive (podman save --format oci-archive)
#
# Needs podman, buildah's chroot isolation and, for the stand-in, mmdebstrap (hack/setup.sh
# installs them on Debian). The flags below are the ones these machines need:
# --isolation chroot (crun refuses hybrid cgroups), and the host's
# CA bundle mounted into the build, because the package mirrors are reached through a TLS proxy.
set -euo pipefail

REPO=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
STANDIN=localhost/python-standin:3.11-bookworm
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

# The stand-in base, built once. A lock keeps two builds (two worktrees, two test sessions)
# from running mmdebstrap at the same time; the second one finds the image made.
ensure_standin() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/python-standin.lock"
  flock -w 900 9 || die "waited 15 minutes for another stand-in build ($CACHE/python-standin.lock)"
  if podman image exists "$STANDIN"; then
    log "stand-in base: cached, $STANDIN"
  else
    build_standin
  fi
  exec 9>&-
}

build_standin() {
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (hack/system-packages.sh installs it)"
  local tmp start=$SECONDS
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  log "stand-in base: mmdebstrap bookworm with python3 (about a minute)"
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates,netbase,tzdata \
    bookworm "$tmp/rootfs.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >&2
  # The ENV the python images set that the Dockerfile relies on: PATH and a UTF-8 locale.
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    "$tmp/rootfs.tar" "$STANDIN" >/dev/null
  rm -rf "$tmp"
  trap - EXIT
  log "stand-in base: built $STANDIN in $((SECONDS - start)) s"
}

main() {
  local mode=auto tag=localhost/awsorg-operator:dev archive=""
  while (($#)); do
    case $1 in
      --standin) mode=standin ;;
      --real) mode=real ;;
      --tag) tag=${2:?--tag needs a reference}; shift ;;
      --oci-archive) archive=${2:?--oci-archive needs a path}; shift ;;
      -h | --help) usage ;;
      *) log "unknown argument: $1"; usage ;;
    esac
    shift
  done
  command -v podman >/dev/null || die "podman is missing (hack/system-packages.sh installs it)"

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
  if [ "$mode" = standin ]; then
    ensure_standin
    base=$STANDIN pull=never
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
  # the first build). The ARGs keep `docker build` right.
  local start=$SECONDS key args=(
    --build-arg "PYTHON_IMAGE=$base" --build-arg "VERSION=$version"
    --build-arg "REVISION=$revision" --build-arg "CREATED=$created"
  )
  local -A labels=([base.name]=$base [version]=$version [revision]=$revision [created]=$created)
  for key in "${!labels[@]}"; do
    args+=(--label "org.opencontainers.image.$key=${labels[$key]}")
  done
  log "building $tag on $base"
  podman build --pull="$pull" --isolation chroot "${mounts[@]}" "${args[@]}" \
    --tag "$tag" --file "$REPO/Dockerfile" "$REPO" >&2
  log "built $tag in $((SECONDS - start)) s"

  if [ -n "$archive" ]; then
    rm -f "$archive"
    podman save --quiet --format oci-archive --output "$archive" "$tag"
    log "exported $archive"
  fi
  echo "$tag"
}

main "$@"
