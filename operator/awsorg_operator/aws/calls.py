"""One wrapper for every AWS call: botocore exceptions become `AwsCallError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from awsorg_operator.aws.errors import AwsCallError, classify

T = TypeVar("T")


def call(operation: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (ClientError, BotoCoreError) as e:
        raise AwsCallError(classify(operation, e)) from e
