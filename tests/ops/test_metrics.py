"""`/metrics`: closed to the public, and counting what reached KIS (read at the simulator)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from trading.actions import read_kis

pytestmark = pytest.mark.django_db


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_are_refused_to_visitors_and_ordinary_users(client, alice, settings):
    settings.KISWEB_METRICS_TOKEN = "scrape-token-1"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="scrape-token-1").status_code == 403
    client.force_login(alice)
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"kisweb_" not in response.content


def test_no_token_configured_means_no_token_is_accepted(client, settings):
    settings.KISWEB_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_the_scraper_token_and_staff_may_read(client, alice, settings):
    settings.KISWEB_METRICS_TOKEN = "scrape-token-1"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in (
        "kisweb_http_requests_total",
        "kisweb_kis_calls_total",
        "kisweb_rate_limit_waits_total",
        "kisweb_token_issues_total",
        "kisweb_tasks_started_total",
        "kisweb_tasks_finished_total",
        "kisweb_relay_sockets",
        "kisweb_relay_registrations",
        "kisweb_relay_frames_fanned_out_total",
        "kisweb_relay_drops_total",
        "kisweb_relay_reconnects_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get("/metrics").status_code == 200


def test_requests_are_counted_by_view_and_status(client):
    before = value("kisweb_http_requests_total", method="GET", view="healthz", status="200")
    client.get("/healthz")
    client.get("/healthz")
    after = value("kisweb_http_requests_total", method="GET", view="healthz", status="200")
    assert after - before == 2
    unmatched = value("kisweb_http_requests_total", method="other", view="unmatched", status="404")
    client.generic("BREW", "/no-such-page")
    assert (
        value("kisweb_http_requests_total", method="other", view="unmatched", status="404")
        == unmatched + 1
    )


def test_kis_calls_token_issues_and_rate_waits_are_counted(sim, credential):
    tr_id = "FHKST01010100"
    calls = value("kisweb_kis_calls_total", tr_id=tr_id, result="ok")
    requests_before = len(sim.stats.requests(appkey=credential.app_key, tr_id=tr_id))
    waits = value("kisweb_rate_limit_waits_total")

    async def five_quotes(client):
        # Paper keys get 2 calls a second: five distinct reads must queue at the limiter.
        # (Identical reads in flight are shared; each symbol is its own read.)
        symbols = ["005930", "000660", "035420", "005380", "051910"]
        return await asyncio.gather(*(client.quote(code) for code in symbols))

    read_kis(credential, five_quotes)

    at_sim = len(sim.stats.requests(appkey=credential.app_key, tr_id=tr_id)) - requests_before
    assert at_sim == 5
    assert value("kisweb_kis_calls_total", tr_id=tr_id, result="ok") - calls == at_sim
    assert value("kisweb_rate_limit_waits_total") - waits >= 2
    assert sim.stats.token_issues(credential.app_key) >= 1


def test_a_token_issue_is_counted_once_per_issue_at_the_simulator(sim, alice_credential):
    from accounts.actions import verify_credential

    before = value("kisweb_token_issues_total", kind="access")
    assert verify_credential(alice_credential.owner, alice_credential).ok
    assert verify_credential(alice_credential.owner, alice_credential).ok  # reuses
    assert sim.stats.token_issues(alice_credential.app_key) == 1
    assert value("kisweb_token_issues_total", kind="access") - before == 1


def test_a_refused_call_is_counted_with_its_result(sim, credential):
    tr_id = "FHKST01010100"
    before = value("kisweb_kis_calls_total", tr_id=tr_id, result="RateLimited")
    sim.faults.rate_limit_all = True

    async def one_quote(client):
        try:
            await client.quote("005930")
        except Exception as error:
            return type(error).__name__
        return "answered"

    assert read_kis(credential, one_quote) == "RateLimited"
    assert value("kisweb_kis_calls_total", tr_id=tr_id, result="RateLimited") - before >= 1
