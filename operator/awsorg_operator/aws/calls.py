"""One wrapper for every AWS call: botocore exceptions become `CallError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from awsorg_operator.aws.errors import classify
from awsorg_operator.failures import CallError

T = TypeVar("T")


def call(operation: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (ClientError, BotoCoreError) as e:
        raise CallError(classify(operation, e)) from e
