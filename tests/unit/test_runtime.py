"""The pieces around the reconcile: backoff, reading status back, the liveness watchdog."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from awsorg_operator.external import Identity
from awsorg_operator.failures import Retry
from awsorg_operator.kube.probes import ApiServerCheck, ApiServerError, Watchdog
from awsorg_operator.kube.runtime import Runtime, backoff
from awsorg_operator.resource import read_status
from awsorg_operator.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("retry", "cap"), [(Retry.SOON, 300.0), (Retry.SLOWLY, 900.0)])
def test_backoff_grows_is_capped_and_has_jitter(retry: Retry, cap: float) -> None:
    low = [backoff(retry, attempt, rand=lambda: 0.0) for attempt in range(12)]
    high = [backoff(retry, attempt, rand=lambda: 1.0) for attempt in range(12)]
    assert low == sorted(low) and high == sorted(high)
    assert max(high) == cap and min(low) > 0
    # Two resources that failed together spread out instead of retrying in step.
    assert all(h == 2 * lo for lo, h in zip(low, high, strict=True))


def test_an_unreadable_status_keeps_the_organization_it_recorded() -> None:
    raw = {
        "organizationID": "o-abc",
        "managementAccountID": "123456789012",
        "conditions": [{"type": "Ready"}],  # hand-edited: not a valid condition
    }
    status = read_status(raw)
    assert (status.organization_id, status.management_account_id) == ("o-abc", "123456789012")
    assert status.conditions == ()


def test_a_status_field_this_version_does_not_know_costs_nothing_else() -> None:
    status = read_status({"organizationID": "o-abc", "fromANewerVersion": 1})
    assert status.organization_id == "o-abc"


def test_the_watchdog_names_a_reconcile_past_its_bound_only() -> None:
    now = [0.0]
    dog = Watchdog(stuck_seconds=60, clock=lambda: now[0])
    with dog.running("the reconcile of a"):
        now[0] = 59
        assert dog.stuck() is None
        with dog.running("the reconcile of b"):
            now[0] = 61
            stuck = dog.stuck()
            assert stuck is not None and "the reconcile of a" in stuck
    assert dog.stuck() is None  # finished: healthy again


class VersionServer:
    """A loopback HTTP server answering its version; :meth:`stop` closes its port, so the
    next request is refused by the kernel, as it is when the API server is down."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        """Listen (again) on a new port of the kernel's choosing."""

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"v1.37.2")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/version"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ask(self) -> str:
        with urllib.request.urlopen(self.url, timeout=5) as answer:
            return str(answer.read().decode())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def version_server() -> Iterator[VersionServer]:
    server = VersionServer()
    yield server
    if server.thread.is_alive():
        server.stop()


def test_the_api_server_probe_judges_the_checks_last_answer_and_its_age(
    version_server: VersionServer,
) -> None:
    """/healthz reads the answer of the checking thread (`refresh` asks, as that thread
    does): a failure, or an answer too old to trust (the thread is stuck), is a failure."""
    now = [0.0]
    check = ApiServerCheck(version_server.ask, every=5, stale=30, clock=lambda: now[0])
    assert check.latest() is None  # not asked yet: the first probe asks for itself
    assert check.refresh() == "v1.37.2"
    now[0] = 29
    assert check.latest() == "v1.37.2"
    now[0] = 31
    with pytest.raises(ApiServerError, match="no answer for 31 s"):
        check.latest()
    version_server.stop()
    with pytest.raises(ApiServerError, match="Connection refused"):
        check.refresh()
    version_server.start()
    assert check.refresh() == "v1.37.2"  # reachable again: healthy again


def test_the_runtime_closes_every_pool_it_built_at_clean_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kopf's clean-up closes the runtime: no reconcile and no AWS call can start after it."""
    # Were the call pool left open, the call would go here (nothing listens), never further.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    rt = Runtime(Settings(aws_workers=2, aws_max_attempts=1))
    aws = rt.connector.connect(Identity())
    rt.close()
    with pytest.raises(RuntimeError, match="shutdown"):
        rt.pool.submit(lambda: None)
    with pytest.raises(RuntimeError, match="shutdown"):
        aws.observe_org()  # refused by the closed call pool before any request is made
