"""Execution notices: decrypted by the session, applied to the journal with no tab open,
and delivered to the credential owner's sockets only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.actions import verify_credential
from market.hub import user_group
from tests.helpers import wait_until
from tests.market.conftest import FakeTab, db
from tests.market.conftest import ticket as _ticket
from trading import actions
from trading.models import Order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


async def test_a_fill_reaches_the_journal_with_no_tab_open(
    simulator, layer, run_hub, alice, verified
):
    sim = simulator.sim
    await db(sim.market.set_liquidity, "005930", 1000)
    await db(sim.market.set_price, "005930", 71000)
    placed = await db(actions.place_order, alice, verified, _ticket())
    order = placed.order
    assert order.status == Order.Status.ACCEPTED  # resting below the market
    # The hub finds the open order by itself and holds the notice subscription.
    hub = await run_hub(orders_scan_s=0.2)
    await wait_until(lambda: verified.app_key in hub.upstreams, "the notice session", 5)
    # Registered at the simulator, not merely connected: a fill between the two would
    # make no notice (reconciliation covers that gap; this test is about the notice).
    await wait_until(
        lambda: sim.stats.registrations(verified.app_key, "H0STCNI9", verified.hts_id) == 1,
        "the notice registration at the simulator",
        5,
    )
    await db(sim.market.set_price, "005930", 69900)  # the market comes down: it fills

    async def filled() -> bool:
        row = await db(Order.objects.get, pk=order.pk)
        return row.status == Order.Status.FILLED

    for _ in range(200):
        if await filled():
            break
        await __import__("asyncio").sleep(0.025)
    row = await db(Order.objects.get, pk=order.pk)
    assert row.status == Order.Status.FILLED  # no reconcile ran: the notice did it
    assert row.filled_quantity == 10
    assert Decimal(69900) <= row.average_fill_price <= Decimal(70000)
    await db(sim.market.set_liquidity, "005930", None)


async def test_bob_never_receives_alices_notices_even_on_the_same_symbol(
    simulator, layer, run_hub, alice, bob, verified, bob_credential
):
    assert await db(verify_credential, bob, bob_credential)
    await run_hub()
    alice_tab = await FakeTab.open(layer, alice, verified)
    bob_tab = await FakeTab.open(layer, bob, bob_credential)
    await layer.group_add(user_group(alice.pk), alice_tab.channel)
    await layer.group_add(user_group(bob.pk), bob_tab.channel)
    await alice_tab.watch(verified.app_key, "005930")
    await bob_tab.watch(bob_credential.app_key, "005930")
    await alice_tab.next("relay.subscribed", symbol="005930")
    await bob_tab.next("relay.subscribed", symbol="005930")

    await db(simulator.sim.market.set_price, "005930", 71000)
    placed = await db(actions.place_order, alice, verified, _ticket(price=Decimal(71100)))

    notice = await alice_tab.next("relay.notice", kind="fill")
    assert notice["symbol"] == "005930" and notice["side"] == "buy"
    assert notice["quantity"] == "10" and Decimal(notice["price"]) in (
        Decimal(71000),
        Decimal(71100),
    )
    assert notice["order_id"] == str(placed.order.pk)
    assert all(isinstance(v, str) for v in notice.values())
    # Bob's tab hears quotes on the same symbol, never Alice's notice.
    while True:
        try:
            message = await bob_tab.next("relay.notice", timeout=1.0)
        except AssertionError:
            break
        raise AssertionError(f"bob received a notice: {message}")
