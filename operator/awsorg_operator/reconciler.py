"""One reconcile, in four steps: observe AWS, plan, act, report.

The same function serves create, update, resume and the periodic re-check; deletion has its
own entry that shares the steps. Nothing here knows kopf: the handlers translate `Outcome`.
Status is always reported, also when a step fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from awsorg_operator import metrics
from awsorg_operator.api import (
    ALLOW_ADMIN_CHANGE_ANNOTATION,
    Condition,
    ConditionStatus,
    DeletionPolicy,
    ManagementPolicy,
    RegionStatus,
    Spec,
    Status,
    TrustedAccess,
)
from awsorg_operator.aws import auditmanager, organizations
from awsorg_operator.aws.clients import AwsClients, ClientFactory, Identity
from awsorg_operator.aws.errors import AwsCallError, AwsFailure, Retry
from awsorg_operator.conditions import READY, SYNCED, set_condition
from awsorg_operator.plan import Action, Desired, Op, Plan, plan, plan_deletion
from awsorg_operator.state import Observed, OrgView, RegionFailure, RegionView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """The parts of the Kubernetes object a reconcile needs."""

    name: str
    uid: str
    generation: int
    created: str  # metadata.creationTimestamp, RFC 3339: sorts in time order
    spec: Spec
    annotations: Mapping[str, str]
    status: Status

    @property
    def allow_admin_change(self) -> bool:
        return self.annotations.get(ALLOW_ADMIN_CHANGE_ANNOTATION) == "true"

    @property
    def manages(self) -> bool:
        return self.spec.management_policy is ManagementPolicy.MANAGE


@dataclass(frozen=True)
class Claim:
    """Another resource's hold on an AWS organization, as its status tells."""

    name: str
    uid: str
    created: str
    organization_id: str | None  # None: not known yet

    @property
    def seniority(self) -> tuple[str, str]:
        return (self.created, self.name)


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Outcome:
    status: Status
    events: list[Event]
    # None: done until something changes or the next re-check. For a deletion, None also
    # means the finalizer may go.
    retry: Retry | None


@dataclass(frozen=True)
class Stop:
    """Why a reconcile stops before planning, with no AWS writes."""

    reason: str
    message: str
    retry: Retry | None = None


@dataclass
class _Seen:
    """What one reconcile saw and did, whatever step it got to."""

    org: OrgView | None = None
    observed: Observed | None = None
    failures: dict[str | None, AwsFailure] = field(default_factory=dict)  # None: organization
    events: list[Event] = field(default_factory=list)
    stop: Stop | None = None
    plan: Plan = field(default_factory=Plan)
    released: bool = False  # deletion: AWS is as the deletionPolicy wants


_Cond = tuple[ConditionStatus, str, str]  # status, reason, message


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    def __init__(
        self, clients: ClientFactory, default_region: str, now: Callable[[], str] = utcnow
    ) -> None:
        self._clients = clients
        self._default_region = default_region
        self._now = now

    def reconcile(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        desired, seen = self._desired(res), _Seen()
        try:
            self._reconcile(res, desired, list(claims), seen)
        except AwsCallError as e:
            seen.failures[None] = e.failure
        return _outcome(res, desired, seen, self._now(), deleting=False)

    def delete(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        desired, seen = self._desired(res), _Seen()
        try:
            self._delete(res, desired, list(claims), seen)
        except AwsCallError as e:
            seen.failures[None] = e.failure
        return _outcome(res, desired, seen, self._now(), deleting=True)

    def _reconcile(self, res: Resource, desired: Desired, claims: list[Claim], seen: _Seen) -> None:
        aws = self._aws(res)
        seen.org = org = organizations.observe_org(aws.sts(), aws.organizations())
        seen.stop = (
            _preflight(res, org) or _conflict(res, org, claims) or _check_admin(desired, org, aws)
        )
        if seen.stop:
            return
        scan = not desired.trusted_access  # disabling needs every Region's administrator
        _observe(aws, org, desired.regions, seen, scan)
        seen.plan = plan(desired, _observed(seen))
        seen.events += _drift_events(res, seen.plan)
        if res.manages and seen.plan.actions and _act(aws, seen.plan.actions, seen):
            # Report what AWS now has, not what we think we did.
            _observe(aws, org, desired.regions, seen, scan)
            seen.plan = plan(desired, _observed(seen))

    def _delete(self, res: Resource, desired: Desired, claims: list[Claim], seen: _Seen) -> None:
        if res.spec.deletion_policy is DeletionPolicy.RETAIN or not res.manages:
            why = "deletionPolicy is Retain" if res.manages else "managementPolicy is Observe"
            seen.events.append(Event("Normal", "Retained", f"AWS left as it is: {why}"))
            seen.released = True
            return
        aws = self._aws(res)
        seen.org = org = organizations.observe_org(aws.sts(), aws.organizations())
        conflict = _conflict(res, org, claims)
        if conflict and conflict.retry is None:  # another resource owns the organization
            seen.events.append(Event("Normal", "Retained", conflict.message))
            seen.released = True
            return
        seen.stop = _preflight(res, org) or conflict
        if seen.stop:
            return
        _observe(aws, org, desired.regions, seen, scan=True)
        seen.plan = plan_deletion(desired, _observed(seen))
        _act(aws, seen.plan.actions, seen)
        seen.events += [Event("Warning", "Retained", note) for note in seen.plan.notes]
        # A Region that could not be read might hold an administrator: try again before
        # letting go, or trusted access could stay on with nobody managing it.
        seen.released = not seen.failures and not _observed(seen).unreadable_elsewhere

    def _desired(self, res: Resource) -> Desired:
        return Desired(
            trusted_access=res.spec.trusted_access is TrustedAccess.ENABLED,
            admin_account_id=res.spec.delegated_admin_account_id,
            kms_key=res.spec.kms_key,
            regions=res.spec.effective_regions(self._default_region),
            allow_admin_change=res.allow_admin_change,
        )

    def _aws(self, res: Resource) -> AwsClients:
        creds = res.spec.credentials
        identity = Identity(creds.role_arn, creds.external_id) if creds else Identity()
        return self._clients.for_identity(identity)


# -- observe and check -----------------------------------------------------------------------


def _observe(
    aws: AwsClients, org: OrgView, regions: tuple[str, ...], seen: _Seen, scan: bool
) -> None:
    client = aws.organizations()
    by_region: dict[str, RegionView | RegionFailure] = {}
    for region in regions:
        # A failure in one Region is kept and the others go on.
        try:
            by_region[region] = auditmanager.observe_region(aws.auditmanager(region), region)
        except AwsCallError as e:
            by_region[region] = RegionFailure(region, e.failure)
            seen.failures[region] = e.failure
    trusted = organizations.trusted_access_enabled(client)
    elsewhere, unreadable = _elsewhere(aws, regions) if scan and trusted else ({}, [])
    seen.observed = Observed(
        org=org,
        trusted_access=trusted,
        org_delegated_admins=organizations.delegated_admins(client),
        regions=by_region,
        admins_elsewhere=elsewhere,
        unreadable_elsewhere=tuple(unreadable),
    )


def _elsewhere(aws: AwsClients, listed: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Administrators in the Regions the spec does not list (read-only calls), and the
    Regions that could not be read for a reason that passes."""
    found, unreadable = {}, []
    for region in aws.auditmanager_regions():
        if region in listed:
            continue
        try:
            view = auditmanager.observe_region(aws.auditmanager(region), region)
        except AwsCallError as e:
            if e.failure.retry is Retry.SOON:
                unreadable.append(region)
            else:
                # Refused for good (a Region not enabled for the account, an IAM policy
                # limiting Regions): Audit Manager cannot be in use there for this account.
                log.info("not counting %s: %s", region, e.failure.describe())
            continue
        if view.admin_account_id:
            found[region] = view.admin_account_id
    return found, unreadable


def _observed(seen: _Seen) -> Observed:
    assert seen.observed is not None
    return seen.observed


def _preflight(res: Resource, org: OrgView) -> Stop | None:
    o = org.organization
    if org.caller_account_id != o.management_account_id:
        return Stop(
            "NotManagementAccount",
            f"the credentials are of account {org.caller_account_id}, not of the "
            f"organization's management account {o.management_account_id}; only the "
            "management account can manage trusted access and delegated administrators",
        )
    if o.feature_set != "ALL":
        return Stop(
            "AllFeaturesRequired",
            f"organization {o.id} has feature set {o.feature_set}; trusted access "
            "needs all features enabled",
        )
    recorded = res.status.organization_id
    if recorded and recorded != o.id:
        return Stop(
            "OrganizationMismatch",
            f"the credentials reach organization {o.id}, but this resource manages "
            f"{recorded}; to move it, delete this resource (deletionPolicy Retain) "
            "and create a new one",
        )
    return None


def _conflict(res: Resource, org: OrgView, claims: Iterable[Claim]) -> Stop | None:
    """The oldest resource that reaches an organization owns it; the rest only report."""
    mine = (res.created, res.name)
    older = sorted(
        (c for c in claims if c.uid != res.uid and c.seniority < mine), key=lambda c: c.seniority
    )
    owner = next((c for c in older if c.organization_id == org.organization.id), None)
    if owner:
        return Stop(
            "Conflict",
            f"organization {org.organization.id} is managed by AuditManagerOrgConfig "
            f"{owner.name!r}, which is older; this resource makes no AWS changes",
        )
    # An older resource that has not reported an organization (not reconciled yet, or failing
    # before AWS said which) may reach this one: wait for it rather than act and flap later.
    # This is what makes simultaneous creation safe.
    unknown = next((c for c in older if c.organization_id is None), None)
    if unknown:
        return Stop(
            "Pending",
            f"waiting for the older AuditManagerOrgConfig {unknown.name!r} to report which "
            "organization it manages (see its conditions)",
            Retry.SOON,
        )
    return None


def _check_admin(desired: Desired, org: OrgView, aws: AwsClients) -> Stop | None:
    admin = desired.admin_account_id
    if admin is None:
        return None
    if admin == org.organization.management_account_id:
        return Stop(
            "InvalidDelegatedAdmin",
            f"{admin} is the management account, which cannot be a delegated "
            "administrator; choose a member account",
        )
    if not organizations.account_exists(aws.organizations(), admin):
        return Stop(
            "InvalidDelegatedAdmin",
            f"{admin} is not a member of organization {org.organization.id}",
        )
    return None


# -- act -------------------------------------------------------------------------------------


def _act(aws: AwsClients, actions: Iterable[Action], seen: _Seen) -> int:
    """Runs the actions in order and returns how many succeeded. A failed Region stops only
    its own later actions; disabling trusted access needs every earlier action done."""
    failed: set[str | None] = set()
    enabled_by_audit_manager = False
    succeeded = 0
    for action in actions:
        if action.region in failed or (action.op is Op.DISABLE_TRUSTED_ACCESS and failed):
            continue
        if action.op is Op.ENABLE_TRUSTED_ACCESS and enabled_by_audit_manager:
            continue  # registering the administrator enabled it, as AWS documents
        try:
            _execute(aws, action)
        except AwsCallError as e:
            failed.add(action.region)
            seen.failures[action.region] = e.failure
            metrics.AWS_CHANGES.labels(action.op.value, e.failure.code).inc()
            seen.events.append(
                Event("Warning", e.failure.reason, f"{action.why}: {e.failure.describe()}")
            )
            log.warning("AWS refused %s: %s", action.op.value, e.failure.describe())
            continue
        succeeded += 1
        enabled_by_audit_manager |= action.registers_admin
        metrics.AWS_CHANGES.labels(action.op.value, "ok").inc()
        seen.events.append(Event("Normal", action.op.value, _done(action)))
        log.info("AWS %s: %s", action.op.value, _done(action))
    return succeeded


def _execute(aws: AwsClients, action: Action) -> None:
    if action.op is Op.ENABLE_TRUSTED_ACCESS:
        organizations.enable_trusted_access(aws.organizations())
    elif action.op is Op.DISABLE_TRUSTED_ACCESS:
        organizations.disable_trusted_access(aws.organizations())
    else:
        am = aws.auditmanager(action.region or "")
        if action.op is Op.REGISTER_ACCOUNT:
            auditmanager.register_account(am, action.kms_key, action.account_id)
        elif action.op is Op.REGISTER_ADMIN:
            auditmanager.register_admin(am, action.account_id or "")
        elif action.op is Op.DEREGISTER_ADMIN:
            auditmanager.deregister_admin(am, action.account_id or "")
        elif action.op is Op.UPDATE_KMS_KEY:
            auditmanager.update_kms_key(am, action.kms_key or "")


def _drift_events(res: Resource, first: Plan) -> list[Event]:
    """AWS differs although this generation was Ready: someone changed it outside Kubernetes."""
    prev = res.status.condition(READY)
    was_ready = (
        prev is not None
        and prev.status == "True"
        and res.status.observed_generation == res.generation
    )
    if not was_ready or first.converged:
        return []
    metrics.DRIFT_DETECTED.labels(res.spec.management_policy.value).inc()
    diffs = [a.why for a in first.actions] + [b.message for b in first.blockers]
    return [Event("Warning", "Drifted", f"AWS changed outside Kubernetes: {d}") for d in diffs]


# -- report ----------------------------------------------------------------------------------


def _outcome(res: Resource, desired: Desired, seen: _Seen, now: str, deleting: bool) -> Outcome:
    ready, synced = _ready(res, desired, seen), _synced(seen)
    retry = _retry(res, seen)
    if deleting:
        ready = (
            "False",
            "Deleting",
            "AWS is as deletionPolicy wants; the finalizer goes"
            if seen.released
            else f"deletion waits: {ready[2]}",
        )
        # An unfinished deletion keeps trying, slowly, until AWS lets it finish or a person
        # sets deletionPolicy Retain.
        retry = None if seen.released else (retry or Retry.SLOWLY)
    conditions = tuple(
        set_condition(res.status.conditions, type_, status, reason, message, res.generation, now)
        for type_, (status, reason, message) in ((READY, ready), (SYNCED, synced))
    )
    events = seen.events + _warning(res, ready, seen.events)
    return Outcome(_status(res, desired, seen, conditions), events, retry)


def _ready(res: Resource, desired: Desired, seen: _Seen) -> _Cond:
    p = seen.plan
    if seen.stop:
        return ("False", seen.stop.reason, seen.stop.message)
    if seen.failures:
        return ("False", _first(seen.failures).reason, _failure_messages(seen.failures))
    if not res.manages and (p.actions or p.blockers):
        # Under Observe a blocker's way out (the annotation) changes nothing: it is drift.
        diffs = "; ".join([a.why for a in p.actions] + [b.message for b in p.blockers])
        return (
            "False",
            "Drifted",
            f"AWS differs from the spec: {diffs} (managementPolicy Observe makes no changes)",
        )
    if p.blockers:
        return ("False", p.blockers[0].reason, "; ".join(b.message for b in p.blockers))
    if p.actions or p.pending:
        waiting = [a.why for a in p.actions] + [f"{r}: PENDING_ACTIVATION" for r in p.pending]
        return ("False", "Pending", "waiting for AWS: " + "; ".join(waiting))
    return ("True", "Reconciled", f"AWS matches the spec in {', '.join(desired.regions)}")


def _synced(seen: _Seen) -> _Cond:
    if seen.failures:
        return ("False", _first(seen.failures).reason, _failure_messages(seen.failures))
    if seen.stop:
        return ("False", seen.stop.reason, seen.stop.message)
    return ("True", "Reconciled", "AWS answered every call")


def _retry(res: Resource, seen: _Seen) -> Retry | None:
    kinds = {f.retry for f in seen.failures.values()}
    for kind in (Retry.SOON, Retry.SLOWLY):
        if kind in kinds:
            return kind
    if seen.failures:
        return None  # terminal: until the spec changes or the next re-check
    if seen.stop:
        return seen.stop.retry
    p = seen.plan
    # AWS is catching up with what we did (or is activating, or a Region could not be read
    # for a passing reason): look again soon.
    converging = res.manages and bool(p.actions) and not p.blockers
    waiting = any(b.reason == "Pending" for b in p.blockers)
    return Retry.SOON if p.pending or converging or waiting else None


def _warning(res: Resource, ready: _Cond, events: list[Event]) -> list[Event]:
    """A Warning for a new reason not to be Ready, once, not at every re-check."""
    old = res.status.condition(READY)
    changed = old is None or (old.reason, old.message) != ready[1:]
    quiet = ready[1] in ("Pending", "Deleting") or any(e.type == "Warning" for e in events)
    return (
        [Event("Warning", ready[1], ready[2])]
        if ready[0] == "False" and changed and not quiet
        else []
    )


def _status(
    res: Resource, desired: Desired, seen: _Seen, conditions: tuple[Condition, ...]
) -> Status:
    prev, observed = res.status, seen.observed
    org = seen.org.organization if seen.org else None
    if observed is None:
        trusted, admin, regions = prev.trusted_access, prev.delegated_admin_account_id, prev.regions
    else:
        trusted = TrustedAccess.ENABLED if observed.trusted_access else TrustedAccess.DISABLED
        regions = _region_status(desired.regions, observed, seen)
        admins = {r.delegated_admin_account_id for r in regions if r.account_status}
        admin = next(iter(admins)) if len(admins) == 1 else None
    # Kept once known: the OrganizationMismatch check compares against it, so the organization
    # that mismatching credentials reach must never overwrite it.
    same_org = org is not None and prev.organization_id in (None, org.id)
    return Status(
        observed_generation=res.generation,
        organization_id=org.id if org and same_org else prev.organization_id,
        management_account_id=(
            org.management_account_id if org and same_org else prev.management_account_id
        ),
        trusted_access=trusted,
        delegated_admin_account_id=admin,
        regions=regions,
        conditions=conditions,
    )


def _region_status(
    regions: Iterable[str], observed: Observed, seen: _Seen
) -> tuple[RegionStatus, ...]:
    blocked = {b.region: b.message for b in seen.plan.blockers if b.region}
    out = []
    for region in regions:
        view = observed.regions.get(region)
        failure = seen.failures.get(region)
        message = failure.describe() if failure else blocked.get(region)
        if isinstance(view, RegionView):
            out.append(
                RegionStatus(
                    region=region,
                    account_status=view.account_status.value,
                    delegated_admin_account_id=view.admin_account_id,
                    kms_key=view.kms_key,
                    message=message,
                )
            )
        else:
            out.append(RegionStatus(region=region, message=message))
    return tuple(out)


def _first(failures: Mapping[str | None, AwsFailure]) -> AwsFailure:
    return next(iter(failures.values()))


def _failure_messages(failures: Mapping[str | None, AwsFailure]) -> str:
    return "; ".join(
        f"{region or 'organization'}: {f.describe()}" for region, f in failures.items()
    )


def _done(action: Action) -> str:
    where = action.region or "organization"
    detail = {
        Op.ENABLE_TRUSTED_ACCESS: "enabled trusted access for auditmanager.amazonaws.com",
        Op.DISABLE_TRUSTED_ACCESS: "disabled trusted access for auditmanager.amazonaws.com",
        Op.REGISTER_ACCOUNT: "registered the account with Audit Manager"
        + (f" with delegated administrator {action.account_id}" if action.account_id else ""),
        Op.REGISTER_ADMIN: f"registered delegated administrator {action.account_id}",
        Op.DEREGISTER_ADMIN: f"deregistered delegated administrator {action.account_id}",
        Op.UPDATE_KMS_KEY: f"set the KMS key to {action.kms_key}",
    }[action.op]
    return f"{where}: {detail} ({action.why})"
