"""REST round trips through ``KisClient`` against the simulator: latency percentiles for a
quote and for an order, throughput with 50 concurrent callers, and memory.

Client and simulator share one process and one event loop here, so each figure includes
the simulator's own work; against KIS the network dominates. The limits are lifted so the
figures show our overhead, not KIS's 20/s.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kisweb.kis import (
    Environment,
    InProcessRateLimiter,
    KisClient,
    KisCredentials,
    MemoryTokenStore,
    RateLimits,
)
from kisweb.kissim import Simulator, make_account
from kisweb.kissim.symbols import KRX_LISTINGS

QUOTES = 2000
ORDERS = 500
CONCURRENT_CALLERS = 50
CONCURRENT_CALLS = 4000


def percentiles(samples_s: list[float]) -> str:
    cuts = statistics.quantiles(samples_s, n=100, method="inclusive")
    p50, p95, p99 = cuts[49], cuts[94], cuts[98]
    return f"p50 {p50 * 1e3:.2f} ms  p95 {p95 * 1e3:.2f} ms  p99 {p99 * 1e3:.2f} ms"


async def timed(calls: int, call) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def main() -> int:
    sim = Simulator(accounts=[], speed=0, rate_limits={"real": 1_000_000, "paper": 1_000_000})
    await sim.start()
    account = sim.add_account(make_account("real", cash_krw=10**12))
    creds = KisCredentials(
        app_key=account.appkey,
        app_secret=account.appsecret,
        account_no=account.cano,
        product_code=account.acnt_prdt_cd,
        hts_id=account.hts_id,
        env=Environment.REAL,
    )
    limiter = InProcessRateLimiter(RateLimits(real_per_s=1_000_000, paper_per_s=1_000_000))
    kis = KisClient(creds, sim.real_url, token_store=MemoryTokenStore(), limiter=limiter)
    try:
        await kis.ensure_token()
        await timed(50, lambda: kis.quote("005930"))  # warm the connection pool
        quotes = await timed(QUOTES, lambda: kis.quote("005930"))
        print(f"quote  ({QUOTES} sequential):  {percentiles(quotes)}")

        # Resting buys far under the market: each is a full journal-free send and answer.
        floor = (await kis.quote("005930")).lower_limit
        orders = await timed(ORDERS, lambda: kis.buy("005930", 1, Decimal(floor)))
        print(f"order  ({ORDERS} sequential):   {percentiles(orders)}")

        started = time.perf_counter()
        per_caller = CONCURRENT_CALLS // CONCURRENT_CALLERS

        # Each caller asks its own symbol: identical reads in flight are shared as one call,
        # and this figure is about round trips.
        async def caller(code: str):
            for _ in range(per_caller):
                await kis.quote(code)

        await asyncio.gather(*(caller(code) for code, *_ in KRX_LISTINGS[:CONCURRENT_CALLERS]))
        elapsed = time.perf_counter() - started
        print(
            f"quotes with {CONCURRENT_CALLERS} concurrent callers, one symbol each: "
            f"{CONCURRENT_CALLS / elapsed:,.0f} calls/s"
        )
        # Memory last: tracing slows every allocation and would skew the timings above.
        tracemalloc.start()
        await timed(QUOTES, lambda: kis.quote("005930"))
        _, quote_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"memory: traced peak over {QUOTES} quotes {quote_peak / 1024:,.0f} KiB; ", end="")
        print(
            f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
        )
    finally:
        await kis.aclose()
        await sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
