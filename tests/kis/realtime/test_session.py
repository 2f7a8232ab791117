"""RealtimeSession against the simulator's WebSocket: quotes, decrypted notices, PINGPONG,
reconnect and resubscribe after a drop, a refused approval key, the 41 cap, OPSP errors,
schema drift and malformed frames."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kisweb.kis import (
    MemoryTokenStore,
    RealtimeError,
    SubscriptionLimitReached,
    Token,
    TokenKind,
)
from kisweb.kis.realtime import (
    ConnectionState,
    ExecutionNotice,
    OrderBook,
    RealtimeSession,
    SessionState,
    Trade,
)
from kisweb.kissim.symbols import KRX_LISTINGS

from .conftest import DEADLINE_S, next_event, wait_until


async def test_trades_and_books_arrive_as_typed_events(sim, open_session):
    _, _, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    await session.subscribe("H0STASP0", "005930")
    sim.market.set_price("005930", Decimal(71500))
    trade = await next_event(events, Trade)
    book = await next_event(events, OrderBook)
    assert (trade.symbol, trade.price) == ("005930", Decimal(71500))
    assert book.symbol == "005930" and book.ask_prices[0] > book.bid_prices[0]
    assert session.health.registrations_used == 2


async def test_a_notice_is_decrypted_and_matches_the_order(open_session):
    account, kis, session = await open_session()
    events = session.events()
    await session.subscribe_notices()
    ack = await kis.buy("005930", 2, Decimal(60000))
    notice = await next_event(events, ExecutionNotice)
    assert (notice.order_no, notice.symbol, notice.order_quantity) == (ack.order_no, "005930", 2)
    assert notice.hts_id == account.hts_id and not notice.is_fill


async def test_pingpong_is_answered_and_the_session_stays_up(sim, open_session):
    account, _, session = await open_session()
    await session.subscribe("H0STCNT0", "005930")
    first_seen = None

    def pinged_twice():
        nonlocal first_seen
        seen = session.health.last_pingpong_at
        if seen and first_seen is None:
            first_seen = seen
        return first_seen is not None and seen > first_seen

    await wait_until(pinged_twice, "two PINGPONGs")
    await wait_until(lambda: session.health.last_pingpong_at > first_seen, "a later PINGPONG")
    # Well past the 0.6 s answer deadline: the simulator would have dropped a silent client.
    assert session.health.reconnects == 0
    assert session.health.state is ConnectionState.OPEN
    assert sim.stats.ws_sessions(account.appkey) == 1


async def test_after_a_drop_it_reconnects_and_resubscribes_everything(
    sim, open_session, make_client
):
    account, kis, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    await session.subscribe_notices()
    await session.wait_open(DEADLINE_S)
    sim.faults.drop_sockets()
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.RECONNECTING)
    await next_event(events, SessionState, lambda s: s.state is ConnectionState.OPEN)
    assert session.health.reconnects == 1
    sim.market.set_price("005930", Decimal(72000))
    trade = await next_event(events, Trade)
    assert trade.price == Decimal(72000)
    ack = await kis.buy("005930", 1, Decimal(60000))  # decrypts with the new ack's key
    notice = await next_event(events, ExecutionNotice)
    assert notice.order_no == ack.order_no
    assert sim.stats.ws_sessions(account.appkey) == 1


async def test_a_refused_approval_key_is_replaced(sim, make_client):
    store = MemoryTokenStore()
    account, kis = make_client("paper", client={"token_store": store})
    now = datetime.now(UTC)
    stale = Token("not-an-approval-key", now + timedelta(hours=20), now - timedelta(hours=4))
    await store.save(account.appkey, TokenKind.APPROVAL, stale)
    session = RealtimeSession(kis, reconnect_min_s=0.05, reconnect_max_s=0.2)
    events = session.events()
    await session.start()
    try:
        await session.subscribe("H0STCNT0", "005930")  # refused (OPSP0011), then re-sent
        await wait_until(
            lambda: session.health.reconnects == 1 and session.health.state is ConnectionState.OPEN,
            "a reconnect with a fresh key",
        )
        sim.market.set_price("005930", Decimal(70100))
        assert (await next_event(events, Trade)).price == Decimal(70100)
        assert sim.stats.approval_issues(account.appkey) == 1
        assert (await store.load(account.appkey, TokenKind.APPROVAL)).value != stale.value
    finally:
        await session.aclose()


async def test_the_42nd_registration_is_refused_by_the_client(open_session):
    _, _, session = await open_session()
    await session.wait_open(DEADLINE_S)
    await session.subscribe_notices()
    codes = [code for code, *_ in KRX_LISTINGS[:20]]
    for code in codes:
        await session.subscribe("H0STCNT0", code)
        await session.subscribe("H0STASP0", code)
    assert session.health.registrations_used == 41
    with pytest.raises(SubscriptionLimitReached):
        await session.subscribe("H0STCNT0", KRX_LISTINGS[20][0])
    await session.unsubscribe("H0STCNT0", codes[0])
    await session.subscribe("H0STCNT0", KRX_LISTINGS[20][0])  # room again
    assert session.health.registrations_used == 41


async def test_an_opsp_refusal_is_a_typed_error_and_not_counted(open_session):
    _, _, session = await open_session()
    await session.wait_open(DEADLINE_S)
    with pytest.raises(RealtimeError) as refusal:
        await session.subscribe("H0STCNT0", "999999")
    assert refusal.value.code == "OPSP8992"
    assert session.health.registrations_used == 0


async def test_drifted_frames_still_parse_and_malformed_ones_are_dropped(sim, open_session, caplog):
    caplog.set_level(logging.WARNING, logger="kisweb.kis.realtime")
    _, _, session = await open_session()
    events = session.events()
    await session.subscribe("H0STCNT0", "005930")
    await session.wait_open(DEADLINE_S)
    sim.faults.schema_drift = {"H0STCNT0": 3}
    sim.faults.send_malformed_frame()
    sim.market.set_price("005930", Decimal(70500))
    trade = await next_event(events, Trade)
    assert trade.price == Decimal(70500)
    sim.market.set_price("005930", Decimal(70600))
    assert (await next_event(events, Trade)).price == Decimal(70600)
    assert "dropped a malformed realtime frame" in caplog.text
    assert caplog.text.count("H0STCNT0 records carry 49 fields") == 1
    assert session.health.reconnects == 0
