"""Operator settings: command-line flags, each with an environment variable as its default."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class LogFormat(StrEnum):
    PLAIN = "plain"
    FULL = "full"
    JSON = "json"


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
    verbose: bool = False


def _default_region(env: Mapping[str, str]) -> str:
    # Our own variable first, then the AWS SDK's, so a pod with AWS_REGION just works.
    for name in ("AWSORG_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(name):
            return env[name]
    return Settings.default_region


def parse(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(
        prog="awsorg-operator",
        description="Reconciles AuditManagerOrgConfig resources against AWS.",
    )
    p.add_argument(
        "--default-region",
        default=_default_region(env),
        help="Region managed when spec.regions is absent "
        "[AWSORG_DEFAULT_REGION, AWS_REGION, AWS_DEFAULT_REGION; us-east-1]",
    )
    p.add_argument(
        "--resync-seconds",
        type=float,
        default=float(env.get("AWSORG_RESYNC_SECONDS", Settings.resync_seconds)),
        help="Interval of the periodic re-check that finds drift [AWSORG_RESYNC_SECONDS; 300]",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=int(env.get("AWSORG_METRICS_PORT", Settings.metrics_port)),
        help="Prometheus metrics port, 0 to disable [AWSORG_METRICS_PORT; 8080]",
    )
    p.add_argument(
        "--health-port",
        type=int,
        default=int(env.get("AWSORG_HEALTH_PORT", Settings.health_port)),
        help="Liveness endpoint port (/healthz), 0 to disable [AWSORG_HEALTH_PORT; 8081]",
    )
    p.add_argument(
        "--log-format",
        type=LogFormat,
        choices=list(LogFormat),
        default=LogFormat(env.get("AWSORG_LOG_FORMAT", Settings.log_format)),
        help="plain, full or json [AWSORG_LOG_FORMAT; plain]",
    )
    p.add_argument(
        "--peering",
        default=env.get("AWSORG_PEERING") or None,
        help="kopf peering name for several replicas; unset runs standalone [AWSORG_PEERING]",
    )
    p.add_argument(
        "--priority",
        type=int,
        default=int(env.get("AWSORG_PRIORITY", Settings.priority)),
        help="Peering priority; replicas need distinct ones [AWSORG_PRIORITY; 0]",
    )
    p.add_argument(
        "--aws-connect-timeout",
        type=float,
        default=float(env.get("AWSORG_AWS_CONNECT_TIMEOUT", Settings.aws_connect_timeout)),
        help="Seconds [AWSORG_AWS_CONNECT_TIMEOUT; 3]",
    )
    p.add_argument(
        "--aws-read-timeout",
        type=float,
        default=float(env.get("AWSORG_AWS_READ_TIMEOUT", Settings.aws_read_timeout)),
        help="Seconds [AWSORG_AWS_READ_TIMEOUT; 10]",
    )
    p.add_argument(
        "--aws-max-attempts",
        type=int,
        default=int(env.get("AWSORG_AWS_MAX_ATTEMPTS", Settings.aws_max_attempts)),
        help="botocore standard-mode attempts per call [AWSORG_AWS_MAX_ATTEMPTS; 3]",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=env.get("AWSORG_VERBOSE", "") in ("1", "true"),
        help="Debug logging [AWSORG_VERBOSE]",
    )
    a = p.parse_args(argv)
    if a.resync_seconds <= 0:
        p.error("--resync-seconds must be positive")
    return Settings(
        default_region=a.default_region,
        resync_seconds=a.resync_seconds,
        metrics_port=a.metrics_port,
        health_port=a.health_port,
        log_format=a.log_format,
        peering=a.peering,
        priority=a.priority,
        aws_connect_timeout=a.aws_connect_timeout,
        aws_read_timeout=a.aws_read_timeout,
        aws_max_attempts=a.aws_max_attempts,
        verbose=a.verbose,
    )
