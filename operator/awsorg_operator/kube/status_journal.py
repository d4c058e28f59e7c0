"""The status journal: the one status write a reconcile makes itself, before an AWS write (the
writes it is about to send, as `InFlight` planned actions; `journal.Journal`). Everything else
in status is written by kopf from the handler's patch when the reconcile ends.

Blocking calls of the kubernetes client: run from the reconcile's worker thread.
"""

from __future__ import annotations

import kubernetes

from awsorg_operator.api import GROUP, PLURAL, VERSION, PlannedAction
from awsorg_operator.kube.calls import REQUEST_TIMEOUT, api_client, kube_call
from awsorg_operator.resource import Resource


class StatusJournal:
    def in_flight(self, res: Resource, entries: tuple[PlannedAction, ...]) -> None:
        patch = {
            "status": {
                "plannedActions": [
                    e.model_dump(by_alias=True, mode="json", exclude_none=True) for e in entries
                ],
                "plannedActionCount": len(entries),
            }
        }
        # A merge patch of the status subresource (the chart grants patch on it); if it
        # fails, the AWS write is not sent.
        kube_call(
            "PatchStatus",
            lambda: kubernetes.client.CustomObjectsApi(
                api_client()
            ).patch_cluster_custom_object_status(
                GROUP, VERSION, PLURAL, res.name, patch, _request_timeout=REQUEST_TIMEOUT
            ),
        )
