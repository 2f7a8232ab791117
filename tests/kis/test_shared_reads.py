"""Identical reads in flight at once are one call (issue #9): counted at the simulator, across
clients of one app key, never for orders, never kept after the call returns."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest

from kisweb.kis import InvalidCredential, KisClient, MemoryTokenStore, UpstreamUnavailable

from .conftest import credentials_for

_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
_ORDER = "/uapi/domestic-stock/v1/trading/order-cash"


async def wait_for(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_three_concurrent_quotes_of_one_symbol_are_one_call(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    quotes = await asyncio.gather(*(kis.quote("005930") for _ in range(3)))
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 1
    assert quotes[0] == quotes[1] == quotes[2]


async def test_clients_of_one_app_key_share_a_read(sim, make_client):
    """The Django apps open a client per request: sharing must not stop at one instance."""
    store = MemoryTokenStore()
    account, first = make_client("paper", client={"token_store": store})
    await first.ensure_token()
    others = [KisClient(credentials_for(account), sim.paper_url, token_store=store) for _ in "ab"]
    try:
        quotes = await asyncio.gather(first.quote("005930"), *(c.quote("005930") for c in others))
    finally:
        for other in others:
            await other.aclose()
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 1
    assert len({quote.price for quote in quotes}) == 1


async def test_different_symbols_and_different_app_keys_are_separate_calls(sim, make_client):
    account, kis = make_client("paper")
    other_account, other = make_client("paper")
    await asyncio.gather(kis.ensure_token(), other.ensure_token())
    await asyncio.gather(
        kis.quote("005930"), kis.quote("000660"), kis.quote("035720"), other.quote("005930")
    )
    mine = sim.stats.requests(appkey=account.appkey, path=_PRICE)
    assert len(mine) == 3
    assert len(sim.stats.requests(appkey=other_account.appkey, path=_PRICE)) == 1


async def test_a_client_with_the_right_key_but_a_wrong_secret_shares_nothing(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    wrong = dataclasses.replace(credentials_for(account), app_secret="x" * 180)
    async with KisClient(wrong, sim.paper_url) as impostor:
        good, refused = await asyncio.gather(
            kis.quote("005930"), impostor.quote("005930"), return_exceptions=True
        )
    assert good.symbol == "005930"
    assert type(refused) is InvalidCredential
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 1


async def test_nothing_is_kept_after_the_call_returns(sim, make_client):
    account, kis = make_client("paper")
    await kis.quote("005930")
    await kis.quote("005930")
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 2


async def test_an_error_answer_reaches_every_caller_waiting(sim, make_client):
    account, kis = make_client("paper", client={"read_attempts": 1})
    await kis.ensure_token()
    sim.faults.http_500 = True
    results = await asyncio.gather(*(kis.quote("005930") for _ in range(3)), return_exceptions=True)
    assert [type(result) for result in results] == [UpstreamUnavailable] * 3
    assert {result.code for result in results} == {"EGW00002"}
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 1


async def test_identical_concurrent_orders_are_each_sent(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    acks = await asyncio.gather(*(kis.buy("005930", 1, Decimal(60000)) for _ in range(3)))
    assert len({ack.order_no for ack in acks}) == 3
    assert len(sim.stats.requests(appkey=account.appkey, path=_ORDER)) == 3
    assert sim.stats.orders_received(account.appkey) == 3


async def test_a_caller_that_gives_up_leaves_the_read_to_the_others(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    sim.faults.hang = True
    leaving = asyncio.create_task(kis.quote("005930"))
    staying = asyncio.create_task(kis.quote("005930"))
    await wait_for(lambda: sim.api.inflight)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    sim.faults.hang = False
    sim.faults.drop_sockets()  # the hung attempt fails; the read retries for the one waiting
    assert (await staying).symbol == "005930"
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 1
