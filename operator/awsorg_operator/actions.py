"""The changes the operator can make in AWS: one frozen dataclass per AWS operation.

Each carries exactly the fields its call needs, so an action that cannot be sent cannot be
built, and a `match` over `Action` with `assert_never` lets mypy prove every one is handled.
Pure data: the plan builds them, the AWS side executes them, status shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class EnableTrustedAccess:
    why: str  # the difference it closes, as a person would say it
    operation: ClassVar[str] = "EnableAWSServiceAccess"
    region: ClassVar[None] = None  # organization-wide


@dataclass(frozen=True)
class DisableTrustedAccess:
    why: str
    operation: ClassVar[str] = "DisableAWSServiceAccess"
    region: ClassVar[None] = None


@dataclass(frozen=True)
class RegisterAccount:
    region: str
    why: str
    admin_account_id: str | None = None  # registering with one also enables trusted access
    kms_key: str | None = None
    operation: ClassVar[str] = "RegisterAccount"


@dataclass(frozen=True)
class RegisterAdmin:
    region: str
    account_id: str
    why: str
    operation: ClassVar[str] = "RegisterOrganizationAdminAccount"


@dataclass(frozen=True)
class DeregisterAdmin:
    region: str
    account_id: str
    why: str
    operation: ClassVar[str] = "DeregisterOrganizationAdminAccount"


@dataclass(frozen=True)
class UpdateKmsKey:
    region: str
    kms_key: str
    why: str
    operation: ClassVar[str] = "UpdateSettings"


@dataclass(frozen=True)
class UpdateAuditSettings:
    """`UpdateSettings` in the delegated administrator's account (spec.adminCredentials), with
    only the fields that differ: (AWS field name, value as text) pairs, in a fixed order."""

    region: str
    account_id: str
    changes: tuple[tuple[str, str], ...]
    why: str
    operation: ClassVar[str] = "UpdateSettings"

    def text(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.changes)


@dataclass(frozen=True)
class DeregisterAccount:
    """The management account's `DeregisterAccount` in one Region (a retirement's last step
    there), sent through the settings seam connected as the management account."""

    region: str
    account_id: str
    why: str
    operation: ClassVar[str] = "DeregisterAccount"


# The management account's actions (spec.credentials).
Action = (
    EnableTrustedAccess
    | DisableTrustedAccess
    | RegisterAccount
    | RegisterAdmin
    | DeregisterAdmin
    | UpdateKmsKey
)
# Every action, whichever account sends it.
AnyAction = Action | UpdateAuditSettings | DeregisterAccount


def _account_of(action: AnyAction) -> str | None:
    match action:
        case RegisterAccount():
            return action.admin_account_id
        case RegisterAdmin() | DeregisterAdmin() | UpdateAuditSettings() | DeregisterAccount():
            return action.account_id
    return None


def _kms_key_of(action: AnyAction) -> str | None:
    match action:
        case RegisterAccount() | UpdateKmsKey():
            return action.kms_key
    return None


# What an action does, without why: the fields that make its key. `settings` joins the key only
# when present, so the keys of entries recorded before it existed stay the same.
KEY_FIELDS = ("operation", "region", "accountID", "kmsKey")


def fields(action: AnyAction) -> dict[str, str | None]:
    """An action as data, named as in `status.plannedActions`: for status, the plan command's
    output and the log lines alike."""
    data = {
        "operation": action.operation,
        "region": action.region,
        "accountID": _account_of(action),
        "kmsKey": _kms_key_of(action),
        "why": action.why,
    }
    if isinstance(action, UpdateAuditSettings):
        data["settings"] = action.text()
    return data


def key(data: Mapping[str, object]) -> str:
    """An action's fields (or a planned action's, dumped by alias) without why: two plans that
    would send the same call have the same key."""
    parts = [str(data.get(name) or "-") for name in KEY_FIELDS]
    settings = data.get("settings")
    return "/".join([*parts, str(settings)] if settings else parts)


def key_of(action: AnyAction) -> str:
    return key(fields(action))


def registers_admin(action: AnyAction) -> bool:
    """Audit Manager's own registration of an administrator enables trusted access too."""
    return isinstance(action, RegisterAdmin) or (
        isinstance(action, RegisterAccount) and action.admin_account_id is not None
    )


def describe(action: AnyAction) -> str:
    """What was done, for an Event and a log line."""
    match action:
        case EnableTrustedAccess():
            done = "enabled trusted access for auditmanager.amazonaws.com"
        case DisableTrustedAccess():
            done = "disabled trusted access for auditmanager.amazonaws.com"
        case RegisterAccount():
            admin = action.admin_account_id
            done = "registered the account with Audit Manager" + (
                f" with delegated administrator {admin}" if admin else ""
            )
        case RegisterAdmin():
            done = f"registered delegated administrator {action.account_id}"
        case DeregisterAdmin():
            done = f"deregistered delegated administrator {action.account_id}"
        case UpdateKmsKey():
            done = f"set the KMS key to {action.kms_key}"
        case UpdateAuditSettings():
            done = f"set Audit Manager settings in account {action.account_id}: {action.text()}"
        case DeregisterAccount():
            done = f"deregistered account {action.account_id} from Audit Manager"
    return f"{action.region or 'organization'}: {done} ({action.why})"
