"""AWS failures as data, in AWS's own terms: throttled, denied, refused for good, not found.

The only place that reads botocore's exceptions; everything above sees `CallFailure`. Which
condition reason each kind gives is the report's to say (`conditions.reason`).
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
)

from awsorg_operator.failures import CallFailure, Kind

_THROTTLING = {
    "ThrottlingException",
    "TooManyRequestsException",
    "Throttling",
    "RequestLimitExceeded",
}
_ACCESS_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
# Credentials AWS no longer accepts. Expired ones (or a clock that drifted) fix themselves
# once botocore refreshes them; the others need a person, but must never be terminal either.
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidSignatureException",
}
# Not retried by any botocore retry mode (its list of retried errors:
# https://docs.aws.amazon.com/boto3/latest/guide/retries.html), so ours.
_CONCURRENT = {"ConcurrentModificationException"}
_SERVER = {
    "InternalServerException",
    "ServiceException",
    "InternalFailure",
    "ServiceUnavailableException",
    "ServiceUnavailable",
}
_MAINTENANCE_MODE = "maintenance mode"


# In the order they are tried: a code in two sets would take the first.
_BY_CODE = (
    (_THROTTLING, Kind.THROTTLED),
    (_CONCURRENT, Kind.CONCURRENT_MODIFICATION),
    (_ACCESS_DENIED, Kind.DENIED),
    (_EXPIRED, Kind.CREDENTIALS_EXPIRED),
    (_BAD_CREDENTIALS, Kind.CREDENTIALS_REFUSED),
)
# Refusals for good with a name of their own; any other: retrying gets the same answer.
_REFUSALS = {
    "AWSOrganizationsNotInUseException": Kind.NO_ORGANIZATION,
    "AccountNotFoundException": Kind.ACCOUNT_NOT_FOUND,
    "ConstraintViolationException": Kind.CONSTRAINT_VIOLATION,
    "ValidationException": Kind.INVALID,
}


def classify(operation: str, error: Exception) -> CallFailure:
    if isinstance(error, ClientError):
        return _classify_client_error(operation, error)
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        # Usually set-up (IRSA, Pod Identity, the role to assume) that a person must fix; a
        # token file that is not mounted yet fixes itself.
        return CallFailure(operation, type(error).__name__, str(error), Kind.CREDENTIALS_REFUSED)
    if isinstance(error, BotoCoreError):
        # Connection errors and timeouts, after botocore's own retries.
        return CallFailure(operation, type(error).__name__, str(error), Kind.UNAVAILABLE)
    raise error


def _classify_client_error(operation: str, error: ClientError) -> CallFailure:
    err = error.response.get("Error", {})
    code = err.get("Code", "Unknown")
    message = err.get("Message", str(error))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return CallFailure(operation, code, message, _kind(code, message, status))


def _kind(code: str, message: str, status: int) -> Kind:
    for codes, kind in _BY_CODE:
        if code in codes:
            return kind
    if code in _SERVER or status >= 500:
        return Kind.UNAVAILABLE
    if code == "ValidationException" and _MAINTENANCE_MODE in message.lower():
        return Kind.MAINTENANCE_MODE
    return _REFUSALS.get(code, Kind.REFUSED)
