"""REST snapshots for the quote page: the first state a page shows before (or without) the
live stream, read through ``kisweb.kis`` for the user's own credential.

Domestic symbols get price, limits, the 10-level book and daily/minute candles; US symbols
get price, daily candles and the day's range from today's bar (paper KIS offers no US book
or price detail, docs/kis-protocol.md §4.3). Everything a template or JSON needs is plain
``Decimal``/``int``/``str``; nothing here knows a KIS field name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache

from accounts.models import Credential
from accounts.secrets import SecretUnavailable
from kisweb.kis import (
    Candle,
    KisClient,
    KisError,
    OrderBookSnapshot,
    Quote,
    Rejected,
    UsExchange,
)
from market.hub import key_hash
from market.models import Symbol
from trading import actions, rules

KST = dt.timezone(dt.timedelta(hours=9), "KST")
CODE = re.compile(r"^[A-Za-z0-9.]{1,16}$")
DEFAULT_CODE = "005930"
DAILY_SPAN = dt.timedelta(days=150)  # one daily call: KIS returns at most 100 bars
Interval = Literal["day", "minute"]


def find_symbol(code: str, market: str = "") -> Symbol | None:
    """The master's row for ``code`` (domestic 6-char codes, US tickers any case); a code
    on two markets prefers ``market`` when given, else the domestic listing."""
    if not CODE.match(code or ""):
        return None
    rows = list(Symbol.objects.filter(code__in={code, code.upper()}))
    rows.sort(key=lambda row: (row.market != market, not row.is_domestic, row.code != code))
    return rows[0] if rows else None


def us_exchange(symbol: Symbol) -> UsExchange:
    return UsExchange(symbol.market)


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    quantity: int


@dataclass
class Snapshot:
    """What the quote page shows first. ``error`` is a banner's words when KIS failed."""

    symbol: Symbol
    currency: str
    price: Decimal | None = None
    change: Decimal | None = None  # signed
    rate: Decimal | None = None  # signed percent
    sign: str = "3"  # PRDY_VRSS_SIGN: 1 upper limit, 2 up, 3 flat, 4 lower limit, 5 down
    volume: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    previous_close: Decimal | None = None
    upper_limit: Decimal | None = None
    lower_limit: Decimal | None = None
    tick: Decimal | None = None
    asks: list[Level] = field(default_factory=list)  # best first
    bids: list[Level] = field(default_factory=list)
    total_ask: int | None = None
    total_bid: int | None = None
    book_time: dt.time | None = None
    book_offered: bool = True
    error: dict[str, str] | None = None
    unknown_at_kis: bool = False  # KIS refused the code itself

    @property
    def market(self) -> str:
        """The trading app's market code for the ticket."""
        return "KRX" if self.symbol.is_domestic else "US"

    @property
    def venue(self) -> str:
        return "KRX" if self.symbol.is_domestic else self.symbol.market

    @property
    def max_level(self) -> int:
        """The largest quantity on either side: the 100 % width of the book's bars."""
        return max((level.quantity for level in self.asks + self.bids), default=0)


def sign_of(change: Decimal, *, upper: bool = False, lower: bool = False) -> str:
    if upper:
        return "1"
    if lower:
        return "4"
    return "2" if change > 0 else "5" if change < 0 else "3"


def _failure(error: Exception) -> dict[str, str]:
    if isinstance(error, KisError):
        return {"code": error.code, "text": error.message}
    return {"code": "SECRET", "text": ""}


def _cache_key(kind: str, credential: Credential, symbol: Symbol) -> str:
    """Per app key (its rate budget) and symbol; the key itself never, only its hash."""
    return f"kisweb:{kind}:{key_hash(credential.app_key)}:{symbol.market}:{symbol.code}"


def _ttl(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def read_snapshot(credential: Credential, symbol: Symbol) -> Snapshot:
    """Price and book now; a KIS failure becomes ``error`` (the page shows a banner).

    A snapshot read in the last ``KISWEB_QUOTE_SNAPSHOT_TTL_S`` (2 s) for the same app key
    is shown again: reloads, tab flicks and the ticket's "back" spend no KIS call (paper
    allows 2 a second), and the stream corrects the page at once with its newest frame."""
    key, ttl = _cache_key("snapshot", credential, symbol), _ttl("KISWEB_QUOTE_SNAPSHOT_TTL_S", 2)
    cached = cache.get(key) if ttl > 0 else None
    if isinstance(cached, Snapshot):
        return cached
    snapshot = Snapshot(symbol=symbol, currency="KRW" if symbol.is_domestic else "USD")

    async def domestic(client: KisClient) -> None:
        # Both reads at once: the limiter paces them, the page waits for the slower only.
        # Both finish before the client closes; the first failure is the one reported.
        quote, book = await asyncio.gather(
            client.quote(symbol.code), client.order_book(symbol.code), return_exceptions=True
        )
        for answer in (quote, book):
            if isinstance(answer, BaseException):
                raise answer
        assert isinstance(quote, Quote) and isinstance(book, OrderBookSnapshot)
        snapshot.price, snapshot.change, snapshot.rate = (
            quote.price,
            quote.change,
            quote.change_rate,
        )
        snapshot.volume = quote.volume
        snapshot.open, snapshot.high, snapshot.low = quote.open, quote.high, quote.low
        snapshot.previous_close = quote.previous_close
        snapshot.upper_limit, snapshot.lower_limit = quote.upper_limit, quote.lower_limit
        snapshot.sign = sign_of(
            quote.change,
            upper=quote.price == quote.upper_limit,
            lower=quote.price == quote.lower_limit,
        )
        snapshot.tick = rules.tick_for("KRX", quote.price, quote.tick_size, quote.price)
        _fill_book(snapshot, book)

    async def overseas(client: KisClient) -> None:
        exchange = us_exchange(symbol)
        quote = await client.us_quote(symbol.code, exchange)
        # ``diff`` comes unsigned; the rate carries the direction.
        change = abs(quote.change) * (-1 if quote.change_rate < 0 else 1)
        snapshot.price, snapshot.change, snapshot.rate = quote.price, change, quote.change_rate
        snapshot.volume = quote.volume
        snapshot.previous_close = quote.previous_close
        snapshot.sign = sign_of(change)
        snapshot.tick = rules.tick_for("US", quote.price)
        snapshot.book_offered = False
        bars = await client.us_daily_candles(symbol.code, exchange)
        if bars:
            today = bars[-1]
            snapshot.open, snapshot.high, snapshot.low = today.open, today.high, today.low

    try:
        actions.read_kis(credential, domestic if symbol.is_domestic else overseas)
    except (KisError, SecretUnavailable) as failure:
        snapshot.error = _failure(failure)
        snapshot.unknown_at_kis = isinstance(failure, Rejected)
    if snapshot.error is None and ttl > 0:
        cache.set(key, snapshot, ttl)
    return snapshot


def _fill_book(snapshot: Snapshot, book: OrderBookSnapshot) -> None:
    snapshot.asks = [Level(level.price, level.quantity) for level in book.asks if level.price]
    snapshot.bids = [Level(level.price, level.quantity) for level in book.bids if level.price]
    snapshot.total_ask, snapshot.total_bid = book.total_ask_quantity, book.total_bid_quantity
    snapshot.book_time = book.time


# ---------------------------------------------------------------- candles


def read_candles(credential: Credential, symbol: Symbol, interval: Interval) -> list[Candle]:
    """Daily bars (about 100 days) or today's one-minute bars (domestic only), oldest first.
    Raises ``KisError``/``SecretUnavailable``; the JSON view turns them into a message.
    Bars read in the last 30 s (daily) or 5 s (minute) for the same app key are reused;
    the chart's live bar comes from the stream."""
    key = _cache_key(f"candles-{interval}", credential, symbol)
    ttl = _ttl(f"KISWEB_QUOTE_{interval.upper()}_CANDLES_TTL_S", 30 if interval == "day" else 5)
    cached = cache.get(key) if ttl > 0 else None
    if isinstance(cached, list):
        return cached

    async def work(client: KisClient) -> list[Candle]:
        if not symbol.is_domestic:
            return await client.us_daily_candles(symbol.code, us_exchange(symbol))
        if interval == "minute":
            return await client.minute_candles(symbol.code)
        today = dt.datetime.now(KST).date()
        return await client.daily_candles(symbol.code, today - DAILY_SPAN, today)

    candles = actions.read_kis(credential, work)
    if ttl > 0:
        cache.set(key, candles, ttl)
    return candles


def candle_rows(candles: list[Candle], *, domestic: bool) -> list[dict[str, Any]]:
    """Bars for the chart. Daily bars carry their exchange date (``"2026-12-01"``); minute
    bars carry Unix seconds of their KST start, so the browser can draw a KST axis whatever
    its own time zone. Prices stay strings of the Decimal (the chart parses them to draw)."""
    rows: list[dict[str, Any]] = []
    for candle in candles:
        if candle.time is not None and domestic:
            moment = dt.datetime.combine(candle.date, candle.time, KST)
            when: str | int = int(moment.timestamp())
        else:
            when = candle.date.isoformat()
        rows.append(
            {
                "time": when,
                "open": str(candle.open),
                "high": str(candle.high),
                "low": str(candle.low),
                "close": str(candle.close),
                "volume": str(candle.volume),
            }
        )
    return rows
