"""What `awsorg-operator plan` prints: each resource's `Survey` as data (`--output json`) or
as text.

Pure: the JSON shape is built once, and the text is written from the same data, so the two
never say different things. Action fields are named as in `status.plannedActions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsorg_operator.actions import fields
from awsorg_operator.conditions import reason
from awsorg_operator.failures import CallFailure
from awsorg_operator.observed import Observed, OrgView, RegionView
from awsorg_operator.regionreport import region_status
from awsorg_operator.report import trusted_access
from awsorg_operator.survey import Survey

IN_SYNC, ERROR, CHANGES = 0, 1, 2


def exit_code(surveys: Sequence[Survey]) -> int:
    """1 if anything could not be planned, else 2 if anything differs, else 0."""
    if not all(p.ok for p in surveys):
        return ERROR
    return IN_SYNC if all(p.in_sync for p in surveys) else CHANGES


def to_data(surveys: Sequence[Survey]) -> dict[str, Any]:
    return {
        "exitCode": exit_code(surveys),
        "inSync": all(p.in_sync for p in surveys),
        "resources": [_resource(p) for p in surveys],
    }


def _resource(p: Survey) -> dict[str, Any]:
    return {
        "name": p.res.name,
        "managementPolicy": p.res.spec.management_policy.value,
        "inSync": p.in_sync,
        # Under Observe the operator only reports: the actions are what Manage would do.
        "wouldApply": p.res.manages and bool(p.plan.actions),
        "aws": _aws(p.org, p.observed),
        "differences": p.plan.differences() + p.plan.activating(),
        "actions": [fields(a) for a in p.plan.actions],
        "blocked": [
            {
                "reason": b.reason,
                "region": b.region,
                "message": b.message,
                "actions": [fields(a) for a in b.would],
            }
            for b in p.plan.blockers
        ],
        "pending": list(p.plan.pending),
        "stop": {"reason": p.stop.reason, "message": p.stop.message} if p.stop else None,
        "errors": [_failure(region, f) for region, f in p.failures()],
    }


def _aws(org: OrgView | None, observed: Observed | None) -> dict[str, Any] | None:
    if org is None:
        return None
    out: dict[str, Any] = {
        "organizationID": org.organization.id,
        "managementAccountID": org.organization.management_account_id,
        "callerAccountID": org.caller_account_id,
    }
    if observed is not None:
        out["trustedAccess"] = trusted_access(observed).value
        out["delegatedAdministrators"] = sorted(observed.org_delegated_admins)
        out["regions"] = [
            _region(name, v, observed.settings.get(name)) for name, v in observed.regions.items()
        ]
    return out


def _region(name: str, view: object, settings: object) -> dict[str, Any]:
    if isinstance(view, RegionView):
        shown = region_status(name, view, settings=settings)
        data = shown.model_dump(by_alias=True, exclude={"message"})
        if shown.settings is None:
            del data["settings"]  # read only with spec.adminCredentials
        else:
            data["settings"] = shown.settings.model_dump(by_alias=True, exclude_none=True)
        return data
    return {"region": name, "readable": False}


def _failure(region: str | None, f: CallFailure) -> dict[str, Any]:
    return {
        "region": region,
        "operation": f.operation,
        "code": f.code,
        "reason": reason(f),
        "message": f.message,
    }


def to_text(surveys: Sequence[Survey]) -> str:
    return "\n".join(line for r in to_data(surveys)["resources"] for line in _text(r)) + "\n"


def _text(r: dict[str, Any]) -> list[str]:
    lines = [f"{r['name']} (managementPolicy {r['managementPolicy']}): {_verdict(r)}"]
    for e in r["errors"]:
        where = e["region"] or "organization"
        lines.append(f"  error: {where}: {e['operation']}: {e['code']}: {e['message']}")
    if r["stop"]:
        lines.append(f"  stopped before planning: {r['stop']['reason']}: {r['stop']['message']}")
    lines += _aws_text(r["aws"])
    if r["differences"]:
        lines += ["  differs from the spec:"] + [f"    {d}" for d in r["differences"]]
    if r["actions"]:
        head = "the operator would, in order:"
        if not r["wouldApply"]:
            head = "the operator would not act (managementPolicy Observe); Manage would:"
        lines.append("  " + head)
        lines += [f"    {i}. {_action_text(a)}" for i, a in enumerate(r["actions"], 1)]
    for b in (b for b in r["blocked"] if b["actions"]):  # others wait for a read, not a person
        lines.append(f"  blocked ({b['reason']}), approving would:")
        lines += [f"    - {_action_text(a)}" for a in b["actions"]]
    return lines


def _verdict(r: dict[str, Any]) -> str:
    if r["errors"] or r["stop"]:
        return "error"
    return "in sync" if r["inSync"] else "differs"


def _aws_text(aws: dict[str, Any] | None) -> list[str]:
    if aws is None:
        return []
    lines = [
        f"  AWS has: organization {aws['organizationID']}, management account "
        f"{aws['managementAccountID']} (credentials of {aws['callerAccountID']})"
    ]
    if "trustedAccess" in aws:
        admins = ", ".join(aws["delegatedAdministrators"]) or "none"
        lines.append(
            f"    trusted access {aws['trustedAccess']}; Organizations lists delegated "
            f"administrators: {admins}"
        )
    for v in aws.get("regions", []):
        if not v.get("readable", True):
            lines.append(f"    {v['region']}: could not be read")
            continue
        admin = v["delegatedAdminAccountID"] or "none"
        lines.append(
            f"    {v['region']}: Audit Manager {v['accountStatus']}, delegated administrator "
            f"{admin}, KMS key {v['kmsKey'] or 'unknown'}"
        )
        if "settings" in v:
            lines.append(f"      settings of {v['settings']['accountID']}: {_settings_text(v)}")
    return lines


def _settings_text(v: dict[str, Any]) -> str:
    s = v["settings"]
    finder = s.get("evidenceFinder") or {}
    said = [
        f"evidence finder {finder.get('enablementStatus', 'unknown')}"
        + (f" (backfill {finder['backfillStatus']})" if "backfillStatus" in finder else ""),
        f"deleteResources {s.get('deleteResources', 'DEFAULT')}",
    ]
    said += [f"{k} {s[k]}" for k in ("snsTopic", "defaultAssessmentReportsDestination") if k in s]
    return ", ".join(said)


def _action_text(a: dict[str, Any]) -> str:
    where = a["region"] or "organization"
    details = [f"account {a['accountID']}"] if a["accountID"] else []
    details += [f"KMS key {a['kmsKey']}"] if a["kmsKey"] else []
    details += [a["settings"]] if a.get("settings") else []
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{a['operation']} in {where}{suffix}: {a['why']}"
