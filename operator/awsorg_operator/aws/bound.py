"""One botocore client per service and Region, shared by every identity; each call signed with
the credentials of the identity it was made for.

A botocore client costs about 300 KiB (its class, event hooks, service model, endpoint rules,
connection pool), and each identity needed three or more: at a thousand organizations that
was most of the operator's memory. Only the credentials differ between identities, and
botocore reads them when it signs a request (`RequestSigner.get_auth_instance`), in the
thread that makes the call. So the shared clients hold `CallerCredentials`, which reads the
credentials bound to the current call, and an identity's calls go through `BoundClient`,
which binds that identity's credentials around each call (a context variable: per thread,
so calls of different identities on other threads never see them). A call bound to nobody
fails with NoCredentialsError: there is no fallback to anyone's credentials.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError
from botocore.paginate import Paginator

_CURRENT: ContextVar[Credentials | None] = ContextVar("awsorg_call_credentials", default=None)


class CallerCredentials(Credentials):
    """The credentials of the identity the current call is bound to (`BoundClient`)."""

    method = "awsorg-bound"
    # No keys of its own: code that read them instead of `get_frozen_credentials` (botocore
    # does not) would fail with AttributeError rather than sign as anybody.

    def __init__(self) -> None:  # the base class would store keys
        pass

    @staticmethod
    def _bound() -> Credentials:
        found = _CURRENT.get()
        if found is None:
            raise NoCredentialsError()
        return found

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._bound().get_frozen_credentials()


class BoundClient:
    """A shared client as one identity sees it: every operation, and every page a paginator
    fetches, is signed with `credentials`. Anything else (meta, exceptions) is the client's."""

    def __init__(self, client: Any, credentials: Credentials | None, loader: Any) -> None:
        self._client = client
        self._credentials = credentials
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._client, name)
        if name in self._client.meta.method_to_api_mapping:  # an operation: as this identity
            return self._bind(found)
        return found

    def _bind(self, method: Callable[..., Any]) -> Callable[..., Any]:
        credentials = self._credentials

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            token = _CURRENT.set(credentials)
            try:
                return method(*args, **kwargs)
            finally:
                _CURRENT.reset(token)

        return call

    def get_paginator(self, name: str) -> Paginator[Any]:
        # Not the client's own get_paginator: its pages would call the shared client's method,
        # bound to nobody (and it builds a documented class per call, which costs CPU).
        model = self._client.meta.service_model
        operation = self._client.meta.method_to_api_mapping[name]
        pages = self._loader.load_service_model(
            model.service_name, "paginators-1", model.api_version
        )
        return Paginator(
            getattr(self, name), pages["pagination"][operation], model.operation_model(operation)
        )
