"""Redis leases with fencing numbers: at most one relay process holds an app key's session.

A lease is one Redis key set with ``SET NX PX``; its value is ``<holder>#<fence>``, where
the fence comes from an ``INCR`` on a counter that never expires, in the same script, so
every successful acquisition carries a larger number than all before it. Renewal is a
compare-and-extend and release a compare-and-delete on that exact value: a holder whose
lease lapsed (a stalled process, a partition) can neither extend nor delete the lease of
whoever took it next, even when it is the same process acquiring again. A renewal that
fails, errors or finds another value means the lease is lost: the holder stops using what
it protects at once instead of guessing.

``RelayLeases`` is the relay's set. One relay-wide ``active`` lease gates who reads the
hub's channel: a standby relay waits on it and consumes nothing. Per-key forwarding (each
relay reading only the messages of the keys it holds) would need consumers to address
keys and a relay that cannot serve a message to hand it on; one reader keeps the
consumers and the message contract unchanged, and a takeover costs one ``relay.hello``.
Under it, one lease per app key guards each upstream session: a relay opens a session
only while it holds that key's lease, so the KIS rule (one session per app key) holds even
while a stalled former holder has not yet noticed that its ``active`` lease lapsed.
Redis keys carry a hash of the app key, never the key itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "kisweb:relay:lease"

# KEYS[1] the lease, KEYS[2] its fence counter; ARGV[1] holder, ARGV[2] TTL in ms.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. fence, 'NX', 'PX', ARGV[2])
return fence
"""
# KEYS[1] the lease; ARGV[1] the value this holder set, ARGV[2] TTL in ms.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def holder_id() -> str:
    """This process, told apart from a restarted one with the same pid."""
    return f"{platform.node()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """One named lease held (or not) by ``holder``; ``fence`` is set while held."""

    def __init__(self, redis: Any, name: str, *, holder: str, ttl_s: float) -> None:
        self.redis = redis
        self.key = f"{PREFIX}:{name}"
        self.fence_key = f"{PREFIX}:{name}:fence"
        self.holder = holder
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.fence: int | None = None

    @property
    def held(self) -> bool:
        return self.fence is not None

    @property
    def _value(self) -> str:
        return f"{self.holder}#{self.fence}"

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; False (and no fence used up) otherwise."""
        fence = await self.redis.eval(
            _ACQUIRE, 2, self.key, self.fence_key, self.holder, self.ttl_ms
        )
        self.fence = int(fence) if fence is not None else None
        return self.fence is not None

    async def renew(self) -> bool:
        """Extend the lease if it is still this holder's; once False, it stays lost."""
        if self.fence is None:
            return False
        try:
            extended = await self.redis.eval(_EXTEND, 1, self.key, self._value, self.ttl_ms)
        except RedisError:
            extended = 0
        if not extended:
            self.fence = None
        return bool(extended)

    async def release(self) -> None:
        """Give the lease up now (the next holder need not wait for the TTL)."""
        if self.fence is None:
            return
        value, self.fence = self._value, None
        try:
            await self.redis.eval(_DELETE, 1, self.key, value)
        except RedisError as error:  # it lapses by itself within the TTL
            log.warning("relay: a lease was not released: %s", type(error).__name__)


class RelayLeases:
    """The relay's ``active`` lease and one lease per app key (by its hash), renewed together.

    ``keep(on_key_lost)`` renews every ``renew_s`` and returns as soon as the ``active``
    lease is lost; a lost key lease is reported to ``on_key_lost`` so its session closes.
    """

    def __init__(
        self, redis: Any, *, ttl_s: float, renew_s: float, holder: str | None = None
    ) -> None:
        if not 0 < renew_s * 2 < ttl_s:
            raise ValueError("the lease renew period must be under half its TTL")
        self.redis = redis
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        self.holder = holder or holder_id()
        self.active = Lease(redis, "active", holder=self.holder, ttl_s=ttl_s)
        self.keys: dict[str, Lease] = {}

    @classmethod
    def from_url(cls, url: str, *, ttl_s: float, renew_s: float) -> RelayLeases:
        # A Redis call that hangs must fail well inside the TTL, not outlive the lease.
        timeout = renew_s
        redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(redis, ttl_s=ttl_s, renew_s=renew_s)

    async def wait_active(self) -> int:
        """Stand by until this relay holds the ``active`` lease; returns its fence. Between
        attempts it sleeps until the holder's lease would lapse (at most ``renew_s``), so
        a dead holder is replaced within milliseconds of its TTL running out."""
        while True:
            pause = self.renew_s
            try:
                if await self.active.acquire():
                    assert self.active.fence is not None
                    return self.active.fence
                left_ms = await self.redis.pttl(self.active.key)
                if left_ms >= 0:
                    pause = min(pause, left_ms / 1000 + 0.01)
            except RedisError as error:
                log.warning("relay: the active lease cannot be asked for: %s", type(error).__name__)
            await asyncio.sleep(pause)

    async def hold_key(self, name: str) -> int | None:
        """The fence of this relay's lease on ``name``, taken now if free; None if another
        relay holds it and does not let go within one TTL (a former holder's lease that is
        lapsing is waited out)."""
        lease = self.keys.get(name)
        if lease is not None and lease.held:
            return lease.fence
        lease = Lease(self.redis, f"key:{name}", holder=self.holder, ttl_s=self.ttl_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ttl_s
        while not await lease.acquire():
            if loop.time() > deadline or not self.active.held:
                return None
            await asyncio.sleep(min(0.2, self.renew_s))
        self.keys[name] = lease
        return lease.fence

    async def release_key(self, name: str) -> None:
        lease = self.keys.pop(name, None)
        if lease is not None:
            await lease.release()

    async def keep(self, on_key_lost: Callable[[str], Awaitable[None]]) -> None:
        """Renew every lease each ``renew_s``; return when the ``active`` one is lost."""
        while True:
            await asyncio.sleep(self.renew_s)
            held = list(self.keys.items())
            results = await asyncio.gather(
                self.active.renew(), *(lease.renew() for _name, lease in held)
            )
            if not results[0]:
                return
            for (name, lease), renewed in zip(held, results[1:], strict=True):
                if not renewed and self.keys.get(name) is lease:
                    del self.keys[name]
                    await on_key_lost(name)

    async def release_all(self) -> None:
        for name in list(self.keys):
            await self.release_key(name)
        await self.active.release()

    async def aclose(self) -> None:
        await self.release_all()
        await self.redis.aclose()
