"""Prices as the quote page writes them; static/js/live-prices.js writes the same text
(held in tests/browser/test_quote.py), so a streamed tick never reshapes a cell."""

from decimal import Decimal

import pytest

from market.quotes import candle_rows, find_symbol, sign_of
from market.templatetags.quote_format import bar_width, money, signed_money


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (Decimal("71000"), "KRW", "71,000"),
        (Decimal("1234567.5"), "KRW", "1,234,568"),
        ("189.8400", "USD", "189.84"),
        ("0.1234", "USD", "0.1234"),
        ("1189.8", "USD", "1,189.80"),
        ("0", "USD", "0.00"),
        (None, "USD", "—"),
        ("abc", "KRW", "—"),
    ],
)
def test_money(value, currency, text):
    assert money(value, currency) == text


def test_signed_money_and_bars():
    assert signed_money(Decimal(500), "KRW") == "▲500"
    assert signed_money(Decimal("-1.2500"), "USD") == "▼1.25"
    assert signed_money(0, "KRW") == "0"
    assert bar_width(50, 200) == 25 and bar_width(0, 0) == 0 and bar_width(300, 200) == 100


def test_sign_codes_follow_kis():
    assert sign_of(Decimal(1)) == "2" and sign_of(Decimal(-1)) == "5"
    assert sign_of(Decimal(0)) == "3"
    assert sign_of(Decimal(5), upper=True) == "1" and sign_of(Decimal(-5), lower=True) == "4"


def test_minute_bars_are_kst_unix_seconds():
    import datetime as dt

    from kisweb.kis import Candle

    bar = Candle(dt.date(2026, 12, 2), dt.time(9, 1), *(Decimal(1),) * 4, 10, Decimal(0))
    (row,) = candle_rows([bar], domestic=True)
    assert row["time"] == int(dt.datetime(2026, 12, 2, 0, 1, tzinfo=dt.UTC).timestamp())
    daily = Candle(dt.date(2026, 12, 2), None, *(Decimal(2),) * 4, 10, Decimal(0))
    assert candle_rows([daily], domestic=False)[0]["time"] == "2026-12-02"


@pytest.mark.django_db
def test_find_symbol_refuses_odd_codes():
    from market.models import Symbol

    Symbol.objects.create(code="AAPL", market="NASD", name="애플")
    assert find_symbol("aapl").code == "AAPL"
    for code in ("", "A" * 17, "../x", "AA PL", "<b>"):
        assert find_symbol(code) is None
