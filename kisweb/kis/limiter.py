"""Per-app-key request pacing, shared by every client of that key (docs/kis-protocol.md §6).

KIS allows about 20 REST calls a second per real app key and 2 per paper key, and its
EGW00201 answers near 20/s fit a *sliding* one-second window. The limiter keeps a sliding
log per app key: a call goes at once while fewer than the limit are in the last
``window_s``, and waits in a FIFO line otherwise, so a page's burst of calls pays no waiting
while the budget is free. The margin below KIS's figures is configurable (``RateLimits``):
by default 18 calls of real's 20 (2 of paper's 2) in a window of 1.03 s.

**A slot is held for the whole call.** KIS counts a call when it *arrives*, and a limiter
cannot see arrivals: a call let go may wait for a pooled connection, a busy or stalled
loop, or a loaded server before KIS counts it, so calls let go a window apart can land in
one KIS second (measured: 18 calls let go at once, the loop stalled 0.3 s, then the next
round a window later: 23 arrivals in one second, 3 refused). What the limiter can know is
an interval that contains the arrival: it comes after the slot is granted and before the
answer is back. So a caller holds its slot (``async with limiter.slot(...)``) from the
grant until the call is over, the slot counts as taken all that time, and it is logged at
the moment it is given back, staying in the window ``window_s`` (>= 1 s) after that. Then
no second at KIS holds more than the limit, whatever the delays. Take limit + 1 calls that
KIS counts within one second, and the one of them granted last, at ``g``: it arrived after
``g``, so each of the others arrived, and was given back, after ``g - 1 s``; at ``g`` all of
them were still held or logged within the window, the limit was full, and the last one
could not have been granted. The price is the call's own duration per slot: a call of
``d`` seconds takes its slot for ``d + window_s``, about 3 % of the rate for a 30 ms call.
A call abandoned in flight (cancelled, timed out) is logged when abandoned, the one case
where KIS might still count it later.

**Granted in order, checked when granted.** A slot is checked and taken under the lock at
the moment the caller is let go, never reserved ahead, so a stalled event loop (a GC pause,
a busy callback, a descheduled thread) cannot release more than the window allows: after
the stall the callers are checked one by one against what is held and logged. Only the head
of an app key's line waits for room; when it goes it hands the turn to the next waiter,
woken on its own event loop, so each call costs O(1) wake-ups, order is first come first
served, and a cancelled caller gives its turn on without taking a slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .credentials import Environment

if TYPE_CHECKING:
    import redis.asyncio


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How many calls per app key may be in any sliding ``window_s``, by environment."""

    real_per_s: int = 18
    paper_per_s: int = 2
    window_s: float = 1.03

    def per_second(self, env: Environment) -> int:
        return self.real_per_s if env is Environment.REAL else self.paper_per_s


def _wait_s(logged: Sequence[float], held: int, now: float, calls: int, window: float) -> float:
    """0 when one more call fits beside ``held`` slots and the sorted ``logged`` ones, else
    the seconds until it may: exact when a logged slot must leave first, else ``window``,
    the soonest a held slot can leave (it stays a window after it is given back)."""
    recent = [stamp for stamp in logged if now - stamp < window]
    excess = held + len(recent) - calls
    if excess < 0:
        return 0.0
    if excess < len(recent):
        return window - (now - recent[excess])
    return window


class RateLimiter(Protocol):
    """``async with limiter.slot(app_key, env):`` one REST call, sent and answered inside:
    the slot is taken when the limit for ``env`` has room and given back when the call is
    over (the module docstring says why the whole call)."""

    def slot(self, app_key: str, env: Environment) -> AbstractAsyncContextManager[None]: ...


@dataclass(slots=True)
class _Line:
    """One app key's queue (whether someone holds the turn, who waits for it) and its
    slots: how many calls are in flight, and when the finished ones were given back."""

    turn_taken: bool = False
    waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=deque
    )
    in_flight: int = 0
    logged: deque[float] = field(default_factory=deque)  # monotonic, in order


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
            return line is None or (not line.turn_taken and not line.waiters)

    def line(self, app_key: str) -> _Line:
        """The key's line; call with ``lock`` held."""
        line = self._lines.get(app_key)
        if line is None:
            line = self._lines[app_key] = _Line()
        return line

    async def take(self, app_key: str) -> None:
        with self.lock:
            line = self.line(app_key)
            if not line.turn_taken:  # nobody holds it, so nobody waits either
                line.turn_taken = True
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
            line.turn_taken = False

    def _deliver(self, app_key: str, waiter: asyncio.Future[None]) -> None:
        """On the waiter's loop: wake it, or pass the turn on if it was cancelled."""
        if waiter.done():
            self.give(app_key)
        else:
            waiter.set_result(None)


class InProcessRateLimiter:
    """Slots in memory: one process (any number of clients, loops or threads)."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._turns = _Turns()

    @contextlib.asynccontextmanager
    async def slot(self, app_key: str, env: Environment) -> AsyncIterator[None]:
        await self._take_slot(app_key, env)
        try:
            yield
        finally:
            with self._turns.lock:
                line = self._turns.line(app_key)
                line.in_flight -= 1
                line.logged.append(time.monotonic())

    async def _take_slot(self, app_key: str, env: Environment) -> None:
        calls, window = self.limits.per_second(env), self.limits.window_s
        await self._turns.take(app_key)
        try:
            while True:
                with self._turns.lock:
                    line = self._turns.line(app_key)
                    now = time.monotonic()
                    while line.logged and now - line.logged[0] >= window:
                        line.logged.popleft()
                    wait = _wait_s(line.logged, line.in_flight, now, calls, window)
                    if wait <= 0:
                        line.in_flight += 1
                        return
                await asyncio.sleep(wait)
        finally:
            self._turns.give(app_key)


_CLAIM = """
-- KEYS: slot log, waiter queue, waiter leases, ticket counter (one app key)
-- ARGV: waiter id, calls, window (us), hold (us), lease (us), queue
-- ("1": take a ticket when it cannot go now; "0": only go if it can, else leave no trace)
-- The log scores a slot in flight at its grant + hold, a finished one when it was given back.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local waiter, calls = ARGV[1], tonumber(ARGV[2])
local window, hold, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now))) do
  redis.call('ZREM', KEYS[2], gone)
  redis.call('ZREM', KEYS[3], gone)
end
-- A waiter goes when the window has room for it and for every waiter ahead of it; one
-- without a ticket yet would stand behind them all.
local rank = redis.call('ZRANK', KEYS[2], waiter) or redis.call('ZCARD', KEYS[2])
local taken = redis.call('ZCARD', KEYS[1])
local wait = 0
if taken + rank >= calls then
  local index = taken - calls + rank
  local frees = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  wait = window  -- the soonest a slot still in flight can leave
  if frees[2] and tonumber(frees[2]) <= now then
    wait = math.max(tonumber(frees[2]) + window - now, 1)
  end
  if ARGV[6] == '1' then
    if not redis.call('ZSCORE', KEYS[2], waiter) then
      redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), waiter)
    end
    redis.call('ZADD', KEYS[3], string.format('%d', now + lease), waiter)
  end
else
  redis.call('ZADD', KEYS[1], string.format('%d', now + hold), waiter)
  redis.call('ZREM', KEYS[2], waiter)
  redis.call('ZREM', KEYS[3], waiter)
end
local ttl = math.floor((hold + window + lease) / 1000) + 1000
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
return wait
"""

_GIVE_BACK = """
-- KEYS: slot log, waiter queue, waiter leases; ARGV: waiter id, window (ms), whether the
-- slot was surely taken ("1": log it even if its hold lapsed; "0": only if it is there)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', string.format('%d', now), ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local ttl = tonumber(ARGV[2]) + 1000
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
"""


class RedisRateLimiter:
    """Slots on Redis: all processes sharing ``redis`` stay under the limit together.

    Per app key Redis holds the slot log (a sorted set scored by the Redis clock, so process
    clocks need not agree) and a queue of waiters ordered by ticket. One Lua script asks
    "may I go now?" atomically: it drops slots that left the window, gives a new waiter the
    next ticket, and grants it a slot when the window has room for it and for every waiter
    ahead; otherwise it answers the microseconds until that room may open. A granted slot
    is logged ``hold_s`` ahead while its call is in flight, and at the Redis time it is
    given back once the call is over, so a process that dies mid-call frees its slots after
    ``hold_s`` plus the window; ``hold_s`` (30 s) outlasts the client's own timeouts (10 s
    per phase) before a request is sent. Waiters of all processes are admitted in ticket
    order. A waiter asks again at least every ``lease_s / 4`` and holds its place for
    ``lease_s`` after each ask, so the ticket of a process that died or froze lapses
    instead of blocking the key; a cancelled waiter gives its ticket back at once. The
    keys expire once the log and the leases have run out, plus a second.

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
        hold_s: float = 30.0,
    ) -> None:
        self.limits = limits or RateLimits()
        self._prefix = prefix
        self._claim = redis.register_script(_CLAIM)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._in_flight = asyncio.Semaphore(max_concurrent_calls)
        self._lease_s = lease_s
        self._hold_s = hold_s
        self._turns = _Turns()
        self._waiter_ids = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())

    def _keys(self, app_key: str) -> list[str]:
        base = f"{self._prefix}:{{{app_key}}}"  # one hash slot per app key on a cluster
        return [f"{base}:log", f"{base}:queue", f"{base}:leases", f"{base}:tickets"]

    @contextlib.asynccontextmanager
    async def slot(self, app_key: str, env: Environment) -> AsyncIterator[None]:
        keys = self._keys(app_key)
        waiter = next(self._waiter_ids)
        await self._take_slot(app_key, keys, waiter, env)
        try:
            yield
        finally:
            # If Redis cannot be reached to log the end, the slot is given back when its
            # hold lapses.
            with contextlib.suppress(Exception):
                await self._give_back(keys=keys[:3], args=self._give_back_args(waiter, True))

    def _give_back_args(self, waiter: str, taken: bool) -> list[str | int]:
        return [waiter, round(1000 * self.limits.window_s), 1 if taken else 0]

    async def _take_slot(
        self, app_key: str, keys: list[str], waiter: str, env: Environment
    ) -> None:
        args: list[str | int] = [
            waiter,
            self.limits.per_second(env),
            round(1_000_000 * self.limits.window_s),
            round(1_000_000 * self._hold_s),
            round(1_000_000 * self._lease_s),
        ]
        try:
            if self._turns.idle(app_key):
                # Nobody of this process waits for this key: try at once, in parallel with
                # the rest of a burst, and join the line only if there is no room.
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
            finally:
                self._turns.give(app_key)
        except BaseException:
            # Give the ticket back so the waiters behind need not wait out the lease, and
            # log the slot if the script granted it but its answer never came back; if
            # Redis cannot be reached for that, the lease and the hold lapse on their own.
            with contextlib.suppress(Exception):
                await self._give_back(keys=keys[:3], args=self._give_back_args(waiter, False))
            raise


_shared = InProcessRateLimiter()


def shared_rate_limiter() -> InProcessRateLimiter:
    """The process-wide default: every ``KisClient`` without its own limiter uses it, so
    two clients of one app key in one process still share one budget."""
    return _shared
