"""Clients are shared across identities (`aws/bound.py`); credentials never are. Several
organizations, each reached through its own role, are read at once from many threads through
the real client path, and the emulator's call log shows whose credentials signed every call."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import NoCredentialsError

from awsorg_emulator import EmulatorControl
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.external import Identity
from awsorg_operator.settings import ClientSettings
from tests.integration.conftest import MGMT, REGIONS

pytestmark = pytest.mark.integration

ROUNDS = 6
# What one round of one identity sends: DescribeOrganization, DescribeAccount, the two
# Organizations lists, and three reads per Region.
CALLS_PER_ROUND = 4 + 3 * len(REGIONS)


@pytest.mark.usefixtures("aws_env")
def test_each_call_is_signed_by_the_identity_it_was_made_for(control: EmulatorControl) -> None:
    orgs = control.add_organizations(3, REGIONS, adopted=True)
    begun = time.time()
    control.clear_calls()
    connector = AwsConnector(ClientFactory(ClientSettings("us-east-1", max_attempts=1)))

    def one_round(n: int) -> tuple[str, str]:
        org = orgs[n % len(orgs)]
        aws = connector.connect(Identity(org["roleARN"]))
        view = aws.observe_org()
        aws.is_member(org["adminAccountID"])
        aws.observe(view, REGIONS, scan=False)
        return org["managementAccountID"], view.organization.management_account_id

    try:
        with ThreadPoolExecutor(8) as threads:
            seen = list(threads.map(one_round, range(ROUNDS * len(orgs))))
    finally:
        connector.close()

    # Each identity reached its own organization, never another's.
    assert all(expected == got for expected, got in seen), seen
    # A call an earlier test left in flight (an injected hang its client gave up on) is
    # logged when it ends: only what began after the clear is this test's.
    calls = [c for c in control.calls() if c["started"] >= begun]
    # Every round's calls were signed by its own role, in its own organization's account.
    # (GetCallerIdentity and AssumeRole may be sent twice when two threads meet an identity
    # for the first time together: they are counted apart.)
    once = ("AssumeRole", "GetCallerIdentity")
    by_account = Counter(c["account"] for c in calls if c["operation"] not in once)
    assert by_account == {o["managementAccountID"]: ROUNDS * CALLS_PER_ROUND for o in orgs}
    callers = {c["account"] for c in calls if c["operation"] == "GetCallerIdentity"}
    assert callers == {o["managementAccountID"] for o in orgs}, calls
    # AssumeRole itself is signed by the operator's own credentials.
    assume = {c["account"] for c in calls if c["operation"] == "AssumeRole"}
    assert assume == {MGMT}, calls
    assert all(c["outcome"] == "ok" for c in calls), calls


@pytest.mark.usefixtures("aws_env")
def test_a_shared_client_called_without_an_identity_signs_as_nobody(
    control: EmulatorControl,
) -> None:
    factory = ClientFactory(ClientSettings("us-east-1", max_attempts=1))
    try:
        # Reached only through a bound client in the operator; called directly, it must not
        # fall back to any credentials (the operator's own included).
        factory.for_identity(Identity()).organizations().describe_organization()
        shared = factory._shared.get("organizations", "us-east-1")
        begun = time.time()
        control.clear_calls()
        with pytest.raises(NoCredentialsError):
            shared.describe_organization()
        assert [c for c in control.calls() if c["started"] >= begun] == []
    finally:
        factory.close()
