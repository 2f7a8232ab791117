"""The ticket rules as plain functions: tick grid, limits, quantity, paper, sessions, cost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kisweb.kissim.symbols import krx_tick as simulator_tick
from trading import rules

KST = rules.KST


@pytest.fixture(autouse=True)
def english(settings):
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    "price",
    [1, 1999, 2000, 4995, 5000, 19990, 20000, 49950, 50000, 199900, 200000, 499500, 500000,
     2_000_000],
)  # fmt: skip
def test_tick_table_matches_the_simulator_at_every_band_edge(price):
    assert rules.krx_tick(Decimal(price)) == simulator_tick(Decimal(price))


def test_kis_aspr_unit_wins_in_its_own_band_only():
    # An ETF at 9,000 quotes a 5-won tick; the table says 10 for that band.
    assert rules.tick_for("KRX", Decimal(9005), Decimal(5), Decimal(9000)) == Decimal(5)
    assert rules.tick_for("KRX", Decimal(25000), Decimal(5), Decimal(9000)) == Decimal(50)


def test_step_price_crosses_band_boundaries_on_the_grid():
    assert rules.step_price("KRX", Decimal(49950), 1) == Decimal(50000)
    assert rules.step_price("KRX", Decimal(50000), 1) == Decimal(50100)
    assert rules.step_price("KRX", Decimal(50000), -1) == Decimal(49950)
    assert rules.step_price("KRX", Decimal(2000), -1) == Decimal(1999)
    assert rules.step_price("US", Decimal("189.84"), 2) == Decimal("189.86")


def test_off_grid_price_names_the_neighbours():
    with pytest.raises(rules.TicketRefused) as refused:
        rules.check_price("KRX", "00", Decimal(71050))
    assert refused.value.field == "price"
    assert refused.value.message == (
        "The price must be on the tick grid: steps of 100 here. Try 71,000 or 71,100."
    )


def test_market_orders_need_no_price():
    rules.check_price("KRX", "01", None)


def test_price_limits():
    with pytest.raises(rules.TicketRefused, match="upper limit of 92,300"):
        rules.check_price("KRX", "00", Decimal(92400), upper=Decimal(92300))
    with pytest.raises(rules.TicketRefused, match="lower limit of 49,700"):
        rules.check_price("KRX", "00", Decimal(49600), lower=Decimal(49700))


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_quantity_must_be_a_positive_int(quantity):
    with pytest.raises(rules.TicketRefused, match="whole number of shares"):
        rules.check_quantity(quantity, "buy", buyable=None, sellable=None)


def test_quantity_within_buyable_and_sellable():
    rules.check_quantity(10, "buy", buyable=10, sellable=None)
    with pytest.raises(rules.TicketRefused, match="at most 10 shares"):
        rules.check_quantity(11, "buy", buyable=10, sellable=None)
    with pytest.raises(rules.TicketRefused, match="sell at most 3 shares"):
        rules.check_quantity(4, "sell", buyable=None, sellable=3)


@pytest.mark.parametrize(
    ("market", "venue", "side", "order_type", "field"),
    [
        ("KRX", "NXT", "buy", "00", "venue"),
        ("KRX", "SOR", "buy", "00", "venue"),
        ("KRX", "KRX", "buy", "05", "order_type"),
        ("KRX", "KRX", "sell", "11", "order_type"),
        ("US", "NASD", "buy", "32", "order_type"),
        ("US", "NYSE", "sell", "31", "order_type"),
    ],
)
def test_paper_refuses_what_it_does_not_offer(market, venue, side, order_type, field):
    with pytest.raises(rules.TicketRefused) as refused:
        rules.check_offered(rules.PAPER, market, venue, side, order_type)
    assert refused.value.field == field
    assert "Paper trading" in refused.value.message


def test_real_offers_nxt_and_us_moc():
    rules.check_offered(rules.REAL, "KRX", "NXT", "buy", "00")
    rules.check_offered(rules.REAL, "US", "NASD", "sell", "33")


def test_the_help_table_comes_from_the_same_capabilities():
    rows = {row["what"]: row for row in rules.capability_rows()}
    assert rows["Venues"]["paper"] == "KRX"
    assert rows["Venues"]["real"] == "KRX, NXT, SOR"
    assert rows["Requests per second"]["paper"] == "2"
    assert rows["List of revisable orders"]["paper"] == "no"


def kst(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=KST)


@pytest.fixture
def krx_hours(settings):
    settings.KISWEB_MARKET_HOURS = "krx"


WEDNESDAY = "2026-12-02"


@pytest.mark.usefixtures("krx_hours")
@pytest.mark.parametrize(
    ("clock", "environment", "venue", "offered"),
    [
        ("08:10", rules.REAL, "NXT", ("00",)),
        ("08:35", rules.REAL, "KRX", ("00", "01", "02", "05")),  # opening call, 05 off-hours
        ("08:35", rules.PAPER, "KRX", ()),
        ("10:00", rules.PAPER, "KRX", ("00", "01", "02", "03", "04")),
        ("15:25", rules.PAPER, "KRX", ("00", "01", "02")),  # closing auction
        ("15:35", rules.PAPER, "KRX", ()),
        ("16:30", rules.REAL, "KRX", ("07",)),  # after-hours single price only
    ],
)
def test_order_types_by_session(clock, environment, venue, offered):
    moment = kst(f"{WEDNESDAY}T{clock}")
    assert rules.order_types_now(moment, environment, venue) == offered


@pytest.mark.usefixtures("krx_hours")
def test_session_refusals_in_words():
    with pytest.raises(rules.TicketRefused, match="from 09:00 to 15:30 KST only"):
        rules.check_session(kst(f"{WEDNESDAY}T08:59"), rules.PAPER, "KRX", "00")
    with pytest.raises(rules.TicketRefused, match="not taken during the Closing auction"):
        rules.check_session(kst(f"{WEDNESDAY}T15:21"), rules.PAPER, "KRX", "03")
    with pytest.raises(rules.TicketRefused, match="weekend"):
        rules.check_session(kst("2026-12-05T10:00"), rules.PAPER, "KRX", "00")
    rules.check_session(kst(f"{WEDNESDAY}T09:00"), rules.PAPER, "KRX", "03")


def test_always_open_market_hours_offer_everything_paper_offers(settings):
    settings.KISWEB_MARKET_HOURS = "always"
    midnight = kst(f"{WEDNESDAY}T00:00")
    assert rules.order_types_now(midnight, rules.PAPER, "KRX") == ("00", "01", "02", "03", "04")
    rules.check_session(midnight, rules.PAPER, "KRX", "00")


def test_estimate_uses_decimal_and_documented_defaults():
    buy = rules.estimate("KRX", "buy", Decimal(71000), 10)
    assert buy.amount == Decimal(710000)
    assert buy.commission == Decimal(90)  # 99.77 won, cut below 10 won
    assert buy.tax == 0
    assert buy.total == Decimal(710090)
    sell = rules.estimate("KRX", "sell", Decimal(71000), 10)
    assert sell.tax == Decimal(1420)  # 0.20 %
    assert sell.total == Decimal(710000 - 90 - 1420)
    us = rules.estimate("US", "buy", Decimal("190.00"), 2)
    assert us.commission == Decimal("0.95") and us.total == Decimal("380.95")


def test_rates_are_configurable(settings):
    settings.KISWEB_TRADING_COST_RATES = {"commission": "0", "sell_tax": "0.0015"}
    sell = rules.estimate("KRX", "sell", Decimal(10000), 10)
    assert sell.commission == 0 and sell.tax == Decimal(150)


@pytest.mark.parametrize(
    ("code", "text", "words"),
    [
        ("40250000", "모의투자 주문가능금액을 초과 했습니다", "Not enough buying power"),
        ("40070000", "모의투자 주식주문호가단위 오류입니다.", "off the tick grid"),
        ("40570000", "모의투자 장시작전 입니다.", "not opened yet"),
        ("EGW00201", "초당 거래건수를 초과하였습니다.", "too many requests"),
        ("EGW00123", "기간이 만료된 token 입니다.", "token expired"),
        ("EGW00213", "모의투자 TR 이 아닙니다.", "paper or real"),
        ("ZZZ", "무엇", "Its own words are below"),
    ],
)
def test_rejections_come_back_as_advice(code, text, words):
    assert words in rules.rejection_advice(code, text)
