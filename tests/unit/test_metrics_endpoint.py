"""/metrics answers from the last rendering and renders anew in the background once it is
stale (kube/metrics_endpoint.py), over real HTTP on loopback."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Gauge

from awsorg_devbase import free_ports, wait_for
from awsorg_operator import metrics
from awsorg_operator.kube.metrics_endpoint import Rendering, serve

pytestmark = pytest.mark.unit


def test_a_scrape_gets_the_last_rendering_and_a_stale_one_is_renewed() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("bench_value", "a value", registry=registry)
    now = [0.0]
    rendering = Rendering(registry, max_age=10, clock=lambda: now[0])
    gauge.set(1)
    assert b"bench_value 1.0" in rendering.latest()  # the first scrape renders
    gauge.set(2)
    assert b"bench_value 1.0" in rendering.latest()  # fresh: no rendering
    now[0] = 11
    assert b"bench_value 1.0" in rendering.latest()  # stale: answered, renewed behind
    wait_for(
        "the background rendering to land",
        lambda: b"bench_value 2.0" in rendering.latest(),
        timeout=5,
        every=0.01,
    )


def test_the_endpoint_serves_the_rendering_and_filters_by_name() -> None:
    (port,) = free_ports(1)
    server = serve(port)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"awsorg_resync_interval_seconds" in r.read()
        only = metrics.RESYNC_INTERVAL._name
        with urllib.request.urlopen(f"{url}?name[]={only}", timeout=10) as r:
            text = r.read().decode()
        assert only in text and "python_gc_objects_collected_total" not in text
    finally:
        server.shutdown()
        server.server_close()
