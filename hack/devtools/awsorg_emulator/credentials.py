"""Assumed-role credentials with a lifetime: AssumeRole answers with an `Expiration` that many
seconds ahead, and a request signed with those credentials after it is refused with
`ExpiredToken` (`ExpiredTokenException` outside the query protocol), as AWS does.

Off (0) by default: moto's own hour-long credentials, never refused.

Every set of credentials AssumeRole issues is also kept (`issued_credentials`), so a test can
prove that none of them ever shows up in a log.
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
_SECRET_KEY = re.compile(rb"<SecretAccessKey>([^<]+)</SecretAccessKey>")
_SESSION_TOKEN = re.compile(rb"<SessionToken>([^<]+)</SessionToken>")


class CredentialLifetimes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self._expiry: dict[str, float] = {}  # access key id -> monotonic deadline
        self.refused = 0  # requests refused as expired, for tests and the soak
        self._issued: list[dict[str, str]] = []

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self._expiry.clear()
            self.refused = 0
            self._issued.clear()

    def issued_credentials(self) -> list[dict[str, str]]:
        """What AssumeRole handed out since the last reset: access key, secret, token."""
        with self._lock:
            return [dict(c) for c in self._issued]

    def _keep(self, body: bytes) -> None:
        found = {
            name: m.group(1).decode()
            for name, pattern in (
                ("accessKeyID", _ACCESS_KEY),
                ("secretAccessKey", _SECRET_KEY),
                ("sessionToken", _SESSION_TOKEN),
            )
            if (m := pattern.search(body))
        }
        if found:
            with self._lock:
                self._issued.append(found)

    def expired(self, ctx: RequestContext) -> bool:
        with self._lock:
            deadline = self._expiry.get(ctx.access_key)
            late = deadline is not None and time.monotonic() >= deadline
            self.refused += late
            return late

    def issued(self, ctx: RequestContext, response: Response) -> Response:
        """Keep the credentials an AssumeRole call just issued; shorten their lifetime."""
        if ctx.operation not in ASSUMING or response.status_code != 200:
            return response
        body = response.get_data()
        self._keep(body)
        if self.seconds <= 0:
            return response
        key = _ACCESS_KEY.search(body)
        if key is None:
            return response
        until = datetime.now(UTC) + timedelta(seconds=self.seconds)
        stamp = until.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        with self._lock:
            self._expiry[key.group(1).decode()] = time.monotonic() + self.seconds
        response.set_data(_EXPIRATION.sub(b"<Expiration>" + stamp + b"</Expiration>", body))
        return response
