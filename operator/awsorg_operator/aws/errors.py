"""AWS failures as data: what went wrong, and whether waiting fixes it.

The only place that reads botocore's exceptions; everything above sees `AwsFailure`.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
)

from awsorg_operator.failures import AwsCallError, AwsFailure, Retry

__all__ = ["AwsCallError", "AwsFailure", "Retry", "classify"]


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
# Not retried by any botocore retry mode (AWS-FACTS: Organizations errors), so ours.
_CONCURRENT = {"ConcurrentModificationException"}
_SERVER = {
    "InternalServerException",
    "ServiceException",
    "InternalFailure",
    "ServiceUnavailableException",
    "ServiceUnavailable",
}
_MAINTENANCE_MODE = "maintenance mode"


def classify(operation: str, error: Exception) -> AwsFailure:
    if isinstance(error, ClientError):
        return _classify_client_error(operation, error)
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        # Usually set-up (IRSA, Pod Identity, the role to assume) that a person must fix; a
        # token file that is not mounted yet fixes itself, hence a slow retry.
        return AwsFailure(
            operation, type(error).__name__, str(error), "AwsCredentials", Retry.SLOWLY
        )
    if isinstance(error, BotoCoreError):
        # Connection errors and timeouts, after botocore's own retries.
        return AwsFailure(operation, type(error).__name__, str(error), "AwsError", Retry.SOON)
    raise error


def _classify_client_error(operation: str, error: ClientError) -> AwsFailure:
    err = error.response.get("Error", {})
    code = err.get("Code", "Unknown")
    message = err.get("Message", str(error))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)

    def failure(reason: str, retry: Retry) -> AwsFailure:
        return AwsFailure(operation, code, message, reason, retry)

    if code in _THROTTLING:
        return failure("Throttled", Retry.SOON)
    if code in _CONCURRENT:
        return failure("ConcurrentModification", Retry.SOON)
    if code in _ACCESS_DENIED:
        return failure("AccessDenied", Retry.SLOWLY)
    if code in _EXPIRED:
        return failure("AwsCredentials", Retry.SOON)
    if code in _BAD_CREDENTIALS:
        return failure("AwsCredentials", Retry.SLOWLY)
    if code in _SERVER or status >= 500:
        return failure("AwsError", Retry.SOON)
    if code == "ValidationException" and _MAINTENANCE_MODE in message.lower():
        return failure("MaintenanceMode", Retry.NEVER)
    if code == "AWSOrganizationsNotInUseException":
        return failure("OrganizationNotFound", Retry.NEVER)
    if code == "AccountNotFoundException":
        return failure("InvalidDelegatedAdmin", Retry.NEVER)
    if code == "ConstraintViolationException":
        return failure("ConstraintViolation", Retry.NEVER)
    if code == "ValidationException":
        return failure("ValidationFailed", Retry.NEVER)
    # Any other refusal: retrying the same call will not change the answer.
    return failure("AwsRefused", Retry.NEVER)
