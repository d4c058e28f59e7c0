"""Entry point: `python -m awsorg_operator` or `awsorg-operator`, as in the container.

With no subcommand it runs the operator (the image and the chart call it so);
`awsorg-operator plan ...` shows what it would do, without Kubernetes and without writing;
`awsorg-operator wait-for-turn` is the chart's init container (kube/startup.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import kopf

from awsorg_operator.cli import command
from awsorg_operator.kube import handlers, metrics_endpoint, startup
from awsorg_operator.settings import LogFormat, parse

_LOG_FORMATS = {
    LogFormat.PLAIN: kopf.LogFormat.PLAIN,
    LogFormat.FULL: kopf.LogFormat.FULL,
    LogFormat.JSON: kopf.LogFormat.JSON,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["plan"]:  # the operator's own arguments are all flags
        return command.main(args[1:])
    if args[:1] == ["wait-for-turn"]:
        return startup.main(args[1:])
    settings = parse(args)
    kopf.configure(verbose=settings.verbose, log_format=_LOG_FORMATS[settings.log_format])
    # botocore logs credentials-adjacent details at DEBUG; keep it at INFO even with -v.
    logging.getLogger("botocore").setLevel(logging.INFO)
    if settings.metrics_port:
        metrics_endpoint.serve(settings.metrics_port)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, settings)
    kopf.run(
        registry=registry,
        clusterwide=True,
        standalone=settings.peering is None,
        peering_name=settings.peering,
        priority=settings.priority,
        # /healthz is served by the runtime (kube/health_endpoint.py), not on kopf's loop.
        liveness_endpoint=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
