"""A real Kubernetes control plane (etcd + kube-apiserver) for end-to-end tests.

The binaries come from hack/build-tools.sh (or envtest's KUBEBUILDER_ASSETS /
TEST_ASSET_* variables); see :func:`tool_path`. Development tooling only:
never shipped with the operator.
"""

from .controlplane import ApiError, ControlPlaneError, KubectlError, LocalControlPlane
from .node import LocalNode, NodeError
from .tools import TOOLS, ToolNotFoundError, argocd_files_dir, kubeconform_schema_dir, tool_path

__all__ = [
    "TOOLS",
    "ApiError",
    "ControlPlaneError",
    "KubectlError",
    "LocalControlPlane",
    "LocalNode",
    "NodeError",
    "ToolNotFoundError",
    "argocd_files_dir",
    "kubeconform_schema_dir",
    "tool_path",
]
