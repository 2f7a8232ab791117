"""The per-process fan-out (issue #11): a quote group holds one member per web process,
whatever the number of its sockets, and each socket still gets every frame."""

from __future__ import annotations

import json

import pytest
from channels.layers import get_channel_layer

from accounts.actions import verify_credential
from market.fanout import local_fanout
from market.hub import quote_group
from tests.market.conftest import db
from tests.market.test_consumer import connect, fresh_layer_and_hub, next_of, symbols

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
__all__ = ["fresh_layer_and_hub", "symbols"]  # fixtures shared with the consumer tests


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
