"""boto3 clients, built once per identity and reused across reconciles.

Standard SDK configuration applies (AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ORGANIZATIONS
and _STS, profiles, web identity for IRSA, the container credentials of EKS Pod Identity).
Audit Manager's endpoints are per Region (`ClientSettings.auditmanager_endpoints`). A resource may
name a role to assume instead; its credentials refresh on their own before they expire.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import NoCredentialsError

from awsorg_operator import metrics
from awsorg_operator.aws.errors import classify
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError
from awsorg_operator.settings import ClientSettings

if TYPE_CHECKING:
    from types_boto3_auditmanager import AuditManagerClient
    from types_boto3_organizations import OrganizationsClient
    from types_boto3_sts import STSClient

SESSION_NAME = "awsorg-operator"


def botocore_config(settings: ClientSettings) -> Config:
    # `standard` retries throttling and 5xx with backoff; short timeouts because kopf
    # cannot cancel a thread that hangs on a socket.
    return Config(
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        user_agent_extra="awsorg-operator",
    )


class AwsClients:
    """The clients for one identity. boto3 clients are thread-safe once created."""

    def __init__(self, session: boto3.Session, settings: ClientSettings) -> None:
        self._session = session
        self._settings = settings
        self._config = botocore_config(settings)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._caller: str | None = None
        session.events.register("after-call", _count_call)
        session.events.register("after-call-error", _count_failed_call)

    def _client(self, service: str, region: str, endpoint_url: str | None = None) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=endpoint_url,  # None: the SDK's (AWS_ENDPOINT_URL or AWS's)
                    config=self._config,  # type: ignore[call-overload]
                )
            return self._clients[key]

    @property
    def caller_account(self) -> str | None:
        """The account these credentials belong to, once asked (`remember_caller`). It lives
        as long as these clients: `ClientFactory.forget` drops both when AWS refuses the
        credentials as expired."""
        return self._caller

    def remember_caller(self, account_id: str) -> str:
        self._caller = account_id
        return account_id

    def close(self) -> None:
        """Closes the clients' connection pools."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def sts(self) -> STSClient:
        return self._client("sts", self._settings.default_region)  # type: ignore[no-any-return]

    def organizations(self) -> OrganizationsClient:
        # Organizations is a global service; its endpoint lives in us-east-1 in the
        # commercial partition, which botocore resolves from any Region.
        return self._client(  # type: ignore[no-any-return]
            "organizations", self._settings.default_region
        )

    def auditmanager(self, region: str) -> AuditManagerClient:
        # Audit Manager is Regional: an endpoint of our own (a VPC endpoint) is per Region.
        endpoint = self._settings.auditmanager_endpoint(region)
        return self._client("auditmanager", region, endpoint)  # type: ignore[no-any-return]

    def auditmanager_regions(self) -> list[str]:
        """The Regions where Audit Manager is offered, from botocore's endpoint data."""
        partition = self._session.get_partition_for_region(self._settings.default_region)
        return self._session.get_available_regions("auditmanager", partition)


class ClientFactory:
    """Hands out `AwsClients` per identity, creating each once."""

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._by_identity: dict[Identity, AwsClients] = {}
        # One loader for every session: each identity has a session of its own, and without
        # this each one parses botocore's service models and endpoint data again (about half
        # a second of CPU per new identity, which a thousand organizations pay a thousand
        # times). The models never change while the process runs.
        self._loader = botocore.loaders.create_loader()

    def for_identity(self, identity: Identity) -> AwsClients:
        with self._lock:
            known = self._by_identity.get(identity)
        if known is not None:
            return known
        # Built outside the lock: getting source credentials can take an HTTP round trip
        # (IRSA, Pod Identity), and one slow identity must not hold up every other resource.
        # Two threads may build the same identity at once; the first one stored wins.
        built = AwsClients(self._session(identity), self._settings)
        with self._lock:
            return self._by_identity.setdefault(identity, built)

    def forget(self, identity: Identity) -> None:
        """Drop an identity's clients, so the next call builds them with fresh credentials
        (after AWS said they expired although botocore thought them valid). Their
        connections are left to close as they end: a reconcile may still be using them."""
        with self._lock:
            self._by_identity.pop(identity, None)

    def close(self) -> None:
        """Closes every identity's clients: at the operator's clean-up."""
        with self._lock:
            known, self._by_identity = list(self._by_identity.values()), {}
        for clients in known:
            clients.close()

    def _botocore_session(self) -> botocore.session.Session:
        session = botocore.session.get_session()
        session.register_component("data_loader", self._loader)
        return session

    def _session(self, identity: Identity) -> boto3.Session:
        base = self._botocore_session()
        if identity.role_arn is None:
            return boto3.Session(botocore_session=base, region_name=self._settings.default_region)
        extra: dict[str, Any] = {"RoleSessionName": SESSION_NAME}
        if identity.external_id:
            extra["ExternalId"] = identity.external_id
        source_credentials = base.get_credentials()
        if source_credentials is None:
            raise CallError(classify("AssumeRole", NoCredentialsError()))
        fetcher = AssumeRoleCredentialFetcher(
            # The STS client gets the same short timeouts and retries as every other.
            client_creator=functools.partial(
                base.create_client,
                region_name=self._settings.default_region,
                config=botocore_config(self._settings),
            ),
            source_credentials=source_credentials,
            role_arn=identity.role_arn,
            extra_args=extra,
        )
        assumed = self._botocore_session()
        # botocore has no public setter for a session's credentials; setting `_credentials`
        # is the common way to give a session refreshable assume-role credentials.
        assumed._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        return boto3.Session(botocore_session=assumed, region_name=self._settings.default_region)


def _count_call(*, model: Any, parsed: Any, **_: Any) -> None:
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    outcome = error.get("Code") or "ok"
    metrics.AWS_CALLS.labels(model.service_model.service_name, model.name, outcome).inc()


def _count_failed_call(*, exception: Exception, event_name: str, **_: Any) -> None:
    # botocore passes no operation model with this event (only `exception` and `context`),
    # so service and operation come from the event's name:
    # "after-call-error.<service-id>.<Operation>". A handler that raises here would replace
    # the real error (a timeout, a refused connection) with its own.
    parts = [*event_name.split(".", 2), "unknown", "unknown"]
    metrics.AWS_CALLS.labels(parts[1], parts[2], type(exception).__name__).inc()
