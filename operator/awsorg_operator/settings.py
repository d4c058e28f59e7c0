"""Operator settings: command-line flags, each with an environment variable as its default."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class LogFormat(StrEnum):
    PLAIN = "plain"
    FULL = "full"
    JSON = "json"


@dataclass(frozen=True)
class ClientSettings:
    """How the AWS clients reach AWS: shared by the operator and `awsorg-operator plan`."""

    default_region: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_attempts: int = 3
    # (Region, URL) pairs: Audit Manager is Regional, so an endpoint (a VPC endpoint above
    # all) serves one Region only. Regions not listed use AWS's own (or AWS_ENDPOINT_URL).
    auditmanager_endpoints: tuple[tuple[str, str], ...] = ()

    def auditmanager_endpoint(self, region: str) -> str | None:
        return dict(self.auditmanager_endpoints).get(region)


def client_settings(values: Any) -> ClientSettings:
    """The AWS client settings from `Settings` or from the plan command's parsed flags, which
    carry the same names (`AWS_OPTIONS`)."""
    return ClientSettings(
        default_region=values.default_region,
        connect_timeout=values.aws_connect_timeout,
        read_timeout=values.aws_read_timeout,
        max_attempts=values.aws_max_attempts,
        auditmanager_endpoints=values.auditmanager_endpoints,
    )


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def region_endpoints(value: str) -> tuple[tuple[str, str], ...]:
    """`us-east-1=https://...,eu-west-1=https://...` as sorted (Region, URL) pairs; a
    malformed pair or a Region named twice is a ValueError (a usage error)."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        region, _, url = item.partition("=")
        if not _REGION.fullmatch(region) or not url.startswith(("https://", "http://")):
            raise ValueError(item)
        pairs.append((region, url))
    if len({region for region, _ in pairs}) != len(pairs):
        raise ValueError("a Region is named twice")
    return tuple(sorted(pairs))


# The SDK applies AWS_ENDPOINT_URL_AUDITMANAGER to every Region's client: with several Regions,
# one Region's endpoint would receive the others' calls. Refused, with what to use instead.
_GLOBAL_AUDITMANAGER_ENDPOINT = "AWS_ENDPOINT_URL_AUDITMANAGER"


@dataclass(frozen=True)
class Settings:
    default_region: str = "us-east-1"
    resync_seconds: float = 300.0
    metrics_port: int = 8080
    health_port: int = 8081
    log_format: LogFormat = LogFormat.PLAIN
    peering: str | None = None
    priority: int = 0
    aws_connect_timeout: float = 3.0
    aws_read_timeout: float = 10.0
    aws_max_attempts: int = 3
    aws_workers: int = 32
    stuck_seconds: float = 1800.0
    watch_timeout: int = 270  # the API server takes whole seconds (timeoutSeconds)
    auditmanager_endpoints: tuple[tuple[str, str], ...] = ()
    verbose: bool = False


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


# (field, environment variable, parse, help): one row per setting; the flag is the field's
# name with dashes. The help text ends with [ENV; default], as the README documents them.
_OPTIONS: list[tuple[str, str, Callable[[str], Any], str]] = [
    (
        "default_region",
        "AWSORG_DEFAULT_REGION",
        str,
        "Region managed when spec.regions is absent (also read: AWS_REGION, AWS_DEFAULT_REGION)",
    ),
    (
        "resync_seconds",
        "AWSORG_RESYNC_SECONDS",
        float,
        "interval of the periodic re-check that finds drift",
    ),
    ("metrics_port", "AWSORG_METRICS_PORT", int, "Prometheus metrics port (/metrics), 0: off"),
    ("health_port", "AWSORG_HEALTH_PORT", int, "liveness endpoint port (/healthz), 0: off"),
    ("log_format", "AWSORG_LOG_FORMAT", LogFormat, "plain, full or json"),
    ("peering", "AWSORG_PEERING", str, "kopf peering name for several replicas; unset: standalone"),
    ("priority", "AWSORG_PRIORITY", int, "peering priority; replicas need distinct ones"),
    ("aws_connect_timeout", "AWSORG_AWS_CONNECT_TIMEOUT", float, "seconds to connect to AWS"),
    ("aws_read_timeout", "AWSORG_AWS_READ_TIMEOUT", float, "seconds to wait for AWS's answer"),
    (
        "aws_max_attempts",
        "AWSORG_AWS_MAX_ATTEMPTS",
        int,
        "attempts per AWS call (botocore standard retry mode)",
    ),
    (
        "aws_workers",
        "AWSORG_AWS_WORKERS",
        int,
        "threads that run reconciles (AWS calls block): how many resources are reconciled at once",
    ),
    (
        "stuck_seconds",
        "AWSORG_STUCK_SECONDS",
        float,
        "/healthz fails when one reconcile has run longer than this",
    ),
    (
        "watch_timeout",
        "AWSORG_WATCH_TIMEOUT",
        int,
        "seconds after which a watch is renewed although it looks alive; a silent one is "
        "dropped 30 s later",
    ),
    (
        "auditmanager_endpoints",
        "AWSORG_AUDITMANAGER_ENDPOINTS",
        region_endpoints,
        "Audit Manager endpoint per Region, REGION=URL[,REGION=URL...] (VPC endpoints); "
        "other Regions use AWS's",
    ),
    ("verbose", "AWSORG_VERBOSE", _flag, "debug logging"),
]


def _defaults(env: Mapping[str, str], p: argparse.ArgumentParser) -> dict[str, Any]:
    if env.get(_GLOBAL_AUDITMANAGER_ENDPOINT):
        p.error(
            f"{_GLOBAL_AUDITMANAGER_ENDPOINT} would send every Region's Audit Manager calls to "
            "one endpoint; name each Region's instead: AWSORG_AUDITMANAGER_ENDPOINTS="
            "REGION=URL[,REGION=URL...] (Helm: aws.serviceEndpoints.auditmanager)"
        )
    values = {f.name: f.default for f in fields(Settings)}
    # Our own variable first, then the AWS SDK's, so a pod with AWS_REGION just works.
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        values["default_region"] = env.get(name) or values["default_region"]
    for field, variable, parse, _ in _OPTIONS:
        if env.get(variable):
            try:
                values[field] = parse(env[variable])
            except ValueError:
                p.error(f"{variable}: invalid value {env[variable]!r}")
    return values


# What `awsorg-operator plan` shares with the operator: how it reaches AWS, and -v.
AWS_OPTIONS = (
    "default_region",
    "aws_connect_timeout",
    "aws_read_timeout",
    "aws_max_attempts",
    "auditmanager_endpoints",
    "verbose",
)


def add_options(
    p: argparse.ArgumentParser, env: Mapping[str, str], only: Collection[str] | None = None
) -> None:
    """The settings' flags, each defaulting to its environment variable (all, or `only`)."""
    defaults = _defaults(env, p)
    for field, variable, parse_value, text in _OPTIONS:
        if only is not None and field not in only:
            continue
        default = defaults[field]
        shown = default.value if isinstance(default, StrEnum) else default
        if isinstance(default, tuple):  # (Region, URL) pairs
            shown = ",".join("=".join(pair) for pair in default) or "none"
        help_text = f"{text} [{variable}; {shown if default is not None else 'unset'}]"
        flag = "--" + field.replace("_", "-")
        if parse_value is _flag:
            p.add_argument("-v", flag, action="store_true", default=default, help=help_text)
        elif isinstance(default, StrEnum):
            choices = list(type(default))
            p.add_argument(flag, type=parse_value, choices=choices, default=default, help=help_text)
        else:
            p.add_argument(flag, type=parse_value, default=default, help=help_text)


def parse(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(
        prog="awsorg-operator",
        description="Reconciles AuditManagerOrgConfig resources against AWS.",
        epilog="awsorg-operator plan -f FILE: what the operator would do, without Kubernetes "
        "and without writing (awsorg-operator plan --help).",
    )
    add_options(p, env)
    settings = Settings(**vars(p.parse_args(argv)))
    if settings.resync_seconds <= 0:
        p.error("--resync-seconds must be positive")
    if settings.aws_workers < 1:
        p.error("--aws-workers must be at least 1")
    if settings.stuck_seconds <= 0:
        p.error("--stuck-seconds must be positive")
    if settings.watch_timeout <= 0:
        p.error("--watch-timeout must be positive")
    if settings.peering == "":
        settings = replace(settings, peering=None)  # an empty name means standalone
    return settings
