"""One reconcile, in four steps: survey AWS (observe, check, plan), act, survey again, report.

The same function serves create, update, resume and the periodic re-check; deletion has its
own entry that shares the steps. Each step returns a value a reader can name: the `Survey`,
what the act step did (`Acted`), and the report's `Outcome`, reached on every path, also when
a step fails. Nothing here knows kopf or boto3: AWS is reached only through the `External` seam.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from awsorg_operator import clock, logfields, metrics, ownership
from awsorg_operator.accounts import Accounts, accounts_for
from awsorg_operator.actions import (
    AnyAction,
    DisableTrustedAccess,
    EnableTrustedAccess,
    describe,
    key_of,
    registers_admin,
)
from awsorg_operator.api import DeletionPolicy, PlannedAction, PlannedState
from awsorg_operator.external import Connector, SettingsConnect
from awsorg_operator.failures import CallError, CallFailure, unexpected
from awsorg_operator.journal import Acted, Journal, entry, entry_key, held
from awsorg_operator.report import report
from awsorg_operator.resource import Claim, Event, Outcome, Resource
from awsorg_operator.survey import Owner, Survey, drift, look_again, survey

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        connector: Connector,
        leases: ownership.Leases,
        journal: Journal,
        default_region: str,
        now: Callable[[], datetime] = clock.utcnow,
        settings: SettingsConnect | None = None,
    ) -> None:
        self._connector = connector
        self._settings = settings  # the administrator's account, for spec.adminCredentials
        self._leases = leases
        self._journal = journal
        self._default_region = default_region
        self._now = now

    def reconcile(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        return self._guarded(res, claims, deleting=False)

    def delete(self, res: Resource, claims: Iterable[Claim]) -> Outcome:
        return self._guarded(res, claims, deleting=True)

    def _guarded(self, res: Resource, claims: Iterable[Claim], deleting: bool) -> Outcome:
        base = Survey(res, res.desired(self._default_region), deleting)
        step = self._delete if deleting else self._reconcile
        try:
            seen, acted = step(base, list(claims))
        except CallError as e:  # nothing to go on: report, retry
            seen, acted = replace(base, error=e.failure), Acted()
        except Exception as e:  # a bug, or an AWS answer nobody documented
            log.exception("reconcile of %s failed unexpectedly", res.name)
            seen, acted = replace(base, error=unexpected("Reconcile", e)), Acted()
        return report(seen, acted, self._now())

    def _reconcile(self, base: Survey, claims: list[Claim]) -> tuple[Survey, Acted]:
        res = base.res
        aws = accounts_for(self._connector, self._settings, res)
        first = survey(aws, res, base.desired, self._owner(res, claims))
        if first.observed is None:  # a check stopped it
            return first, Acted()
        first = replace(first, drift=drift(first))
        if first.drift:
            metrics.DRIFT_DETECTED.labels(res.spec.management_policy.value).inc()
        if not res.manages:
            return first, Acted()
        acted = self._act(aws, first)
        # Report what AWS now has, not what we think we did.
        return (look_again(aws, first) if acted.done else first), acted

    def _delete(self, base: Survey, claims: list[Claim]) -> tuple[Survey, Acted]:
        res = base.res
        if res.spec.deletion_policy is DeletionPolicy.RETAIN or not res.manages:
            why = "deletionPolicy is Retain" if res.manages else "managementPolicy is Observe"
            retained = Event("Normal", "Retained", f"AWS left as it is: {why}")
            return replace(base, notices=(retained, *self._release(res))), Acted(released=True)
        aws = accounts_for(self._connector, None, res)  # a deletion leaves the settings alone
        first = survey(aws, res, base.desired, self._owner(res, claims), deleting=True)
        if first.stop and first.stop.reason == ownership.CONFLICT:
            # Another resource owns the organization: not ours to undo.
            retained = Event("Normal", "Retained", first.stop.message)
            return replace(base, org=first.org, notices=(retained,)), Acted(released=True)
        if first.observed is None:  # a check stopped it
            return first, Acted()
        acted = self._act(aws, first)
        last = look_again(aws, first) if acted.done else first
        assert last.observed is not None and last.org is not None
        # A Region that could not be read might hold an administrator: try again before
        # letting go, or trusted access could stay on with nobody managing it.
        released = last.plan.converged and not (
            acted.failed or last.observed.region_failures() or last.observed.unreadable_elsewhere
        )
        notices = tuple(Event("Warning", "Retained", note) for note in first.plan.notes)
        if released:
            notices += self._release(res, last.org.organization.id)
        return replace(last, notices=notices), replace(acted, released=released)

    def _owner(self, res: Resource, claims: list[Claim]) -> Owner:
        return lambda org_id: ownership.claim(self._leases, res, org_id, claims)

    def _release(self, res: Resource, org_id: str | None = None) -> tuple[Event, ...]:
        org_id = org_id or res.status.organization_id
        return ownership.release(self._leases, res, org_id) if org_id else ()

    def _act(self, aws: Accounts, s: Survey) -> Acted:
        """Sends the plan's actions in order, step by step (`steps`: the Regions side by side),
        but not those remembered as in flight or refused. A failed Region stops only its own
        later actions; disabling trusted access needs every earlier action done."""
        res, observed = s.res, s.observed
        assert observed is not None
        state = observed.fingerprint()
        remembered = res.status.planned_actions
        kept = held(s.plan.actions, remembered, res.generation, state, self._now())
        kept_keys = {entry_key(e) for e in kept}
        stopped: set[str | None] = {e.region for e in kept}
        done: list[AnyAction] = []
        failed: list[tuple[AnyAction, CallFailure]] = []
        sent: list[PlannedAction] = []
        for step in steps(s.plan.actions):
            todo = [a for a in step if key_of(a) not in kept_keys and _may_send(a, stopped, done)]
            if not todo:
                continue
            # Recorded before they are sent: killed after sending and before the status
            # write, the operator must still know the writes may have landed (Crossplane's
            # external-create-pending). No record, no write.
            now = clock.rfc3339(self._now())
            sent += [entry(a, PlannedState.IN_FLIGHT, now) for a in todo]
            self._journal.in_flight(res, (*kept, *sent))
            for action, failure in zip(todo, aws.execute_all(todo), strict=True):
                _log_change(res, s, action, failure)
                if failure is None:
                    done.append(action)
                else:
                    stopped.add(action.region)
                    failed.append((action, failure))
        return Acted(tuple(done), tuple(failed), kept)


def _log_change(res: Resource, s: Survey, action: AnyAction, failure: CallFailure | None) -> None:
    assert s.org is not None
    metrics.AWS_CHANGES.labels(action.operation, failure.code if failure else "ok").inc()
    fields = logfields.aws_change(res.name, s.org, action, failure)
    if failure is None:
        log.info("AWS %s: %s", action.operation, describe(action), extra=fields)
    else:
        log.warning("AWS refused %s: %s", action.operation, failure.describe(), extra=fields)


def _may_send(action: AnyAction, stopped: set[str | None], done: list[AnyAction]) -> bool:
    if action.region in stopped:
        return False
    if isinstance(action, DisableTrustedAccess) and stopped:
        return False
    # Registering the administrator enabled trusted access, as AWS documents.
    return not (isinstance(action, EnableTrustedAccess) and any(map(registers_admin, done)))


def steps(actions: tuple[AnyAction, ...]) -> list[tuple[AnyAction, ...]]:
    """The plan's actions as steps to send one after another; the actions of one step go
    together. An organization-wide action (trusted access) is a step of its own, at its place
    in the order; between two of them, the k-th action of every Region forms step k, so each
    Region keeps its own order (deregistration before registration) while Regions, which do
    not depend on each other, proceed side by side."""
    out: list[tuple[AnyAction, ...]] = []
    block: dict[str, list[AnyAction]] = {}
    for action in actions:
        if action.region is None:
            out += _waves(block)
            block = {}
            out.append((action,))
        else:
            block.setdefault(action.region, []).append(action)
    return out + _waves(block)


def _waves(by_region: Mapping[str, list[AnyAction]]) -> list[tuple[AnyAction, ...]]:
    depth = max((len(chain) for chain in by_region.values()), default=0)
    return [tuple(chain[k] for chain in by_region.values() if k < len(chain)) for k in range(depth)]
