# syntax=docker/dockerfile:1
#
# awsorg-operator image.
#
#   docker build -t awsorg-operator:0.1.0 .
#   hack/image.sh          # podman; a local Debian stand-in base when no registry is reachable
#
# Two stages: "build" installs the package into a virtual environment with
# hack/install-package.sh (the same script the tests' setup runs), "runtime" copies only that
# virtual environment onto a clean base. No compiler, pip cache, source tree or build
# directory reaches the final image. Fully qualified, so podman needs no short-name alias for it.
#
# The base is pinned by its full version tag but not yet by digest: no container registry can
# be reached where this file is maintained, so its digest cannot be read and checked here, and
# a digest copied from elsewhere would be unchecked. On a machine that reaches Docker Hub:
#   skopeo inspect --format '{{.Digest}}' docker://docker.io/library/python:3.11.15-slim-bookworm
# then append @sha256:... here and in hack/base-image/Dockerfile, where Dependabot keeps both
# tag and digest current (it cannot read this ARG; a unit test keeps the two lines equal).
ARG PYTHON_IMAGE=docker.io/library/python:3.11.15-slim-bookworm
# The build stage's base, for the build machine's own platform: the same image by default.
# hack/image.sh names the local stand-in of the host's architecture here.
ARG BUILD_PYTHON_IMAGE=${PYTHON_IMAGE}

# The build stage runs on the build machine's platform, never under emulation: for another
# target platform the install script fetches that platform's wheels (TARGETARCH, which RUN sees
# in its environment) instead of running pip under QEMU: about 10 minutes for arm64 on 2 cores.
FROM --platform=${BUILDPLATFORM} ${BUILD_PYTHON_IMAGE} AS build
ARG TARGETARCH
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# .dockerignore lets in only what the install needs: pyproject.toml, README.md, operator/ and
# the install script.
COPY . /src
# All dependencies ship wheels for linux/amd64 and linux/arm64, so no compiler is installed.
# pip byte-compiles the installed modules here, so the read-only runtime never writes .pyc.
RUN hack/install-package.sh /opt/awsorg-operator

# The target platform named again: buildah 1.28 would otherwise keep the build stage's.
FROM --platform=${TARGETPLATFORM} ${PYTHON_IMAGE} AS runtime

# A numeric, non-root user with a passwd entry (getpass/getpwuid work) and no login shell.
RUN groupadd --system --gid 65532 awsorg \
 && useradd --system --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin awsorg

COPY --from=build /opt/awsorg-operator /opt/awsorg-operator

# The root filesystem can be read-only: nothing writes bytecode, HOME and the temporary
# directory are /tmp, which the Helm chart mounts as an emptyDir.
ENV PATH=/opt/awsorg-operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp

USER 65532:65532
WORKDIR /tmp
# Metrics (Prometheus text at /metrics) and liveness (/healthz).
EXPOSE 8080 8081
ENTRYPOINT ["/opt/awsorg-operator/bin/awsorg-operator"]

# Last, so that a new revision or date rebuilds no layer. base.name is the base actually used:
# hack/image.sh passes a local stand-in as PYTHON_IMAGE where no registry is reachable.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="awsorg-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages the AWS Organizations integration of AWS Audit Manager (AuditManagerOrgConfig, awsorg.io/v1alpha1)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
