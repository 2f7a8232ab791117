"""The access token expires mid-session (``Faults.expire_tokens``): the next reads and
orders renew it once, counted at the simulator; no order is lost or sent twice, and the
person sees no error."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from django.db.models import F
from django.urls import reverse

from accounts.actions import verify_credential
from accounts.models import KisToken
from tests.figures import record
from tests.helpers import post_ticket
from trading.actions import place_order, read_kis
from trading.models import Order

from .conftest import a_ticket


@pytest.fixture
def renewable(simulator):
    """KIS lets an app key mint one token a minute, and kisweb keeps to that; an expiry
    mid-session comes hours after the last issue. These tests expire a token issued seconds
    ago, so the simulator's minute is shortened (its documented test setting) and the
    stored token is dated two minutes back, as if the session had started then."""
    tokens = simulator.sim.tokens
    before = tokens.issue_interval_s
    tokens.issue_interval_s = 0.0
    yield
    tokens.issue_interval_s = before


@pytest.fixture
def alice_verified(alice, alice_credential, renewable):
    assert verify_credential(alice, alice_credential).ok
    alice_credential.refresh_from_db()
    aged = KisToken.objects.filter(credential=alice_credential)
    assert aged.update(issued_at=F("issued_at") - dt.timedelta(minutes=2)) == 1
    return alice_credential


def test_reads_and_orders_after_an_expiry_renew_the_token_once(sim, alice, alice_verified, client):
    credential = alice_verified
    key = credential.app_key
    sim.market.set_price("005930", 71000)
    client.force_login(alice)
    assert post_ticket(client, price="70000").status_code == 302
    issued, orders = sim.stats.token_issues(key), sim.stats.orders_received(key)

    sim.faults.expire_tokens()
    started = time.monotonic()
    page = client.get(
        reverse("trading:order_ticket"), {"symbol": "005930"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    recovered_s = time.monotonic() - started
    assert page.status_code == 200
    assert page.context["market_data"].price == 71000  # the quote was read, no error shown
    assert "banner--error" not in page.content.decode()
    assert sim.stats.token_issues(key) == issued + 1

    assert post_ticket(client, price="70000").status_code == 302
    assert sim.stats.token_issues(key) == issued + 1  # the order used the renewed token
    assert sim.stats.orders_received(key) == orders + 1
    statuses = list(Order.objects.values_list("status", flat=True))
    assert statuses == [Order.Status.ACCEPTED] * 2
    assert sim.stats.orders_received(key) == len(statuses)
    record("faults", "token expiry: tokens issued to recover", sim.stats.token_issues(key) - issued)
    record("faults", "token expiry: time for the first read to recover", round(recovered_s, 3), "s")


def test_an_order_sent_with_an_expired_token_is_sent_once_after_one_renewal(
    sim, alice, alice_verified
):
    """KIS's gateway refuses an expired token before the order runs, so the client renews
    and repeats that one call: the order reaches the book once and is accepted."""
    credential = alice_verified
    key = credential.app_key
    sim.market.set_price("005930", 71000)
    issued = sim.stats.token_issues(key)
    sim.faults.expire_tokens()

    placed = place_order(alice, credential, a_ticket())
    assert placed.order.status == Order.Status.ACCEPTED and placed.order.kis_order_no
    assert sim.stats.token_issues(key) == issued + 1
    assert sim.stats.orders_received(key) == 1
    refused = [r for r in sim.stats.requests(appkey=key) if r.msg_cd == "EGW00123"]
    assert len(refused) == 1  # the one refused attempt, then the order itself
    record("faults", "token expiry on an order: orders sent / seen by the simulator", "1 / 1")


def test_concurrent_reads_after_an_expiry_renew_once(sim, alice_verified):
    """Six reads at once on the process's KIS loop (what six widgets of one page do) all
    meet the expired token; one renewal serves them all."""
    credential = alice_verified
    key = credential.app_key
    issued = sim.stats.token_issues(key)
    sim.faults.expire_tokens()

    async def six_quotes(kis):
        return await asyncio.gather(*(kis.quote("005930") for _ in range(6)))

    quotes = read_kis(credential, six_quotes)
    assert [q.price for q in quotes] == [quotes[0].price] * 6
    assert sim.stats.token_issues(key) == issued + 1
    record(
        "faults",
        "token expiry: 6 concurrent reads, tokens issued",
        sim.stats.token_issues(key) - issued,
    )
