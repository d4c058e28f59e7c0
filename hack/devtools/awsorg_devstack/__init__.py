"""The whole stack on one machine: control plane, AWS emulators, and the operator installed
the way the Helm chart installs it. Shared by the end-to-end tests and the demo."""

from .container import ContainerOperator, build_image
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
