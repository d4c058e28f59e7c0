"""JSON shapes of the control API (/_emulator/...), shared by server and client."""

from __future__ import annotations

from typing import Any, TypedDict


class CallRecord(TypedDict):
    service: str
    operation: str
    account: str
    region: str
    outcome: str  # "ok" or the AWS error code
    fault: str | None  # the injected fault kind that shaped this call, if any
    # Wall-clock seconds (time.time()) when the request arrived and when it was answered:
    # tests of concurrent callers read the order of calls that overlap from these.
    started: float
    ended: float
    # Who called, named as CloudTrail names them: the client's address and its User-Agent
    # (an SDK's `app/<id>` part, AWS_SDK_UA_APP_ID, tells callers behind one address apart).
    sourceIPAddress: str
    userAgent: str


class AccountView(TypedDict):
    id: str
    name: str
    email: str
    status: str


class OrganizationView(TypedDict):
    id: str
    managementAccountID: str
    featureSet: str
    accounts: list[AccountView]


class AuditManagerRegionView(TypedDict):
    accounts: dict[str, str]  # account id -> ACTIVE | INACTIVE | PENDING_ACTIVATION
    adminAccountID: str | None
    kmsKey: str  # the management account's kmsKey setting
    kmsKeys: dict[str, str]  # account id -> kmsKey setting, for every account with settings
    # account id -> its settings as stored (snsTopic as the ARN set), evidence finder as read
    settings: dict[str, dict[str, Any]]
    # account id -> deleteResources of its last deregistration (ALL: data to be deleted)
    deregistrations: dict[str, str]
    # event data stores Audit Manager stopped using without deleting (they are still billed)
    orphanedEventDataStores: list[str]


class ConfigView(TypedDict):
    seed: str
    maintenanceMode: bool
    reregisterPreCutoff: bool
    staleReadSeconds: float
    credentialLifetimeSeconds: float
    expiredRequests: int  # requests refused because their assumed-role credentials expired
    enforceIam: bool  # every request needs an IAM principal whose policies allow it
    latencySeconds: float  # added to every AWS call, as a network round trip to AWS would
    evidenceFinderSeconds: float | None  # each evidence finder step; None: only when settled
    cloudTrailLakeOpen: bool  # evidence finder may be enabled by an account that never had it


class StateSnapshot(TypedDict):
    config: ConfigView
    organization: OrganizationView | None
    trustedAccess: list[str]
    delegatedAdministrators: dict[str, list[str]]
    auditManager: dict[str, AuditManagerRegionView]
    preCutoffActive: dict[str, list[str]]  # region -> accounts active before the cut-off


class FaultView(TypedDict):
    service: str
    operation: str
    kind: str
    count: int
    latencySeconds: float
    region: str


class CallPatternView(TypedDict):
    service: str  # "*": any
    operation: str
    region: str


class RendezvousView(TypedDict):
    """One rendezvous of POST /_emulator/rendezvous (rendezvous.py)."""

    calls: list[CallPatternView]
    notArrived: list[CallPatternView]
    timeoutSeconds: float
    status: str  # waiting | met | expired | cleared


class OrganizationSeedView(TypedDict):
    """One organization added by POST /_emulator/organizations."""

    organizationID: str
    managementAccountID: str
    adminAccountID: str  # its one member account, the delegated administrator candidate
    roleARN: str  # a role in the management account, for spec.credentials.roleARN
