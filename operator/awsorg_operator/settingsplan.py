"""The plan for Audit Manager's settings in the delegated administrator's account: a pure
function from the spec's settings and what `GetSettings` showed to `UpdateSettings` calls with
only the fields that differ. An absent field is left alone. Two changes cannot be undone, so
they wait for an approval that names them (`ALLOW_IRREVERSIBLE_ANNOTATION`):
  - evidence finder off deletes its CloudTrail Lake event data store, and CloudTrail Lake takes
    no new customers (May 2026): it cannot be turned on again;
  - deleteResources All deletes the account's Audit Manager data within 7 days of
    deregistration (DeregistrationPolicy, Audit Manager API reference).
"""

from __future__ import annotations

from dataclasses import replace

from awsorg_operator.actions import UpdateAuditSettings, registers_admin
from awsorg_operator.auditsettings import (
    ALLOW_IRREVERSIBLE_ANNOTATION,
    AuditSettings,
    DeleteResources,
    EvidenceFinder,
    SettingsDesired,
)
from awsorg_operator.observed import Observed, RegionFailure, SettingsView
from awsorg_operator.plan import Blocker, Desired, Plan, plan
from awsorg_operator.reasons import Reason
from awsorg_operator.retirement import plan_retirement

# (AWS field, value as sent, what a person reads) for one field that differs.
Change = tuple[str, str, str]
_ON = ("ENABLED", "ENABLE_IN_PROGRESS")
_MOVING = ("ENABLE_IN_PROGRESS", "DISABLE_IN_PROGRESS")


def plan_all(desired: Desired, observed: Observed) -> Plan:
    """The management account's plan (`plan.plan`), then the administrator's settings."""
    if desired.retirement is not None:
        return plan_retirement(desired, observed)
    base = plan(desired, observed)
    wanted = desired.settings
    if wanted is None or not desired.trusted_access:
        return base
    actions: list[UpdateAuditSettings] = []
    blockers: list[Blocker] = []
    for region in desired.regions:
        want = wanted.by_region.get(region)
        seen = observed.settings.get(region)
        if want is None or isinstance(seen, RegionFailure):
            continue  # unmanaged, or unreadable: the read's failure is reported
        if seen is None:
            blockers.append(_not_admin(wanted, observed, region, base))
            continue
        found_actions, found_blockers = plan_region(wanted, want, seen)
        actions += found_actions
        blockers += found_blockers
    return replace(base, actions=(*base.actions, *actions), blockers=(*base.blockers, *blockers))


def plan_region(
    wanted: SettingsDesired, want: AuditSettings, seen: SettingsView
) -> tuple[list[UpdateAuditSettings], list[Blocker]]:
    region, account = seen.region, wanted.account_id
    plain, irreversible = differences(want, seen)
    actions, blockers = [], []
    approved = [c for c in irreversible if approval(wanted, c) in wanted.approved]
    waiting = [c for c in irreversible if c not in approved]
    if plain or approved:
        actions.append(_update(region, account, [*plain, *approved]))
    for change in waiting:
        message = _loss(region, account, change, seen) + _how_to_approve(wanted, change)
        would = (_update(region, account, [change]),)
        blockers.append(Blocker(Reason.IRREVERSIBLE_SETTING_BLOCKED, message, region, would))
    if want.evidence_finder is not None and seen.evidence_finder in _MOVING:
        # AWS is creating or deleting the event data store: look again soon.
        moving = f"{region}: evidence finder is {seen.evidence_finder}"
        blockers.append(Blocker(Reason.PENDING, moving, region))
    return actions, blockers


def differences(want: AuditSettings, seen: SettingsView) -> tuple[list[Change], list[Change]]:
    """The fields that differ: those that can be undone, and those that cannot."""
    plain: list[Change] = []
    irreversible: list[Change] = []
    if want.sns_topic is not None and _topic(want.sns_topic) != _topic(seen.sns_topic):
        plain.append(("snsTopic", want.sns_topic, f"snsTopic is {seen.sns_topic or 'NONE'}"))
    for name, wanted_uri, have in (
        (
            "defaultAssessmentReportsDestination",
            want.default_assessment_reports_destination,
            seen.reports_destination,
        ),
        ("defaultExportDestination", want.default_export_destination, seen.export_destination),
    ):
        if wanted_uri is not None and _uri(wanted_uri) != _uri(have):
            plain.append((name, wanted_uri, f"{name} is {have or 'not set'}"))
    owners = want.default_process_owners
    if owners is not None and sorted(set(owners)) != sorted(set(seen.process_owners)):
        have_owners = ", ".join(seen.process_owners) or "none"
        plain.append(
            ("defaultProcessOwners", ",".join(owners), f"defaultProcessOwners is {have_owners}")
        )
    if want.kms_key is not None and want.kms_key != (seen.kms_key or "DEFAULT"):
        plain.append(("kmsKey", want.kms_key, f"kmsKey is {seen.kms_key or 'DEFAULT'}"))
    finder = want.evidence_finder
    on = seen.evidence_finder in _ON
    if finder is EvidenceFinder.ENABLED and not on:
        plain.append(("evidenceFinderEnabled", "true", "evidence finder is off"))
    if finder is EvidenceFinder.DISABLED and on:
        irreversible.append(("evidenceFinderEnabled", "false", "evidence finder is on"))
    deletes = want.delete_resources
    have_deletes = seen.delete_resources or "DEFAULT"
    if deletes is not None and _aws_deletes(deletes) != have_deletes:
        change = (
            "deregistrationPolicy",
            _aws_deletes(deletes),
            f"deleteResources is {have_deletes}",
        )
        (irreversible if deletes is DeleteResources.ALL else plain).append(change)
    return plain, irreversible


def approval(wanted: SettingsDesired, change: Change) -> str:
    """The annotation item that approves one irreversible change: bound to the account and to
    the spec's generation, so it approves this change and not the next one."""
    return f"{wanted.account_id}:{_spec_words(change)}@{wanted.generation}"


def _spec_words(change: Change) -> str:
    name, value, _ = change
    if name == "evidenceFinderEnabled":
        return "evidenceFinder=Disabled"
    return f"deleteResources={'All' if value == 'ALL' else 'Default'}"


def _update(region: str, account: str, changes: list[Change]) -> UpdateAuditSettings:
    why = f"{region}: " + "; ".join(f"{have}, want {value}" for _, value, have in changes)
    pairs = tuple((name, value) for name, value, _ in changes)
    return UpdateAuditSettings(region, account, pairs, why)


def _loss(region: str, account: str, change: Change, seen: SettingsView) -> str:
    if change[0] == "evidenceFinderEnabled":
        store = f" ({seen.event_data_store})" if seen.event_data_store else ""
        return (
            f"{region}: turning evidence finder off in account {account} deletes its CloudTrail "
            f"Lake event data store{store} and the evidence queries run on it; it cannot be "
            "turned on again (CloudTrail Lake takes no new customers since May 2026, and the "
            "only way back was to deregister and register the account again). "
        )
    return (
        f"{region}: deleteResources All makes AWS delete all of account {account}'s Audit "
        "Manager data (assessments, evidence, custom controls and frameworks) within 7 days "
        "once Audit Manager is deregistered; Default keeps it (evidence ages out after 2 "
        "years). "
    )


def _how_to_approve(wanted: SettingsDesired, change: Change) -> str:
    return (
        f'To go ahead, annotate the resource with {ALLOW_IRREVERSIBLE_ANNOTATION}: "'
        f'{approval(wanted, change)}" (good for this account and this generation of the spec '
        "only; several approvals separated by commas)."
    )


def _not_admin(wanted: SettingsDesired, observed: Observed, region: str, base: Plan) -> Blocker:
    view = observed.regions.get(region)
    admin = getattr(view, "admin_account_id", None)
    registering = any(a.region == region and registers_admin(a) for a in base.actions)
    if registering or isinstance(view, RegionFailure) or view is None:
        message = f"{region}: the settings wait until {wanted.account_id} is the administrator"
        return Blocker(Reason.PENDING, message, region)
    return Blocker(
        Reason.ADMIN_CREDENTIALS_MISMATCH,
        f"{region}: spec.adminCredentials is a role in account {wanted.account_id}, but the "
        f"delegated administrator there is {admin or 'none'}: the settings are not changed; "
        "name a role in the administrator's account",
        region,
    )


def _topic(value: str | None) -> str:
    """GetSettings answers the topic's name where UpdateSettings takes its ARN: compare names."""
    if not value or value == "NONE":
        return "NONE"
    return value.rsplit(":", 1)[-1]


def _uri(value: str | None) -> str | None:
    # AWS's S3Url pattern takes S3:// and s3:// alike.
    return "s3://" + value[5:] if value and value[:5].lower() == "s3://" else value


def _aws_deletes(value: DeleteResources) -> str:
    return "ALL" if value is DeleteResources.ALL else "DEFAULT"
