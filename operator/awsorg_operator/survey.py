"""The survey: observe → check → plan, written once for the reconcile, the deletion and
`awsorg-operator plan`.

AWS is read through the seam's read half (`Reader`), so a survey cannot write. Who owns the
organization is asked through `owner` (the reconciler's Leases); the plan command has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from awsorg_operator import checks
from awsorg_operator.conditions import READY
from awsorg_operator.external import Reader
from awsorg_operator.failures import CallFailure
from awsorg_operator.observed import Observed, OrgView
from awsorg_operator.plan import Desired, Plan, plan_deletion
from awsorg_operator.resource import Event, Resource, Stop
from awsorg_operator.settingsplan import plan_all

# Claims the organization (its ID) for the resource: a Stop if another holds it, an Event if
# this resource claims it now, None if it held it already.
Owner = Callable[[str], Stop | Event | None]


@dataclass(frozen=True)
class Survey:
    """What a reconcile saw of AWS and planned, whichever step it got to."""

    res: Resource
    desired: Desired
    deleting: bool = False
    org: OrgView | None = None
    observed: Observed | None = None  # the latest observation
    plan: Plan = field(default_factory=Plan)  # planned from the latest observation
    stop: Stop | None = None  # a check that stops the reconcile before planning
    error: CallFailure | None = None  # a call that failed before anything could be planned
    drift: tuple[str, ...] = ()  # differences found although this generation was Ready
    notices: tuple[Event, ...] = ()

    def failures(self) -> list[tuple[str | None, CallFailure]]:
        """Every read that failed, by Region (None: the organization); the Regions read
        before disabling trusted access too, since one that failed holds disabling up."""
        o = self.observed
        reads = [*o.region_failures(), *o.unreadable_elsewhere, *o.settings_failures()] if o else []
        return ([(None, self.error)] if self.error else []) + [(r.region, r.failure) for r in reads]

    @property
    def ok(self) -> bool:
        """Everything could be read and no check stopped the plan."""
        return self.stop is None and not self.failures()

    @property
    def in_sync(self) -> bool:
        return self.ok and self.plan.converged


def survey(
    aws: Reader,
    res: Resource,
    desired: Desired,
    owner: Owner | None = None,
    deleting: bool = False,
) -> Survey:
    """Observe who the credentials are, check before any write, observe AWS, plan. A deletion
    does not check the administrator: it only ever removes the one it manages. The
    administrator's membership is read beside AWS's state (reads change nothing) and checked
    before the plan counts: a check that stops drops what was read."""
    org = aws.observe_org()
    base = Survey(res, desired, deleting, org)
    stop = checks.preflight(res, org)
    if stop:
        return replace(base, stop=stop)
    claimed = owner(org.organization.id) if owner else None
    notices = (claimed,) if isinstance(claimed, Event) else ()
    if isinstance(claimed, Stop):
        return replace(base, stop=claimed, notices=notices)
    wanted = None if deleting else desired.admin_account_id
    if wanted is not None and wanted != org.organization.management_account_id:
        aws.will_ask_member(wanted)
    seen = look_again(aws, replace(base, notices=notices))
    stop = checks.admin(wanted, org, aws)
    if stop:
        return replace(base, stop=stop, notices=notices)
    return seen


def look_again(aws: Reader, s: Survey) -> Survey:
    """Observe AWS and plan anew: after writes, the report says what AWS now has, not what the
    reconcile thinks it did. Disabling trusted access, or a deletion, reads every Region, since
    AWS refuses it while any Region has an administrator; but those the spec states have
    none (assumeNoDelegatedAdminIn), which are not read at all."""
    assert s.org is not None, "observed only once the organization is known"
    scan = s.deleting or not s.desired.trusted_access
    observed = aws.observe(s.org, s.desired.regions, scan, s.desired.assumed_no_admin)
    planner = plan_deletion if s.deleting else plan_all
    return replace(s, observed=observed, plan=planner(s.desired, observed))


def drift(first: Survey) -> tuple[str, ...]:
    """AWS differs although this generation was Ready: someone changed it outside Kubernetes."""
    res = first.res
    prev = res.status.condition(READY)
    was_ready = (
        prev is not None
        and prev.status == "True"
        and res.status.observed_generation == res.generation
    )
    if not was_ready or first.plan.converged:
        return ()
    return tuple(first.plan.differences())
