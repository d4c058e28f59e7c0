"""Rendezvous: calls sent together are held until all have arrived, so that they overlap in
the call log on any machine; calls sent one after another are not made to overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.config import Config

from awsorg_devbase import wait_for
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_emulator.schema import CallRecord
from tests.emulator.emulator_helpers import ClientFactory

pytestmark = pytest.mark.integration

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
# A client that outwaits every rendezvous here, and never sends a call twice.
PATIENT = Config(read_timeout=120, retries={"total_max_attempts": 1, "mode": "standard"})


def in_threads(calls: list[Callable[[], Any]]) -> None:
    """Run `calls` at once, each in its own thread, until all have returned."""
    threads = [threading.Thread(target=call, daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a call was never answered"


def status_calls(control: EmulatorControl) -> list[CallRecord]:
    return [c for c in control.calls() if c["operation"] == "GetAccountStatus"]


def test_calls_sent_together_are_answered_only_after_the_last_arrived(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.add_rendezvous([("auditmanager", "GetAccountStatus", r) for r in REGIONS])
    clients = [aws("auditmanager", region=r, config=PATIENT) for r in REGIONS]

    in_threads([c.get_account_status for c in clients])

    calls = status_calls(control)
    assert sorted((c["region"], c["outcome"]) for c in calls) == sorted((r, "ok") for r in REGIONS)
    # Every call arrived before any was answered.
    assert max(c["started"] for c in calls) < min(c["ended"] for c in calls), calls
    [rendezvous] = control.rendezvous()
    assert (rendezvous["status"], rendezvous["notArrived"]) == ("met", [])


def test_calls_sent_one_after_another_do_not_overlap_and_the_rendezvous_expires(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.add_rendezvous(
        [("auditmanager", "GetAccountStatus", r) for r in REGIONS], timeout_seconds=1
    )

    for region in REGIONS:  # each waits for the answer before the next is sent
        aws("auditmanager", region=region, config=PATIENT).get_account_status()

    first, second, third = status_calls(control)
    assert first["ended"] <= second["started"] and second["ended"] <= third["started"]
    # The first was held until it gave up: then the rendezvous ended, the others passed.
    assert first["ended"] - first["started"] >= 1.0
    [rendezvous] = control.rendezvous()
    assert rendezvous["status"] == "expired"
    assert [c["region"] for c in rendezvous["notArrived"]] == list(REGIONS[1:])


def test_a_call_outside_the_rendezvous_is_not_held(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.add_rendezvous(
        [("auditmanager", "GetAccountStatus", "eu-west-1"), ("organizations", "*", "*")],
        timeout_seconds=60,
    )

    aws("auditmanager", region="us-east-1", config=PATIENT).get_account_status()

    assert control.rendezvous()[0]["status"] == "waiting"


def test_clearing_the_faults_answers_the_calls_a_rendezvous_holds(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    """A rendezvous must not outlive its test: cleared, the calls it holds are answered."""
    control.add_rendezvous(
        [("auditmanager", "GetAccountStatus", r) for r in REGIONS[:2]], timeout_seconds=60
    )
    am = aws("auditmanager", region=REGIONS[0], config=PATIENT)
    answered: list[str] = []
    call = threading.Thread(
        target=lambda: answered.append(am.get_account_status()["status"]), daemon=True
    )
    call.start()
    wait_for(
        "the call to be held",
        lambda: len(control.rendezvous()[0]["notArrived"]) == 1,
        timeout=30,
    )

    control.clear_faults()
    call.join(timeout=30)

    assert answered == ["ACTIVE"]
    assert control.rendezvous() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"calls": [{"operation": "GetAccountStatus"}]},  # one call: nothing to meet
        {"calls": ["GetAccountStatus", "GetSettings"]},
        {"calls": [{}, {}], "timeoutSeconds": 0},
        {"calls": [{}, {}], "timeoutSeconds": 61},
    ],
)
def test_a_malformed_rendezvous_is_refused(
    emulator_process: EmulatorProcess, control: EmulatorControl, body: dict[str, object]
) -> None:
    url = f"{emulator_process.endpoint_url}/_emulator/rendezvous"

    response = requests.post(url, json=body, timeout=5)

    assert response.status_code == 400
    assert "bad rendezvous" in response.json()["error"]
    assert control.rendezvous() == []
