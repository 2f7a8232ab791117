"""Per-app-key request limits: 20/s real, 2/s paper, sliding one-second window (§6)."""

from __future__ import annotations

import asyncio

import pytest

from kisweb.kissim import Simulator, make_account

from .conftest import Kis


def max_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture
async def limited():
    accounts = [make_account("real"), make_account("paper")]
    sim = Simulator(accounts=accounts, speed=0)
    await sim.start()
    clients = [await Kis(sim, a).login() for a in accounts]
    yield sim, clients
    for kis in clients:
        await kis.aclose()
    await sim.stop()


@pytest.mark.parametrize(("env", "limit", "burst"), [("real", 20, 60), ("paper", 2, 8)])
async def test_nothing_over_the_limit_is_answered_ok(limited, env, limit, burst):
    sim, clients = limited
    kis = next(k for k in clients if k.account.env == env)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.6
    responses = []
    while loop.time() < deadline:  # keep pushing for a bit over a second
        batch = await asyncio.gather(*(kis.price("005930") for _ in range(burst // 4)))
        responses.extend(batch)
    refused = [r for r in responses if r.status_code != 200]
    assert refused, "the burst never hit the limit"
    for response in refused:
        assert response.status_code == 500
        assert response.json() == {
            "rt_cd": "1",
            "msg_cd": "EGW00201",
            "msg1": "초당 거래건수를 초과하였습니다.",
        }
    answered = [r.t for r in sim.stats.requests(appkey=kis.account.appkey) if r.status == 200]
    assert max_in_any_second(answered) <= limit
    assert len(answered) >= limit  # the limit is reachable, not just refused


async def test_limits_are_per_app_key(limited):
    sim, clients = limited
    real = next(k for k in clients if k.account.env == "real")
    other = await Kis(sim, sim.add_account(make_account("real"))).login()
    try:
        await asyncio.gather(*(real.price("005930") for _ in range(25)))
        assert (await other.price("005930")).status_code == 200
    finally:
        await other.aclose()


async def test_token_endpoint_is_not_under_the_request_limit(limited):
    sim, clients = limited
    paper = next(k for k in clients if k.account.env == "paper")
    for _ in range(5):
        await paper.login()  # the same token back, never EGW00201
    assert sim.stats.token_issues(paper.account.appkey) == 1
