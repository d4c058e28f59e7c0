#!/usr/bin/env bash
# Installs the Debian packages the tests run for real, when a command is missing:
#   podman, buildah, mmdebstrap, runc, ...   build and run the image (hack/image.sh)
#   redis-server                             Argo CD's cache
#   prometheus (prometheus, promtool)        the alert rules' tests and a real Prometheus
#   docker-registry, skopeo                  a local OCI registry and a client for it (release tests)
#   qemu-user-static, arch-test              the arm64 image and its stand-in base under QEMU
#   shellcheck                               actionlint's check of the workflows' run: scripts
#   jq                                       docs/install.md's verification commands (release tests)
#   runc, containernetworking-plugins,       the one-node cluster (python -m awsorg_localcluster --node):
#   iptables                                 containerd's runtime, the pods' network, Service routing
# A no-op (well under a second) when every command is already there. Needs root or sudo, and
# apt-get: on other systems install the same commands by hand.
set -euo pipefail

# command -> Debian package
declare -A PACKAGES=(
  [podman]=podman [buildah]=buildah [mmdebstrap]=mmdebstrap [newuidmap]=uidmap
  [fuse-overlayfs]=fuse-overlayfs [runc]=runc [redis-server]=redis-server
  [prometheus]=prometheus [promtool]=prometheus
  [docker-registry]=docker-registry [skopeo]=skopeo [qemu-aarch64-static]=qemu-user-static
  [arch-test]=arch-test [shellcheck]=shellcheck [jq]=jq [iptables]=iptables
)
# Packages without a command on PATH: a file they install -> Debian package
declare -A FILES=([/usr/lib/cni/bridge]=containernetworking-plugins)

missing=()
for cmd in "${!PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null || missing+=("${PACKAGES[$cmd]}")
done
for file in "${!FILES[@]}"; do
  [[ -e $file ]] || missing+=("${FILES[$file]}")
done
((${#missing[@]})) || exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

sudo=()
((EUID == 0)) || sudo=(sudo)
command -v apt-get >/dev/null || {
  echo "system-packages: apt-get not found; install these by hand: ${missing[*]}" >&2
  exit 1
}
echo "system-packages: installing ${missing[*]} (about a minute)" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
