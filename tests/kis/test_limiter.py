"""Rate limiters (REFERENCE.md §6): achieved rate and the one-second-window ceiling, in
process and on the real Redis (hosted pass). Whole-client compliance is measured at the
simulator in test_client_rest.py."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kisweb.kis import Environment, InProcessRateLimiter, RateLimits, RedisRateLimiter


def max_in_any_window(stamps: list[float], window_s: float = 1.0) -> int:
    """The most timestamps inside any half-open window [t, t + window_s)."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_callers(limiter, app_key: str, env: Environment, callers: int, duration_s: float):
    stamps: list[float] = []
    stop_at = time.monotonic() + duration_s

    async def caller():
        while True:
            await limiter.acquire(app_key, env)
            now = time.monotonic()
            if now >= stop_at:
                return
            stamps.append(now)

    await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(callers))), duration_s + 30)
    return stamps


async def test_in_process_limiter_holds_200_callers_to_the_limit():
    limiter = InProcessRateLimiter(RateLimits(real_per_s=100.0))
    stamps = await run_callers(limiter, "app-1", Environment.REAL, callers=200, duration_s=2.0)
    assert max_in_any_window(stamps) <= 100
    assert len(stamps) / 2.0 >= 0.95 * 100


async def test_app_keys_have_separate_budgets():
    limiter = InProcessRateLimiter(RateLimits(paper_per_s=5.0))
    a, b = await asyncio.gather(
        run_callers(limiter, "app-a", Environment.PAPER, callers=10, duration_s=1.5),
        run_callers(limiter, "app-b", Environment.PAPER, callers=10, duration_s=1.5),
    )
    assert max_in_any_window(a) <= 5 and max_in_any_window(b) <= 5
    assert len(a) >= 7 and len(b) >= 7


@pytest.fixture
async def redis_client():
    import redis.asyncio as redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        await client.ping()
    except OSError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    yield client
    await client.aclose()


@pytest.mark.hosted
async def test_redis_limiter_holds_two_processes_together_to_the_limit(redis_client):
    """Two limiter instances stand for two processes sharing one app key."""
    prefix = f"test:kis:rate:{uuid.uuid4().hex}"
    limits = RateLimits(real_per_s=60.0)
    first = RedisRateLimiter(redis_client, limits, prefix=prefix)
    second = RedisRateLimiter(redis_client, limits, prefix=prefix)
    a, b = await asyncio.gather(
        run_callers(first, "app-1", Environment.REAL, callers=100, duration_s=2.5),
        run_callers(second, "app-1", Environment.REAL, callers=100, duration_s=2.5),
    )
    assert max_in_any_window(a + b) <= 60
    assert len(a + b) / 2.5 >= 0.95 * 60
    assert len(a) > 10 and len(b) > 10  # both processes got served
