"""RealtimeSession under adversarial sequences against the simulator's WebSocket: odd
control messages, repeated drops (backoff), a slow consumer, drops during an ack wait,
(un)subscribe racing a reconnect, the 42nd registration while reconnecting, ``aclose()``
mid-reconnect and a refused approval key on reconnect (docs/kis-protocol.md §6, §7)."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

import pytest

from kisweb.kis import SessionClosed, SubscriptionLimitReached
from kisweb.kis.realtime import (
    ConnectionState,
    ExecutionNotice,
    SessionState,
    Trade,
)
from kisweb.kissim.symbols import KRX_LISTINGS

from .conftest import DEADLINE_S, next_event, wait_until


def server_side(sim, appkey):
    """The simulator's live sessions bound to ``appkey``."""
    return [s for s in sim.hub.sessions if s.appkey == appkey]


def server_registrations(sim, appkey) -> set[tuple[str, str]]:
    return {sub for s in server_side(sim, appkey) for sub in s.subs}


async def test_odd_control_messages_are_dropped_and_never_kill_the_session(
    sim, open_session, caplog
):
    caplog.set_level(logging.WARNING, logger="kisweb.kis.realtime")
    account, _, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    odd = [
        '{"header": "PINGPONG"}',
        '{"header": null}',
        '{"header": ["x"]}',
        "[]",
        '"text"',
        "{not json",
        '{"header": {"tr_id": 7}, "body": "x"}',
    ]
    for text in odd:  # the simulator has no switch for these: its session's outbox
        for server in server_side(sim, account.appkey):
            server.send(text)
    sim.market.set_price("005930", Decimal(70300))
    assert (await next_event(events, Trade)).price == Decimal(70300)
    await session.subscribe("H0STCNT0", "000660")  # control requests still work
    assert session.health.reconnects == 0
    assert session.health.state is ConnectionState.OPEN


async def test_backoff_grows_when_every_connection_drops_at_once(sim, open_session):
    """A server that accepts, acks and drops at once must not be hammered: the delay
    doubles (jittered, capped) until a connection stays up."""
    _, _, session = await open_session(
        session_options={"reconnect_min_s": 0.02, "reconnect_max_s": 0.64}
    )
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    gaps = []
    states = []
    for _ in range(6):
        sim.faults.drop_sockets()
        lost = await next_event(events, SessionState, lambda s: s.state is not ConnectionState.OPEN)
        started = time.monotonic()
        back = await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
        gaps.append(time.monotonic() - started)
        states += [lost.state, back.state]
    assert states == [ConnectionState.RECONNECTING, ConnectionState.OPEN] * 6
    assert session.health.reconnects == 6
    # Delays 0.02, 0.04, ... 0.64 (capped), each jittered into [d/2, d].
    assert gaps[-1] >= 0.3, gaps
    assert gaps[-1] > gaps[0]


async def test_a_slow_consumer_keeps_the_newest_quotes_and_every_notice(sim, open_session):
    """The queue of a consumer that falls behind is bounded for market data: the oldest
    quotes go, the newest stay; notices and state changes are never dropped. PINGPONG is
    answered meanwhile (the reader never waits on a consumer)."""
    _, kis, session = await open_session(session_options={"feed_limit": 5})
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    await session.subscribe_notices()
    prices = [Decimal(70000 + 100 * i) for i in range(20)]
    acks = []
    for i, price in enumerate(prices):
        sim.market.set_price("005930", price)
        if i % 7 == 0:
            acks.append(await kis.buy("005930", 1, Decimal(50000)))
    await wait_until(lambda: events.dropped >= len(prices) - 5, "the overflow")
    await asyncio.sleep(0.7)  # longer than the simulator's PINGPONG deadline
    assert session.health.reconnects == 0

    seen_prices: list[Decimal] = []
    notices: list[ExecutionNotice] = []

    async def drain():
        async for event in events:
            if isinstance(event, Trade):
                seen_prices.append(event.price)
            elif isinstance(event, ExecutionNotice):
                notices.append(event)
            if seen_prices and seen_prices[-1] == prices[-1] and len(notices) == len(acks):
                return

    await asyncio.wait_for(drain(), DEADLINE_S)
    assert seen_prices == prices[-5:]
    assert [n.order_no for n in notices] == [a.order_no for a in acks]
    assert events.dropped == len(prices) - 5


async def test_a_drop_during_the_ack_wait_still_registers_after_the_reconnect(sim, open_session):
    account, _, session = await open_session()
    events = session.events()
    subscribing = asyncio.create_task(session.subscribe("H0STCNT0", "005930"))
    await asyncio.sleep(0)
    sim.faults.drop_sockets()
    await asyncio.wait_for(subscribing, DEADLINE_S)
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
    sim.market.set_price("005930", Decimal(70700))
    assert (await next_event(events, Trade)).price == Decimal(70700)
    assert server_registrations(sim, account.appkey) == {("H0STCNT0", "005930")}


async def test_subscribe_and_unsubscribe_racing_a_reconnect_leave_exactly_the_wanted_set(
    sim, open_session
):
    account, _, session = await open_session()
    events = session.events()
    codes = [code for code, *_ in KRX_LISTINGS[:6]]
    for code in codes[:3]:
        await session.subscribe("H0STCNT0", code)
    sim.faults.drop_sockets()
    await asyncio.gather(
        session.unsubscribe("H0STCNT0", codes[0]),
        session.subscribe("H0STCNT0", codes[3]),
        session.subscribe("H0STCNT0", codes[3]),  # twice: one registration
        session.unsubscribe("H0STCNT0", codes[5]),  # never subscribed: a no-op
        session.subscribe("H0STCNT0", codes[4]),
        session.unsubscribe("H0STCNT0", codes[4]),
    )
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
    wanted = {("H0STCNT0", code) for code in (codes[1], codes[2], codes[3])}
    assert set(session.registrations) == wanted
    assert session.health.registrations_used == 3
    await wait_until(lambda: server_registrations(sim, account.appkey) == wanted, "the server set")
    assert len(server_side(sim, account.appkey)) == 1


async def test_the_42nd_is_refused_while_reconnecting(sim, open_session):
    account, _, session = await open_session()
    await session.subscribe_notices()
    for code, *_ in KRX_LISTINGS[:20]:
        await session.subscribe("H0STCNT0", code)
        await session.subscribe("H0STASP0", code)
    events = session.events()
    sim.faults.drop_sockets()
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.RECONNECTING)
    with pytest.raises(SubscriptionLimitReached):
        await session.subscribe("H0STCNT0", KRX_LISTINGS[20][0])
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
    assert len(server_registrations(sim, account.appkey)) == 41
    assert session.health.registrations_used == 41


def _session_tasks() -> set[asyncio.Task]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("kis-realtime")}


async def test_aclose_during_a_reconnect_leaves_no_task_and_ends_the_streams(sim, open_session):
    _, _, session = await open_session(session_options={"reconnect_min_s": 0.5})
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    sim.faults.drop_sockets()
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.RECONNECTING)
    await session.aclose()
    await asyncio.sleep(0)
    assert _session_tasks() == set()
    assert session.health.state is ConnectionState.CLOSED
    rest = [event async for event in events]
    assert all(isinstance(e, SessionState) for e in rest)
    assert rest[-1].state is ConnectionState.CLOSED


async def test_aclose_while_a_subscribe_waits_for_its_ack_raises_session_closed(sim, open_session):
    """The subscribe cannot succeed any more: it must say so, not return as if it had."""
    _, _, session = await open_session()
    subscribing = asyncio.create_task(session.subscribe("H0STCNT0", "005930"))
    await asyncio.sleep(0)
    await session.aclose()
    with pytest.raises(SessionClosed):
        await asyncio.wait_for(subscribing, DEADLINE_S)
    await asyncio.sleep(0)
    assert _session_tasks() == set()


async def test_an_approval_key_refused_on_reconnect_is_replaced(sim, open_session):
    account, _, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    issued = sim.stats.approval_issues(account.appkey)
    sim.tokens._approvals.clear()  # no switch for this in kissim: it forgets every key
    sim.faults.drop_sockets()
    await wait_until(
        lambda: (
            sim.stats.approval_issues(account.appkey) == issued + 1
            and session.health.state is ConnectionState.OPEN
        ),
        "a fresh approval key",
    )
    sim.market.set_price("005930", Decimal(70900))
    assert (await next_event(events, Trade)).price == Decimal(70900)
    assert server_registrations(sim, account.appkey) == {("H0STCNT0", "005930")}


async def test_a_drop_during_resubscription_reconnects_without_waiting_for_the_ack_timeout(
    sim, open_session
):
    """The connection dies while the session re-sends its registrations: it starts over at
    once, not after ``ack_timeout_s``, and ends with all 41 live again."""
    account, _, session = await open_session(session_options={"ack_timeout_s": 5})
    await session.subscribe_notices()
    for code, *_ in KRX_LISTINGS[:20]:
        await session.subscribe("H0STCNT0", code)
        await session.subscribe("H0STASP0", code)
    events = session.events()
    sim.faults.drop_sockets()
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.RECONNECTING)

    async def mid_resubscription():
        while not 0 < len(server_registrations(sim, account.appkey)) < 30:
            await asyncio.sleep(0)

    await asyncio.wait_for(mid_resubscription(), DEADLINE_S)
    sim.faults.drop_sockets()
    dropped_at = time.monotonic()
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
    assert time.monotonic() - dropped_at < 2
    assert len(server_registrations(sim, account.appkey)) == 41
