"""One reconcile, in four steps: observe AWS, check, act, report.

The same function serves create, update, resume and the periodic re-check; deletion has its
own entry that shares the steps. Each step returns values; `report.py` turns them into the
status, the Events and the retry, and is reached on every path, also when a step fails.
Nothing here knows kopf or boto3: AWS is reached only through the `External` seam.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from awsorg_operator import checks, logfields, metrics, ownership, writes
from awsorg_operator.actions import (
    Action,
    DisableTrustedAccess,
    EnableTrustedAccess,
    describe,
    key,
    registers_admin,
)
from awsorg_operator.api import DeletionPolicy, PlannedAction, PlannedState, TrustedAccess
from awsorg_operator.external import Connector, External, Identity
from awsorg_operator.failures import (
    AwsCallError,
    AwsFailure,
    KubernetesCallError,
    Retry,
    internal_failure,
)
from awsorg_operator.plan import Desired, Plan, plan, plan_deletion, steps
from awsorg_operator.report import Result, drift, report
from awsorg_operator.resource import Claim, Event, Outcome, Resource
from awsorg_operator.state import Observed
from awsorg_operator.writes import rfc3339

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    def __init__(
        self,
        connector: Connector,
        leases: ownership.Leases,
        journal: writes.Journal,
        default_region: str,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._connector = connector
        self._leases = leases
        self._journal = journal
        self._default_region = default_region
        self._now = now

    def reconcile(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        return self._guarded(res, claims, deleting=False)

    def delete(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        return self._guarded(res, claims, deleting=True)

    def _guarded(self, res: Resource, claims: Iterable[Claim], deleting: bool) -> Outcome:
        desired = desired_of(res, self._default_region)
        step = self._delete if deleting else self._reconcile
        try:
            result = step(res, desired, list(claims))
        except (AwsCallError, KubernetesCallError) as e:  # nothing to go on: report, retry
            result = Result(error=e.failure)
        except Exception as e:  # a bug, or an AWS answer nobody documented
            log.exception("reconcile of %s failed unexpectedly", res.name)
            result = Result(error=internal_failure("Reconcile", e))
        return report(res, desired, result, self._now(), deleting=deleting)

    def _reconcile(self, res: Resource, desired: Desired, claims: list[Claim]) -> Result:
        aws = self._connector.connect(identity_of(res))
        org = aws.observe_org()
        stop = checks.preflight(res, org)
        if stop:
            return Result(org=org, stop=stop)
        owner = ownership.claim(self._leases, res, org.organization.id, claims)
        stop = owner.stop or checks.admin(desired.admin_account_id, org, aws)
        if stop:
            return Result(org=org, stop=stop, notices=owner.events)
        regions, scan = desired.regions, not desired.trusted_access
        observed = aws.observe(org, regions, scan)
        first = plan(desired, observed)
        found = drift(res, first)
        if found:
            metrics.DRIFT_DETECTED.labels(res.spec.management_policy.value).inc()
        if not res.manages:
            return Result(org, observed, plan=first, drift=found, notices=owner.events)
        acted = self._act(aws, res, first, observed)
        if acted.done:
            # Report what AWS now has, not what we think we did.
            observed = aws.observe(org, regions, scan)
        result = acted.result(observed, plan(desired, observed), found)
        return replace(result, notices=owner.events)

    def _delete(self, res: Resource, desired: Desired, claims: list[Claim]) -> Result:
        if res.spec.deletion_policy is DeletionPolicy.RETAIN or not res.manages:
            why = "deletionPolicy is Retain" if res.manages else "managementPolicy is Observe"
            retained = Event("Normal", "Retained", f"AWS left as it is: {why}")
            return Result(released=True, notices=(retained, *self._release(res)))
        aws = self._connector.connect(identity_of(res))
        org = aws.observe_org()
        stop = checks.preflight(res, org)
        if stop:
            return Result(org=org, stop=stop)
        conflict = ownership.claim(self._leases, res, org.organization.id, claims).stop
        if conflict:  # another resource owns the organization: not ours to undo
            retained = Event("Normal", "Retained", conflict.message)
            return Result(org=org, released=True, notices=(retained,))
        observed = aws.observe(org, desired.regions, scan=True)
        first = plan_deletion(desired, observed)
        acted = self._act(aws, res, first, observed)
        if acted.done:
            observed = aws.observe(org, desired.regions, scan=True)
        result = acted.result(observed, plan_deletion(desired, observed), ())
        # A Region that could not be read might hold an administrator: try again before
        # letting go, or trusted access could stay on with nobody managing it.
        released = result.plan.converged and not (
            result.failed or observed.region_failures() or observed.unreadable_elsewhere
        )
        notices = tuple(Event("Warning", "Retained", note) for note in first.notes)
        if released:
            notices += self._release(res, org.organization.id)
        return replace(result, released=released, notices=notices)

    def _release(self, res: Resource, org_id: str | None = None) -> tuple[Event, ...]:
        org_id = org_id or res.status.organization_id
        return ownership.release(self._leases, res, org_id) if org_id else ()

    def _act(self, aws: External, res: Resource, p: Plan, observed: Observed) -> _Acted:
        """Sends the plan's actions in order, step by step (`plan.steps`: the Regions side by
        side), but not those remembered as in flight or refused. A failed Region stops only
        its own later actions; disabling trusted access needs every earlier action done."""
        remembered = res.status.planned_actions
        state = observed.fingerprint()
        held = writes.held(p.actions, remembered, res.generation, state, self._now())
        acted = _Acted(held=held)
        stopped: set[str | None] = {e.region for e in held.entries}
        held_keys = held.keys()
        sent: list[PlannedAction] = []
        for step in steps(p.actions):
            todo = [a for a in step if key(a) not in held_keys and _may_send(a, stopped, acted)]
            if not todo:
                continue
            # Recorded before they are sent: killed after sending and before the status
            # write, the operator must still know the writes may have landed (Crossplane's
            # external-create-pending). No record, no write.
            now = rfc3339(self._now())
            sent += [writes.entry(a, PlannedState.IN_FLIGHT, now) for a in todo]
            self._journal.in_flight(res, (*held.entries, *sent))
            for action, failure in zip(todo, aws.execute_all(todo), strict=True):
                outcome = failure.code if failure else "ok"
                metrics.AWS_CHANGES.labels(action.operation, outcome).inc()
                fields = logfields.aws_change(res.name, observed.org, action, failure)
                if failure is None:
                    acted.done.append(action)
                    log.info("AWS %s: %s", action.operation, describe(action), extra=fields)
                else:
                    stopped.add(action.region)
                    acted.failed.append((action, failure))
                    log.warning(
                        "AWS refused %s: %s", action.operation, failure.describe(), extra=fields
                    )
        return acted


def _may_send(action: Action, stopped: set[str | None], acted: _Acted) -> bool:
    if action.region in stopped:
        return False
    if isinstance(action, DisableTrustedAccess) and stopped:
        return False
    # Registering the administrator enabled trusted access, as AWS documents.
    return not (isinstance(action, EnableTrustedAccess) and any(map(registers_admin, acted.done)))


@dataclass
class _Acted:
    held: writes.Held
    done: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, AwsFailure]] = field(default_factory=list)

    def result(self, observed: Observed, p: Plan, found: Sequence[str]) -> Result:
        return Result(
            org=observed.org,
            observed=observed,
            plan=p,
            drift=tuple(found),
            done=tuple(self.done),
            failed=tuple(self.failed),
            held=self.held.entries,
        )


def desired_of(res: Resource, default_region: str) -> Desired:
    return Desired(
        trusted_access=res.spec.trusted_access is TrustedAccess.ENABLED,
        admin_account_id=res.spec.delegated_admin_account_id,
        regions=res.spec.effective_regions(default_region),
        kms_keys=res.spec.effective_kms_keys(default_region),
        approved_removal=res.approved_removal,
    )


def identity_of(res: Resource) -> Identity:
    creds = res.spec.credentials
    return Identity(creds.role_arn, creds.external_id) if creds else Identity()


__all__ = ["Reconciler", "Retry", "desired_of", "identity_of", "utcnow"]
