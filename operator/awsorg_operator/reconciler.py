"""One reconcile, in four steps: observe AWS, plan, act, report.

The same function serves create, update, resume and the periodic re-check; deletion has its
own entry that shares the steps. Nothing here knows kopf: the handlers translate `Outcome`.
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
from awsorg_operator.plan import Action, Blocker, Desired, Op, Plan, plan, plan_deletion
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


@dataclass(frozen=True)
class Claim:
    """Another resource's hold on an AWS organization, as its status tells."""

    name: str
    uid: str
    created: str
    organization_id: str | None
    reported: bool  # has it reconciled at least once?

    @property
    def seniority(self) -> tuple[str, str]:
        return (self.created, self.name)


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Outcome:
    status: Status
    events: list[Event] = field(default_factory=list)
    retry: Retry | None = None  # None: done until something changes or the next re-check
    done: bool = True  # for deletion: whether the finalizer may go


@dataclass(frozen=True)
class Stop:
    """Why a reconcile stops before planning, with no AWS writes."""

    reason: str
    message: str
    retry: Retry | None = None


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

    # -- entry points ----------------------------------------------------------------------

    def reconcile(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        desired = self._desired(res)
        aws = self._aws(res)
        report = _Report(res, desired)
        try:
            org = organizations.observe_org(aws.sts(), aws.organizations())
            report.org = org
            stop = _preflight(res, org) or _conflict(res, org, claims)
            stop = stop or _check_admin(desired, org, aws)
            if stop:
                return report.stopped(stop, self._now())
            observed = _observe(aws, org, desired.regions)
            report.observe(observed)
            first = plan(desired, observed)
            report.note_drift(first)
            manage = res.spec.management_policy is ManagementPolicy.MANAGE
            if manage and first.actions and report.act(aws, first.actions) > 0:
                # Report what AWS now has, not what we think we did.
                observed = _observe(aws, org, desired.regions)
                report.observe(observed)
                first = plan(desired, observed)
            return report.planned(first, self._now())
        except AwsCallError as e:
            return report.failed(e.failure, self._now())

    def delete(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        desired = self._desired(res)
        report = _Report(res, desired)
        if (
            res.spec.deletion_policy is DeletionPolicy.RETAIN
            or res.spec.management_policy is ManagementPolicy.OBSERVE
        ):
            why = (
                "deletionPolicy is Retain"
                if res.spec.deletion_policy is DeletionPolicy.RETAIN
                else "managementPolicy is Observe"
            )
            return report.deleted(
                [Event("Normal", "Retained", f"AWS left as it is: {why}")], self._now()
            )
        aws = self._aws(res)
        try:
            org = organizations.observe_org(aws.sts(), aws.organizations())
            report.org = org
            conflict = _conflict(res, org, claims)
            if conflict and conflict.retry is None:
                return report.deleted([Event("Normal", "Retained", conflict.message)], self._now())
            stop = _preflight(res, org) or conflict
            if stop:
                return report.stopped(stop, self._now(), deleting=True)
            observed = _observe(aws, org, desired.regions)
            report.observe(observed)
            undo = plan_deletion(desired, observed)
            report.act(aws, undo.actions)
            if report.failures:
                return report.planned(undo, self._now(), deleting=True)
            notes = [Event("Warning", "Retained", n) for n in undo.notes]
            return report.deleted(notes, self._now())
        except AwsCallError as e:
            return report.failed(e.failure, self._now(), deleting=True)

    # -- helpers ---------------------------------------------------------------------------

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


# -- observe ---------------------------------------------------------------------------------


def _observe(aws: AwsClients, org: OrgView, regions: Iterable[str]) -> Observed:
    client = aws.organizations()
    by_region: dict[str, RegionView | RegionFailure] = {}
    for region in regions:
        # A failure in one Region is kept and the others go on.
        try:
            by_region[region] = auditmanager.observe_region(aws.auditmanager(region), region)
        except AwsCallError as e:
            by_region[region] = RegionFailure(region, e.failure)
    return Observed(
        org=org,
        trusted_access=organizations.trusted_access_enabled(client),
        org_delegated_admins=organizations.delegated_admins(client),
        regions=by_region,
    )


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
    me = Claim(res.name, res.uid, res.created, org.organization.id, True)
    older = sorted(
        (c for c in claims if c.uid != res.uid and c.seniority < me.seniority),
        key=lambda c: c.seniority,
    )
    owner = next((c for c in older if c.organization_id == org.organization.id), None)
    if owner:
        return Stop(
            "Conflict",
            f"organization {org.organization.id} is managed by AuditManagerOrgConfig "
            f"{owner.name!r}, which is older; this resource makes no AWS changes",
        )
    # An older resource that has not reported yet may reach the same organization: wait for
    # it rather than act now and flap later, which is what makes simultaneous creation safe.
    unknown = next((c for c in older if not c.reported), None)
    if unknown:
        return Stop(
            "Pending",
            f"waiting for the older AuditManagerOrgConfig {unknown.name!r} "
            "to report which organization it manages",
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


# -- act and report --------------------------------------------------------------------------


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


class _Report:
    """Collects what a reconcile saw and did, and turns it into status and Events."""

    def __init__(self, res: Resource, desired: Desired) -> None:
        self.res = res
        self.desired = desired
        self.org: OrgView | None = None
        self.observed: Observed | None = None
        self.failures: dict[str | None, AwsFailure] = {}  # by Region, None: organization
        self.events: list[Event] = []

    def observe(self, observed: Observed) -> None:
        self.observed = observed
        for f in observed.region_failures():
            self.failures[f.region] = f.failure

    def note_drift(self, first: Plan) -> None:
        prev = self.res.status.condition(READY)
        was_ready = (
            prev is not None
            and prev.status == "True"
            and self.res.status.observed_generation == self.res.generation
        )
        if not was_ready or first.converged:
            return
        policy = self.res.spec.management_policy
        metrics.DRIFT_DETECTED.labels(policy.value).inc()
        for diff in [a.why for a in first.actions] + [b.message for b in first.blockers]:
            self.events.append(
                Event("Warning", "Drifted", f"AWS changed outside Kubernetes: {diff}")
            )

    def act(self, aws: AwsClients, actions: Iterable[Action]) -> int:
        """Runs the actions in order; a failed Region stops its own later actions only.

        Returns how many succeeded.
        """
        failed: set[str | None] = set()
        succeeded = 0
        for action in actions:
            organization_wide = action.region is None
            if action.region in failed or (organization_wide and failed):
                continue
            try:
                _execute(aws, action)
            except AwsCallError as e:
                failed.add(action.region)
                self.failures[action.region] = e.failure
                metrics.AWS_CHANGES.labels(action.op.value, e.failure.code).inc()
                self.events.append(
                    Event("Warning", e.failure.reason, f"{action.why}: {e.failure.describe()}")
                )
                log.warning(
                    "AWS refused %s in %s: %s",
                    action.op.value,
                    action.region or "organization",
                    e.failure.describe(),
                )
                continue
            succeeded += 1
            metrics.AWS_CHANGES.labels(action.op.value, "ok").inc()
            self.events.append(Event("Normal", action.op.value, _done(action)))
            log.info(
                "AWS %s in %s: %s", action.op.value, action.region or "organization", action.why
            )
        return succeeded

    # -- the status ----------------------------------------------------------------------

    def planned(self, p: Plan, now: str, deleting: bool = False) -> Outcome:
        ready = self._ready(p)
        if deleting:
            ready = ("False", "Deleting", f"deletion waits: {ready[2]}")
        retry = _retry(self.failures.values())
        if retry is None and not self.failures and self._still_converging(p):
            retry = Retry.SOON
        if deleting and retry is None:
            # Deletion keeps trying, slowly, until AWS lets it finish or a person sets
            # deletionPolicy Retain.
            retry = Retry.SLOWLY
        return self._outcome(ready, self._synced(), now, retry, p.blockers, done=not deleting)

    def _ready(self, p: Plan) -> _Cond:
        if self.failures:
            return ("False", next(iter(self.failures.values())).reason, self._failure_messages())
        if p.blockers:
            return ("False", p.blockers[0].reason, "; ".join(b.message for b in p.blockers))
        if p.actions and self.res.spec.management_policy is ManagementPolicy.OBSERVE:
            diffs = "; ".join(a.why for a in p.actions)
            return (
                "False",
                "Drifted",
                f"AWS differs from the spec: {diffs} (managementPolicy Observe makes no changes)",
            )
        if p.actions or p.pending:
            waiting = [a.why for a in p.actions] + [f"{r}: PENDING_ACTIVATION" for r in p.pending]
            return ("False", "Pending", "waiting for AWS: " + "; ".join(waiting))
        return ("True", "Reconciled", f"AWS matches the spec in {', '.join(self.desired.regions)}")

    def _synced(self) -> _Cond:
        if self.failures:
            return ("False", next(iter(self.failures.values())).reason, self._failure_messages())
        return ("True", "Reconciled", "AWS answered every call")

    def _still_converging(self, p: Plan) -> bool:
        """AWS is catching up with changes we made: look again soon, not in minutes."""
        manage = self.res.spec.management_policy is ManagementPolicy.MANAGE
        return bool(p.pending) or (manage and bool(p.actions) and not p.blockers)

    def stopped(self, stop: Stop, now: str, deleting: bool = False) -> Outcome:
        ready: _Cond = ("False", stop.reason, stop.message)
        if deleting:
            ready = ("False", "Deleting", f"deletion waits: {stop.message}")
        retry = stop.retry or (Retry.SLOWLY if deleting else None)
        synced: _Cond = ("False", stop.reason, stop.message)
        return self._outcome(ready, synced, now, retry, (), done=not deleting)

    def failed(self, failure: AwsFailure, now: str, deleting: bool = False) -> Outcome:
        self.failures[None] = failure
        return self.planned(Plan(), now, deleting)

    def deleted(self, events: list[Event], now: str) -> Outcome:
        self.events += events
        ready: _Cond = ("False", "Deleting", "AWS done; the finalizer is removed")
        return self._outcome(ready, self._synced(), now, None, (), done=True)

    def _failure_messages(self) -> str:
        return "; ".join(
            f"{region or 'organization'}: {f.describe()}" for region, f in self.failures.items()
        )

    def _outcome(
        self,
        ready: _Cond,
        synced: _Cond,
        now: str,
        retry: Retry | None,
        blockers: Iterable[Blocker],
        done: bool,
    ) -> Outcome:
        prev = self.res.status
        conditions = tuple(
            set_condition(
                prev.conditions,
                type_,
                status,
                reason,
                message,
                self.res.generation,
                now,
            )
            for type_, (status, reason, message) in ((READY, ready), (SYNCED, synced))
        )
        old_ready = prev.condition(READY)
        changed = old_ready is None or (old_ready.reason, old_ready.message) != ready[1:]
        # Warn once per new reason, not on every periodic re-check.
        quiet = ready[1] == "Pending" or any(e.type == "Warning" for e in self.events)
        if ready[0] == "False" and changed and not quiet:
            self.events.append(Event("Warning", ready[1], ready[2]))
        status = self._status(conditions, blockers)
        return Outcome(status=status, events=self.events, retry=retry, done=done)

    def _status(self, conditions: tuple[Condition, ...], blockers: Iterable[Blocker]) -> Status:
        prev = self.res.status
        org = self.org.organization if self.org else None
        observed = self.observed
        regions = _region_status(self.desired.regions, observed, self.failures, blockers)
        admins = {r.delegated_admin_account_id for r in regions if r.account_status}
        return Status(
            observed_generation=self.res.generation,
            organization_id=org.id if org else prev.organization_id,
            management_account_id=org.management_account_id if org else prev.management_account_id,
            trusted_access=(
                TrustedAccess.ENABLED if observed.trusted_access else TrustedAccess.DISABLED
            )
            if observed
            else prev.trusted_access,
            delegated_admin_account_id=(next(iter(admins)) if len(admins) == 1 else None)
            if observed
            else prev.delegated_admin_account_id,
            regions=regions if observed else prev.regions,
            conditions=conditions,
        )


def _region_status(
    regions: Iterable[str],
    observed: Observed | None,
    failures: Mapping[str | None, AwsFailure],
    blockers: Iterable[Blocker],
) -> tuple[RegionStatus, ...]:
    if observed is None:
        return ()
    blocked = {b.region: b.message for b in blockers if b.region}
    out = []
    for region in regions:
        view = observed.regions.get(region)
        failure = failures.get(region)
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


def _retry(failures: Iterable[AwsFailure]) -> Retry | None:
    kinds = {f.retry for f in failures}
    if Retry.SOON in kinds:
        return Retry.SOON
    if Retry.SLOWLY in kinds:
        return Retry.SLOWLY
    return None


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
