"""Per-app-key request pacing, shared by every client of that key (docs/kis-protocol.md §6).

KIS allows about 20 REST calls a second per real app key and 2 per paper key, and its
EGW00201 answers near 20/s fit a *sliding* one-second window. The limiter keeps a sliding
log of admissions per app key: a call goes at once while fewer than the limit are logged in
the last ``window_s``, and waits in a FIFO line otherwise, so a page's burst of calls pays
no waiting while the budget is free. The margin below KIS's figures is configurable
(``RateLimits``): by default 18 calls of real's 20 (2 of paper's 2) in a window of 1.03 s.

**Logged one interval apart.** The log records each admission at ``now``, or one interval
(``window_s / limit``) after the previous entry if that is later: a burst leaves at once,
but its slots come back one by one. A limiter sees calls leave, not arrive: the calls of a
burst reach KIS spread over tens or hundreds of milliseconds (new connections, a busy
loop), and had their slots all come back exactly one window later, the next burst would
land in the same KIS second as the tail of the first. Entries dated ahead only make the log
stricter, so no window of real admissions holds more than the limit; under sustained load
calls go one interval apart, as evenly as KIS would want them. A caller up to
``LATE_CREDIT_S`` (5 ms) late for its slot is logged at the slot's time, so timer rounding
and a Redis round trip cost no throughput; the log may so date an admission 5 ms early,
well inside the 30 ms the window runs beyond KIS's second.

**Timestamped when granted.** An admission is checked and logged under the lock at the
moment the caller is let go, never reserved ahead. A stalled event loop (a GC pause, a busy
callback, a descheduled thread) therefore cannot release more than the window allows: after
the stall the callers are checked against the log one by one, and the log already holds
every call that left. Only the head of an app key's line waits for the log to make room;
when it goes it hands the turn to the next waiter, woken on its own event loop, so each
call costs O(1) wake-ups, order is first come first served, and a cancelled caller gives
its turn on without using a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .credentials import Environment

if TYPE_CHECKING:
    import redis.asyncio

LATE_CREDIT_S = 0.005
"""A caller this late for its slot is logged at the slot's time, not at its own."""


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How many calls per app key may go in any sliding ``window_s``, by environment."""

    real_per_s: int = 18
    paper_per_s: int = 2
    window_s: float = 1.03

    def per_second(self, env: Environment) -> int:
        return self.real_per_s if env is Environment.REAL else self.paper_per_s

    def interval_s(self, env: Environment) -> float:
        """The least gap between two logged admissions of one app key."""
        return self.window_s / self.per_second(env)


def _wait_s(stamps: Sequence[float], now: float, calls: int, window: float) -> float:
    """0 when one more call fits the window after the sorted ``stamps``, else the seconds
    until it does."""
    recent = [stamp for stamp in stamps if now - stamp < window]
    if len(recent) < calls:
        return 0.0
    return window - (now - recent[len(recent) - calls])


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
    admitted: deque[float] = field(default_factory=deque)  # the in-process log (monotonic)


class _Turns:
    """A FIFO turn per app key, shared by any number of event loops and threads.

    ``take`` returns when the caller holds the turn (at once, without suspending, when no
    one holds it); ``give`` passes it to the next live waiter (woken on its own loop) or
    frees it. Exactly one caller holds a key's turn at a time, so only that caller ever
    waits for the window.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._lines: dict[str, _Line] = {}

    def idle(self, app_key: str) -> bool:
        """Whether nobody holds or waits for the key's turn (a hint: no lock is kept)."""
        with self.lock:
            line = self._lines.get(app_key)
            return line is None or (not line.held and not line.waiters)

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


def _stamp(stamps: Sequence[float], now: float, interval: float) -> float:
    """When to log an admission at ``now``: one interval after the last entry, unless that
    is more than ``LATE_CREDIT_S`` ago."""
    if not stamps:
        return now
    due = stamps[-1] + interval
    return due if now - due <= LATE_CREDIT_S else now


class InProcessRateLimiter:
    """A sliding log in memory: one process (any number of clients, loops or threads)."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._turns = _Turns()

    async def acquire(self, app_key: str, env: Environment) -> None:
        calls, window = self.limits.per_second(env), self.limits.window_s
        interval = self.limits.interval_s(env)
        await self._turns.take(app_key)
        try:
            while True:
                with self._turns.lock:
                    admitted = self._turns.line(app_key).admitted
                    now = time.monotonic()
                    while admitted and now - admitted[0] >= window:
                        admitted.popleft()
                    wait = _wait_s(admitted, now, calls, window)
                    if wait <= 0:
                        admitted.append(_stamp(admitted, now, interval))
                        return
                await asyncio.sleep(wait)
        finally:
            self._turns.give(app_key)


_CLAIM = """
-- KEYS: admission log, waiter queue, waiter leases, ticket counter (one app key)
-- ARGV: waiter id, calls, window (us), interval (us), lease (us), late credit (us), queue
-- ("1": take a ticket when it cannot go now; "0": only go if it can, else leave no trace)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local waiter, calls = ARGV[1], tonumber(ARGV[2])
local window, interval, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local credit = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now))) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
-- A waiter goes when the window has room for it and for every waiter ahead of it; one
-- without a ticket yet would stand behind them all.
local rank = redis.call('ZRANK', KEYS[2], waiter) or redis.call('ZCARD', KEYS[2])
local admitted = redis.call('ZCARD', KEYS[1])
local wait = 0
if admitted + rank >= calls then
  local index = admitted - calls + rank
  local frees = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  wait = window
  if frees[2] then wait = math.max(tonumber(frees[2]) + window - now, 1) end
  if ARGV[7] == '1' then
    if not redis.call('ZSCORE', KEYS[2], waiter) then
      redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), waiter)
    end
    redis.call('ZADD', KEYS[3], string.format('%d', now + lease), waiter)
  end
else
  local stamp = now
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] and now - (tonumber(last[2]) + interval) <= credit then
    stamp = tonumber(last[2]) + interval
  end
  redis.call('ZADD', KEYS[1], string.format('%d', stamp), waiter)
  redis.call('ZREM', KEYS[2], waiter)
  redis.call('ZREM', KEYS[3], waiter)
end
local ttl = math.floor((2 * window + lease) / 1000) + 1000  -- entries run a window ahead
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
return wait
"""

_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
"""


class RedisRateLimiter:
    """A sliding log on Redis: all processes sharing ``redis`` stay under the limit.

    Per app key Redis holds the admission log (a sorted set scored by the Redis clock, so
    process clocks need not agree) and a queue of waiters ordered by ticket. One Lua script
    asks "may I go now?" atomically: it drops admissions that left the window, gives a new
    waiter the next ticket, and admits it (logged as in process) when the window has room
    for it and for every waiter ahead; otherwise it answers the microseconds until that
    room opens. Waiters of all processes are so admitted in ticket order. A waiter asks
    again at least every ``lease_s / 4`` and holds its place for ``lease_s`` after each ask,
    so the ticket of a process that died or froze lapses instead of blocking the key; a
    cancelled waiter gives its ticket back at once. The keys expire once the log and the
    leases have run out, plus a second.

    A caller that finds no one of its process waiting for the key asks at once, without a
    ticket, so a burst from idle costs one round trip, not one per call; if there is no
    room it joins the process's line. Only the head of that line holds a ticket and polls,
    so a process keeps one ticket per key however many callers wait. At most
    ``max_concurrent_calls`` script calls are in flight, so many app keys never exhaust the
    connection pool.
    """

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        limits: RateLimits | None = None,
        *,
        prefix: str = "kisweb:kis:rate",
        max_concurrent_calls: int = 8,
        lease_s: float = 1.0,
    ) -> None:
        self.limits = limits or RateLimits()
        self._prefix = prefix
        self._claim = redis.register_script(_CLAIM)
        self._leave = redis.register_script(_LEAVE)
        self._in_flight = asyncio.Semaphore(max_concurrent_calls)
        self._lease_s = lease_s
        self._turns = _Turns()
        self._waiter_ids = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())

    def _keys(self, app_key: str) -> list[str]:
        base = f"{self._prefix}:{{{app_key}}}"  # one hash slot per app key on a cluster
        return [f"{base}:log", f"{base}:queue", f"{base}:leases", f"{base}:tickets"]

    async def acquire(self, app_key: str, env: Environment) -> None:
        keys = self._keys(app_key)
        waiter = next(self._waiter_ids)
        args: list[str | int] = [
            waiter,
            self.limits.per_second(env),
            round(1_000_000 * self.limits.window_s),
            round(1_000_000 * self.limits.interval_s(env)),
            round(1_000_000 * self._lease_s),
            round(1_000_000 * LATE_CREDIT_S),
        ]
        if self._turns.idle(app_key):
            # Nobody of this process waits for this key: try at once, in parallel with the
            # rest of a burst, and join the line only if there is no room.
            async with self._in_flight:
                if int(await self._claim(keys=keys, args=[*args, 0])) <= 0:
                    return
        args.append(1)
        await self._turns.take(app_key)
        try:
            while True:
                async with self._in_flight:
                    wait_us = int(await self._claim(keys=keys, args=args))
                if wait_us <= 0:
                    return
                await asyncio.sleep(min(wait_us / 1_000_000, self._lease_s / 4))
        except BaseException:
            # Give the ticket back so the waiters behind need not wait out the lease; if
            # Redis cannot be reached for that, the lease lapses on its own.
            with contextlib.suppress(Exception):
                await self._leave(keys=keys[1:3], args=[waiter])
            raise
        finally:
            self._turns.give(app_key)


_shared = InProcessRateLimiter()


def shared_rate_limiter() -> InProcessRateLimiter:
    """The process-wide default: every ``KisClient`` without its own limiter uses it, so
    two clients of one app key in one process still share one budget."""
    return _shared
