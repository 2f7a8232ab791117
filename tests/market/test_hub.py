"""The hub against the simulator over real sockets: reference counting, grace, the cap
and the delayed fallback, drops. What reached KIS is read at the simulator."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY

from market.hub import Hub, status_group
from tests.helpers import wait_until
from tests.market.conftest import FakeTab, db, quote_registrations, sim_registrations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SYMBOLS = ["005930", "000660", "005380", "000270", "068270"]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_twenty_tabs_on_five_symbols_make_five_upstream_registrations(
    simulator, layer, run_hub, alice, verified, step
):
    await run_hub()
    tabs = [await FakeTab.open(layer, alice, verified) for _ in range(20)]
    for index, tab in enumerate(tabs):
        await tab.watch(verified.app_key, SYMBOLS[index % 5])
    for index, tab in enumerate(tabs):
        answer = await tab.next("relay.subscribed", symbol=SYMBOLS[index % 5])
        assert answer["mode"] == "live"

    assert quote_registrations(simulator, verified.app_key) == sorted(
        ("H0STCNT0", s) for s in SYMBOLS
    )
    assert simulator.sim.stats.ws_sessions(verified.app_key) == 1
    # The notice slot is held too (paper: H0STCNI9 keyed by the HTS ID).
    assert ("H0STCNI9", verified.hts_id) in sim_registrations(simulator, verified.app_key)
    held = len(sim_registrations(simulator, verified.app_key))
    await wait_until(
        lambda: metric("kisweb_relay_registrations") == held, "the registrations gauge"
    )

    step()
    for index, tab in enumerate(tabs):
        frame = await tab.next("relay.frame", kind="trade")
        body = json.loads(frame["text"])
        assert body["type"] == "trade" and body["symbol"] == SYMBOLS[index % 5]
        assert body["currency"] == "KRW" and body["price"].isdigit()
        assert all(isinstance(v, str) for v in body.values())


async def test_grace_period_keeps_the_registration_then_the_last_release_unsubscribes(
    simulator, layer, run_hub, alice, verified
):
    hub = await run_hub(grace_s=1.5)
    tab = await FakeTab.open(layer, alice, verified)
    await tab.watch(verified.app_key, "035720")
    await tab.next("relay.subscribed", symbol="035720")
    wanted = [("H0STCNT0", "035720")]
    assert quote_registrations(simulator, verified.app_key) == wanted

    await tab.unwatch("035720")  # a reload: gone, and back at once
    await tab.watch(verified.app_key, "035720")
    await tab.next("relay.subscribed", symbol="035720")
    await asyncio.sleep(1.8)
    assert quote_registrations(simulator, verified.app_key) == wanted
    upstream = hub.upstreams[verified.app_key]
    assert upstream.subscribes.per_minute() == 1 and upstream.unsubscribes.per_minute() == 0

    await tab.unwatch("035720")
    await asyncio.sleep(0.3)
    assert quote_registrations(simulator, verified.app_key) == wanted  # still in grace
    await wait_until(
        lambda: quote_registrations(simulator, verified.app_key) == [], "the unsubscribe", 3
    )
    # The simulator drops the row before the hub reads the ack and counts it.
    await wait_until(lambda: upstream.unsubscribes.per_minute() == 1, "the count", 2)


async def test_a_tab_that_goes_silent_loses_its_references_after_the_lease(
    simulator, layer, run_hub, alice, verified
):
    await run_hub(grace_s=0.2, lease_s=0.6)
    tab = await FakeTab.open(layer, alice, verified)
    await tab.watch(verified.app_key, "051910")
    await tab.next("relay.subscribed", symbol="051910")
    assert quote_registrations(simulator, verified.app_key) == [("H0STCNT0", "051910")]
    # No renew, no bye: the web process died. The lease lapses, then the grace.
    await wait_until(
        lambda: quote_registrations(simulator, verified.app_key) == [], "the lease to lapse", 5
    )


async def test_past_the_cap_a_symbol_is_delayed_and_goes_live_when_a_slot_frees(
    simulator, layer, run_hub, alice, verified
):
    # 5 registrations, 2 kept for notices: 3 quotes live, the 4th is REST-polled.
    await run_hub(
        grace_s=0.3,
        delayed_poll_s=0.2,
        session_options={"max_registrations": 5, "reconnect_min_s": 0.2},
    )
    tab = await FakeTab.open(layer, alice, verified)
    for symbol in SYMBOLS[:3]:
        await tab.watch(verified.app_key, symbol)
        assert (await tab.next("relay.subscribed", symbol=symbol))["mode"] == "live"
    await tab.watch(verified.app_key, SYMBOLS[3])
    assert (await tab.next("relay.subscribed", symbol=SYMBOLS[3]))["mode"] == "delayed"
    assert len(quote_registrations(simulator, verified.app_key)) == 3

    frame = await tab.next("relay.frame", kind="delayed")
    body = json.loads(frame["text"])
    assert body["type"] == "delayed" and body["symbol"] == SYMBOLS[3]
    assert body["price"].isdigit() and isinstance(body["age_s"], int)

    await tab.unwatch(SYMBOLS[0])
    promoted = await tab.next("relay.subscribed", symbol=SYMBOLS[3])
    assert promoted["mode"] == "live"
    assert ("H0STCNT0", SYMBOLS[3]) in quote_registrations(simulator, verified.app_key)
    assert ("H0STCNT0", SYMBOLS[0]) not in quote_registrations(simulator, verified.app_key)
    assert len(sim_registrations(simulator, verified.app_key)) <= 5


async def test_after_a_drop_data_resumes_and_only_the_state_changes(
    simulator, layer, run_hub, alice, verified, step
):
    hub = await run_hub(session_options={"reconnect_min_s": 0.2, "reconnect_max_s": 1.0})
    reconnects = metric("kisweb_relay_reconnects_total")
    tab = await FakeTab.open(layer, alice, verified)
    await layer.group_add(status_group(verified.app_key), tab.channel)
    await tab.watch(verified.app_key, "005490", streams=("trade", "book"))
    await tab.next("relay.subscribed", symbol="005490")
    before = sim_registrations(simulator, verified.app_key)

    simulator.sim.faults.drop_sockets()
    states = []
    while "connected" not in states[1:] or "reconnecting" not in states:
        status = json.loads((await tab.next("relay.status", timeout=10))["text"])
        states.append(status["state"])
    assert status["reconnects_today"] >= 1
    upstream = hub.upstreams[verified.app_key]
    assert metric("kisweb_relay_reconnects_total") - reconnects == upstream.reconnects_today()
    await wait_until(
        lambda: sim_registrations(simulator, verified.app_key) == before, "re-registration", 5
    )
    step()
    kinds: set[str] = set()
    while kinds != {"trade", "book"}:  # a tick sends trades and a book; fails on timeout
        kinds.add(json.loads((await tab.next("relay.frame"))["text"])["type"])


async def test_a_socket_without_its_own_credential_is_refused(layer, run_hub, alice, bob, verified):
    await run_hub()
    # Bob's consumer claiming Alice's credential: the hub checks ownership itself.
    tab = await FakeTab.open(layer, bob, verified)
    answer = await tab.next("relay.error")
    assert answer["code"] == "no_credential"


async def test_a_running_hub_beats_for_readyz(run_hub):
    from kisweb.ops import heartbeat

    assert await db(heartbeat.last, "relay") is None
    await run_hub()
    for _ in range(200):
        if await db(heartbeat.last, "relay") is not None:
            break
        await asyncio.sleep(0.01)
    assert await db(heartbeat.last, "relay") is not None


async def test_a_hub_stopped_while_its_session_opens_leaves_nothing_running(
    simulator, layer, alice, verified
):
    # The approval key is never answered: the session is still opening when the hub stops.
    # It used to be registered nowhere, so nothing closed it, and the hub's own tasks were
    # cancelled but not awaited: both went on after the shutdown (issue #11).
    simulator.sim.faults.hang = True
    hub = Hub(layer, grace_s=30, orders_scan_s=3600)
    running = asyncio.create_task(hub.run())
    await FakeTab.open(layer, alice, verified)
    await wait_until(
        lambda: verified.app_key in hub._starting and hub._starting[verified.app_key].locked(),
        "the session to be opening",
    )
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    left = sorted(
        task.get_name()
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("kis-", "relay-")) and not task.done()
    )
    assert left == []
    assert hub.upstreams == {}


async def test_a_tab_joining_a_live_symbol_gets_its_newest_trade_and_book_at_once(
    simulator, layer, run_hub, alice, verified, step
):
    await run_hub()
    first = await FakeTab.open(layer, alice, verified)
    await first.watch(verified.app_key, "005930", streams=("trade", "book"))
    await first.next("relay.subscribed", symbol="005930")
    step()
    seen = {}
    while len(seen) < 2:
        frame = await first.next("relay.frame")
        seen[frame["kind"]] = json.loads(frame["text"])
    assert "snapshot" not in seen["trade"] and "snapshot" not in seen["book"]

    # The market does not move again: whatever the second tab gets is the hub's copy.
    second = await FakeTab.open(layer, alice, verified)
    await second.watch(verified.app_key, "005930", streams=("trade", "book"))
    got = {}
    while len(got) < 2:
        frame = await second.next("relay.frame")
        got[frame["kind"]] = json.loads(frame["text"])
    for kind in ("trade", "book"):
        assert got[kind].pop("snapshot") is True
        assert got[kind] == seen[kind]
    assert simulator.sim.stats.ws_sessions(verified.app_key) == 1


async def test_the_gap_of_a_drop_is_measured_and_shown_in_the_health_strip(
    simulator, layer, run_hub, alice, verified, step, client
):
    """From the last frame before a drop to the first one after: in the status message, the
    snapshot the strip renders, and the strip itself (issue #13)."""
    from django.test import RequestFactory

    from market.health import strip_for
    from market.hub import SNAPSHOTS, key_hash

    hub = await run_hub(session_options={"reconnect_min_s": 0.2, "reconnect_max_s": 1.0})
    tab = await FakeTab.open(layer, alice, verified)
    await layer.group_add(status_group(verified.app_key), tab.channel)
    await tab.watch(verified.app_key, "005490")
    await tab.next("relay.subscribed", symbol="005490")
    before = sim_registrations(simulator, verified.app_key)
    step()
    await tab.next("relay.frame")
    upstream = hub.upstreams[verified.app_key]
    assert upstream.status()["last_gap_s"] is None
    quiet_s = 0.4
    await asyncio.sleep(quiet_s)  # no tick: the gap starts at that last frame, not the drop

    simulator.sim.faults.drop_sockets()
    await wait_until(lambda: upstream.status()["state"] == "reconnecting", "the drop", 5)
    await wait_until(lambda: upstream.status()["state"] == "connected", "the reconnect", 10)
    await wait_until(
        lambda: sim_registrations(simulator, verified.app_key) == before, "re-registration", 5
    )
    step()
    status = json.loads((await tab.next("relay.status", timeout=5))["text"])
    while status["last_gap_s"] is None:
        status = json.loads((await tab.next("relay.status", timeout=5))["text"])
    assert status["last_gap_s"] >= quiet_s
    assert status["reconnects_today"] == 1
    assert SNAPSHOTS[key_hash(verified.app_key)]["last_gap_s"] == status["last_gap_s"]

    request = RequestFactory().get("/")
    request.user = alice
    strip = await db(strip_for, request)
    assert strip["last_gap_s"] == status["last_gap_s"]
    await db(client.force_login, alice)
    html = (await db(client.get, "/", HTTP_ACCEPT_LANGUAGE="en")).text
    shown = f"{status['last_gap_s']:.1f} s"
    assert f'Last gap <span class="num" data-health-gap>{shown}</span>' in html
    korean = (await db(client.get, "/", HTTP_ACCEPT_LANGUAGE="ko")).text
    assert f"data-health-gap>{status['last_gap_s']:.1f}초</span>" in korean
