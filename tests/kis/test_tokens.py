"""TokenManager rules without a network (docs/kis-protocol.md §2.1): single flight, renewal before
expiry, the once-a-minute issue rule, invalidation, and the Redis issue lock across
"processes". The issue function is a counting coroutine passed in, as the manager takes
it; the same rules are checked against the simulator in test_client_rest.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from kisweb.kis import (
    MemoryTokenStore,
    RedisIssueLock,
    Token,
    TokenIssueTooSoon,
    TokenKind,
    TokenManager,
)
from tests.helpers import Clock


class Issuer:
    """Counts issues; each takes a moment, so concurrent callers really overlap."""

    def __init__(self, clock: Clock, lifetime=timedelta(hours=24)) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.count = 0

    async def __call__(self) -> Token:
        self.count += 1
        await asyncio.sleep(0.01)
        now = self.clock()
        return Token(f"token-{self.count}", expires_at=now + self.lifetime, issued_at=now)


def manager(clock, issuer, store=None, **kwargs) -> TokenManager:
    return TokenManager(
        app_key="app-1",
        kind=TokenKind.ACCESS,
        issue=issuer,
        store=store or MemoryTokenStore(),
        now=clock,
        **kwargs,
    )


async def test_100_concurrent_cold_calls_issue_once():
    clock = Clock()
    issuer = Issuer(clock)
    tokens = manager(clock, issuer)
    results = await asyncio.gather(*(tokens.get() for _ in range(100)))
    assert issuer.count == 1
    assert {t.value for t in results} == {"token-1"}


async def test_a_token_is_renewed_when_less_than_ten_minutes_remain():
    clock = Clock()
    issuer = Issuer(clock)
    tokens = manager(clock, issuer)
    assert (await tokens.get()).value == "token-1"
    clock.advance(hours=23, minutes=49)
    assert (await tokens.get()).value == "token-1"
    clock.advance(minutes=2)
    assert (await tokens.get()).value == "token-2"


async def test_a_refused_token_inside_the_minute_raises_issue_too_soon_with_the_time_left():
    clock = Clock()
    issuer = Issuer(clock)
    tokens = manager(clock, issuer)
    first = await tokens.get()
    clock.advance(seconds=20)
    tokens.invalidate(first)
    with pytest.raises(TokenIssueTooSoon) as refusal:
        await tokens.get()
    assert refusal.value.retry_after_s == pytest.approx(40)
    assert issuer.count == 1
    clock.advance(seconds=41)
    assert (await tokens.get()).value == "token-2"


async def test_renewal_inside_the_minute_keeps_the_current_token():
    """A short-lived token wants renewal at once; the rule holds the next issue back."""
    clock = Clock()
    issuer = Issuer(clock, lifetime=timedelta(minutes=5))
    tokens = manager(clock, issuer)
    assert (await tokens.get()).value == "token-1"
    clock.advance(seconds=30)
    assert (await tokens.get()).value == "token-1"
    clock.advance(seconds=31)
    assert (await tokens.get()).value == "token-2"
    assert issuer.count == 2


async def test_a_token_in_the_store_is_reused_by_a_new_manager():
    clock = Clock()
    store = MemoryTokenStore()
    first = Issuer(clock)
    await manager(clock, first, store).get()
    second = Issuer(clock)
    assert (await manager(clock, second, store).get()).value == "token-1"
    assert second.count == 0


async def test_a_failed_renewal_falls_back_to_the_still_valid_token():
    clock = Clock()
    store = MemoryTokenStore()
    await manager(clock, Issuer(clock, lifetime=timedelta(minutes=30)), store).get()
    clock.advance(minutes=25)

    async def failing_issue() -> Token:
        raise OSError("KIS unreachable")

    assert (await manager(clock, failing_issue, store).get()).value == "token-1"


@pytest.mark.hosted
async def test_the_redis_issue_lock_makes_two_processes_issue_once():
    """Two managers with their own in-process locks stand for two processes; they share
    the store's data and a Redis issue lock, as the Django store does in hosted mode."""
    import redis.asyncio as redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    lock = RedisIssueLock(client, prefix=f"test:kis:lock:{uuid.uuid4().hex}", poll_s=0.005)
    shared = MemoryTokenStore(issue_lock=lock)
    clock = Clock()
    issuer = Issuer(clock)
    first, second = manager(clock, issuer, shared), manager(clock, issuer, shared)
    results = await asyncio.gather(*(m.get() for m in (first, second) for _ in range(50)))
    await client.aclose()
    assert issuer.count == 1
    assert {t.value for t in results} == {"token-1"}
