"""The exchange: seeded walk on the KRX grid inside the limits, speed, clock (§8)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisweb.kissim import Simulator
from kisweb.kissim.clock import KST, Clock, Session
from kisweb.kissim.market import Market
from kisweb.kissim.symbols import krx_tick


def prices(market: Market) -> dict[str, Decimal]:
    return {code: sym.price for code, sym in market.symbols.items()}


def test_same_seed_same_market():
    a, b, c = Market(seed=11), Market(seed=11), Market(seed=12)
    for _ in range(15):
        a.step()
        b.step()
        c.step()
    assert prices(a) == prices(b)
    assert prices(a) != prices(c)
    assert [lvl.qty for lvl in a.quote("005930").asks] == [
        lvl.qty for lvl in b.quote("005930").asks
    ]


def test_history_does_not_depend_on_access_order():
    a, b = Market(seed=3), Market(seed=3)
    a.history(a.quote("000660"))
    assert a.history(a.quote("005930")) == b.history(b.quote("005930"))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 25))
def test_walk_stays_on_the_grid_inside_the_limits(seed, steps):
    market = Market(seed=seed)
    for _ in range(steps):
        market.step()
    for sym in market.symbols.values():
        assert sym.on_grid(sym.price)
        assert all(sym.on_grid(level.price) for level in sym.asks + sym.bids)
        asks = [level.price for level in sym.asks]
        bids = [level.price for level in sym.bids]
        assert asks == sorted(asks) and bids == sorted(bids, reverse=True)
        if sym.domestic:
            assert sym.lower <= sym.price <= sym.upper
            assert all(sym.lower <= p <= sym.upper for p in asks + bids)
            assert len(sym.bids) == 10


@pytest.mark.parametrize(
    ("price", "tick"),
    [(1999, 1), (2000, 5), (4995, 5), (5000, 10), (19990, 10), (20000, 50), (49950, 50),
     (50000, 100), (199900, 100), (200000, 500), (499500, 500), (500000, 1000)],
)  # fmt: skip
def test_krx_tick_table(price, tick):
    assert krx_tick(Decimal(price)) == tick


def test_moves_cross_tick_boundaries():
    sym = Market().quote("005930")
    assert sym.move(Decimal(50000), -1) == Decimal(49950)
    assert sym.move(Decimal(49950), 1) == Decimal(50000)
    assert sym.move(Decimal(2000), -1) == Decimal(1999)
    assert sym.move(Decimal(1999), 1) == Decimal(2000)


def test_limits_are_thirty_percent_on_the_grid():
    market = Market()
    kakao = market.quote("035720")  # base 41,250
    assert (kakao.upper, kakao.lower) == (Decimal(53600), Decimal(28900))
    hanwha_life = market.quote("088350")  # base 2,745
    assert (hanwha_life.upper, hanwha_life.lower) == (Decimal(3565), Decimal(1922))


def test_set_price_refuses_off_grid_and_out_of_limits():
    market = Market()
    with pytest.raises(ValueError):
        market.set_price("005930", 71050)
    with pytest.raises(ValueError):
        market.set_price("005930", 92400)


def test_listed_symbols():
    market = Market()
    assert market.quote("005930").name == "삼성전자"
    assert market.quote("373220").name == "LG에너지솔루션"
    assert market.quote("AAPL").market == "NAS"
    domestic = [s for s in market.symbols.values() if s.domestic]
    assert len(domestic) >= 60  # enough holdings to page a real balance (50 per page)


async def test_speed_sets_the_tick_rate():
    sim = Simulator(accounts=[], speed=100)
    steps = []
    sim.market.subscribe(
        lambda e: e.kind == "book" and e.symbol.code == "005930" and steps.append(1)
    )
    await sim.start()
    try:
        async with asyncio.timeout(2):
            while len(steps) < 20:  # 20 steps at 100/s; speed 1 would need 20 s
                await asyncio.sleep(0.01)
    finally:
        await sim.stop()


async def test_closed_krx_clock_pauses_the_walk():
    saturday = dt.datetime(2026, 11, 28, 11, 0, tzinfo=KST)
    sim = Simulator(accounts=[], speed=100, clock="krx", now=lambda: saturday)
    before = prices(sim.market)
    await sim.start()
    await asyncio.sleep(0.2)  # 20 steps at speed 100: an open market would have moved
    await sim.stop()
    assert prices(sim.market) == before


@pytest.mark.parametrize(
    ("moment", "session"),
    [
        ("2026-11-24 08:59:59", Session.PRE_OPEN),
        ("2026-11-24 09:00:00", Session.OPEN),
        ("2026-11-24 15:29:59", Session.OPEN),
        ("2026-11-24 15:30:00", Session.CLOSED),
        ("2026-11-29 10:00:00", Session.HOLIDAY),  # Sunday
        ("2026-09-24 10:00:00", Session.HOLIDAY),  # Chuseok
    ],
)
def test_krx_sessions(moment, session):
    naive = dt.datetime.fromisoformat(moment)  # naive means KST
    assert Clock("krx", now=lambda: naive).session() is session


def test_clock_converts_other_zones_to_kst():
    utc = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # 10:00 KST
    clock = Clock("krx", now=lambda: utc)
    assert clock.is_open
    assert clock.now().hour == 10


def test_always_clock_is_always_open():
    sunday = dt.datetime(2026, 11, 29, 3, 0, tzinfo=KST)
    assert Clock("always", now=lambda: sunday).is_open
    with pytest.raises(ValueError):
        Clock("sometimes")
