"""Per-app-key request pacing, shared by every client of that key (REFERENCE.md §6).

KIS allows about 20 REST calls a second per real app key and 2 per paper key; bursts near
20 still trip EGW00201, so the defaults are 18 and 2. Both limiters implement GCRA as a
reservation: each caller is given the next free slot and sleeps until it, so callers are
served in order. Slots are spaced ``(1 + window_guard_s) / rate`` apart: evenly spaced calls
at exactly the rate put rate + 1 calls in a closed one-second window, and wake-up and network
jitter move calls by milliseconds, so the guard keeps every one-second window at KIS within
the rate (with ``burst`` 1) at the cost of ~3% throughput.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from .credentials import Environment


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Calls per second per app key, by environment, and how many may go back to back."""

    real_per_s: float = 18.0
    paper_per_s: float = 2.0
    burst: int = 1
    window_guard_s: float = 0.03

    def per_second(self, env: Environment) -> float:
        return self.real_per_s if env is Environment.REAL else self.paper_per_s

    def interval_s(self, env: Environment) -> float:
        """Seconds between two slots for one app key."""
        return (1.0 + self.window_guard_s) / self.per_second(env)


class RateLimiter(Protocol):
    """Waits until one more REST call for ``app_key`` fits under the limit for ``env``."""

    async def acquire(self, app_key: str, env: Environment) -> None: ...


class InProcessRateLimiter:
    """GCRA in memory: one process (any number of clients, loops or threads)."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._next_free: dict[str, float] = {}
        self._guard = threading.Lock()  # clients on other threads' loops share the state

    async def acquire(self, app_key: str, env: Environment) -> None:
        interval = self.limits.interval_s(env)
        tolerance = interval * (self.limits.burst - 1)
        with self._guard:
            now = time.monotonic()
            theoretical = max(self._next_free.get(app_key, now), now)
            slot = max(now, theoretical - tolerance)
            self._next_free[app_key] = theoretical + interval
        if slot > now:
            await asyncio.sleep(slot - now)


_GCRA_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local theoretical = tonumber(redis.call('GET', KEYS[1]) or now)
if theoretical < now then theoretical = now end
local slot = theoretical - tolerance
if slot < now then slot = now end
local ttl_ms = math.floor((theoretical + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', theoretical + interval), 'PX', ttl_ms)
return slot - now
"""


class RedisRateLimiter:
    """GCRA on Redis: all processes sharing ``redis`` stay under the limit together.

    One Lua script reserves the next slot atomically on the Redis clock (so process clocks
    need not agree) and returns how many microseconds to wait for it. At most
    ``max_concurrent_calls`` reservations are in flight at once, so hundreds of waiting
    callers never exhaust the Redis connection pool.
    """

    def __init__(
        self,
        redis,
        limits: RateLimits | None = None,
        *,
        prefix: str = "kisweb:kis:rate",
        max_concurrent_calls: int = 8,
    ) -> None:
        self.limits = limits or RateLimits()
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_GCRA_RESERVE)
        self._in_flight = asyncio.Semaphore(max_concurrent_calls)

    async def acquire(self, app_key: str, env: Environment) -> None:
        interval_us = round(1_000_000 * self.limits.interval_s(env))
        tolerance_us = interval_us * (self.limits.burst - 1)
        async with self._in_flight:
            wait_us = await self._script(
                keys=[f"{self._prefix}:{app_key}"], args=[interval_us, tolerance_us]
            )
        if int(wait_us) > 0:
            await asyncio.sleep(int(wait_us) / 1_000_000)


_shared = InProcessRateLimiter()


def shared_rate_limiter() -> InProcessRateLimiter:
    """The process-wide default: every ``KisClient`` without its own limiter uses it, so
    two clients of one app key in one process still share one budget."""
    return _shared
