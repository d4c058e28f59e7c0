"""One Region as status shows it (and the plan command): what AWS has there, the
administrator's settings included."""

from __future__ import annotations

from awsorg_operator.api import RegionStatus
from awsorg_operator.auditsettings import EvidenceFinderStatus, SettingsStatus
from awsorg_operator.observed import RegionView, SettingsView


def settings_status(view: object) -> SettingsStatus | None:
    """What `GetSettings` showed; None where it was not read, or failed (the Region's message
    says why)."""
    if not isinstance(view, SettingsView):
        return None
    finder = EvidenceFinderStatus(
        enablement_status=view.evidence_finder,
        backfill_status=view.backfill,
        event_data_store_arn=view.event_data_store,
        error=view.evidence_finder_error,
    )
    return SettingsStatus(
        account_id=view.account_id,
        is_aws_org_enabled=view.is_aws_org_enabled,
        sns_topic=view.sns_topic,
        default_assessment_reports_destination=view.reports_destination,
        default_process_owners=view.process_owners,
        kms_key=view.kms_key,
        evidence_finder=finder if view.evidence_finder else None,
        delete_resources=view.delete_resources,
        default_export_destination=view.export_destination,
    )


def region_status(
    region: str, view: object, message: str | None = None, settings: object = None
) -> RegionStatus:
    """One Region as status shows it (and the plan command): what AWS has there, if read."""
    if not isinstance(view, RegionView):
        return RegionStatus(region=region, message=message)
    return RegionStatus(
        region=region,
        account_status=view.account_status.value,
        delegated_admin_account_id=view.admin_account_id,
        kms_key=view.kms_key,
        settings=settings_status(settings),
        message=message,
    )
