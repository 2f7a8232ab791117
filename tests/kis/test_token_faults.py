"""Access-token rules against the simulator under adversarial sequences (docs/kis-protocol.md
§2.1, §5): every read in flight refused at once, a store already renewed by another
process, and a wall clock that jumps backwards."""

from __future__ import annotations

import asyncio

import pytest

from kisweb.kis import (
    InProcessRateLimiter,
    KisClient,
    MemoryTokenStore,
    RateLimits,
    TokenIssueTooSoon,
)
from tests.helpers import Clock

from .conftest import KRX_SYMBOLS, credentials_for

_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"


async def test_fifty_reads_refused_at_once_renew_the_token_once(sim, make_client):
    sim.tokens.issue_interval_s = 0.0  # the client's own clock keeps the minute
    clock = Clock()
    account, kis = make_client("paper", client={"now": clock})
    await kis.ensure_token()
    sim.faults.expire_tokens()
    clock.advance(seconds=61)
    quotes = await asyncio.gather(*(kis.quote(symbol) for symbol in KRX_SYMBOLS[:50]))
    assert len(quotes) == 50
    assert sim.stats.token_issues(account.appkey) == 2
    refused = [r for r in sim.stats.requests(path=_PRICE) if r.msg_cd == "EGW00123"]
    assert len(refused) == 50
    assert len(sim.stats.requests(path=_PRICE)) == 100  # each read repeated exactly once


async def test_a_token_another_process_renewed_is_picked_up_without_an_issue(sim, make_client):
    sim.tokens.issue_interval_s = 0.0
    clock = Clock()
    store = MemoryTokenStore()
    account, first = make_client("paper", client={"now": clock, "token_store": store})
    second = KisClient(
        credentials_for(account),
        sim.paper_url,
        token_store=store,
        now=clock,
        limiter=InProcessRateLimiter(RateLimits(paper_per_s=500)),
    )
    try:
        await first.quote("005930")
        await second.quote("005930")
        sim.faults.expire_tokens()
        clock.advance(seconds=61)
        await second.quote("005930")  # renews and saves
        await first.quote("005930")  # its cached token is refused; the store has the new one
    finally:
        await second.aclose()
    assert sim.stats.token_issues(account.appkey) == 2


async def test_a_clock_that_jumps_back_does_not_block_token_issue_for_longer_than_the_minute(
    sim, make_client
):
    """The issue time is an hour "in the future" after the jump: the client must not wait
    for the clock to catch up (an hour without trading), only one interval from now."""
    sim.tokens.issue_interval_s = 0.0
    clock = Clock()
    account, kis = make_client("paper", client={"now": clock})
    await kis.quote("005930")
    clock.advance(hours=-1)
    sim.faults.expire_tokens()
    with pytest.raises(TokenIssueTooSoon) as refusal:
        await kis.quote("005930")
    assert refusal.value.retry_after_s <= 60
    clock.advance(seconds=61)
    assert (await kis.quote("005930")).symbol == "005930"
    assert sim.stats.token_issues(account.appkey) == 2
