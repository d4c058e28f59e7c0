"""A real Argo CD on one machine: redis, `git daemon`, Argo CD's repo-server and
application-controller (built by hack/build-tools.sh), against a local control plane.
Development tooling only: never shipped."""

from .appofapps import render_helm_source
from .gitrepo import GitServer, LocalGitRepo
from .runner import NAMESPACE, ArgoCD, ArgoCDError

__all__ = [
    "NAMESPACE",
    "ArgoCD",
    "ArgoCDError",
    "GitServer",
    "LocalGitRepo",
    "render_helm_source",
]
