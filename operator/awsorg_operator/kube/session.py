"""kopf's connection to the API server, with a bound on the connections open at once.

kopf's own session (kopf/_cogs/clients/auth.py) opens a connection for every request in
flight, without a limit. An operator started with a thousand resources being deleted sent a
thousand requests at once (finalizers, status, Events): their TLS connections, several hundred
kilobytes each, took it past the chart's 512 MiB limit, and it was OOM-killed again at every
restart. This session is built as kopf builds its own, through kopf's documented hook (a login
handler returning `kopf.AiohttpSession`), with one change: at most `CONNECTIONS` are open, and
the other requests wait for one.
"""

from __future__ import annotations

import aiohttp
import kopf

# Well above the few long-lived watch streams (the resources, the CRDs, peering), which hold
# a connection each for as long as they run: requests always have connections left.
CONNECTIONS = 32


def bounded(info: kopf.ConnectionInfo) -> kopf.AiohttpSession:
    """A session with `info`'s server, credentials, proxy and namespace. Call on the event
    loop; kopf owns the session from then on and closes it."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),  # the token or basic credentials
        proxy=info.proxy_url,
        trust_env=info.trust_env,
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
    )
