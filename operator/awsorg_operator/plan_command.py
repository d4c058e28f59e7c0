"""`awsorg-operator plan -f resource.yaml`: what the operator would do in AWS, from a terminal or
a pipeline, before a change is merged (as `terraform plan` does). No Kubernetes, no writes.

Exit status: 0 AWS matches every resource, 2 something differs, 1 something could not be
planned (an AWS error, a check that stops the operator, a file that does not parse).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import yaml
from pydantic import ValidationError

from awsorg_operator import plan_report
from awsorg_operator.api import KIND, Spec, Status
from awsorg_operator.aws.clients import ClientFactory, ClientSettings
from awsorg_operator.aws.external import AwsConnector
from awsorg_operator.preview import Preview, preview
from awsorg_operator.resource import Resource
from awsorg_operator.settings import AWS_OPTIONS, add_options


class BadInputError(Exception):
    """The file is not one or more AuditManagerOrgConfig resources we can read."""


def parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="awsorg-operator plan",
        description="Shows what AWS has, what differs from the resource's spec and the actions "
        "the operator would take, without changing anything. Exit status: 0 in sync, 2 "
        "differs, 1 error. Credentials: the standard AWS SDK ones, and the resource's "
        "spec.credentials.roleARN/externalID, as the operator uses them.",
    )
    p.add_argument(
        "-f",
        "--filename",
        required=True,
        help="YAML file with one or more AuditManagerOrgConfig resources ('-': standard input)",
    )
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    add_options(p, env, only=AWS_OPTIONS)
    return p


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    args = parser(os.environ if env is None else env).parse_args(argv)
    _configure_logging(bool(args.verbose))
    try:
        resources = list(read_resources(_read(args.filename)))
    except BadInputError as e:
        print(f"awsorg-operator plan: {args.filename}: {e}", file=sys.stderr)
        return plan_report.ERROR
    connector = AwsConnector(
        ClientFactory(
            ClientSettings(
                default_region=args.default_region,
                connect_timeout=args.aws_connect_timeout,
                read_timeout=args.aws_read_timeout,
                max_attempts=args.aws_max_attempts,
            )
        )
    )
    previews = [preview(connector, res, args.default_region) for res in resources]
    _write(sys.stdout, previews, args.output)
    return plan_report.exit_code(previews)


def _configure_logging(verbose: bool) -> None:
    # Logs go to stderr, so stdout holds the plan alone (a pipeline parses it).
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # botocore logs request details at DEBUG (the response of AssumeRole among them): never
    # below INFO, as in the operator; and its INFO lines only with -v, or they would be
    # the only thing a quiet run prints to stderr.
    logging.getLogger("botocore").setLevel(logging.INFO if verbose else logging.WARNING)


def _read(filename: str) -> str:
    try:
        if filename == "-":
            return sys.stdin.read()
        with open(filename, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise BadInputError(e.strerror or str(e)) from e


def _write(out: TextIO, previews: Sequence[Preview], output: str) -> None:
    if output == "json":
        out.write(json.dumps(plan_report.to_data(previews), indent=2) + "\n")
    else:
        out.write(plan_report.to_text(previews))


def read_resources(text: str) -> Iterator[Resource]:
    """Every AuditManagerOrgConfig in a YAML stream (a `kind: List` too, as `kubectl get -o
    yaml` writes); other kinds are skipped, so a whole directory of manifests can be given."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as e:
        raise BadInputError(f"not YAML: {e}") from e
    found = 0
    for doc in _flatten(docs):
        if doc.get("kind") == KIND:
            found += 1
            yield _resource(doc)
    if not found:
        raise BadInputError(f"no {KIND} in it")


def _flatten(docs: list[Any]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        if not isinstance(doc, dict):
            raise BadInputError("a document is not a mapping")
        if doc.get("kind") == "List":
            yield from _flatten(list(doc.get("items") or []))
        else:
            yield doc


def _resource(doc: dict[str, Any]) -> Resource:
    meta = doc.get("metadata") or {}
    name = str(meta.get("name") or "")
    try:
        spec = Spec.model_validate(doc.get("spec") or {})
    except ValidationError as e:
        raise BadInputError(f"{name or KIND}: invalid spec: {e}") from e
    # Of the status, only the organization matters before a write (OrganizationMismatch):
    # given `kubectl get -o yaml` output, the plan refuses what the operator would refuse.
    org = (doc.get("status") or {}).get("organizationID")
    return Resource(
        name=name,
        uid=str(meta.get("uid") or ""),
        generation=int(meta.get("generation") or 0),
        created=str(meta.get("creationTimestamp") or ""),
        spec=spec,
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        status=Status(organization_id=org if isinstance(org, str) else None),
    )
