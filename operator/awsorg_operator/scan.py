"""The scan before trusted access is disabled, as the plan reads it.

AWS refuses to disable trusted access while any Region has an Audit Manager delegated
administrator, so disabling it (trustedAccess Disabled, or deletion with deletionPolicy Delete)
first reads every Region where Audit Manager is offered, except those the spec names in
`assumeNoDelegatedAdminIn`: there the person's statement stands in for the read.

A Region that could not be read might hold an administrator, whatever the failure, and
AccessDenied above all is never "no administrator": trusted access then stays enabled, and
the message names the Region and the ways out. SCPs never cause this for the operator: they do
not apply to the management account. The role's own policy or its permissions boundary does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from awsorg_operator.failures import Kind, Retry
from awsorg_operator.observed import Observed, RegionFailure

ASSUMED_FIELD = "spec.assumeNoDelegatedAdminIn"
_READS = "auditmanager:GetAccountStatus, GetOrganizationAdminAccount and GetSettings"


def waiting_for_reads(observed: Observed) -> str | None:
    """Why disabling trusted access waits for a read, or None when every Region was read."""
    waits = ["waiting to read every listed Region"] if observed.region_failures() else []
    if observed.unreadable_elsewhere:
        waits.append(unreadable_message(observed.unreadable_elsewhere))
    return "; ".join(waits) or None


def unreadable_message(failures: Sequence[RegionFailure]) -> str:
    """Why trusted access stays enabled, Region by Region, with what a person can do."""
    return (
        "trusted access stays enabled while a Region where Audit Manager is offered could "
        "not be read, since a delegated administrator may be registered there: "
        + "; ".join(_unreadable(f) for f in failures)
    )


def _unreadable(unread: RegionFailure) -> str:
    region, f = unread.region, unread.failure
    head = f"{region} could not be read ({f.code})"
    if f.kind is Kind.DENIED:
        return (
            f"{head}: grant the operator {_READS} in {region}, or, if a policy denies that "
            f"Region on purpose and no delegated administrator is registered there, list "
            f"{region} under {ASSUMED_FIELD}"
        )
    if f.retry is Retry.SOON:
        return f"{head}: it is read again shortly"
    return (
        f"{head}: {f.message}; if no delegated administrator is registered there, list "
        f"{region} under {ASSUMED_FIELD}"
    )


def assumed_note(assumed: Collection[str]) -> str:
    """The Regions not read, and on whose word: shown with the action that relies on it."""
    if not assumed:
        return ""
    return (
        f"; not read: {', '.join(sorted(assumed))}, where {ASSUMED_FIELD} states no "
        "delegated administrator is registered"
    )
