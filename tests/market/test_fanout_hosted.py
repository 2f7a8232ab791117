"""The process fan-out on the Redis channel layer: frames reach it while the process's
sockets wait on their own channels, as they always do in the web server."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

from market.fanout import close_all, local_fanout

pytestmark = pytest.mark.hosted

GROUP = "q.fanouttest.trade.005930"


class Socket:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.heard = asyncio.Event()

    def deliver_frame(self, message) -> None:
        self.frames.append(message["text"])
        self.heard.set()


async def test_a_frame_reaches_the_fanout_while_a_socket_waits_on_its_own_channel():
    """channels-redis pops one process-local queue per prefix, and whoever holds its
    receive lock pops only its own: a fan-out channel under another prefix than the
    sockets' never heard a frame once a socket was waiting."""
    layer = get_channel_layer()
    own = await layer.new_channel()
    socket_waits = asyncio.create_task(layer.receive(own))  # a consumer's own channel
    await asyncio.sleep(0.2)  # it now holds the layer's receive lock
    socket = Socket()
    try:
        await local_fanout(layer).join(GROUP, socket)
        frame = {"type": "relay.frame", "group": GROUP, "kind": "trade", "text": "{}"}
        await layer.group_send(GROUP, frame)
        await asyncio.wait_for(socket.heard.wait(), 15)  # a bound, not a target
        assert socket.frames == ["{}"]
        await layer.send(own, {"type": "relay.status", "text": "{}"})
        assert await asyncio.wait_for(socket_waits, 15) == {"type": "relay.status", "text": "{}"}
    finally:
        socket_waits.cancel()
        await close_all()
        await layer.flush()
