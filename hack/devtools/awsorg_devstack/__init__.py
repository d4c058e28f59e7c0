"""Test fixtures for the whole stack on one machine: the operator installed the way the Helm
chart installs it, as a process (`stack`) or from its image (`container`), beside the control
plane and the AWS emulators; a real Prometheus (`prometheus`); a TCP proxy that injects
faults (`faultproxy`). Shared by the end-to-end tests and awsorg_experiments; only fixtures
live here, so that a test depends on nothing it does not run."""

from .container import ContainerOperator
from .imagebuild import build_image
from .stack import (
    NAMESPACE,
    RELEASE,
    REPO,
    Operator,
    install_crd_and_rbac,
    install_peering,
    render_chart,
)

__all__ = [
    "NAMESPACE",
    "RELEASE",
    "REPO",
    "ContainerOperator",
    "Operator",
    "build_image",
    "install_crd_and_rbac",
    "install_peering",
    "render_chart",
]
