"""AWS errors, and how each AWS wire protocol carries them back to botocore.

botocore reads the error code of a rest-json service (Audit Manager) from the
``x-amzn-ErrorType`` header, of a JSON 1.1 service (Organizations) from ``__type``,
and of a query service (STS, IAM) from ``ErrorResponse/Error/Code`` in XML.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from werkzeug.wrappers import Response


class AwsError(Exception):
    """An error as AWS would return it: code, HTTP status, message and modelled fields."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields: dict[str, Any] = dict(fields or {})


class Protocol(StrEnum):
    REST_JSON = "rest-json"
    JSON = "json"
    QUERY = "query"


@cache
def protocol_of(service: str) -> Protocol:
    """The wire protocol botocore uses for ``service`` (a SigV4 signing name)."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return Protocol.JSON
    name = str(model.metadata.get("protocol", "json"))
    if name in ("query", "ec2", "rest-xml"):
        return Protocol.QUERY
    return Protocol.REST_JSON if name == "rest-json" else Protocol.JSON


def new_request_id() -> str:
    return str(uuid.uuid4())


def json_response(
    payload: Any, status: int = 200, content_type: str = "application/json"
) -> Response:
    headers = {"x-amzn-RequestId": new_request_id()}
    return Response(json.dumps(payload), status=status, headers=headers, content_type=content_type)


def render_error(service: str, error: AwsError) -> Response:
    """Serialise ``error`` the way ``service``'s protocol does, so botocore parses it."""
    protocol = protocol_of(service)
    if protocol is Protocol.QUERY:
        return _query_error(error)
    if protocol is Protocol.REST_JSON:
        body = {"message": error.message, **error.fields}
        response = json_response(body, error.status)
    else:
        body = {"__type": error.code, "Message": error.message, **error.fields}
        response = json_response(body, error.status, "application/x-amz-json-1.1")
    response.headers["x-amzn-ErrorType"] = error.code
    return response


def _query_error(error: AwsError) -> Response:
    error_type = "Receiver" if error.status >= 500 else "Sender"
    request_id = new_request_id()
    xml = (
        "<ErrorResponse><Error>"
        f"<Type>{error_type}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers = {"x-amzn-RequestId": request_id}
    return Response(xml, status=error.status, headers=headers, content_type="text/xml")


def error_code_of(response: Response) -> str | None:
    """The AWS error code in a response, or None when it succeeded."""
    if response.status_code < 400:
        return None
    header = response.headers.get("x-amzn-ErrorType")
    if header:
        return header.split(":", 1)[0]
    body = response.get_data(as_text=True)
    return _json_error_code(body) or _xml_error_code(body) or f"HTTP{response.status_code}"


def _json_error_code(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    code = parsed.get("__type") or parsed.get("code") or parsed.get("Code")
    return str(code).rsplit("#", 1)[-1] if code else None


def _xml_error_code(body: str) -> str | None:
    start = body.find("<Code>")
    end = body.find("</Code>", start)
    if start < 0 or end < 0:
        return None
    return body[start + len("<Code>") : end].strip() or None
