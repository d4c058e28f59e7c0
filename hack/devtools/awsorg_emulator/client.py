"""A small typed client for the emulator's control API (/_emulator/...)."""

from __future__ import annotations

from typing import Any, Literal, cast

import requests

from .schema import (
    CallRecord,
    ConfigView,
    FaultView,
    OrganizationSeedView,
    RendezvousView,
    StateSnapshot,
)

SeedName = Literal["existing-customer", "empty"]
FaultKindName = Literal[
    "throttle", "internal", "accessDenied", "concurrentModification", "latency", "expiredToken"
]
AccountStatusName = Literal["ACTIVE", "INACTIVE", "PENDING_ACTIVATION"]


class EmulatorControlError(RuntimeError):
    """The control API refused a request (bad input) or answered unexpectedly."""


class EmulatorControl:
    """Talks to ``{endpoint_url}/_emulator/``; every call has a short timeout."""

    def __init__(self, endpoint_url: str, timeout: float = 10.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _request(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.endpoint_url}/_emulator/{name}"
        response = self._session.request(method, url, json=body, timeout=self.timeout)
        if response.status_code != 200:
            raise EmulatorControlError(f"{method} {url}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> bool:
        """True when the emulator answers; False when it cannot be reached yet."""
        try:
            return bool(self._request("GET", "health").get("ok"))
        except (requests.RequestException, EmulatorControlError):
            return False

    def reset(
        self, seed: SeedName | None = None, maintenance_mode: bool | None = None
    ) -> ConfigView:
        """Reset ALL state to ``seed``; clears the call log and faults.

        Omitted arguments take the values the process was started with.
        """
        body: dict[str, Any] = {}
        if seed is not None:
            body["seed"] = seed
        if maintenance_mode is not None:
            body["maintenanceMode"] = maintenance_mode
        return cast(ConfigView, self._request("POST", "reset", body))

    def configure(
        self,
        maintenance_mode: bool | None = None,
        reregister_pre_cutoff: bool | None = None,
        stale_read_seconds: float | None = None,
        credential_lifetime_seconds: float | None = None,
        enforce_iam: bool | None = None,
        latency_seconds: float | None = None,
        evidence_finder_seconds: float | Literal["keep"] | None = "keep",
        cloudtrail_lake_open: bool | None = None,
    ) -> ConfigView:
        """``stale_read_seconds``: after a write, reads in that service and Region answer
        what they answered before it, for that long (AWS is eventually consistent).
        ``credential_lifetime_seconds``: assumed-role credentials expire after that long and
        are then refused with ExpiredToken (0: moto's hour, never refused).
        ``enforce_iam``: every request needs an IAM principal whose policies allow it
        (moto's evaluation, for Audit Manager too); off again at reset.
        ``latency_seconds``: every AWS call waits this long first (a network round trip).
        ``evidence_finder_seconds``: each evidence finder step (enabling, backfill,
        disabling) takes this long; None: a step finishes only on ``settle_evidence_finder``.
        ``cloudtrail_lake_open``: an account that never had evidence finder may enable it."""
        body: dict[str, Any] = {}
        if evidence_finder_seconds != "keep":
            body["evidenceFinderSeconds"] = evidence_finder_seconds
        if cloudtrail_lake_open is not None:
            body["cloudTrailLakeOpen"] = cloudtrail_lake_open
        if enforce_iam is not None:
            body["enforceIam"] = enforce_iam
        if latency_seconds is not None:
            body["latencySeconds"] = latency_seconds
        if credential_lifetime_seconds is not None:
            body["credentialLifetimeSeconds"] = credential_lifetime_seconds
        if stale_read_seconds is not None:
            body["staleReadSeconds"] = stale_read_seconds
        if maintenance_mode is not None:
            body["maintenanceMode"] = maintenance_mode
        if reregister_pre_cutoff is not None:
            body["reregisterPreCutoff"] = reregister_pre_cutoff
        return cast(ConfigView, self._request("POST", "config", body))

    def config(self) -> ConfigView:
        return cast(ConfigView, self._request("GET", "config"))

    def state(self) -> StateSnapshot:
        return cast(StateSnapshot, self._request("GET", "state"))

    def calls(self) -> list[CallRecord]:
        return cast(list[CallRecord], self._request("GET", "calls"))

    def issued_credentials(self) -> list[dict[str, str]]:
        """Every set of credentials AssumeRole issued since the last reset
        (accessKeyID, secretAccessKey, sessionToken)."""
        return cast(list[dict[str, str]], self._request("GET", "issued-credentials"))

    def clear_calls(self) -> None:
        self._request("DELETE", "calls")

    def add_fault(
        self,
        kind: FaultKindName,
        *,
        service: str = "*",
        operation: str = "*",
        count: int = 1,
        latency_seconds: float = 0.0,
        region: str = "*",
    ) -> list[FaultView]:
        """The next ``count`` calls matching service/operation/Region fail (or wait) as
        ``kind``."""
        body = {
            "service": service,
            "operation": operation,
            "kind": kind,
            "count": count,
            "latencySeconds": latency_seconds,
            "region": region,
        }
        return cast(list[FaultView], self._request("POST", "faults", body))

    def faults(self) -> list[FaultView]:
        return cast(list[FaultView], self._request("GET", "faults"))

    def clear_faults(self) -> None:
        """Ends the faults and the rendezvous; the calls they hold are answered."""
        self._request("DELETE", "faults")

    def add_rendezvous(
        self, calls: list[tuple[str, str, str]], timeout_seconds: float | None = None
    ) -> list[RendezvousView]:
        """Hold each of ``calls`` ((service, operation, Region) patterns, "*" for any; one
        call each) when it arrives, until all have arrived: calls sent together then overlap
        in the call log however slowly they were sent. A held call gives up after
        ``timeout_seconds`` (default 8, below the operator's read timeout), and the
        rendezvous with it: calls sent one after another do not overlap."""
        body: dict[str, Any] = {
            "calls": [{"service": s, "operation": o, "region": r} for s, o, r in calls]
        }
        if timeout_seconds is not None:
            body["timeoutSeconds"] = timeout_seconds
        return cast(list[RendezvousView], self._request("POST", "rendezvous", body))

    def rendezvous(self) -> list[RendezvousView]:
        """Every rendezvous since the last reset or DELETE of the faults, with its status."""
        return cast(list[RendezvousView], self._request("GET", "rendezvous"))

    def set_account_status(self, account_id: str, region: str, status: AccountStatusName) -> None:
        """Force an Audit Manager account status (e.g. PENDING_ACTIVATION) in a Region."""
        body = {"accountID": account_id, "region": region, "status": status}
        self._request("POST", "account-status", body)

    def settle_evidence_finder(self) -> None:
        """Finish every evidence finder step in progress (enabling, backfill, disabling)."""
        self._request("POST", "settle-evidence-finder")

    def set_evidence_finder_error(self, account_id: str, region: str, error: str | None) -> None:
        """Evidence finder's ``error`` in that account and Region (None clears it)."""
        body = {"accountID": account_id, "region": region, "error": error}
        self._request("POST", "evidence-finder-error", body)

    def add_organizations(
        self, count: int, regions: list[str], adopted: bool
    ) -> list[OrganizationSeedView]:
        """``count`` more organizations, each with its own management account, administrator
        candidate and role for ``credentials.roleARN``; ``adopted``: already set up in
        ``regions``."""
        body = {"count": count, "regions": regions, "adopted": adopted}
        return cast(list[OrganizationSeedView], self._request("POST", "organizations", body))
