"""One layer membership per quote group per process, fanned out in memory (issue #11).

A quote frame used to reach every socket through the channel layer: one layer message per
socket (a deep copy, a queue, a wake-up of that consumer's receive loop and its dispatch).
Here the first socket of a process to watch a group joins the group with the process's own
channel; the layer carries one message per frame per process, and this process hands its
text, already the browser's JSON, to each local socket's bounded queue. Same path in demo
(in-memory layer) and hosted (channels-redis): the process boundary stays the layer.
Notices, status and answers still go to each socket's own channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from kisweb.ops.metrics import RELAY_FRAMES

log = logging.getLogger(__name__)


class Member(Protocol):
    def deliver_frame(self, message: dict[str, Any]) -> None: ...


class LocalFanout:
    """The quote groups this process's sockets watch, for one event loop and one layer.

    Its memberships are added again every ``refresh_s``: a Redis restarted without
    persistence comes back empty (and channels-redis expires a membership after a day),
    and the layer gives no sign of it, so the process would stay silent while its sockets
    stay open (tests/ops/test_outages_hosted.py).
    """

    refresh_s = 5.0

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel = ""
        self.members: dict[str, set[Member]] = {}
        self.task: asyncio.Task[None] | None = None
        self.refresher: asyncio.Task[None] | None = None
        self._ready = asyncio.Lock()

    async def _start(self) -> None:
        if self.task is not None and not self.task.done():
            return
        async with self._ready:
            if self.task is not None and not self.task.done():
                return
            if not self.channel:
                # The default prefix, as the sockets' own channels: channels-redis pops one
                # process-local queue per prefix, and a reader holding its receive lock pops
                # only its own, so a channel under another prefix starves beside them.
                self.channel = await self.layer.new_channel()
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self._run(), name="relay-fanout")
            if self.refresher is None or self.refresher.done():
                self.refresher = loop.create_task(self._refresh(), name="relay-fanout-refresh")
            for group in self.members:  # a reader that died: its memberships still stand
                await self.layer.group_add(group, self.channel)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                for group in list(self.members):
                    await self.layer.group_add(group, self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the next round adds them again
                log.warning("relay: the fan-out could not renew its groups; retrying")

    async def join(self, group: str, member: Member) -> None:
        """The member is recorded first: when the layer fails here, the reader's start or
        the refresh adds the group again (the socket's renewal joins again too)."""
        members = self.members.setdefault(group, set())
        first = not members
        members.add(member)
        await self._start()
        if first:
            await self.layer.group_add(group, self.channel)

    async def leave(self, group: str, member: Member) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(member)
        if not members:
            del self.members[group]
            if self.channel:
                await self.layer.group_discard(group, self.channel)

    async def _run(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a layer hiccup (Redis timeout) must not orphan every socket
                log.warning("relay: the fan-out's layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") != "relay.frame":
                continue
            delivered = 0
            for member in list(self.members.get(str(message.get("group", "")), ())):
                try:
                    member.deliver_frame(message)
                    delivered += 1
                except Exception:  # one broken socket never stops the others
                    log.exception("relay: a frame could not be handed to a socket")
            RELAY_FRAMES.labels(stream=str(message.get("kind", ""))).inc(delivered)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, LocalFanout]] = (
    weakref.WeakKeyDictionary()
)


def local_fanout(layer: Any) -> LocalFanout:
    """This event loop's fan-out for ``layer`` (tests run several loops and layers)."""
    per_layer = _BY_LOOP.setdefault(asyncio.get_running_loop(), {})
    fanout = per_layer.get(id(layer))
    if fanout is None or fanout.layer is not layer:
        fanout = per_layer[id(layer)] = LocalFanout(layer)
    return fanout


async def close_all() -> None:
    """Stop this loop's readers (tests)."""
    for fanout in _BY_LOOP.pop(asyncio.get_running_loop(), {}).values():
        for task in (fanout.task, fanout.refresher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
