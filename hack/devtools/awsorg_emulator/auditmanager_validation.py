"""UpdateSettings' input validation, as botocore's ``auditmanager`` 2017-07-25 model and the
API reference (https://docs.aws.amazon.com/audit-manager/latest/APIReference/API_UpdateSettings.html)
state it: patterns, lengths, enums, and the documented rule that ``roleType`` in UpdateSettings
can only be PROCESS_OWNER.

A refused request is one ValidationException with reason ``fieldValidationFailed`` and every
problem in ``fields``, in the words AWS's request validation uses ("1 validation error
detected: Value 'x' at 'kmsKey' failed to satisfy constraint: ...").

ASSUMPTION: nested members are named by their path (``defaultProcessOwners.1.member.roleArn``,
1-based, as AWS's request validation names list members); AWS does not document it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import AwsError

# Patterns and lengths of botocore's model (shapes SnsArn, S3Url, IamArn, KmsKey).
SNS_ARN = (re.compile(r"^arn:.*:sns:.*|NONE"), 4, 2048)
S3_URL = (re.compile(r"^(S|s)3:\/\/[a-zA-Z0-9\-\.\(\)\'\*\_\!\=\+\@\:\s\,\?\/]+$"), 1, 1024)
IAM_ARN = (re.compile(r"^arn:.*:iam:.*"), 20, 2048)
KMS_KEY = (re.compile(r"^arn:.*:kms:.*|DEFAULT"), 7, 2048)
DESTINATION_TYPES = ("S3",)
DELETE_RESOURCES = ("ALL", "DEFAULT")
# Roles in UpdateSettings: "roleType can only be PROCESS_OWNER" (API reference, Role).
ROLE_TYPES = ("PROCESS_OWNER",)


@dataclass(frozen=True)
class Problem:
    name: str
    value: object
    constraint: str


def validation_failed(problems: Sequence[Problem]) -> AwsError:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(
        f"Value '{p.value}' at '{p.name}' failed to satisfy constraint: {p.constraint}"
        for p in problems
    )
    message = f"{count} validation {noun} detected: {details}"
    fields = [
        {
            "name": p.name,
            "message": f"Value '{p.value}' failed to satisfy constraint: {p.constraint}",
        }
        for p in problems
    ]
    return AwsError(
        "ValidationException", message, 400, {"reason": "fieldValidationFailed", "fields": fields}
    )


def check_string(name: str, value: object, rule: tuple[re.Pattern[str], int, int]) -> list[Problem]:
    pattern, low, high = rule
    if not isinstance(value, str):
        return [Problem(name, value, "Member must be a string")]
    problems = []
    if not low <= len(value) <= high:
        problems.append(
            Problem(name, value, f"Member must have length between {low} and {high}, inclusive")
        )
    if not pattern.fullmatch(value):
        problems.append(
            Problem(
                name, value, f"Member must satisfy regular expression pattern: {pattern.pattern}"
            )
        )
    return problems


def _check_enum(name: str, value: object, allowed: Sequence[str]) -> list[Problem]:
    if value in allowed:
        return []
    return [Problem(name, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]")]


def _check_destination(name: str, value: object) -> list[Problem]:
    """ASSUMPTION: both members are needed (the model marks neither required, but a
    destination without its type or its URI cannot be used)."""
    if not isinstance(value, Mapping):
        return [Problem(name, value, "Member must be a structure")]
    return _check_enum(
        f"{name}.destinationType", value.get("destinationType"), DESTINATION_TYPES
    ) + (check_string(f"{name}.destination", value.get("destination"), S3_URL))


def _check_owners(value: object) -> list[Problem]:
    if not isinstance(value, list):
        return [Problem("defaultProcessOwners", value, "Member must be a list")]
    problems: list[Problem] = []
    for n, role in enumerate(value, start=1):
        name = f"defaultProcessOwners.{n}.member"
        if not isinstance(role, Mapping):
            problems.append(Problem(name, role, "Member must be a structure"))
            continue
        problems += _check_enum(f"{name}.roleType", role.get("roleType"), ROLE_TYPES)
        problems += check_string(f"{name}.roleArn", role.get("roleArn"), IAM_ARN)
    return problems


def _check_policy(value: object) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [Problem("deregistrationPolicy", value, "Member must be a structure")]
    if "deleteResources" not in value:
        return []  # every member of DeregistrationPolicy is optional
    name = "deregistrationPolicy.deleteResources"
    return _check_enum(name, value["deleteResources"], DELETE_RESOURCES)


def _check_sns_topic(value: object, region: str) -> list[Problem]:
    problems = check_string("snsTopic", value, SNS_ARN)
    if problems or value == "NONE":
        return problems
    # ASSUMPTION: a topic in another Region is refused; AWS's console offers only the
    # Region's topics, and the API reference does not say.
    topic_region = str(value).split(":")[3:4]
    if topic_region != [region]:
        return [Problem("snsTopic", value, f"Member must be a topic in Region {region}")]
    return []


def check_update(params: Mapping[str, Any], region: str) -> list[Problem]:
    """Every problem of an UpdateSettings request made in ``region``."""
    checks: list[tuple[str, Any]] = [
        ("snsTopic", lambda v: _check_sns_topic(v, region)),
        ("kmsKey", lambda v: check_string("kmsKey", v, KMS_KEY)),
        (
            "defaultAssessmentReportsDestination",
            lambda v: _check_destination("defaultAssessmentReportsDestination", v),
        ),
        ("defaultExportDestination", lambda v: _check_destination("defaultExportDestination", v)),
        ("defaultProcessOwners", _check_owners),
        ("deregistrationPolicy", _check_policy),
        (
            "evidenceFinderEnabled",
            lambda v: (
                []
                if isinstance(v, bool)
                else [Problem("evidenceFinderEnabled", v, "Member must be a boolean")]
            ),
        ),
    ]
    problems: list[Problem] = []
    for name, check in checks:
        if params.get(name) is not None:
            problems += check(params[name])
    return problems


def require_valid_update(params: Mapping[str, Any], region: str) -> None:
    problems = check_update(params, region)
    if problems:
        raise validation_failed(problems)


def require_valid_kms_key(kms_key: str | None) -> None:
    if kms_key is not None:
        problems = check_string("kmsKey", kms_key, KMS_KEY)
        if problems:
            raise validation_failed(problems)
