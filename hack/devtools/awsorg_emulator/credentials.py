"""Assumed-role credentials with a lifetime: AssumeRole answers with an `Expiration` that many
seconds ahead, and a request signed with those credentials after it is refused with
`ExpiredToken` (`ExpiredTokenException` outside the query protocol), as AWS does.

Off (0) by default: moto's own hour-long credentials, never refused.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Response

from .context import RequestContext

ASSUMING = ("AssumeRole", "AssumeRoleWithWebIdentity")
_EXPIRATION = re.compile(rb"<Expiration>[^<]*</Expiration>")
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")


class CredentialLifetimes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self._expiry: dict[str, float] = {}  # access key id -> monotonic deadline
        self.refused = 0  # requests refused as expired, for tests and the soak

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self._expiry.clear()
            self.refused = 0

    def expired(self, ctx: RequestContext) -> bool:
        with self._lock:
            deadline = self._expiry.get(ctx.access_key)
            late = deadline is not None and time.monotonic() >= deadline
            self.refused += late
            return late

    def issued(self, ctx: RequestContext, response: Response) -> Response:
        """Shorten the lifetime of credentials an AssumeRole call just issued."""
        if self.seconds <= 0 or ctx.operation not in ASSUMING or response.status_code != 200:
            return response
        body = response.get_data()
        key = _ACCESS_KEY.search(body)
        if key is None:
            return response
        until = datetime.now(UTC) + timedelta(seconds=self.seconds)
        stamp = until.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        with self._lock:
            self._expiry[key.group(1).decode()] = time.monotonic() + self.seconds
        response.set_data(_EXPIRATION.sub(b"<Expiration>" + stamp + b"</Expiration>", body))
        return response
