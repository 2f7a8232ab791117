"""Typed realtime events (docs/kis-protocol.md §7.8). Slotted, non-frozen dataclasses: they are
built on the hot path, and a frozen dataclass pays ``object.__setattr__`` per field.
``OrderBook`` is a plain slotted class that keeps its levels as text and converts them on
first read (42 numbers per H0STASP0 record, which most consumers forward as text).

Times are exchange local times of day (KST for KRX, US local for HDFS* frames).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import NamedTuple, TypeVar

from ..models import BookLevel, Side

_Converted = TypeVar("_Converted")


class ConversionCache(dict[str, _Converted]):
    """A bounded memo of one conversion; cleared when full (values recur in bursts). Its
    lookups stay in C (``dict.__getitem__``, ``__missing__`` only on a miss)."""

    __slots__ = ("_convert", "_limit")

    def __init__(self, convert: Callable[[str], _Converted], limit: int = 8192) -> None:
        super().__init__()
        self._convert = convert
        self._limit = limit

    def __missing__(self, text: str) -> _Converted:
        value = self._convert(text)
        if len(self) >= self._limit:
            self.clear()
        self[text] = value
        return value


_LARGEST_EXPONENT = 30


def to_decimal(text: str) -> Decimal:
    """A KIS number field; an empty field is 0. ``NaN``, ``Infinity`` and exponents no
    price has (``1e999999999`` formats to a billion digits) raise ``ValueError``."""
    if not text:
        return Decimal(0)
    value = Decimal(text)
    if (
        not value.is_finite()
        or value.adjusted() > _LARGEST_EXPONENT
        or int(value.as_tuple().exponent) < -_LARGEST_EXPONENT
    ):
        raise ValueError("not a KIS number")
    return value


# Prices sit on a tick grid and recur: the parser and OrderBook share one cache.
cached_decimal = ConversionCache(to_decimal).__getitem__


@dataclass(slots=True)
class Trade:
    """One trade print (H0STCNT0, HDFSCNT0). ``key`` is the subscription key (``005930``,
    ``DNASAAPL``); ``volume`` is the day's cumulative volume, ``quantity`` this print's."""

    tr_id: str
    key: str
    symbol: str
    time: time | None
    price: Decimal
    change: Decimal
    change_rate: Decimal
    quantity: int
    volume: int
    open: Decimal
    high: Decimal
    low: Decimal
    best_ask: Decimal
    best_bid: Decimal


class BookTexts(NamedTuple):
    """An order book's numbers as the strings KIS sent (``"71600"``, ``"191.2400"``), named
    like ``OrderBook``'s typed attributes: for forwarding levels without a round trip
    through ``Decimal``."""

    ask_prices: tuple[str, ...]
    ask_quantities: tuple[str, ...]
    bid_prices: tuple[str, ...]
    bid_quantities: tuple[str, ...]
    total_ask_quantity: str
    total_bid_quantity: str


class OrderBook:
    """An order book update (H0STASP0: 10 levels; HDFSASP0: 1 or 10). Best price first;
    an empty level has price 0 and quantity 0.

    A book keeps its record's number fields as text, laid out as in H0STASP0 (§7.8): ask
    prices, bid prices, ask quantities, bid quantities (``depth`` each), then the total
    ask and bid quantities. The typed attributes convert on first read and keep the
    result, so a consumer that forwards ``level_texts()`` never pays for ``Decimal``. The
    parser checks every number before it hands a book out (``frames._plain_digits``, or
    ``convert()`` for texts that are not plain digits), so a read never raises. Equality
    and ``repr`` are by the typed values.
    """

    __slots__ = ("_integers", "_prices", "_texts", "key", "symbol", "time", "tr_id")

    def __init__(
        self,
        tr_id: str,
        key: str,
        symbol: str,
        time: time | None,
        texts: Sequence[str],
        prices: tuple[Decimal, ...] | None = None,
    ) -> None:
        """``texts`` in the layout above; ``prices`` (ask then bid prices) when the caller
        has converted them already."""
        self.tr_id = tr_id
        self.key = key
        self.symbol = symbol
        self.time = time
        self._texts = texts
        self._prices = prices
        self._integers: tuple[int, ...] | None = None

    @classmethod
    def from_levels(
        cls,
        tr_id: str,
        key: str,
        symbol: str,
        time: time | None,
        ask_prices: Sequence[Decimal],
        ask_quantities: Sequence[int],
        bid_prices: Sequence[Decimal],
        bid_quantities: Sequence[int],
        total_ask_quantity: int,
        total_bid_quantity: int,
    ) -> OrderBook:
        """A book from values already converted; its texts are their ``str()``."""
        numbers = (*ask_prices, *bid_prices, *ask_quantities, *bid_quantities)
        texts = (*map(str, numbers), str(total_ask_quantity), str(total_bid_quantity))
        book = cls(tr_id, key, symbol, time, texts, (*ask_prices, *bid_prices))
        book._integers = (*ask_quantities, *bid_quantities, total_ask_quantity, total_bid_quantity)
        return book

    @property
    def depth(self) -> int:
        """Levels per side."""
        return (len(self._texts) - 2) >> 2

    def _decimals(self) -> tuple[Decimal, ...]:
        """Ask then bid prices, converted on the first call."""
        if self._prices is None:
            self._prices = tuple(map(cached_decimal, self._texts[: (len(self._texts) - 2) >> 1]))
        return self._prices

    def _quantities(self) -> tuple[int, ...]:
        """Ask then bid quantities, then the two totals, converted on the first call."""
        if self._integers is None:
            self._integers = tuple(map(int, self._texts[(len(self._texts) - 2) >> 1 :]))
        return self._integers

    def convert(self) -> None:
        """Convert every number now and keep the result. Raises ``ValueError`` or
        ``decimal.InvalidOperation`` when one does not convert: the parser calls this for
        texts its cheap checks cannot vouch for."""
        self._decimals()
        self._quantities()

    @property
    def ask_prices(self) -> tuple[Decimal, ...]:
        prices = self._decimals()
        return prices[: len(prices) >> 1]

    @property
    def bid_prices(self) -> tuple[Decimal, ...]:
        prices = self._decimals()
        return prices[len(prices) >> 1 :]

    @property
    def ask_quantities(self) -> tuple[int, ...]:
        quantities = self._quantities()
        return quantities[: (len(quantities) - 2) >> 1]

    @property
    def bid_quantities(self) -> tuple[int, ...]:
        quantities = self._quantities()
        return quantities[(len(quantities) - 2) >> 1 : -2]

    @property
    def total_ask_quantity(self) -> int:
        return self._quantities()[-2]

    @property
    def total_bid_quantity(self) -> int:
        return self._quantities()[-1]

    @property
    def asks(self) -> tuple[BookLevel, ...]:
        return tuple(map(BookLevel, self.ask_prices, self.ask_quantities))

    @property
    def bids(self) -> tuple[BookLevel, ...]:
        return tuple(map(BookLevel, self.bid_prices, self.bid_quantities))

    def level_texts(self) -> BookTexts:
        """The numbers as KIS sent them (no conversion; a new tuple per call)."""
        texts, depth = self._texts, self.depth
        return BookTexts(
            tuple(texts[:depth]),
            tuple(texts[2 * depth : 3 * depth]),
            tuple(texts[depth : 2 * depth]),
            tuple(texts[3 * depth : 4 * depth]),
            texts[-2],
            texts[-1],
        )

    def _identity(self) -> tuple[object, ...]:
        return (
            self.tr_id,
            self.key,
            self.symbol,
            self.time,
            self._decimals(),
            self._quantities(),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook):
            return NotImplemented
        return self._identity() == other._identity()

    # Compared by value and not frozen, like the other events. Python's way to say
    # unhashable; typeshed declares object.__hash__ a method, hence the ignore.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"OrderBook(tr_id={self.tr_id!r}, key={self.key!r}, symbol={self.symbol!r}, "
            f"time={self.time!r}, ask_prices={self.ask_prices!r}, "
            f"ask_quantities={self.ask_quantities!r}, bid_prices={self.bid_prices!r}, "
            f"bid_quantities={self.bid_quantities!r}, "
            f"total_ask_quantity={self.total_ask_quantity!r}, "
            f"total_bid_quantity={self.total_bid_quantity!r})"
        )


class NoticeAction(enum.StrEnum):
    """What the order in a notice was (``RCTF_CLS``)."""

    ORDER = "order"
    REVISE = "revise"
    CANCEL = "cancel"


@dataclass(slots=True)
class ExecutionNotice:
    """A decrypted 체결통보 (H0STCNI0/9, H0GSCNI0/9): an order receipt, a fill, a revise,
    a cancel or a rejection. For a fill ``quantity``/``price`` are the fill's; otherwise
    the order's (docs/kis-protocol.md §7.8)."""

    tr_id: str
    hts_id: str
    account_no: str
    order_no: str
    original_order_no: str
    branch_no: str
    side: Side
    action: NoticeAction
    symbol: str
    symbol_name: str
    is_fill: bool
    rejected: bool
    quantity: int
    price: Decimal
    order_quantity: int
    order_price: Decimal | None
    time: time | None


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SessionState:
    """The session's health, for the UI's status strip; also emitted as an event on every
    change of ``state``."""

    state: ConnectionState
    registrations_used: int
    registrations_max: int
    last_pingpong_at: datetime | None
    reconnects: int
    detail: str = ""


Event = Trade | OrderBook | ExecutionNotice | SessionState
