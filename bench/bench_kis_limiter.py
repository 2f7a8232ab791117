"""Rate limiter: achieved rate vs the configured limit over 10 s with 200 concurrent
callers (target 95–100% of the limit, never over it in any 1-s window), in process and on
Redis at 127.0.0.1:6379 when it is reachable."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kisweb.kis import (
    Environment,
    InProcessRateLimiter,
    RateLimits,
    RedisRateLimiter,
)

DURATION_S = 10.0
CALLERS = 200
LIMITS = RateLimits()  # the defaults: 18/s real


def max_in_any_window(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def measure(limiter) -> tuple[float, int]:
    stamps: list[float] = []
    app_key = f"bench-{uuid.uuid4().hex}"

    async def caller():
        while True:
            await limiter.acquire(app_key, Environment.REAL)
            stamps.append(time.monotonic())

    tasks = [asyncio.create_task(caller()) for _ in range(CALLERS)]
    await asyncio.sleep(DURATION_S)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return len(stamps) / DURATION_S, max_in_any_window(stamps)


def report(name: str, achieved: float, worst: int) -> bool:
    limit = LIMITS.real_per_s
    share = achieved / limit
    ok = 0.95 <= share <= 1.0 and worst <= limit
    print(
        f"{name}: {achieved:.2f}/s of {limit:g}/s ({share:.1%}); busiest 1-s window "
        f"{worst} calls; {CALLERS} callers, {DURATION_S:g} s {'PASS' if ok else 'FAIL'}"
    )
    return ok


async def main() -> int:
    ok = report("in-process", *await measure(InProcessRateLimiter(LIMITS)))
    try:
        import redis.asyncio as redis

        client = redis.Redis(host="127.0.0.1", port=6379)
        await client.ping()
    except (ImportError, OSError):
        print("redis: not reachable, skipped")
        return 0 if ok else 1
    prefix = f"bench:kis:rate:{uuid.uuid4().hex}"
    ok &= report("redis", *await measure(RedisRateLimiter(client, LIMITS, prefix=prefix)))
    await client.aclose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
