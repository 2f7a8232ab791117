"""The browser socket: auth, origin, validation, and isolation between users, with the
real hub in-process on the in-memory layer and the simulator behind it."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from accounts.actions import verify_credential
from market import fanout
from market import hub as hub_module
from market.consumers import MarketConsumer, _parse
from market.fanout import local_fanout
from market.hub import quote_group
from market.models import Symbol
from tests.helpers import wait_until
from tests.market.conftest import db
from tests.market.conftest import ticket as _ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
async def fresh_layer_and_hub():
    """Each test's loop gets its own in-memory layer and its own in-process hub (a hub
    another test's ASGI call left on a loop now closed is forgotten, not touched)."""
    hub_module._local.clear()
    channel_layers.backends.clear()
    yield
    task = hub_module._local.pop("task", None)
    loop = hub_module._local.pop("loop", None)
    hub_module._local.clear()
    # Bounded: a hub whose shutdown hangs (seen twice under load, cause not yet found; noted
    # on issue #11) must not run into the test timeout, which skips the database flush and
    # makes the next test's fixtures collide. The hang is logged, not hidden.
    try:
        async with asyncio.timeout(10):
            if task is not None and loop is asyncio.get_running_loop():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await fanout.close_all()
    except TimeoutError:
        logging.getLogger(__name__).error("the in-process hub did not stop within 10 s")
    channel_layers.backends.clear()


@pytest.fixture
def symbols(db):
    Symbol.objects.create(code="005930", market="KOSPI", name="삼성전자")
    Symbol.objects.create(code="000660", market="KOSPI", name="SK하이닉스")
    Symbol.objects.create(code="035720", market="KOSPI", name="카카오")


async def connect(user, language="en"):
    communicator = WebsocketCommunicator(
        MarketConsumer.as_asgi(), "/ws/market/", headers=[(b"accept-language", language.encode())]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def next_of(communicator, kind_, timeout=5.0, **match):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            message = json.loads(
                await communicator.receive_from(timeout=max(0.01, deadline - loop.time()))
            )
        except TimeoutError:
            break
        if message["type"] == kind_ and all(message.get(k) == v for k, v in match.items()):
            return message
    raise AssertionError(f"no {kind_} {match} within {timeout} s")


async def test_an_anonymous_socket_is_closed_with_4401():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(MarketConsumer.as_asgi(), "/ws/market/")
    communicator.scope["user"] = AnonymousUser()
    await communicator.connect()
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_the_full_stack_refuses_a_foreign_origin_and_an_anonymous_visitor(settings):
    from kisweb.asgi import application

    foreign = WebsocketCommunicator(
        application,
        "/ws/market/",
        headers=[(b"origin", b"http://evil.example"), (b"host", b"localhost")],
    )
    connected, _ = await foreign.connect()
    assert not connected
    anonymous = WebsocketCommunicator(
        application,
        "/ws/market/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")],
    )
    connected, _ = await anonymous.connect()
    assert connected
    assert (await anonymous.receive_output(timeout=2))["code"] == 4401


async def test_bad_messages_get_an_error_the_socket_stays_open_and_nothing_reaches_the_hub(
    settings, symbols, alice, alice_credential
):
    settings.KISWEB_RELAY_MAX_SYMBOLS = 2
    assert await db(verify_credential, alice, alice_credential)
    ws = await connect(alice)
    cases = [
        ("{not json", "bad_json"),
        (json.dumps([1, 2]), "bad_message"),
        (json.dumps({"type": "explode", "symbol": "005930"}), "bad_message"),
        (
            json.dumps({"type": "subscribe", "symbol": "005930", "streams": ["ticks"]}),
            "bad_message",
        ),
        (
            json.dumps({"type": "subscribe", "symbol": "<script>", "streams": ["trade"]}),
            "bad_message",
        ),
        (
            json.dumps({"type": "subscribe", "symbol": "999999", "streams": ["trade"]}),
            "unknown_symbol",
        ),
        ("x" * 5000, "bad_message"),
    ]
    for text, code in cases:
        await ws.send_to(text_data=text)
        error = await next_of(ws, "error")
        assert error["code"] == code, text[:40]
        assert error["message"] and "Traceback" not in error["message"]
    local = hub_module.local_hub()
    assert local is not None
    assert all(not s.interests for s in local.sockets.values())

    for code in ("005930", "000660"):
        await ws.send_to(
            text_data=json.dumps({"type": "subscribe", "symbol": code, "streams": ["trade"]})
        )
        assert (await next_of(ws, "subscribed", symbol=code))["mode"] == "live"
    await ws.send_to(
        text_data=json.dumps({"type": "subscribe", "symbol": "035720", "streams": ["trade"]})
    )
    assert (await next_of(ws, "error"))["code"] == "too_many_symbols"
    assert sorted(s for sock in local.sockets.values() for s in sock.interests) == [
        "000660",
        "005930",
    ]
    await ws.disconnect()


async def test_too_many_messages_a_second_are_refused(settings, symbols, alice, alice_credential):
    """Past the burst a reconnect needs (one subscribe per symbol allowed), the rate."""
    settings.KISWEB_RELAY_MAX_MESSAGES_PER_S = 5
    settings.KISWEB_RELAY_MAX_SYMBOLS = 3
    assert await db(verify_credential, alice, alice_credential)
    ws = await connect(alice)
    message = json.dumps({"type": "unsubscribe", "symbol": "005930", "streams": ["trade"]})
    for _ in range(12):
        await ws.send_to(text_data=message)
    assert (await next_of(ws, "error"))["code"] == "rate_limited"
    await ws.disconnect()


async def test_a_tab_reopening_with_a_full_watchlist_gets_every_symbol(
    simulator, alice, alice_credential
):
    """stream.js sends every wanted subscription at once when its socket opens: a
    watchlist of 50 symbols is 50 messages in the same instant. Each is answered; none is
    refused as too many a second (the rate was a plain 20 a second, which dropped 30)."""
    from kisweb.kissim.symbols import KRX_LISTINGS

    codes = [code for code, *_ in KRX_LISTINGS[:50]]
    await db(Symbol.objects.bulk_create, [Symbol(code=c, market="KOSPI", name=c) for c in codes])
    assert await db(verify_credential, alice, alice_credential)
    ws = await connect(alice)
    for code in codes:
        await ws.send_to(
            text_data=json.dumps({"type": "subscribe", "symbol": code, "streams": ["trade"]})
        )
    answered: set[str] = set()
    errors: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while len(answered) < len(codes) and loop.time() < deadline:
        message = json.loads(await ws.receive_from(timeout=deadline - loop.time()))
        if message["type"] == "subscribed":
            answered.add(message["symbol"])
        elif message["type"] == "error":
            errors.append(message)
    assert errors == []
    assert answered == set(codes)
    await ws.disconnect()


async def test_a_korean_tab_gets_korean_errors(symbols, alice, alice_credential):
    assert await db(verify_credential, alice, alice_credential)
    ws = await connect(alice, language="ko")
    await ws.send_to(text_data="{")
    error = await next_of(ws, "error")
    assert error["code"] == "bad_json" and "JSON" in error["message"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in error["message"])
    await ws.disconnect()


async def test_both_users_see_quotes_and_only_alice_sees_her_fill(
    simulator, symbols, alice, bob, alice_credential, bob_credential
):
    from decimal import Decimal

    from trading import actions

    assert await db(verify_credential, alice, alice_credential)
    assert await db(verify_credential, bob, bob_credential)
    alice_ws = await connect(alice, language="ko")
    bob_ws = await connect(bob)
    subscribe = json.dumps({"type": "subscribe", "symbol": "005930", "streams": ["trade", "book"]})
    for ws in (alice_ws, bob_ws):
        await ws.send_to(text_data=subscribe)
        await next_of(ws, "subscribed", symbol="005930")
    simulator.call(simulator.sim.market.step)
    for ws in (alice_ws, bob_ws):
        trade = await next_of(ws, "trade", symbol="005930")
        assert trade["price"].isdigit() and trade["sign"] in "12345"

    await db(simulator.sim.market.set_price, "005930", 71000)
    placed = await db(
        actions.place_order, alice, alice_credential, _ticket(quantity=1, price=Decimal(71100))
    )
    notice = await next_of(alice_ws, "notice", kind="fill")
    assert notice["order_id"] == str(placed.order.pk)
    assert "삼성전자 1주 매수 체결" in notice["text"] and "원" in notice["text"]
    # Bob hears the trade that fill made on the same symbol, never Alice's notice.
    await asyncio.sleep(0.5)
    heard = []
    while not await bob_ws.receive_nothing(timeout=0.5):
        heard.append(json.loads(await bob_ws.receive_from())["type"])
    assert "notice" not in heard and "trade" in heard
    await alice_ws.disconnect()
    await bob_ws.disconnect()


async def test_one_layer_member_per_process_and_every_tab_gets_each_frame(
    simulator, symbols, alice, alice_credential
):
    assert await db(verify_credential, alice, alice_credential)
    layer = get_channel_layer()
    group = quote_group(alice_credential.app_key, "trade", "005930")
    tabs = [await connect(alice) for _ in range(3)]
    subscribe = json.dumps({"type": "subscribe", "symbol": "005930", "streams": ["trade"]})
    for tab in tabs:
        await tab.send_to(text_data=subscribe)
        await next_of(tab, "subscribed", symbol="005930")
    fanout = local_fanout(layer)
    assert set(layer.groups[group]) == {fanout.channel}
    assert len(layer.groups[group]) == 1  # not one per tab

    await db(simulator.sim.market.set_price, "005930", 71100)
    texts = []
    for tab in tabs:
        trade = await next_of(tab, "trade", symbol="005930", price="71100")
        texts.append(json.dumps(trade, sort_keys=True))
    assert len(set(texts)) == 1  # the same frame, as the hub built it

    unsubscribe = json.dumps({"type": "unsubscribe", "symbol": "005930", "streams": ["trade"]})
    await tabs[0].send_to(text_data=unsubscribe)
    await tabs[0].receive_nothing(timeout=0.2)
    assert set(layer.groups[group]) == {fanout.channel}  # two tabs still watch
    await db(simulator.sim.market.set_price, "005930", 71200)
    for tab in tabs[1:]:
        await next_of(tab, "trade", symbol="005930", price="71200")
    heard = []  # the tab that left hears no trade (status may still come)
    while not await tabs[0].receive_nothing(timeout=0.5):
        heard.append(json.loads(await tabs[0].receive_from())["type"])
    assert "trade" not in heard, heard

    for tab in tabs:
        await tab.disconnect()
    assert not layer.groups.get(group)  # the last one out leaves the group
    assert group not in fanout.members


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["subscribe", "unsubscribe", "x"]),
                "symbol": json_values | st.text(max_size=20),
                "streams": json_values,
            }
        ),
    )
)
@hsettings(max_examples=300, deadline=None)
def test_hostile_messages_never_raise_and_only_clean_ones_pass(message):
    parsed = _parse(message)
    if parsed is not None:
        kind, symbol, streams = parsed
        assert kind in ("subscribe", "unsubscribe")
        assert symbol.isascii() and 1 <= len(symbol) <= 16
        assert streams and streams <= {"trade", "book"}


async def test_a_socket_joins_its_own_groups_again_when_the_layer_forgot_them(
    settings, alice, alice_credential
):
    """A Redis restarted empty (or channels-redis's day-long group expiry) drops the socket
    from its notice group; the next renewal adds it back, so fills reach it again."""
    settings.KISWEB_RELAY_RENEW_S = 0.2
    assert await db(verify_credential, alice, alice_credential)
    communicator = await connect(alice)
    layer = get_channel_layer()
    group = hub_module.user_group(alice.pk)
    await wait_until(lambda: layer.groups.get(group), "the socket to join its group")
    (channel,) = layer.groups[group]
    await layer.group_discard(group, channel)  # what the layer lost
    assert channel not in layer.groups.get(group, {})
    await wait_until(lambda: channel in layer.groups.get(group, {}), "the renewal to rejoin")
    await layer.group_send(
        group,
        {
            "type": "relay.notice",
            "symbol": "005930",
            "name": "삼성전자",
            "side": "buy",
            "quantity": "3",
            "price": "70000",
            "kind": "fill",
            "order_id": "",
            "currency": "KRW",
        },
    )
    message = await next_of(communicator, "notice")
    assert message["text"] == "Buy 3 삼성전자: filled at 70,000 KRW"
    await communicator.disconnect()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_relay_metrics_count_sockets_and_the_frames_each_socket_was_given(
    simulator, symbols, alice, alice_credential
):
    assert await db(verify_credential, alice, alice_credential)
    sockets = metric("kisweb_relay_sockets")
    frames = metric("kisweb_relay_frames_fanned_out_total", stream="trade")
    tabs = [await connect(alice) for _ in range(2)]
    assert metric("kisweb_relay_sockets") == sockets + 2
    subscribe = json.dumps({"type": "subscribe", "symbol": "005930", "streams": ["trade"]})
    for tab in tabs:
        await tab.send_to(text_data=subscribe)
        await next_of(tab, "subscribed", symbol="005930")

    await db(simulator.sim.market.set_price, "005930", 71300)
    trades = 0
    for tab in tabs:
        await next_of(tab, "trade", symbol="005930", price="71300")
        trades += 1
        while not await tab.receive_nothing(timeout=0.3):  # anything else it was given
            trades += json.loads(await tab.receive_from())["type"] == "trade"
    assert metric("kisweb_relay_frames_fanned_out_total", stream="trade") - frames == trades

    for tab in tabs:
        await tab.disconnect()
    assert metric("kisweb_relay_sockets") == sockets
