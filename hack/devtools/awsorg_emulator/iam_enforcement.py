"""IAM enforcement, off by default: requests are allowed only when the caller's own IAM
policies allow them (signature, then the policies of the IAM user or the assumed role). On, it
applies to moto's services (Organizations, STS, IAM) through moto's own switch and evaluation,
and to our Audit Manager through moto's signature check and our evaluation (`iam_policy.py`),
which also evaluates the condition key aws:RequestedRegion.

Off by default because most tests call as "account 123456789012" with a 12-digit access key,
which is no IAM principal; on, a test can hand out credentials that may only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto import settings as moto_settings
from moto.iam.access_control import IAMPolicy, IAMRequest
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from .context import RequestContext
from .errors import AwsError
from .iam_policy import NotEmulatedError, decide

# moto's codes, as Audit Manager's REST-JSON protocol names them.
_CODES = {
    "AccessDenied": "AccessDeniedException",
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
}


def set_enforced(on: bool) -> None:
    # moto authorizes a request once its count of unauthenticated ones reaches this.
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")


def enforced() -> bool:
    return bool(moto_settings.INITIAL_NO_AUTH_ACTION_COUNT == 0)


def authorize(ctx: RequestContext, environ: Mapping[str, Any], body: bytes) -> None:
    """Raises the AwsError AWS would answer when the caller may not call `ctx.operation`."""
    path = str(environ.get("PATH_INFO", "/"))
    query = str(environ.get("QUERY_STRING", ""))
    headers = dict(Request(dict(environ)).headers.items())
    try:
        request = IAMRequest(
            account_id=ctx.account,
            method=ctx.method,
            path=f"{path}?{query}" if query else path,
            data={},
            body=body,
            headers=headers,
            action=ctx.operation,
        )
        request.check_signature()
    except HTTPException as e:
        code = str(getattr(e, "error_type", "AccessDenied"))
        message = str(getattr(e, "message", e.description))
        raise AwsError(_CODES.get(code, code), message, e.code or 403) from e
    _check_allowed(request, f"auditmanager:{ctx.operation}", ctx.region)


def _check_allowed(request: IAMRequest, action: str, region: str) -> None:
    # moto's principal (IAM user or assumed role) and its policies; moto keeps them private.
    principal = request._access_key
    documents = [IAMPolicy(p)._policy_json for p in principal.collect_policies()]
    try:
        decision = decide(documents, action, {"aws:RequestedRegion": region})
    except NotEmulatedError as e:
        raise AwsError("InternalFailure", f"awsorg-emulator does not evaluate {e}", 500) from e
    if decision.allowed:
        return
    # AWS's wording for the two kinds of denial (IAM User Guide, access denied messages).
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {action} action"
    )
    message = f"User: {principal.arn} is not authorized to perform: {action} {why}"
    raise AwsError("AccessDeniedException", message, 403)
