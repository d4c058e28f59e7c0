"""The emulator's whole state: moto's backends, Audit Manager, faults and the call log."""

from __future__ import annotations

import threading

from . import iam_enforcement, moto_state
from .auditmanager import AuditManager, AuditManagerConfig, EvidenceFinderConfig
from .calls import CallLog
from .context import forget_keys
from .credentials import CredentialLifetimes
from .faults import FaultRegistry
from .organizations import OrganizationsGuard
from .rendezvous import RendezvousRegistry
from .schema import ConfigView, OrganizationSeedView, StateSnapshot
from .seeds import Seed, add_organizations, apply_seed
from .stale import StaleReads


class Emulator:
    """Shared by every request thread; ``lock`` serialises Organizations and Audit Manager."""

    def __init__(self, seed: Seed = Seed.EXISTING_CUSTOMER, maintenance_mode: bool = True) -> None:
        moto_state.install_moto_extensions()
        self.lock = threading.RLock()
        self.audit_manager = AuditManager(self.lock)
        self.guard = OrganizationsGuard(self.audit_manager.forget_admin)
        self.faults = FaultRegistry()
        self.rendezvous = RendezvousRegistry()
        self.calls = CallLog()
        self.stale = StaleReads()
        self.credentials = CredentialLifetimes()
        self.default_seed = seed
        self.default_maintenance_mode = maintenance_mode
        self.seed = seed
        self.latency_seconds = 0.0
        # Organizations added beside the seed; never reset, so that every added organization
        # has IDs (and a role ARN) of its own for the process's life, and credentials cached
        # by a client from before a reset can never reach a new organization.
        self._added = 0
        self.reset(seed, maintenance_mode)

    def reset(self, seed: Seed | None = None, maintenance_mode: bool | None = None) -> None:
        """Drop all state (moto's too), apply ``seed``, clear faults, rendezvous and the call
        log."""
        seed = seed or self.default_seed
        if maintenance_mode is None:
            maintenance_mode = self.default_maintenance_mode
        with self.lock:
            moto_state.reset_moto()
            forget_keys()  # the keys went with it
            self.audit_manager.reset(AuditManagerConfig(maintenance_mode=maintenance_mode))
            apply_seed(seed, self.audit_manager)
            self.seed = seed
            self.clear_faults()
            self.calls.clear()
            self.stale.reset()
            self.credentials.reset()
            iam_enforcement.set_enforced(False)
            self.latency_seconds = 0.0

    def clear_faults(self) -> None:
        """Ends the injected faults and rendezvous; calls they hold are answered."""
        self.faults.clear()
        self.rendezvous.clear()

    def add_organizations(
        self, count: int, regions: list[str], adopted: bool
    ) -> list[OrganizationSeedView]:
        with self.lock:
            added = add_organizations(self.audit_manager, self._added, count, regions, adopted)
            self._added += count
            return added

    def configure(
        self,
        maintenance_mode: bool | None = None,
        reregister_pre_cutoff: bool | None = None,
        stale_read_seconds: float | None = None,
        credential_lifetime_seconds: float | None = None,
        enforce_iam: bool | None = None,
        latency_seconds: float | None = None,
        evidence_finder: EvidenceFinderConfig | None = None,
    ) -> ConfigView:
        with self.lock:
            if evidence_finder is not None:
                self.audit_manager.configure_evidence_finder(*evidence_finder)
            if enforce_iam is not None:
                iam_enforcement.set_enforced(enforce_iam)
            if latency_seconds is not None:
                self.latency_seconds = latency_seconds
            if credential_lifetime_seconds is not None:
                self.credentials.seconds = credential_lifetime_seconds
            if stale_read_seconds is not None:
                self.stale.seconds = stale_read_seconds
            config = self.audit_manager.config
            if maintenance_mode is not None:
                config.maintenance_mode = maintenance_mode
            if reregister_pre_cutoff is not None:
                config.reregister_pre_cutoff = reregister_pre_cutoff
            return self.config_view()

    def config_view(self) -> ConfigView:
        config = self.audit_manager.config
        return {
            "seed": str(self.seed),
            "maintenanceMode": config.maintenance_mode,
            "reregisterPreCutoff": config.reregister_pre_cutoff,
            "staleReadSeconds": self.stale.seconds,
            "credentialLifetimeSeconds": self.credentials.seconds,
            "expiredRequests": self.credentials.refused,
            "enforceIam": iam_enforcement.enforced(),
            "latencySeconds": self.latency_seconds,
            "evidenceFinderSeconds": config.evidence_finder_seconds,
            "cloudTrailLakeOpen": config.cloudtrail_lake_open,
        }

    def snapshot(self) -> StateSnapshot:
        with self.lock:
            org = moto_state.organizations_snapshot()
            management_id = org.organization["managementAccountID"] if org else None
            return {
                "config": self.config_view(),
                "organization": org.organization if org else None,
                "trustedAccess": org.trusted_access if org else [],
                "delegatedAdministrators": org.delegated_admins if org else {},
                "auditManager": self.audit_manager.snapshot(management_id),
                "preCutoffActive": self.audit_manager.pre_cutoff_snapshot(),
            }
