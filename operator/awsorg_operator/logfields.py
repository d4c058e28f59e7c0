"""The fields of the log lines an on-call person searches: one line per AWS change and one per
condition change, each carrying the resource, organization, account, Region and operation as
fields of their own (JSON keys with `--log-format json`, through logging's `extra=`).

Pure: values in, a dict out. Identities appear as account IDs only; nothing here ever sees
a credential, so no credential can reach these fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from awsorg_operator.actions import AnyAction, fields
from awsorg_operator.api import Status
from awsorg_operator.conditions import reason
from awsorg_operator.failures import CallFailure
from awsorg_operator.observed import OrgView

# str for a single value, a list where one line concerns several Regions; None: not known.
Fields = dict[str, str | list[str] | None]

AWS_CHANGE = "AwsChange"
CONDITION_CHANGE = "ConditionChange"


def aws_change(
    resource: str, org: OrgView, action: AnyAction, failure: CallFailure | None
) -> Fields:
    """One AWS write, sent: `account` is the account that made the call (the organization's
    management account), `adminAccount` the delegated administrator the write names."""
    sent = fields(action)
    return {
        "event": AWS_CHANGE,
        "resource": resource,
        "organization": org.organization.id,
        "account": org.caller_account_id,
        "region": sent["region"],
        "operation": sent["operation"],
        "adminAccount": sent["accountID"],
        "kmsKey": sent["kmsKey"],
        "outcome": failure.code if failure else "ok",
        "reason": reason(failure) if failure else None,
    }


@dataclass(frozen=True)
class ConditionChange:
    type: str
    status: str
    reason: str
    message: str
    previous_status: str | None  # None: the condition is new
    previous_reason: str | None


def condition_changes(before: Status, after: Status) -> list[ConditionChange]:
    """The conditions whose status or reason moved; a new message alone is no change (it
    carries details such as a retry count that would make every re-check a line)."""
    out = []
    for cond in after.conditions:
        old = before.condition(cond.type)
        if old is not None and (old.status, old.reason) == (cond.status, cond.reason):
            continue
        out.append(
            ConditionChange(
                cond.type,
                cond.status,
                cond.reason,
                cond.message,
                old.status if old else None,
                old.reason if old else None,
            )
        )
    return out


def condition_change(resource: str, status: Status, change: ConditionChange) -> Fields:
    """`regions`: those the new state concerns (with a message in status), else every
    Region the resource covers; `account`: the organization's management account."""
    concerned = [r.region for r in status.regions if r.message]
    return {
        "event": CONDITION_CHANGE,
        "resource": resource,
        "organization": status.organization_id,
        "account": status.management_account_id,
        "regions": concerned or [r.region for r in status.regions],
        "condition": change.type,
        "status": change.status,
        "reason": change.reason,
        "previousStatus": change.previous_status,
        "previousReason": change.previous_reason,
    }
