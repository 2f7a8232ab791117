"""Typed results of REST calls. KIS's field names are mapped to these once, in
``kisweb.kis.parsing``; nothing outside ``kisweb.kis`` sees a KIS field name.

Prices and amounts are ``Decimal``; quantities are ``int``; KIS's ``YYYYMMDD``/``HHMMSS``
become ``date``/``time`` (exchange local time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(enum.StrEnum):
    """Domestic ``ORD_DVSN`` values kisweb sends (docs/kis-protocol.md §4.6; paper knows 00–04).

    05 and 06 trade at a price the exchange fixes (the previous close, today's close), so
    like market-type orders they go out with ``ORD_UNPR "0"``."""

    LIMIT = "00"
    MARKET = "01"
    CONDITIONAL_LIMIT = "02"
    BEST_LIMIT = "03"
    TOP_PRIORITY_LIMIT = "04"
    PRE_MARKET_OFF_HOURS = "05"
    POST_MARKET_OFF_HOURS = "06"
    AFTER_HOURS_SINGLE_PRICE = "07"
    IOC_LIMIT = "11"
    FOK_LIMIT = "12"
    IOC_MARKET = "13"
    FOK_MARKET = "14"
    IOC_BEST = "15"
    FOK_BEST = "16"

    @property
    def needs_price(self) -> bool:
        return self in _PRICED_ORDER_TYPES


_PRICED_ORDER_TYPES = frozenset(
    {
        OrderType.LIMIT,
        OrderType.CONDITIONAL_LIMIT,
        OrderType.AFTER_HOURS_SINGLE_PRICE,
        OrderType.IOC_LIMIT,
        OrderType.FOK_LIMIT,
    }
)


class Venue(enum.StrEnum):
    """Where a domestic order goes (``EXCG_ID_DVSN_CD``, §4.1); paper knows KRX only."""

    KRX = "KRX"
    NXT = "NXT"
    SOR = "SOR"

    @property
    def quote_code(self) -> str:
        """``FID_COND_MRKT_DIV_CODE`` of this venue's quotes (§4.2): SOR prices from the
        combined KRX+NXT book."""
        return {"KRX": "J", "NXT": "NX", "SOR": "UN"}[self.value]


class UsOrderType(enum.StrEnum):
    """US ``ORD_DVSN`` (§4.3): buys take 00/32/34, sells all five; paper takes 00 only."""

    LIMIT = "00"
    MARKET_ON_OPEN = "31"
    LIMIT_ON_OPEN = "32"
    MARKET_ON_CLOSE = "33"
    LIMIT_ON_CLOSE = "34"

    @property
    def needs_price(self) -> bool:
        return self in (UsOrderType.LIMIT, UsOrderType.LIMIT_ON_OPEN, UsOrderType.LIMIT_ON_CLOSE)


class UsExchange(enum.StrEnum):
    """US exchanges as order/account codes (``OVRS_EXCG_CD``, docs/kis-protocol.md §4.3)."""

    NASDAQ = "NASD"
    NYSE = "NYSE"
    AMEX = "AMEX"

    @property
    def quote_code(self) -> str:
        """The same exchange as quotation ``EXCD``."""
        return {"NASD": "NAS", "NYSE": "NYS", "AMEX": "AMS"}[self.value]


@dataclass(frozen=True, slots=True)
class Quote:
    """Domestic current price (``inquire-price``, FHKST01010100)."""

    symbol: str
    price: Decimal
    change: Decimal  # signed, vs previous close
    change_rate: Decimal  # percent
    open: Decimal
    high: Decimal
    low: Decimal
    previous_close: Decimal
    upper_limit: Decimal
    lower_limit: Decimal
    tick_size: Decimal
    volume: int
    trade_value: Decimal
    market_name: str
    halted: bool


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderBookSnapshot:
    """Ten-level order book from REST (FHKST01010200); best price first on both sides."""

    symbol: str
    time: time | None
    asks: tuple[BookLevel, ...]
    bids: tuple[BookLevel, ...]
    total_ask_quantity: int
    total_bid_quantity: int
    expected_price: Decimal | None
    expected_quantity: int | None


@dataclass(frozen=True, slots=True)
class Candle:
    """One bar. ``time`` is None for daily and longer bars."""

    date: date
    time: time | None
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    trade_value: Decimal


@dataclass(frozen=True, slots=True)
class BuyingPower:
    """``inquire-psbl-order``: what a buy may use. The ``no_margin_*`` figures exclude
    margin loans (미수), which is what a cash account can really buy (docs/kis-protocol.md §4.1)."""

    symbol: str
    cash: Decimal
    max_quantity: int
    max_amount: Decimal
    no_margin_quantity: int
    no_margin_amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderAck:
    """KIS accepted an order (or a revise/cancel, which gets a new order number)."""

    order_no: str
    branch_no: str  # KRX_FWDG_ORD_ORGNO: needed to revise or cancel
    time: time | None
    message: str  # KIS's text, e.g. "모의투자 매수주문이 완료 되었습니다."


@dataclass(frozen=True, slots=True)
class RevisableOrder:
    """An open order that can still be revised or cancelled (real accounts only)."""

    order_no: str
    branch_no: str
    original_order_no: str
    symbol: str
    name: str
    side: Side
    order_type: str
    quantity: int
    price: Decimal
    filled_quantity: int
    revisable_quantity: int
    time: time | None


@dataclass(frozen=True, slots=True)
class Execution:
    """One order of the day with its fills (``inquire-daily-ccld``)."""

    order_date: date
    order_no: str
    branch_no: str
    original_order_no: str
    symbol: str
    name: str
    side: Side
    order_type: str
    quantity: int
    price: Decimal
    filled_quantity: int
    average_price: Decimal
    filled_amount: Decimal
    remaining_quantity: int
    rejected_quantity: int
    cancelled: bool
    time: time | None
    venue: str = "KRX"  # excg_id_dvsn_Cd: KRX, NXT or SOR


@dataclass(frozen=True, slots=True)
class Executions:
    """Daily executions with KIS's totals. ``complete`` is False when the page cap stopped
    the walk before KIS's last page."""

    rows: tuple[Execution, ...]
    total_quantity: int
    total_filled_quantity: int
    total_filled_amount: Decimal
    estimated_fees: Decimal
    complete: bool


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    name: str
    quantity: int
    sellable_quantity: int
    average_price: Decimal
    purchase_amount: Decimal
    price: Decimal
    value: Decimal
    profit: Decimal
    profit_rate: Decimal  # percent


@dataclass(frozen=True, slots=True)
class Balance:
    """Domestic balance (``inquire-balance``): holdings and account totals."""

    holdings: tuple[Holding, ...]
    cash: Decimal  # dnca_tot_amt
    cash_d2: Decimal  # prvs_rcdl_excc_amt, settles in two days
    securities_value: Decimal
    total_value: Decimal
    net_assets: Decimal
    purchase_total: Decimal
    profit_total: Decimal
    complete: bool


@dataclass(frozen=True, slots=True)
class UsQuote:
    """US current price (HHDFS00000300)."""

    symbol: str
    exchange: UsExchange
    realtime_key: str  # rsym, e.g. DNASAAPL: the tr_key for HDFSCNT0/HDFSASP0
    price: Decimal
    change: Decimal
    change_rate: Decimal
    previous_close: Decimal
    volume: int
    trade_value: Decimal
    decimals: int
    orderable: bool


@dataclass(frozen=True, slots=True)
class UsHolding:
    symbol: str
    name: str
    exchange: str
    currency: str
    quantity: int
    sellable_quantity: int
    average_price: Decimal
    purchase_amount: Decimal
    price: Decimal
    value: Decimal
    profit: Decimal
    profit_rate: Decimal


@dataclass(frozen=True, slots=True)
class UsBalance:
    holdings: tuple[UsHolding, ...]
    purchase_total: Decimal
    realized_profit: Decimal
    profit_total: Decimal
    profit_rate: Decimal
    complete: bool


@dataclass(frozen=True, slots=True)
class UsExecution:
    """One overseas order with its fills (``inquire-ccnl``)."""

    order_date: date
    order_no: str
    original_order_no: str
    symbol: str
    name: str
    exchange: str
    side: Side
    quantity: int
    filled_quantity: int
    unfilled_quantity: int
    price: Decimal
    filled_price: Decimal
    filled_amount: Decimal
    status: str
    rejection_reason: str
    time: time | None


@dataclass(frozen=True, slots=True)
class MarketDay:
    """One row of ``chk-holiday`` (CTCA0903R, §4.2). ``open`` (``opnd_yn``) is what says
    whether orders can be placed that day."""

    day: date
    weekday_code: str  # wday_dvsn_cd: 01 Sunday .. 07 Saturday
    business_day: bool
    trading_day: bool
    open: bool
    settlement_day: bool


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """``search-info`` (CTPF1604R, §4.2): the names KIS gives a product."""

    symbol: str
    product_type: str
    name: str  # prdt_abrv_name, the short name screens show
    full_name: str
    english_name: str
