"""A simulator per test, on the test's own loop, and clients pointed at it."""

from __future__ import annotations

from datetime import time

import pytest

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

KRX_SYMBOLS = tuple(code for code, *_ in KRX_LISTINGS)

# Most tests are about other rules than pacing: let them run fast (the limiter and the
# simulator's own limit are tested on their own).
FAST = {"real": 1000, "paper": 1000}


def distinct_reads(kis: KisClient, count: int) -> list:
    """``count`` reads no two of which ask the same thing, so none is shared with another
    (identical reads in flight are one call): minute bars of each symbol in turn, each
    ending a second later."""
    return [
        kis.minute_candles(KRX_SYMBOLS[i % len(KRX_SYMBOLS)], time(10, 0, i // len(KRX_SYMBOLS)))
        for i in range(count)
    ]


def credentials_for(account) -> KisCredentials:
    return KisCredentials(
        app_key=account.appkey,
        app_secret=account.appsecret,
        account_no=account.cano,
        product_code=account.acnt_prdt_cd,
        hts_id=account.hts_id,
        env=Environment(account.env),
    )


@pytest.fixture
async def sim():
    simulator = Simulator(accounts=[], seed=0, speed=0, rate_limits=FAST)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def make_client(sim):
    """make_client(env, **account_overrides, client=dict(...)) -> (account, KisClient)."""
    clients: list[KisClient] = []

    def factory(env: str = "paper", *, client: dict | None = None, **account_kwargs):
        account = sim.add_account(make_account(env, **account_kwargs))
        options = {
            "token_store": MemoryTokenStore(),
            "limiter": InProcessRateLimiter(RateLimits(real_per_s=500, paper_per_s=500)),
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
            **(client or {}),
        }
        url = sim.real_url if env == "real" else sim.paper_url
        ws_url = sim.real_ws_url if env == "real" else sim.paper_ws_url
        kis = KisClient(credentials_for(account), url, ws_url, **options)
        clients.append(kis)
        return account, kis

    yield factory
    for kis in clients:
        await kis.aclose()
