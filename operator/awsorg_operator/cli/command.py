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
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Protocol, TextIO

import yaml
from pydantic import ValidationError

from awsorg_operator.accounts import ReadAccounts, settings_seams
from awsorg_operator.api import KIND
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.cli import output
from awsorg_operator.external import Identity, Reader, SettingsReader
from awsorg_operator.failures import CallError
from awsorg_operator.observed import Observed, OrgView
from awsorg_operator.resource import Resource, from_manifest
from awsorg_operator.settings import AWS_OPTIONS, add_options, client_settings
from awsorg_operator.survey import Survey, survey


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
        return output.ERROR
    connector = AwsConnector(ClientFactory(client_settings(args)))
    try:
        surveys = [
            preview(connector, res, args.default_region, connector.connect_settings)
            for res in resources
        ]
    finally:
        connector.close()
    _write(sys.stdout, surveys, args.output)
    return output.exit_code(surveys)


class ReadConnector(Protocol):
    def connect(self, identity: Identity) -> Reader: ...


class ReadOnly:
    """The reads of an `External`, and nothing else: `execute` is not reachable through it, so
    no path from the plan command can send a write, and mypy checks it."""

    def __init__(self, reader: Reader) -> None:
        self.__reader = reader  # name-mangled: not an attribute a caller stumbles upon

    def observe_org(self) -> OrgView:
        return self.__reader.observe_org()

    def is_member(self, account_id: str) -> bool:
        return self.__reader.is_member(account_id)

    def will_ask_member(self, account_id: str) -> None:
        self.__reader.will_ask_member(account_id)

    def observe(
        self,
        org: OrgView,
        regions: Sequence[str],
        scan: bool,
        skip: Collection[str] = frozenset(),
    ) -> Observed:
        return self.__reader.observe(org, regions, scan, skip)


def preview(
    connector: ReadConnector,
    res: Resource,
    default_region: str,
    settings: Callable[[Identity], SettingsReader] | None = None,
) -> Survey:
    """The operator's own survey (observe, check, plan) without the two steps that need
    Kubernetes (the organization's claim, the record of writes) and without act; the
    administrator's settings too, with spec.adminCredentials."""
    desired = res.desired(default_region)
    try:
        reader = ReadAccounts(connector.connect(res.identity), *settings_seams(settings, res))
        return survey(ReadOnly(reader), res, desired)
    except CallError as e:
        return Survey(res, desired, error=e.failure)


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


def _write(out: TextIO, surveys: Sequence[Survey], form: str) -> None:
    if form == "json":
        out.write(json.dumps(output.to_data(surveys), indent=2) + "\n")
    else:
        out.write(output.to_text(surveys))


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
    try:
        return from_manifest(doc)
    except ValidationError as e:
        name = str((doc.get("metadata") or {}).get("name") or "")
        raise BadInputError(f"{name or KIND}: invalid spec: {e}") from e
