"""Typed realtime events (REFERENCE.md §7.8). Slotted, non-frozen dataclasses: they are
built on the hot path, and a frozen dataclass pays ``object.__setattr__`` per field.

Times are exchange local times of day (KST for KRX, US local for HDFS* frames).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from ..models import BookLevel, Side


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


@dataclass(slots=True)
class OrderBook:
    """An order book update (H0STASP0: 10 levels; HDFSASP0: 1 or 10). Best price first;
    an empty level has price 0 and quantity 0."""

    tr_id: str
    key: str
    symbol: str
    time: time | None
    ask_prices: tuple[Decimal, ...]
    ask_quantities: tuple[int, ...]
    bid_prices: tuple[Decimal, ...]
    bid_quantities: tuple[int, ...]
    total_ask_quantity: int
    total_bid_quantity: int

    @property
    def asks(self) -> tuple[BookLevel, ...]:
        return tuple(map(BookLevel, self.ask_prices, self.ask_quantities))

    @property
    def bids(self) -> tuple[BookLevel, ...]:
        return tuple(map(BookLevel, self.bid_prices, self.bid_quantities))


class NoticeAction(enum.StrEnum):
    """What the order in a notice was (``RCTF_CLS``)."""

    ORDER = "order"
    REVISE = "revise"
    CANCEL = "cancel"


@dataclass(slots=True)
class ExecutionNotice:
    """A decrypted 체결통보 (H0STCNI0/9, H0GSCNI0/9): an order receipt, a fill, a revise,
    a cancel or a rejection. For a fill ``quantity``/``price`` are the fill's; otherwise
    the order's (REFERENCE.md §7.8)."""

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
