"""KisClient against the simulator over real sockets: tokens, operations, paging, errors,
retries, the order rules (never resent; lost answer -> OutcomeUnknown) and rate limits,
all counted at the simulator."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from kisweb.kis import (
    InProcessRateLimiter,
    InvalidCredential,
    KisClient,
    MemoryTokenStore,
    NotSupported,
    OrderType,
    OutcomeUnknown,
    RateLimited,
    RateLimits,
    Rejected,
    Side,
    TokenIssueTooSoon,
    UpstreamUnavailable,
)
from kisweb.kis.client import KST
from kisweb.kissim import Simulator, make_account
from tests.helpers import Clock, max_in_any_window

from .conftest import KRX_SYMBOLS, credentials_for, distinct_reads


def today():
    return datetime.now(KST).date()


# -- tokens -----------------------------------------------------------------------------------


async def test_100_concurrent_cold_calls_send_one_token_request(sim, make_client):
    account, kis = make_client("paper")
    quotes = await asyncio.gather(*(kis.quote("005930") for _ in range(100)))
    assert len(sim.stats.requests(path="/oauth2/tokenP")) == 1
    assert sim.stats.token_issues(account.appkey) == 1
    assert {q.symbol for q in quotes} == {"005930"}


async def test_a_client_sharing_the_store_reuses_the_token(sim, make_client):
    store = MemoryTokenStore()
    account, first = make_client("paper", client={"token_store": store})
    await first.ensure_token()
    second = KisClient(credentials_for(account), sim.paper_url, token_store=store)
    await second.ensure_token()
    await second.aclose()
    assert len(sim.stats.requests(path="/oauth2/tokenP")) == 1


async def test_a_wrong_secret_is_an_invalid_credential(sim):
    account = sim.add_account(make_account("paper"))
    creds = credentials_for(account)
    wrong = type(creds)(**{**_fields(creds), "app_secret": "x" * 180})
    async with KisClient(wrong, sim.paper_url) as kis:
        with pytest.raises(InvalidCredential) as refusal:
            await kis.ensure_token()
    assert refusal.value.code == "EGW00105"
    assert "x" * 20 not in str(refusal.value)


async def test_a_paper_key_on_the_real_host_is_an_invalid_credential(sim):
    account = sim.add_account(make_account("paper"))
    async with KisClient(credentials_for(account), sim.real_url) as kis:
        with pytest.raises(InvalidCredential):
            await kis.ensure_token()


async def test_an_expired_token_is_renewed_once_and_the_read_retried(sim, make_client):
    sim.tokens.issue_interval_s = 0.0  # the client's own clock keeps the minute
    clock = Clock()
    account, kis = make_client("paper", client={"now": clock})
    await kis.quote("005930")
    sim.faults.expire_tokens()
    clock.advance(seconds=61)
    assert (await kis.quote("005930")).symbol == "005930"
    assert sim.stats.token_issues(account.appkey) == 2
    refused, served = sim.stats.requests(path=_PRICE)[-2:]
    assert (refused.msg_cd, served.status) == ("EGW00123", 200)


async def test_an_expired_token_inside_the_minute_raises_issue_too_soon(sim, make_client):
    clock = Clock()
    _, kis = make_client("paper", client={"now": clock})
    await kis.quote("005930")
    sim.faults.expire_tokens()
    clock.advance(seconds=15)
    with pytest.raises(TokenIssueTooSoon) as refusal:
        await kis.quote("005930")
    assert refusal.value.retry_after_s == pytest.approx(45)
    assert len(sim.stats.requests(path="/oauth2/tokenP")) == 1  # the rule held it back here


async def test_the_token_is_renewed_before_it_expires(sim, make_client):
    clock = Clock()
    _, kis = make_client("paper", client={"now": clock})
    first = await kis.ensure_token()
    clock.advance(hours=23, minutes=45)
    await kis.quote("005930")
    assert len(sim.stats.requests(path="/oauth2/tokenP")) == 1
    clock.advance(minutes=6)  # now < 10 minutes remain
    renewed = await kis.ensure_token()
    assert len(sim.stats.requests(path="/oauth2/tokenP")) == 2
    assert renewed.expires_at > first.expires_at


# -- operations -------------------------------------------------------------------------------

_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-price"
_MINUTES = "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice"


async def test_quotes_books_and_candles_are_typed(make_client):
    _, kis = make_client("real")
    quote = await kis.quote("005930")
    assert quote.price > 0 and quote.tick_size == Decimal(100) and quote.market_name
    book = await kis.order_book("005930")
    assert len(book.asks) == 10 and book.asks[0].price > book.bids[0].price
    assert all(isinstance(level.quantity, int) for level in book.asks + book.bids)
    daily = await kis.daily_candles("005930", today() - timedelta(days=60), today())
    assert daily and [c.date for c in daily] == sorted(c.date for c in daily)
    minutes = await kis.minute_candles("005930")
    assert minutes and all(c.time is not None for c in minutes)
    power = await kis.buying_power("005930", Decimal(71000))
    assert power.no_margin_quantity > 0


async def test_buy_revise_cancel_and_the_revisable_list_on_a_real_account(sim, make_client):
    account, kis = make_client("real")
    ack = await kis.buy("005930", 3, Decimal(60000))
    assert ack.order_no and ack.branch_no
    [open_order] = await kis.revisable_orders()
    assert (open_order.order_no, open_order.side, open_order.revisable_quantity) == (
        ack.order_no, Side.BUY, 3,
    )  # fmt: skip
    revised = await kis.revise(ack.order_no, ack.branch_no, price=Decimal(61000))
    cancelled = await kis.cancel(revised.order_no, revised.branch_no)
    assert cancelled.order_no not in (ack.order_no, revised.order_no)
    assert await kis.revisable_orders() == []
    assert sim.stats.orders_received(account.appkey) >= 1
    tr_ids = [r.tr_id for r in sim.stats.requests(appkey=account.appkey) if r.tr_id]
    assert {"TTTC0012U", "TTTC0013U", "TTTC0084R"} <= set(tr_ids)


async def test_market_sell_and_balance_on_a_paper_account(sim, make_client):
    account, kis = make_client("paper", holdings={"005930": 10})
    ack = await kis.sell("005930", 4, order_type=OrderType.MARKET)
    assert ack.message == "모의투자 매도주문이 완료 되었습니다."
    balance = await kis.balance()
    [holding] = balance.holdings
    assert (holding.symbol, holding.quantity) == ("005930", 6)
    assert balance.complete and balance.cash > 0
    assert "VTTC0011U" in {r.tr_id for r in sim.stats.requests(appkey=account.appkey)}


async def test_revisable_orders_on_paper_raise_not_supported_without_a_request(sim, make_client):
    account, kis = make_client("paper")
    with pytest.raises(NotSupported):
        await kis.revisable_orders()
    assert sim.stats.requests(appkey=account.appkey) == []


async def test_us_price_buy_sell_balance_and_executions_on_paper(sim, make_client):
    account, kis = make_client("paper", cash_usd=10_000)
    quote = await kis.us_quote("AAPL")
    assert quote.realtime_key == "DNASAAPL" and quote.price > 0
    bought = await kis.us_buy("AAPL", 2, quote.price * 2)  # marketable: fills at once
    balance = await kis.us_balance()
    assert [(h.symbol, h.quantity) for h in balance.holdings] == [("AAPL", 2)]
    sold = await kis.us_sell("AAPL", 1, quote.price / 2)
    rows = await kis.us_executions(today() - timedelta(days=2), today() + timedelta(days=1))
    assert {r.order_no for r in rows} >= {bought.order_no, sold.order_no}
    tr_ids = {r.tr_id for r in sim.stats.requests(appkey=account.appkey)}
    assert {"VTTT1002U", "VTTT1001U"} <= tr_ids  # paper US sell is VTTT1001U (§3.5)


async def test_a_definite_refusal_is_rejected_with_the_korean_message(make_client):
    _, kis = make_client("paper", cash_krw=1000)
    with pytest.raises(Rejected) as refusal:
        await kis.buy("005930", 1, Decimal(71000))
    assert refusal.value.msg1 == refusal.value.message
    assert refusal.value.message and refusal.value.message == refusal.value.message.rstrip()


# -- paging -----------------------------------------------------------------------------------


async def test_daily_executions_follow_every_page(sim, make_client):
    """Paper pages hold 15 rows (§3.4): 40 orders take three pages."""
    account, kis = make_client("paper")
    for i in range(40):
        await kis.buy("005930", 1, Decimal(50000 + 100 * (i % 5)))
    executions = await kis.daily_executions(today(), today())
    assert len(executions.rows) == 40 and executions.complete
    assert len({row.order_no for row in executions.rows}) == 40
    assert executions.total_quantity == 40
    assert len(sim.stats.requests(appkey=account.appkey, tr_id="VTTC0081R")) == 3


async def test_the_page_cap_stops_the_walk_and_says_so(make_client):
    _, kis = make_client("paper", client={"max_pages": 2})
    for _ in range(31):
        await kis.buy("005930", 1, Decimal(50000))
    executions = await kis.daily_executions(today(), today())
    assert len(executions.rows) == 30 and not executions.complete


# -- orders are sent once ---------------------------------------------------------------------


async def test_a_lost_order_answer_is_outcome_unknown_and_sent_once(sim, make_client):
    account, kis = make_client("paper")
    sim.faults.lose_order_answers = 1
    with pytest.raises(OutcomeUnknown):
        await kis.buy("005930", 1, Decimal(60000))
    assert sim.stats.orders_received(account.appkey) == 1
    # The order exists: reconciliation finds it.
    executions = await kis.daily_executions(today(), today())
    assert [(row.symbol, row.quantity) for row in executions.rows] == [("005930", 1)]


async def test_a_5xx_on_an_order_is_outcome_unknown_and_not_resent(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    sim.faults.http_500 = True
    with pytest.raises(OutcomeUnknown):
        await kis.buy("005930", 1, Decimal(60000))
    assert len(sim.stats.requests(appkey=account.appkey, tr_id="VTTC0012U")) == 1


async def test_a_hung_order_is_outcome_unknown_after_the_timeout(sim, make_client):
    account, kis = make_client("paper", client={"timeout_s": 0.3})
    await kis.ensure_token()
    sim.faults.hang = True
    with pytest.raises(OutcomeUnknown):
        await kis.sell("005930", 1, Decimal(60000))
    sim.faults.hang = False
    sim.faults.drop_sockets()
    await kis.quote("005930")  # later calls work; the hung order was never sent again
    tr_ids = [r.tr_id for r in sim.stats.requests(appkey=account.appkey)]
    assert "VTTC0011U" not in tr_ids  # the simulator never answered it, so never logged it


async def test_a_rate_limited_order_is_rate_limited_and_not_resent(sim, make_client):
    account, kis = make_client("paper")
    await kis.ensure_token()
    sim.faults.rate_limit_all = True
    with pytest.raises(RateLimited) as refusal:
        await kis.buy("005930", 1, Decimal(60000))
    assert refusal.value.code == "EGW00201"
    assert len(sim.stats.requests(appkey=account.appkey, path=_ORDER)) == 1
    assert sim.stats.orders_received(account.appkey) == 0


async def test_an_order_with_an_expired_token_is_sent_once_with_the_new_token(sim, make_client):
    """The gateway refused the first try before the order ran, so one resend is safe."""
    sim.tokens.issue_interval_s = 0.0
    clock = Clock()
    account, kis = make_client("paper", client={"now": clock})
    await kis.ensure_token()
    sim.faults.expire_tokens()
    clock.advance(seconds=61)
    await kis.buy("005930", 1, Decimal(60000))
    assert sim.stats.orders_received(account.appkey) == 1


_ORDER = "/uapi/domestic-stock/v1/trading/order-cash"

# -- reads retry ------------------------------------------------------------------------------


async def test_a_read_retries_5xx_then_gives_up_as_upstream_unavailable(sim, make_client):
    account, kis = make_client("paper", client={"read_attempts": 3})
    await kis.ensure_token()
    sim.faults.http_500 = True
    with pytest.raises(UpstreamUnavailable):
        await kis.quote("005930")
    assert len(sim.stats.requests(appkey=account.appkey, path=_PRICE)) == 3


async def test_reads_retry_the_simulators_rate_limit_until_served():
    """A client paced faster than KIS allows (e.g. another process shares the key) gets
    EGW00201 and backs off until every read is served."""
    simulator = Simulator(accounts=[], speed=0, rate_limits={"real": 5, "paper": 5})
    await simulator.start()
    account = simulator.add_account(make_account("real"))
    kis = KisClient(
        credentials_for(account),
        simulator.real_url,
        limiter=InProcessRateLimiter(RateLimits(real_per_s=100)),
        read_attempts=30,
        backoff_base_s=0.05,
        backoff_max_s=0.3,
    )
    try:
        await kis.ensure_token()
        quotes = await asyncio.gather(*(kis.quote(symbol) for symbol in KRX_SYMBOLS[:10]))
    finally:
        await kis.aclose()
        await simulator.stop()
    assert len(quotes) == 10
    assert any(r.msg_cd == "EGW00201" for r in simulator.stats.requests(path=_PRICE))


async def test_200_concurrent_reads_never_exceed_the_limit_in_any_second():
    """The simulator enforces 100/s here; the client budgets 90/s, as it budgets 18 of KIS's 20.

    The margin is what keeps arrivals under the limit when the loop or the network bunches
    requests that left on time.
    """
    simulator = Simulator(accounts=[], speed=0, rate_limits={"real": 100, "paper": 2})
    await simulator.start()
    account = simulator.add_account(make_account("real"))
    kis = KisClient(
        credentials_for(account),
        simulator.real_url,
        limiter=InProcessRateLimiter(RateLimits(real_per_s=90)),
    )
    try:
        await kis.ensure_token()
        await asyncio.gather(*distinct_reads(kis, 200))
    finally:
        await kis.aclose()
        await simulator.stop()
    records = simulator.stats.requests(appkey=account.appkey, path=_MINUTES)
    assert len(records) == 200 and all(r.status == 200 for r in records)
    assert max_in_any_window([r.t for r in records]) <= 100


# -- secrets ----------------------------------------------------------------------------------


async def test_no_secret_reaches_logs_reprs_or_errors(sim, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    account, kis = make_client("paper")
    token = await kis.ensure_token()
    await kis.quote("005930")
    sim.faults.http_500 = True
    with pytest.raises(UpstreamUnavailable) as failure:
        await kis.quote("005930")
    texts = [caplog.text, repr(kis), repr(kis.creds), repr(token), str(failure.value)]
    for text in texts:
        assert account.appsecret not in text
        assert token.value not in text


def _fields(creds):
    return {name: getattr(creds, name) for name in creds.__dataclass_fields__}


async def test_clients_of_one_app_key_in_one_process_share_the_default_budget():
    """Three clients of one real key, none given a limiter: the process-wide default
    (``shared_rate_limiter()``) holds them together under KIS's 20/s (docs/kis-protocol.md §6)."""
    simulator = Simulator(accounts=[], speed=0, rate_limits={"real": 20, "paper": 2})
    await simulator.start()
    account = simulator.add_account(make_account("real"))
    store = MemoryTokenStore()
    clients = [
        KisClient(credentials_for(account), simulator.real_url, token_store=store) for _ in range(3)
    ]
    try:
        await clients[0].ensure_token()
        symbols = iter(KRX_SYMBOLS[:24])
        await asyncio.gather(*(kis.quote(next(symbols)) for kis in clients for _ in range(8)))
    finally:
        for kis in clients:
            await kis.aclose()
        await simulator.stop()
    records = simulator.stats.requests(appkey=account.appkey, path=_PRICE)
    assert len(records) == 24 and all(r.status == 200 for r in records)
    assert max_in_any_window([r.t for r in records]) <= 20
