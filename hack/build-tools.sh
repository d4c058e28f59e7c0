#!/usr/bin/env bash
# Builds the binaries that the e2e tests and the chart checks need, from the Go
# module proxy, into a cache folder outside the repository:
#
#   kube-apiserver, kubectl   k8s.io/kubernetes   (hack/tools/kubernetes/go.mod)
#   etcd                      go.etcd.io/etcd     (hack/tools/etcd/go.mod)
#   helm                      helm.sh/helm/v4     (hack/tools/helm/go.mod)
#   kubeconform               yannh/kubeconform   (hack/tools/kubeconform/go.mod)
#   kubeconform's schemas     generated from k8s.io/kubernetes' api/openapi-spec/swagger.json
#   argocd, argocd-health-test  github.com/argoproj/argo-cd/v3 (hack/tools/argocd/go.mod),
#                             with Argo CD's CRDs and git/gpg wrapper scripts beside them
#   cosign                    github.com/sigstore/cosign/v3 (hack/tools/cosign/go.mod)
#   syft                      github.com/anchore/syft     (hack/tools/syft/go.mod)
#   actionlint                github.com/rhysd/actionlint (hack/tools/actionlint/go.mod)
#   kubelet, kube-controller-manager, kube-scheduler
#                             k8s.io/kubernetes   (hack/tools/kubernetes/go.mod), the node cluster
#   containerd, containerd-shim-runc-v2, ctr
#                             github.com/containerd/containerd/v2 (hack/tools/containerd/go.mod)
#   pause                     the pod sandbox image's binary (hack/tools/pause)
#
# Layout: $TOOLS_DIR/<name>-<version>/bin/<binary>, the schemas in
# $TOOLS_DIR/kubernetes-json-schema-<version>/, and one folder that links them
# all, $TOOLS_DIR/awsorg-tools-<hash>/bin, printed at the end. TOOLS_DIR is
# ${AWSORG_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/awsorg-operator/tools}.
# The versions are the ones in hack/tools/*/go.mod: change them there.
#
# What is already built is reused (a no-op run takes well under a second).
# envtest's variables are respected: KUBEBUILDER_ASSETS (a folder with
# kube-apiserver, etcd and kubectl) and TEST_ASSET_KUBE_APISERVER,
# TEST_ASSET_ETCD, TEST_ASSET_KUBECTL (and TEST_ASSET_HELM,
# TEST_ASSET_KUBECONFORM) name binaries to use instead of building them.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: hack/build-tools.sh [OPTION]

Build (or reuse) kube-apiserver, etcd, kubectl, helm, kubeconform,
kubeconform's Kubernetes schemas, Argo CD (argocd), argocd-health-test,
cosign, syft and actionlint; print the folder that holds them all.

  (none)               build what is missing, log to stderr, print the bin folder
  --print-dir          the same, but print only the bin folder on stdout
                       (e.g. PATH="$(hack/build-tools.sh --print-dir):$PATH")
  --print-path NAME    print the path of one binary; never builds (exit 3 if
                       it is not built yet)
  --print-schema-dir   print kubeconform's -schema-location folder; never builds
  --print-argocd-files print the folder with Argo CD's crds/ and bin/*-wrapper.sh;
                       never builds
  --check              exit 0 if everything is built, 3 if not; never builds
  --only NAME[,NAME...]  before (none) or --print-dir: build only these tools
                       (and what they need beside them); the bin folder still
                       links every tool, the others once they are built.
                       Groups: control-plane (kube-apiserver, etcd, kubectl),
                       node (control-plane and the node's tools), chart (helm,
                       kubeconform), argocd (argocd, argocd-health-test)
  -h, --help           this text

Environment: AWSORG_TOOLS_DIR, XDG_CACHE_HOME, KUBEBUILDER_ASSETS,
TEST_ASSET_{KUBE_APISERVER,ETCD,KUBECTL,HELM,KUBECONFORM,ARGOCD,ARGOCD_HEALTH_TEST,
COSIGN,SYFT,ACTIONLINT},
GOFLAGS, GOCACHE.
EOF
}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$REPO_ROOT/hack/tools
TOOLS_DIR=${AWSORG_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/awsorg-operator/tools}

# Temporary folders of this run, removed however it ends.
TMP_DIRS=()
cleanup() { ((${#TMP_DIRS[@]} == 0)) || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT

log() { printf 'build-tools: %s\n' "$*" >&2; }
die() {
  printf 'build-tools: error: %s\n' "$*" >&2
  exit 1
}

# The version of module $2 required in go.mod $1 (not a replace line).
required_version() {
  local version
  version=$(awk -v m="$2" '$1 ~ /^\/\// || /=>/ { next }
    { for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$1")
  [[ -n $version ]] || die "no version of $2 in $1"
  printf '%s\n' "$version"
}

KUBERNETES_VERSION=$(required_version "$SRC/kubernetes/go.mod" k8s.io/kubernetes)
ETCD_VERSION=$(required_version "$SRC/etcd/go.mod" go.etcd.io/etcd/server/v3)
HELM_VERSION=$(required_version "$SRC/helm/go.mod" helm.sh/helm/v4)
KUBECONFORM_VERSION=$(required_version "$SRC/kubeconform/go.mod" github.com/yannh/kubeconform)
ARGOCD_VERSION=$(required_version "$SRC/argocd/go.mod" github.com/argoproj/argo-cd/v3)
COSIGN_VERSION=$(required_version "$SRC/cosign/go.mod" github.com/sigstore/cosign/v3)
SYFT_VERSION=$(required_version "$SRC/syft/go.mod" github.com/anchore/syft)
ACTIONLINT_VERSION=$(required_version "$SRC/actionlint/go.mod" github.com/rhysd/actionlint)
CONTAINERD_VERSION=$(required_version "$SRC/containerd/go.mod" github.com/containerd/containerd/v2)
# The pause binary is ours: its folder is named after its source's hash.
PAUSE_VERSION=$(cat "$SRC/pause/go.mod" "$SRC/pause/main.go" | sha256sum | cut -c1-12)

TOOLS=(kube-apiserver etcd kubectl helm kubeconform argocd argocd-health-test cosign syft actionlint
  kubelet kube-controller-manager kube-scheduler containerd containerd-shim-runc-v2 ctr pause)
# The node cluster's tools (python -m awsorg_localcluster --node) have folders
# of their own, so adding them never touched a folder built before them.
NODE_TOOLS=(kubelet kube-controller-manager kube-scheduler containerd containerd-shim-runc-v2 ctr pause)

# Per binary: cache folder name and Go package; per module under hack/tools:
# cold build time measured on 2 cores (downloads included) and -ldflags.
dir_of() {
  case $1 in
    kube-apiserver | kubectl) echo "kubernetes-$KUBERNETES_VERSION" ;;
    etcd) echo "etcd-$ETCD_VERSION" ;;
    helm) echo "helm-$HELM_VERSION" ;;
    kubeconform) echo "kubeconform-$KUBECONFORM_VERSION" ;;
    argocd | argocd-health-test) echo "argocd-$ARGOCD_VERSION" ;;
    cosign) echo "cosign-$COSIGN_VERSION" ;;
    syft) echo "syft-$SYFT_VERSION" ;;
    actionlint) echo "actionlint-$ACTIONLINT_VERSION" ;;
    kubelet | kube-controller-manager | kube-scheduler) echo "kubernetes-node-$KUBERNETES_VERSION" ;;
    containerd | containerd-shim-runc-v2 | ctr) echo "containerd-$CONTAINERD_VERSION" ;;
    pause) echo "pause-$PAUSE_VERSION" ;;
  esac
}
package_of() {
  case $1 in
    kube-apiserver) echo k8s.io/kubernetes/cmd/kube-apiserver ;;
    kubectl) echo k8s.io/kubernetes/cmd/kubectl ;;
    etcd) echo . ;;
    helm) echo helm.sh/helm/v4/cmd/helm ;;
    kubeconform) echo github.com/yannh/kubeconform/cmd/kubeconform ;;
    argocd) echo github.com/argoproj/argo-cd/v3/cmd ;;
    argocd-health-test) echo ./cmd/argocd-health-test ;;
    cosign) echo github.com/sigstore/cosign/v3/cmd/cosign ;;
    syft) echo github.com/anchore/syft/cmd/syft ;;
    actionlint) echo github.com/rhysd/actionlint/cmd/actionlint ;;
    kubelet | kube-controller-manager | kube-scheduler) echo "k8s.io/kubernetes/cmd/$1" ;;
    containerd | containerd-shim-runc-v2 | ctr) echo "github.com/containerd/containerd/v2/cmd/$1" ;;
    pause) echo . ;;
  esac
}
# The file go build writes for binary $1: the last element of its package path.
output_of() {
  case $1 in
    argocd) echo cmd ;; # Argo CD's multi-call binary; it picks its role from its name
    *) echo "$1" ;;
  esac
}
cold_time_of() {
  case $1 in
    kubernetes) echo "about 6 minutes" ;;
    etcd) echo "about 1 minute" ;;
    helm) echo "about 2 minutes" ;;
    kubeconform) echo "under a minute" ;;
    argocd) echo "about 7 minutes (2.4 GB of memory)" ;;
    cosign) echo "about 3 minutes" ;;
    syft) echo "about 2.5 minutes" ;;
    actionlint) echo "under a minute" ;;
    containerd) echo "about 1 minute" ;;
    pause) echo "seconds" ;;
  esac
}
ldflags_of() {
  local flags="-s -w" minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  case $1 in
    kubernetes)
      local pkg
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean"
      done
      ;;
    helm) flags+=" -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.metadata=" ;;
    kubeconform) flags+=" -X main.version=$KUBECONFORM_VERSION" ;;
    argocd) flags+=" -X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v}" ;;
    cosign) flags+=" -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" ;;
    syft) flags+=" -X main.version=${SYFT_VERSION#v}" ;;
    actionlint) flags+=" -X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION#v}" ;;
    containerd) flags+=" -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" ;;
  esac
  printf '%s\n' "$flags"
}
# Build tags: containerd without btrfs, whose snapshotter needs C headers (as
# upstream's BUILDTAGS=no_btrfs); overlayfs is the snapshotter used here.
tags_of() {
  case $1 in
    containerd) echo no_btrfs ;;
  esac
}

override_var() {
  local name=${1^^}
  echo "TEST_ASSET_${name//-/_}"
}

# The binary to use for $1: an override from the environment, else the cache.
# Sets RESOLVED to its path and OVERRIDDEN to 1 when it is from the environment.
resolve() {
  local name=$1 var
  var=$(override_var "$name")
  OVERRIDDEN=1
  if [[ -n ${!var:-} ]]; then
    [[ -x ${!var} && -f ${!var} ]] || die "$var=${!var} is not an executable file"
    RESOLVED=$(realpath "${!var}")
    return
  fi
  if [[ -n ${KUBEBUILDER_ASSETS:-} ]]; then
    if [[ -x $KUBEBUILDER_ASSETS/$name ]]; then
      RESOLVED=$(realpath "$KUBEBUILDER_ASSETS/$name")
      return
    fi
    case $name in
      kube-apiserver | etcd | kubectl) die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $name" ;;
    esac
  fi
  OVERRIDDEN=0
  RESOLVED=$TOOLS_DIR/$(dir_of "$name")/bin/$name
}

schema_dir() { echo "$TOOLS_DIR/kubernetes-json-schema-$KUBERNETES_VERSION"; }

# The folder that links every binary (and the schemas): its name is a hash of
# what it links, so different versions or overrides never share one.
bin_dir() {
  local name lines=""
  for name in "${TOOLS[@]}"; do
    resolve "$name"
    lines+="$name $RESOLVED"$'\n'
  done
  lines+="schemas $(schema_dir)"$'\n'
  echo "$TOOLS_DIR/awsorg-tools-$(printf '%s' "$lines" | sha256sum | cut -c1-12)/bin"
}

go_env() {
  # CGO off: static binaries, no C toolchain needed (upstream builds these
  # the same way). GOTOOLCHAIN=local: never download another Go; a module
  # that needs a newer one fails with a clear message instead, unless
  # GO_TOOLCHAIN (toolchain_of) names the one its go.mod pins.
  env CGO_ENABLED=0 GOTOOLCHAIN="${GO_TOOLCHAIN:-local}" GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" "$@"
}

# The Go toolchain a module pins with a `toolchain` line (Argo CD v3.6 needs Go
# 1.27, newer than the Go 1.26 this project assumes; go fetches that toolchain
# from the module proxy, checked against sum.golang.org), else "local".
toolchain_of() {
  awk '$1 == "toolchain" { print $2; found = 1; exit } END { if (!found) print "local" }' "$SRC/$1/go.mod"
}

# Build the binaries $2... of Go module folder $1 that are neither overridden
# nor cached yet.
build_module() {
  local module=$1 name path missing=() packages=() first
  shift
  for name in "$@"; do
    resolve "$name"
    path=$RESOLVED
    if ((OVERRIDDEN)); then
      log "$name: using $path (from the environment)"
    elif [[ -x $path ]]; then
      log "$name: cached, $path"
    else
      missing+=("$name")
      packages+=("$(package_of "$name")")
    fi
  done
  ((${#missing[@]})) || return 0

  first=${missing[0]}
  local dest tmp start
  dest=$TOOLS_DIR/$(dir_of "$first")/bin
  mkdir -p "$dest"
  tmp=$(mktemp -d "$TOOLS_DIR/.build-$module.XXXXXX")
  TMP_DIRS+=("$tmp")
  log "building ${missing[*]} ($(dir_of "$first")) from hack/tools/$module: first build $(cold_time_of "$module") on 2 cores, seconds once Go's build cache is warm"
  start=$SECONDS
  if ! (cd "$SRC/$module" && GO_TOOLCHAIN=$(toolchain_of "$module") go_env go build -trimpath \
    -tags="$(tags_of "$module")" -ldflags="$(ldflags_of "$module")" -o "$tmp/" "${packages[@]}"); then
    rm -rf "$tmp"
    die "building ${missing[*]} failed (see the Go errors above); Go $(go env GOVERSION), module hack/tools/$module"
  fi
  # (hack/tools/etcd's main package is named after its module path: etcd.)
  for name in "${missing[@]}"; do
    [[ -x $tmp/$(output_of "$name") ]] || {
      rm -rf "$tmp"
      die "go build did not produce $(output_of "$name")"
    }
    mv -f "$tmp/$(output_of "$name")" "$dest/$name" # a rename: readers never see half a binary
  done
  rm -rf "$tmp"
  log "built ${missing[*]} in $((SECONDS - start))s -> $dest"
}

build_schemas() {
  local dest swagger tmp start
  dest=$(schema_dir)
  if [[ -e $dest/.complete ]]; then
    log "kubeconform schemas: cached, $dest"
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is needed to generate kubeconform's schemas"
  log "generating kubeconform schemas for Kubernetes $KUBERNETES_VERSION from its swagger.json (a few seconds)"
  start=$SECONDS
  swagger=$(cd "$SRC/kubernetes" && go_env go mod download -json k8s.io/kubernetes |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')/api/openapi-spec/swagger.json
  [[ -f $swagger ]] || die "no $swagger in the k8s.io/kubernetes module"
  rm -rf "$dest"
  tmp=$(mktemp -d "$TOOLS_DIR/.build-schemas.XXXXXX")
  TMP_DIRS+=("$tmp")
  chmod 755 "$tmp" # mktemp makes it private; the cache is for everyone
  PYTHONPATH=$REPO_ROOT/hack/devtools${PYTHONPATH:+:$PYTHONPATH} python3 -m awsorg_localcluster.kubeschemas \
    kubernetes "$swagger" "$tmp" --kubernetes-version "$KUBERNETES_VERSION" ||
    {
      rm -rf "$tmp"
      die "generating kubeconform schemas failed"
    }
  touch "$tmp/.complete"
  mv -T "$tmp" "$dest" 2>/dev/null || rm -rf "$tmp" # another run was faster: keep its copy
  log "kubeconform schemas in $((SECONDS - start))s -> $dest"
}

# What the Argo CD binary needs beside it, from the Argo CD module it was built
# from: the CRDs (manifests/crds/) and the repo-server's git-verify-wrapper.sh
# and gpg-wrapper.sh (it runs them on every manifest generation).
install_argocd_files() {
  local dest module_dir tmp
  dest=$TOOLS_DIR/$(dir_of argocd)
  [[ -e $dest/.files-complete ]] && return 0
  module_dir=$(cd "$SRC/argocd" && GO_TOOLCHAIN=$(toolchain_of argocd) go_env go mod download -json \
    github.com/argoproj/argo-cd/v3 | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  [[ -d $module_dir/manifests/crds ]] || die "no manifests/crds in $module_dir"
  tmp=$(mktemp -d "$TOOLS_DIR/.build-argocd-files.XXXXXX")
  TMP_DIRS+=("$tmp")
  mkdir -p "$tmp/crds" "$dest/bin"
  cp "$module_dir"/manifests/crds/*.yaml "$tmp/crds/"
  cp "$module_dir/hack/git-verify-wrapper.sh" "$module_dir/hack/gpg-wrapper.sh" "$tmp/"
  chmod -R u+w,go+rX "$tmp" # the module cache is read-only
  chmod +x "$tmp"/*.sh
  rm -rf "$dest/crds"
  mv -f "$tmp/crds" "$dest/crds"
  mv -f "$tmp"/*.sh "$dest/bin/"
  touch "$dest/.files-complete"
}

link_bin_dir() {
  local dir name tmp
  dir=$(bin_dir)
  [[ -d $dir ]] && return 0
  tmp=$(mktemp -d "$TOOLS_DIR/.bin.XXXXXX")
  TMP_DIRS+=("$tmp")
  chmod 755 "$tmp" # mktemp makes it private; the cache is for everyone
  mkdir "$tmp/bin"
  for name in "${TOOLS[@]}"; do
    resolve "$name"
    ln -s "$RESOLVED" "$tmp/bin/$name"
  done
  ln -s "$(schema_dir)" "$tmp/kubernetes-json-schema"
  mv -T "$tmp" "${dir%/bin}" 2>/dev/null || rm -rf "$tmp"
}

all_built() {
  local name
  for name in "${TOOLS[@]}"; do
    resolve "$name"
    [[ -x $RESOLVED ]] || return 1
  done
  [[ -e $(schema_dir)/.complete && -d $(bin_dir) && -e $TOOLS_DIR/$(dir_of argocd)/.files-complete ]]
}

# --only: the tools to build (empty: all of them), groups expanded.
WANTED=()
set_wanted() {
  local name
  for name in ${1//,/ }; do
    case $name in
      control-plane) WANTED+=(kube-apiserver etcd kubectl) ;;
      node) WANTED+=(kube-apiserver etcd kubectl "${NODE_TOOLS[@]}") ;;
      chart) WANTED+=(helm kubeconform) ;;
      argocd) WANTED+=(argocd argocd-health-test) ;;
      *)
        [[ " ${TOOLS[*]} " == *" $name "* ]] || die "unknown tool or group '$name'; known: ${TOOLS[*]}"
        WANTED+=("$name")
        ;;
    esac
  done
}
wanted() { ((${#WANTED[@]} == 0)) || [[ " ${WANTED[*]} " == *" $1 "* ]]; }

# build_module for the wanted ones among binaries $2... of module $1.
build_wanted() {
  local module=$1 name names=()
  shift
  for name in "$@"; do
    if wanted "$name"; then names+=("$name"); fi
  done
  ((${#names[@]} == 0)) || build_module "$module" "${names[@]}"
}

build_all() {
  command -v go >/dev/null || die "Go is needed (go.mod files ask for $(awk '/^go /{print $2}' "$SRC/kubernetes/go.mod"))"
  mkdir -p "$TOOLS_DIR"
  # One build at a time per cache folder (CI jobs may share it).
  exec 9>"$TOOLS_DIR/.lock"
  if command -v flock >/dev/null && ! flock -n 9; then
    log "waiting for another build-tools.sh run on $TOOLS_DIR"
    flock 9
  fi
  local start=$SECONDS
  log "Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, Argo CD $ARGOCD_VERSION, cosign $COSIGN_VERSION, syft $SYFT_VERSION, actionlint $ACTIONLINT_VERSION, containerd $CONTAINERD_VERSION -> $TOOLS_DIR${WANTED[*]:+ (only ${WANTED[*]})}"
  build_wanted kubernetes kube-apiserver kubectl
  build_wanted etcd etcd
  build_wanted helm helm
  build_wanted kubeconform kubeconform
  build_wanted argocd argocd argocd-health-test
  build_wanted actionlint actionlint
  build_wanted syft syft
  build_wanted cosign cosign
  build_wanted kubernetes kubelet kube-controller-manager kube-scheduler
  build_wanted containerd containerd containerd-shim-runc-v2 ctr
  build_wanted pause pause
  if wanted argocd; then install_argocd_files; fi
  if wanted kubeconform; then build_schemas; fi
  link_bin_dir
  log "done in $((SECONDS - start))s"
}

if [[ ${1:-} == --only ]]; then
  [[ -n ${2:-} ]] || die "--only needs NAME[,NAME...]: ${TOOLS[*]} or a group"
  set_wanted "$2"
  shift 2
  [[ -z ${1:-} || $1 == --print-dir ]] || die "--only goes with no option or with --print-dir"
fi

case ${1:-} in
  -h | --help)
    usage
    ;;
  "")
    build_all
    log "bin folder (${TOOLS[*]}):"
    bin_dir
    ;;
  --print-dir)
    build_all
    bin_dir
    ;;
  --print-path)
    [[ -n ${2:-} ]] || die "--print-path needs a NAME: ${TOOLS[*]}"
    [[ " ${TOOLS[*]} " == *" $2 "* ]] || die "unknown tool '$2'; known: ${TOOLS[*]}"
    resolve "$2"
    if [[ ! -x $RESOLVED ]]; then
      printf 'build-tools: %s is not built yet (%s); run hack/build-tools.sh\n' "$2" "$RESOLVED" >&2
      exit 3
    fi
    echo "$RESOLVED"
    ;;
  --print-schema-dir)
    if [[ ! -e $(schema_dir)/.complete ]]; then
      printf 'build-tools: kubeconform schemas are not generated yet (%s); run hack/build-tools.sh\n' "$(schema_dir)" >&2
      exit 3
    fi
    schema_dir
    ;;
  --print-argocd-files)
    dir=$TOOLS_DIR/$(dir_of argocd)
    if [[ ! -e $dir/.files-complete ]]; then
      printf 'build-tools: Argo CD CRDs and wrapper scripts are not installed yet (%s); run hack/build-tools.sh\n' "$dir" >&2
      exit 3
    fi
    echo "$dir"
    ;;
  --check)
    if ! all_built; then
      log "not everything is built; run hack/build-tools.sh"
      exit 3
    fi
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
