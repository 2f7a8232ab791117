"""Back-pressure in the relay (found by the fan-out soak, ``bench/bench_fanout.py --soak``):
full channels must cost neither a subscribe's answer, the newest status, nor the socket.
Real hub and simulator over real sockets, on the in-memory layer with small capacities
(it raises ``ChannelFull`` as channels-redis does)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.actions import verify_credential
from market import fanout
from market import hub as hub_module
from market.consumers import MarketConsumer
from market.hub import Hub, status_group
from market.layers import FanoutInMemoryChannelLayer
from market.models import Symbol
from tests.figures import record
from tests.helpers import wait_until
from tests.market.conftest import FakeTab, db, quote_registrations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

SYMBOLS = ["005930", "000660", "373220", "207940", "005380", "000270", "068270", "005490"]


def failures(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def drain(tab: FakeTab) -> list[dict]:
    """Everything waiting on the tab's channel now, in order."""
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(tab.layer.receive(tab.channel), 0.3))
        except TimeoutError:
            return messages


async def test_many_tabs_subscribing_on_one_key_get_every_answer_and_the_newest_status(
    simulator, hub_on, alice, verified, caplog
):
    # Every subscribe used to send a status to every socket of the key: 20 tabs x 8
    # symbols made 160 statuses per tab, past the channel's capacity of 60, so answers
    # failed with ChannelFull ("relay.interest message failed") and statuses were lost.
    layer = FanoutInMemoryChannelLayer(capacity=60, channel_capacity={"market.hub": 1000})
    await hub_on(layer)
    tabs = [await FakeTab.open(layer, alice, verified) for _ in range(20)]
    for tab in tabs:
        await layer.group_add(status_group(verified.app_key), tab.channel)
    for tab in tabs:
        for symbol in SYMBOLS:
            await tab.watch(verified.app_key, symbol)
    await wait_until(
        lambda: len(quote_registrations(simulator, verified.app_key)) == len(SYMBOLS),
        "every symbol registered",
        10,
    )
    await asyncio.sleep(1.0)  # the last coalesced status goes out meanwhile

    statuses = []
    for tab in tabs:
        got = await drain(tab)
        answered = sorted(m["symbol"] for m in got if m["type"] == "relay.subscribed")
        assert answered == sorted(SYMBOLS)
        mine = [json.loads(m["text"]) for m in got if m["type"] == "relay.status"]
        assert mine, "no status at all"
        assert sorted(mine[-1]["slots"]) == sorted(f"{s} trade" for s in SYMBOLS)
        statuses.append(len(mine))
    assert max(statuses) < len(SYMBOLS) * len(tabs) // 4
    assert failures(caplog) == []
    record(
        "load",
        "status messages per tab while 20 tabs subscribe 8 symbols on one key",
        f"{min(statuses)}-{max(statuses)}",
        "",
        "was one per subscribe of any tab (160)",
    )


async def test_an_answer_to_a_tab_whose_channel_is_full_arrives_once_it_reads(
    simulator, hub_on, alice, verified, caplog
):
    layer = FanoutInMemoryChannelLayer(capacity=1000, channel_capacity={"tab.*": 2})
    await hub_on(layer)
    tab = await FakeTab.open(layer, alice, verified)
    for symbol in SYMBOLS[:5]:
        await tab.watch(verified.app_key, symbol)
    await wait_until(
        lambda: len(quote_registrations(simulator, verified.app_key)) == 5, "registrations", 10
    )
    answered: list[str] = []
    while len(answered) < 5:
        answered.append((await tab.next("relay.subscribed"))["symbol"])
    assert sorted(answered) == sorted(SYMBOLS[:5])
    assert failures(caplog) == []


@pytest.fixture
async def hub_on():
    """``await hub_on(layer)``: a hub on this test's own layer, stopped after the test."""
    running: list[asyncio.Task[None]] = []

    async def start(layer) -> Hub:
        hub = Hub(layer, grace_s=30, orders_scan_s=3600)
        running.append(asyncio.create_task(hub.run()))
        return hub

    yield start
    for task in running:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------- the browser socket


async def flush_layer() -> None:
    layer = channel_layers.backends.get("default")
    if layer is not None:
        await layer.flush()


@pytest.fixture
async def fresh_layer_and_hub():
    hub_module._local.clear()
    channel_layers.backends.clear()
    yield
    hub_module._local.clear()
    await fanout.close_all()
    await flush_layer()  # nothing left in Redis for the next test
    channel_layers.backends.clear()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.hosted)])
async def slow_hub(request, settings, fresh_layer_and_hub):
    """A hub channel that holds one message and that nobody reads: the hub fell behind.
    Both layers raise ChannelFull past a channel's capacity (demo and hosted)."""
    settings.KISWEB_RELAY_IN_PROCESS = False
    settings.KISWEB_RELAY_RENEW_S = 0.3
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "market.layers.FanoutInMemoryChannelLayer",
                "CONFIG": {"capacity": 1000, "channel_capacity": {"market.hub": 1}},
            }
        }
    else:
        default = settings.CHANNEL_LAYERS["default"]
        assert default["BACKEND"] == "channels_redis.core.RedisChannelLayer"
        config = {**default["CONFIG"], "channel_capacity": {"market.hub": 1}}
        settings.CHANNEL_LAYERS = {"default": {**default, "CONFIG": config}}
    get_channel_layer()
    await flush_layer()  # a hub channel left over from another run would already be full


async def connect(user, language: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        MarketConsumer.as_asgi(), "/ws/market/", headers=[(b"accept-language", language.encode())]
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def answer(ws: WebsocketCommunicator) -> dict:
    output = await ws.receive_output(timeout=3)
    assert output["type"] == "websocket.send", output  # a close (1011) is the bug
    return json.loads(output["text"])


@pytest.mark.parametrize(("language", "words"), [("en", "busy"), ("ko", "혼잡")], ids=["en", "ko"])
async def test_a_hub_that_fell_behind_costs_a_clear_error_never_the_socket(
    slow_hub, alice, alice_credential, caplog, language, words
):
    assert await db(verify_credential, alice, alice_credential)
    await db(Symbol.objects.create, code="005930", market="KOSPI", name="삼성전자")
    ws = await connect(alice, language)
    # The connect's renew filled the hub's channel: the subscribe cannot reach the hub.
    await ws.send_to(text_data=json.dumps({"type": "subscribe", "symbol": "005930"}))
    error = await answer(ws)
    assert error["type"] == "error" and error["code"] == "busy"
    assert error["symbol"] == "005930" and words in error["message"]
    await ws.send_to(text_data="{not json")  # the socket is still open and answering
    assert (await answer(ws))["code"] == "bad_json"
    assert failures(caplog) == []

    # The renewal teaches the hub what the failed message could not, once it reads again.
    layer = get_channel_layer()
    interests = ""
    while "005930:KOSPI:trade" not in interests:
        message = await asyncio.wait_for(layer.receive("market.hub"), 3)
        interests = str(message.get("interests", ""))
    await ws.disconnect()


async def test_an_unsubscribe_the_hub_cannot_take_keeps_the_socket_and_the_renewal_tells_it(
    slow_hub, alice, alice_credential, caplog
):
    assert await db(verify_credential, alice, alice_credential)
    await db(Symbol.objects.create, code="005930", market="KOSPI", name="삼성전자")
    ws = await connect(alice, "en")
    await ws.send_to(text_data=json.dumps({"type": "subscribe", "symbol": "005930"}))
    assert (await answer(ws))["code"] == "busy"
    await ws.send_to(text_data=json.dumps({"type": "unsubscribe", "symbol": "005930"}))
    await ws.send_to(text_data="{not json")
    assert (await answer(ws))["code"] == "bad_json"  # nothing in between, still open
    assert failures(caplog) == []

    layer = get_channel_layer()
    renewed = []
    while len(renewed) < 2:  # the connect's, then the renewal's: it watches nothing now
        message = await asyncio.wait_for(layer.receive("market.hub"), 3)
        renewed.append((message["type"], message.get("interests")))
    assert renewed == [("relay.renew", ""), ("relay.renew", "")]
    await ws.disconnect()


async def test_a_refused_subscribe_is_asked_again_soon_without_waiting_for_the_renewal(
    slow_hub, settings, alice, alice_credential
):
    """When many tabs open at once the hub's channel fills; each refused subscribe is sent
    again after a jittered pause (about a second), not only at the next renewal (20 s)."""
    settings.KISWEB_RELAY_RENEW_S = 60
    assert await db(verify_credential, alice, alice_credential)
    await db(Symbol.objects.create, code="005930", market="KOSPI", name="삼성전자")
    ws = await connect(alice, "en")
    await ws.send_to(text_data=json.dumps({"type": "subscribe", "symbol": "005930"}))
    assert (await answer(ws))["code"] == "busy"

    layer = get_channel_layer()
    first = await asyncio.wait_for(layer.receive("market.hub"), 3)  # the connect's renew
    assert first["type"] == "relay.renew"
    again = await asyncio.wait_for(layer.receive("market.hub"), 4)
    assert (again["type"], again["symbol"], again["streams"]) == (
        "relay.interest",
        "005930",
        "trade",
    )
    await ws.disconnect()
