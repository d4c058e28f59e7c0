"""awsorg-emulator: moto's Organizations/STS/IAM plus an Audit Manager emulator, one endpoint.

Test-side API: ``EmulatorProcess`` (run it as a subprocess) and ``EmulatorControl``
(its control API). The server side lives in ``server`` and is started by
``python -m awsorg_emulator``.
"""

from .client import EmulatorControl, EmulatorControlError
from .process import EmulatorProcess, EmulatorStartError
from .seeds import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    ORGANIZATION_ID,
    UNRELATED_PRINCIPAL,
    WORKLOADS_ACCOUNT_ID,
)

__all__ = [
    "AUDIT_ACCOUNT_ID",
    "MANAGEMENT_ACCOUNT_ID",
    "ORGANIZATION_ID",
    "UNRELATED_PRINCIPAL",
    "WORKLOADS_ACCOUNT_ID",
    "EmulatorControl",
    "EmulatorControlError",
    "EmulatorProcess",
    "EmulatorStartError",
]
