"""Per-app-key request pacing, shared by every client of that key (REFERENCE.md §6).

KIS allows about 20 REST calls a second per real app key and 2 per paper key; bursts near
20 still trip EGW00201, so the defaults are 18 and 2. Calls are spaced ``(1 + window_guard_s)
/ rate`` apart: evenly spaced calls at exactly the rate put rate + 1 calls in a closed
one-second window, and network jitter moves calls by milliseconds, so the guard keeps every
one-second window at KIS within the rate (with ``burst`` 1) at the cost of ~3% throughput.

**Claim on due, not reservation.** KIS counts the moment a request arrives, so the limiter
spaces the moments callers actually *go*. An earlier design handed each caller a future
slot and let it sleep until then; any stall between reserving and sending (a GC pause, a
busy event loop, a descheduled thread) woke every caller whose slot had passed at once and
they left back to back: rate + rate·stall calls in one second. Now the callers of one app key
wait in a FIFO; only the head waits for the due time, and when it wakes it claims at *now*
(re-checked under the lock), sets ``next_due = now + interval`` and hands the turn to the
next waiter, waking it on its own event loop. After a stall the next call goes at once and
the one after waits a full interval from then. Each call costs O(1) wake-ups; order is
first come, first served; a cancelled caller gives its turn on without spending a slot.

What it costs: a slot is spent only by a caller that is there to take it, so a timer that
fires late delays every later call. asyncio rounds timer sleeps up to whole milliseconds, so
at 100/s strict claim-at-now would lose ~10% of the rate; the limiter therefore credits up to
``LATE_CREDIT_S`` (2 ms) of lateness (``next_due = max(next_due, now - LATE_CREDIT_S) +
interval``). Two consecutive claims are thus never closer than ``interval - 2 ms`` and a
one-second window holds at most ``floor((1 + 0.002) / interval) + 1`` claims, well inside the
guard; a longer stall is not credited. A stall *after* a claim, before the request leaves,
can still put two requests back to back; the guard and the client's margin cover that.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from .credentials import Environment

LATE_CREDIT_S = 0.002
"""How late a waking caller may be and still count as on time (timer granularity)."""


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
        """Seconds between two calls for one app key."""
        return (1.0 + self.window_guard_s) / self.per_second(env)


class RateLimiter(Protocol):
    """Waits until one more REST call for ``app_key`` fits under the limit for ``env``."""

    async def acquire(self, app_key: str, env: Environment) -> None: ...


@dataclass(slots=True)
class _Line:
    """One app key's queue: whether someone holds the turn, and who waits for it."""

    held: bool = False
    waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=deque
    )
    next_due: float = float("-inf")  # the in-process limiter's GCRA time (monotonic)


class _Turns:
    """A FIFO turn per app key, shared by any number of event loops and threads.

    ``take`` returns when the caller holds the turn; ``give`` passes it to the next live
    waiter (woken on its own loop) or frees it. Exactly one caller holds a key's turn at a
    time, so only that caller ever waits for the due time.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._lines: dict[str, _Line] = {}

    def line(self, app_key: str) -> _Line:
        """The key's line; call with ``lock`` held."""
        line = self._lines.get(app_key)
        if line is None:
            line = self._lines[app_key] = _Line()
        return line

    async def take(self, app_key: str) -> None:
        with self.lock:
            line = self.line(app_key)
            if not line.held:  # nobody holds it, so nobody waits either
                line.held = True
                return
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            entry = (loop, waiter)
            line.waiters.append(entry)
        try:
            await waiter
        except asyncio.CancelledError:
            if not waiter.cancelled():
                self.give(app_key)  # handed the turn, then cancelled: pass it on
            else:
                # Not in the line any more: it was handed the turn, and _deliver will see
                # the cancel and pass it on.
                with self.lock, contextlib.suppress(ValueError):
                    line.waiters.remove(entry)
            raise

    def give(self, app_key: str) -> None:
        with self.lock:
            line = self._lines[app_key]
            while line.waiters:
                loop, waiter = line.waiters.popleft()
                try:
                    loop.call_soon_threadsafe(self._deliver, app_key, waiter)
                except RuntimeError:  # its loop is closed: that caller is gone
                    continue
                return
            line.held = False

    def _deliver(self, app_key: str, waiter: asyncio.Future[None]) -> None:
        """On the waiter's loop: wake it, or pass the turn on if it was cancelled."""
        if waiter.done():
            self.give(app_key)
        else:
            waiter.set_result(None)


class InProcessRateLimiter:
    """GCRA on claim time in memory: one process (any number of clients, loops or threads)."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._turns = _Turns()

    async def acquire(self, app_key: str, env: Environment) -> None:
        interval = self.limits.interval_s(env)
        tolerance = interval * (self.limits.burst - 1)
        await self._turns.take(app_key)
        try:
            while True:
                with self._turns.lock:
                    line = self._turns.line(app_key)
                    now = time.monotonic()
                    wait = line.next_due - tolerance - now
                    if wait <= 0:
                        line.next_due = max(line.next_due, now - LATE_CREDIT_S) + interval
                        return
                await asyncio.sleep(wait)
        finally:
            self._turns.give(app_key)


_GCRA_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local credit = tonumber(ARGV[3])
local due = tonumber(redis.call('GET', KEYS[1]) or 0)
if now < due - tolerance then
  return due - tolerance - now
end
if due < now - credit then due = now - credit end
due = due + interval
redis.call('SET', KEYS[1], string.format('%d', due), 'PX', math.floor((due - now) / 1000) + 1000)
return 0
"""


class RedisRateLimiter:
    """GCRA on claim time on Redis: all processes sharing ``redis`` stay under the limit.

    The caller at the head of this process's line for an app key asks one Lua script "may I
    go now?" on the Redis clock (so process clocks need not agree): it answers 0 and moves
    the key's due time one interval past now if the call is due (crediting up to
    ``LATE_CREDIT_S`` of lateness, as in process), else the microseconds to wait; the head
    sleeps that long and asks again. Only the head asks, so a process makes about one Redis
    call per slot per key however many callers wait, and a stalled process cannot release a
    burst of stale slots: it must ask again after the stall. Heads of several processes race
    for each slot (no FIFO across processes). At most ``max_concurrent_calls`` script calls
    are in flight at once, so many app keys never exhaust the Redis connection pool.
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
        self._script = redis.register_script(_GCRA_CLAIM)
        self._in_flight = asyncio.Semaphore(max_concurrent_calls)
        self._turns = _Turns()

    async def acquire(self, app_key: str, env: Environment) -> None:
        interval_us = round(1_000_000 * self.limits.interval_s(env))
        tolerance_us = interval_us * (self.limits.burst - 1)
        credit_us = round(1_000_000 * LATE_CREDIT_S)
        await self._turns.take(app_key)
        try:
            while True:
                async with self._in_flight:
                    wait_us = int(
                        await self._script(
                            keys=[f"{self._prefix}:{app_key}"],
                            args=[interval_us, tolerance_us, credit_us],
                        )
                    )
                if wait_us <= 0:
                    return
                await asyncio.sleep(wait_us / 1_000_000)
        finally:
            self._turns.give(app_key)


_shared = InProcessRateLimiter()


def shared_rate_limiter() -> InProcessRateLimiter:
    """The process-wide default: every ``KisClient`` without its own limiter uses it, so
    two clients of one app key in one process still share one budget."""
    return _shared
