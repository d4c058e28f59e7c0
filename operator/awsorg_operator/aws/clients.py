"""botocore clients, one per service and Region, shared by every identity (`bound.py`).

Standard SDK configuration applies (AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ORGANIZATIONS
and _STS, profiles, web identity for IRSA, the container credentials of EKS Pod Identity).
Audit Manager's endpoints are per Region (`ClientSettings.auditmanager_endpoints`). A resource may
name a role to assume instead; its credentials (its own: never used for another identity's
calls) refresh on their own before they expire."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import NoCredentialsError

from awsorg_operator import metrics
from awsorg_operator.aws.bound import BoundClient, CallerCredentials
from awsorg_operator.aws.concurrency import OVERALL
from awsorg_operator.aws.errors import classify
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError
from awsorg_operator.settings import ClientSettings

if TYPE_CHECKING:
    from types_boto3_auditmanager import AuditManagerClient
    from types_boto3_organizations import OrganizationsClient
    from types_boto3_sts import STSClient

SESSION_NAME = "awsorg-operator"
# An identity unused this long gets new credentials when it comes back: long enough that a
# re-check never pays for AssumeRole (the operator passes three re-check intervals if that is
# longer), short enough that the identities of removed resources do not pile up.
IDLE_SECONDS = 3600.0


def botocore_config(settings: ClientSettings) -> Config:
    # `standard` retries throttling and 5xx with backoff; short timeouts because kopf
    # cannot cancel a thread that hangs on a socket. One client per service and Region
    # serves every identity: its pool holds as many connections as calls may be in flight.
    return Config(
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        user_agent_extra="awsorg-operator",
        max_pool_connections=OVERALL,
    )


class SharedClients:
    """The botocore clients of the whole process, one per service and Region, created on
    first use. They sign with `CallerCredentials`: only a `BoundClient` can call them."""

    def __init__(self, settings: ClientSettings, session: botocore.session.Session) -> None:
        self.settings = settings
        self.session = session
        self.loader = session.get_component("data_loader")
        self._config = botocore_config(settings)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str, endpoint_url: str | None = None) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self.session.create_client(
                    service,
                    region_name=region,
                    endpoint_url=endpoint_url,  # None: the SDK's (AWS_ENDPOINT_URL or AWS's)
                    config=self._config,
                )
            return self._clients[key]

    def close(self) -> None:
        """Closes the clients' connection pools."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()


class AwsClients:
    """The clients as one identity sees them: the shared ones, signing with its credentials."""

    def __init__(self, shared: SharedClients, credentials: Credentials | None) -> None:
        self._shared = shared
        self._settings = shared.settings
        self.credentials = credentials
        self._caller: str | None = None

    def _client(self, service: str, region: str, endpoint_url: str | None = None) -> Any:
        client = self._shared.get(service, region, endpoint_url)
        return BoundClient(client, self.credentials, self._shared.loader)

    @property
    def caller_account(self) -> str | None:
        """The account these credentials belong to, once asked (`remember_caller`). It lives
        as long as these credentials: `ClientFactory.forget` drops both when AWS refuses
        them as expired."""
        return self._caller

    def remember_caller(self, account_id: str) -> str:
        self._caller = account_id
        return account_id

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
        session = self._shared.session
        partition = session.get_partition_for_region(self._settings.default_region)
        return session.get_available_regions("auditmanager", partition)


class ClientFactory:
    """Hands out `AwsClients` per identity: credentials of its own, clients shared. An
    identity unused for `idle_seconds` (longer than the re-check) is dropped, and gets new
    credentials when it comes back."""

    def __init__(
        self,
        settings: ClientSettings,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._by_identity: OrderedDict[Identity, tuple[AwsClients, float]] = OrderedDict()
        # One loader for both sessions: the models and endpoint data are parsed once.
        loader = botocore.loaders.create_loader()
        self._source = _session(loader)  # the SDK's chain: environment, IRSA, Pod Identity
        shared = _session(loader)  # its clients sign with the credentials of the call
        shared._credentials = CallerCredentials()  # type: ignore[attr-defined]
        events = shared.get_component("event_emitter")
        events.register("after-call", _count_call)
        events.register("after-call-error", _count_failed_call)
        self._shared = SharedClients(settings, shared)

    def for_identity(self, identity: Identity) -> AwsClients:
        now = self._clock()
        with self._lock:
            self._drop_idle(now)
            known = self._by_identity.get(identity)
            if known is not None:
                self._by_identity[identity] = (known[0], now)
                self._by_identity.move_to_end(identity)
                return known[0]
        # Built outside the lock: getting source credentials can take an HTTP round trip
        # (IRSA, Pod Identity), and one slow identity must not hold up every other resource.
        # Two threads may build the same identity at once; the first one stored wins.
        built = AwsClients(self._shared, self._credentials(identity))
        with self._lock:
            return self._by_identity.setdefault(identity, (built, now))[0]

    def forget(self, identity: Identity) -> None:
        """Drop an identity's credentials, so the next call gets fresh ones (after AWS said
        they expired although botocore thought them valid). Its clients are shared: nothing
        of the identity's own is left open."""
        with self._lock:
            self._by_identity.pop(identity, None)

    def close(self) -> None:
        """Closes the shared clients: at the operator's clean-up."""
        with self._lock:
            self._by_identity.clear()
        self._shared.close()

    def _drop_idle(self, now: float) -> None:
        # Least recently used first: stop at the first identity still in use.
        while self._by_identity:
            identity, (_, used) = next(iter(self._by_identity.items()))
            if now - used <= self._idle_seconds:
                return
            del self._by_identity[identity]

    def _credentials(self, identity: Identity) -> Credentials | None:
        # The chain is asked anew per identity: forgetting one gets its source afresh too.
        source: Credentials | None = self._source.get_component(
            "credential_provider"
        ).load_credentials()
        if identity.role_arn is None:
            return source  # None: each call fails with NoCredentialsError, as botocore's do
        if source is None:
            raise CallError(classify("AssumeRole", NoCredentialsError()))
        extra: dict[str, Any] = {"RoleSessionName": SESSION_NAME}
        if identity.external_id:
            extra["ExternalId"] = identity.external_id
        fetcher = AssumeRoleCredentialFetcher(
            # The shared STS client, signing with the source credentials it is given.
            client_creator=self._sts_for,
            source_credentials=source,
            role_arn=identity.role_arn,
            extra_args=extra,
        )
        return DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )

    def _sts_for(self, service: str, **keys: Any) -> Any:
        source = Credentials(
            keys["aws_access_key_id"], keys["aws_secret_access_key"], keys.get("aws_session_token")
        )
        client = self._shared.get(service, self._settings.default_region)
        return BoundClient(client, source, self._shared.loader)


def _session(loader: Any) -> botocore.session.Session:
    session = botocore.session.get_session()
    session.register_component("data_loader", loader)
    return session


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
