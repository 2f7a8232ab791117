"""kisweb.kis against the simulator: the KRX calendar, product names, venues and the order
types beyond 00–04, US order types and US revise/cancel (docs/kis-protocol.md §4.1–§4.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kisweb.kis import (
    Environment,
    InProcessRateLimiter,
    KisClient,
    KisCredentials,
    MemoryTokenStore,
    NotSupported,
    OrderType,
    RateLimits,
    UsExchange,
    UsOrderType,
    Venue,
)
from kisweb.kissim import Simulator, make_account

SAMSUNG = "005930"


@pytest.fixture
async def sim():
    simulator = Simulator(accounts=[], seed=0, speed=0, rate_limits={"real": 1000, "paper": 1000})
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def make_client(sim):
    clients: list[KisClient] = []

    def factory(env: str = "paper", **account_kwargs):
        account = sim.add_account(make_account(env, **account_kwargs))
        creds = KisCredentials(
            app_key=account.appkey,
            app_secret=account.appsecret,
            account_no=account.cano,
            product_code=account.acnt_prdt_cd,
            hts_id=account.hts_id,
            env=Environment(account.env),
        )
        url = sim.real_url if env == "real" else sim.paper_url
        kis = KisClient(
            creds,
            url,
            token_store=MemoryTokenStore(),
            limiter=InProcessRateLimiter(RateLimits(real_per_s=500, paper_per_s=500)),
        )
        clients.append(kis)
        return account, kis

    yield factory
    for kis in clients:
        await kis.aclose()


def requests_to(sim, path_end: str) -> int:
    return sum(1 for r in sim.stats.requests() if r.path.endswith(path_end))


async def test_market_days_follow_every_page(sim, make_client):
    _, kis = make_client("real")
    days = await kis.market_days(dt.date(2026, 12, 21))
    assert len(days) == 30  # two pages of the simulator's fifteen
    assert days[0].day == dt.date(2026, 12, 21) and days[0].open
    by_day = {d.day: d for d in days}
    assert not by_day[dt.date(2026, 12, 25)].open
    assert not by_day[dt.date(2026, 12, 26)].open  # Saturday
    assert by_day[dt.date(2026, 12, 26)].weekday_code == "07"
    year_end = by_day[dt.date(2026, 12, 31)]
    assert (year_end.open, year_end.business_day) == (False, True)
    assert requests_to(sim, "/chk-holiday") == 2


async def test_paper_has_no_calendar_and_nothing_is_sent(sim, make_client):
    _, kis = make_client("paper")
    with pytest.raises(NotSupported):
        await kis.market_days(dt.date(2026, 12, 21))
    with pytest.raises(NotSupported):
        await kis.product_info(SAMSUNG)
    assert requests_to(sim, "/chk-holiday") == 0


async def test_product_info_names_the_stock(make_client):
    _, kis = make_client("real")
    info = await kis.product_info(SAMSUNG)
    assert info.name == "삼성전자"
    assert (await kis.product_info("AAPL", "512")).name


async def test_quotes_and_books_come_from_the_venue(sim, make_client):
    _, kis = make_client("real")
    sim.market.set_price(SAMSUNG, 71000)
    assert (await kis.quote(SAMSUNG)).price == Decimal(71000)
    assert (await kis.quote(SAMSUNG, Venue.NXT)).price == Decimal(71100)
    assert (await kis.quote(SAMSUNG, Venue.SOR)).price == Decimal(71000)
    assert (await kis.order_book(SAMSUNG, Venue.NXT)).asks[0].price == Decimal(71200)


async def test_orders_carry_their_venue_and_revise_on_it(sim, make_client):
    account, kis = make_client("real", cash_krw=10_000_000)
    sim.market.set_price(SAMSUNG, 71000)
    ack = await kis.buy(SAMSUNG, 1, Decimal(70000), venue=Venue.NXT)
    ledger = sim.market.ledgers[account.appkey]
    assert ledger.orders[ack.order_no].venue == "NXT"
    revised = await kis.revise(ack.order_no, ack.branch_no, price=Decimal(70100), venue=Venue.NXT)
    assert ledger.orders[revised.order_no].venue == "NXT"
    executions = await kis.daily_executions(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
    venues = {row.order_no: row.venue for row in executions.rows}
    assert venues[ack.order_no] == venues[revised.order_no] == "NXT"


async def test_paper_refuses_nxt_before_sending(sim, make_client):
    account, kis = make_client("paper")
    with pytest.raises(NotSupported):
        await kis.buy(SAMSUNG, 1, Decimal(70000), venue=Venue.SOR)
    assert sim.stats.orders_received(account.appkey) == 0


async def test_real_sends_ioc_best_and_after_hours_codes(sim, make_client):
    account, kis = make_client("real", cash_krw=10_000_000)
    sim.market.set_price(SAMSUNG, 71000)
    sim.market.set_liquidity(SAMSUNG, 3)
    ack = await kis.buy(SAMSUNG, 5, None, OrderType.IOC_BEST)
    order = sim.market.ledgers[account.appkey].orders[ack.order_no]
    assert (order.ord_dvsn, order.price, order.filled, order.cancelled) == ("15", 0, 3, 2)
    assert OrderType.AFTER_HOURS_SINGLE_PRICE.needs_price
    assert not OrderType.POST_MARKET_OFF_HOURS.needs_price


async def test_us_order_types_and_revise_cancel(sim, make_client):
    account, kis = make_client("real", cash_usd=100_000, holdings={"AAPL": 5})
    loc = await kis.us_buy(
        "AAPL", 1, Decimal("1.00"), UsExchange.NASDAQ, UsOrderType.LIMIT_ON_CLOSE
    )
    ledger = sim.market.ledgers[account.appkey]
    assert ledger.orders[loc.order_no].ord_dvsn == "34"
    with pytest.raises(ValueError):
        await kis.us_buy("AAPL", 1, Decimal("1.00"), order_type=UsOrderType.MARKET_ON_OPEN)
    revised = await kis.us_revise(loc.order_no, "AAPL", price=Decimal("1.01"), quantity=1)
    assert ledger.orders[revised.order_no].price == Decimal("1.01")
    assert not ledger.orders[loc.order_no].is_open
    cancelled = await kis.us_cancel(revised.order_no, "AAPL", quantity=1)
    assert not ledger.orders[revised.order_no].is_open
    assert ledger.orders[cancelled.order_no].kind.value == "02"


async def test_paper_us_is_limit_only(sim, make_client):
    account, kis = make_client("paper", cash_usd=100_000)
    with pytest.raises(NotSupported):
        await kis.us_buy("AAPL", 1, Decimal("1.00"), order_type=UsOrderType.LIMIT_ON_OPEN)
    assert sim.stats.orders_received(account.appkey) == 0
