"""The demo's in-memory channel layer, made fit for fan-out.

Channels' ``InMemoryChannelLayer`` sweeps every channel and group for expired messages on
each ``receive`` and ``group_send``, and starts one task per member in ``group_send``: a
frame to N sockets costs O(N²) work, which caps the relay at a few thousand deliveries a
second. This subclass sweeps at most once a second and puts a group message straight on
each member's queue (a full queue drops it, as the base class does). Same semantics, same
messages; only the in-process (demo) layer is affected. ``channel_capacity`` (glob ->
capacity) works as documented: the base class keeps the dict uncompiled and then fails on
every send.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from copy import deepcopy
from typing import Any

from channels.layers import InMemoryChannelLayer  # type: ignore[import-untyped]  # channels ships no type information

SWEEP_EVERY_S = 1.0


class FanoutInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(
        self, *args: Any, channel_capacity: dict[str, int] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
        self._swept_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at >= SWEEP_EVERY_S:
            self._swept_at = now
            super()._clean_expired()

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        expires = time.time() + self.expiry
        for channel in list(members):
            queue = self.channels.get(channel)
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            with contextlib.suppress(asyncio.QueueFull):  # a full channel loses this one
                queue.put_nowait((expires, deepcopy(message)))
