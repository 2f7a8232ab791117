"""The hosted channel layer keeps a quiet socket alive: a consumer waits in the layer's
receive (a blocking pop in Redis) for as long as nothing is sent to it."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

pytestmark = pytest.mark.hosted


async def test_a_receive_outlasts_the_redis_blocking_pop():
    """channels-redis pops with a 5 s timeout and loops; were the Redis client's read
    timeout no longer than that (redis-py 8's default is 5 s), the receive would raise
    TimeoutError after 5 quiet seconds and the web server would close the socket."""
    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def send_after_a_quiet_spell():
        await asyncio.sleep(layer.brpop_timeout + 2)
        await layer.send(channel, {"type": "relay.status", "text": "{}"})

    sender = asyncio.create_task(send_after_a_quiet_spell())
    try:
        assert await layer.receive(channel) == {"type": "relay.status", "text": "{}"}
    finally:
        sender.cancel()
        await layer.flush()


async def test_a_burst_of_sockets_joining_at_once_is_not_refused():
    """300 sockets connecting (or leaving) at once each make a layer call: redis-py 8
    pools refuse a call beyond 100 open connections at once instead of waiting, so the web server
    closed those sockets, and left their groups half joined."""
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(300)]
    try:
        await asyncio.gather(*(layer.group_add("hosted.burst", c) for c in channels))
        await asyncio.gather(*(layer.group_discard("hosted.burst", c) for c in channels))
    finally:
        await layer.flush()
