"""The simulated exchange: prices, books, matching, and each customer's ledger.

Everything here is synchronous and guarded by one re-entrant lock, so tests may call
`set_price` or `step` from any thread. State changes are announced to listeners *while the
lock is held*, so a listener that formats a frame sees a consistent market; listeners must
only format and hand off (the realtime hub queues onto the event loop).

Money is Decimal, quantities are int (docs/kis-protocol.md §3.3 numbers leave as strings later).
Fees and taxes are zero, so cash, cost and P/L always add up exactly.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from functools import cached_property

from . import wire
from .accounts import SimAccount
from .clock import KST, Clock, us_local
from .symbols import (
    EXCD_TO_ORDER_EXCHANGE,
    KRW,
    KRX_LISTINGS,
    US_LISTINGS,
    USD,
    krx_tick,
    us_tick,
)

BOOK_DEPTH = 10
HISTORY_DAYS = 700  # about 30 months, so monthly quotes fill their 30 rows
LIMIT_RATE = Decimal("0.30")

# Domestic ORD_DVSN codes the engine understands (docs/kis-protocol.md §4.6). Paper: 00–04 only.
LIMIT, MARKET, CONDITIONAL, BEST_LIMIT, TOP_PRIORITY = "00", "01", "02", "03", "04"
IOC_LIMIT, FOK_LIMIT, IOC_MARKET, FOK_MARKET = "11", "12", "13", "14"
IOC_BEST, FOK_BEST = "15", "16"
PRE_OFFHOURS, POST_OFFHOURS, AFTER_SINGLE = "05", "06", "07"
PAPER_ORD_DVSN = frozenset({LIMIT, MARKET, CONDITIONAL, BEST_LIMIT, TOP_PRIORITY})
IMMEDIATE = frozenset({IOC_LIMIT, FOK_LIMIT, IOC_MARKET, FOK_MARKET, IOC_BEST, FOK_BEST})
REAL_ORD_DVSN = PAPER_ORD_DVSN | IMMEDIATE | {PRE_OFFHOURS, POST_OFFHOURS, AFTER_SINGLE}
MARKET_LIKE = frozenset({MARKET, IOC_MARKET, FOK_MARKET})
ALL_OR_NOTHING = frozenset({FOK_LIMIT, FOK_MARKET, FOK_BEST})
# What each EXCG_ID_DVSN_CD takes (KIS's ORD_DVSN description per venue): NXT has no market,
# conditional or off-hours orders; SOR routes continuous-session orders only. Paper: KRX only.
VENUE_ORD_DVSN = {
    "KRX": REAL_ORD_DVSN,
    "NXT": frozenset({LIMIT, BEST_LIMIT, TOP_PRIORITY}) | IMMEDIATE,
    "SOR": frozenset({LIMIT, MARKET, BEST_LIMIT, TOP_PRIORITY}) | IMMEDIATE,
}
VENUES = tuple(VENUE_ORD_DVSN)
# NXT's book sits this many ticks above KRX's by default, so a quote or a fill shows which
# venue it came from (`Market.set_nxt_offset`).
NXT_OFFSET_TICKS = 1
# Overseas US ORD_DVSN (§4.3): 00 limit; 31 MOO / 33 MOC fill at the market, 32 LOO / 34 LOC
# behave as limits here (no opening/closing auction is simulated).
US_BUY_ORD_DVSN = frozenset({"00", "32", "34"})
US_SELL_ORD_DVSN = frozenset({"00", "31", "32", "33", "34"})
US_MARKET_LIKE = frozenset({"31", "33"})


class Rejected(Exception):
    """The exchange refuses an order; `reason` selects the KIS message (rest/request.py)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Level:
    price: Decimal
    qty: int


@dataclass
class DailyBar:
    date: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    value: Decimal


@dataclass
class MinuteBar:
    start: dt.datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    value: Decimal  # cumulative traded value at the bar's close (acml_tr_pbmn)


class TradeSide(StrEnum):
    """CCLD_DVSN of a print: who crossed the spread."""

    BUYER = "1"
    SELLER = "5"


@dataclass
class Trade:
    """One print on the tape."""

    time: dt.datetime
    price: Decimal
    qty: int
    side: TradeSide


@dataclass
class Symbol:
    code: str
    name: str
    currency: str
    market: str  # KRX, or the quote exchange code NAS/NYS for US tickers
    base: Decimal  # previous close (stck_sdpr / base)
    price: Decimal
    group: str = ""
    open: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    low: Decimal = Decimal(0)
    volume: int = 0
    value: Decimal = Decimal(0)
    prev_volume: int = 0
    sell_count: int = 0
    buy_count: int = 0
    sell_qty: int = 0
    buy_qty: int = 0
    open_time: dt.datetime | None = None
    high_time: dt.datetime | None = None
    low_time: dt.datetime | None = None
    asks: list[Level] = field(default_factory=list)
    bids: list[Level] = field(default_factory=list)
    liquidity: int | None = None  # fixed qty per book level, for deterministic tests
    history: list[DailyBar] = field(default_factory=list)  # see Market.history()
    minutes: list[MinuteBar] = field(default_factory=list)
    day: dt.date | None = None  # the session date the day's figures belong to
    nxt_ticks: int = NXT_OFFSET_TICKS  # NXT's last price and book, in ticks above KRX's

    @property
    def domestic(self) -> bool:
        return self.currency == KRW

    @property
    def order_exchange(self) -> str:
        return "KRX" if self.domestic else EXCD_TO_ORDER_EXCHANGE[self.market]

    def tick(self, price: Decimal | None = None) -> Decimal:
        p = self.price if price is None else price
        return krx_tick(p) if self.domestic else us_tick(p)

    def on_grid(self, price: Decimal) -> bool:
        return price > 0 and price % self.tick(price) == 0

    def floor_to_grid(self, price: Decimal) -> Decimal:
        tick = self.tick(price)
        return (price / tick).to_integral_value(ROUND_FLOOR) * tick

    def ceil_to_grid(self, price: Decimal) -> Decimal:
        tick = self.tick(price)
        return (price / tick).to_integral_value(ROUND_CEILING) * tick

    @cached_property  # the base is fixed for the day
    def upper(self) -> Decimal:
        """Daily upper limit (stck_mxpr): +30% of the base, down to the grid."""
        return self.floor_to_grid(self.base * (1 + LIMIT_RATE))

    @cached_property
    def lower(self) -> Decimal:
        return self.ceil_to_grid(self.base * (1 - LIMIT_RATE))

    def move(self, price: Decimal, ticks: int) -> Decimal:
        """`ticks` grid steps from `price`, crossing tick-table boundaries correctly."""
        for _ in range(abs(ticks)):
            if ticks > 0:
                price = price + self.tick(price)
            else:
                below = price - self.tick(price - Decimal("0.0001"))
                price = self.floor_to_grid(below)
        return price

    def venue_price(self, venue: str) -> Decimal:
        """The last price on `venue`: KRX's, or NXT's a few ticks off it, inside the limits."""
        if venue != "NXT" or not self.domestic:
            return self.price
        return min(max(self.move(self.price, self.nxt_ticks), self.lower), self.upper)

    def venue_book(self, venue: str) -> tuple[list[Level], list[Level]]:
        """(asks, bids) on `venue`. NXT's book is KRX's shifted by `nxt_ticks`, levels
        copied, so what an NXT order takes does not deplete KRX's book."""
        if venue != "NXT" or not self.domestic or not self.nxt_ticks:
            return self.asks, self.bids

        def shifted(levels: list[Level]) -> list[Level]:
            moved = [Level(self.move(lvl.price, self.nxt_ticks), lvl.qty) for lvl in levels]
            return [lvl for lvl in moved if self.lower <= lvl.price <= self.upper]

        return shifted(self.asks), shifted(self.bids)

    @property
    def change(self) -> Decimal:
        return self.price - self.base

    @property
    def sign(self) -> wire.Sign:
        """prdy_vrss_sign (§4.6); only KRX has daily limits."""
        return wire.sign(
            self.change,
            upper_limit=self.domestic and self.price >= self.upper,
            lower_limit=self.domestic and self.price <= self.lower,
        )

    @property
    def change_rate(self) -> Decimal:
        return (self.change * 100 / self.base).quantize(Decimal("0.01"))

    @property
    def vwap(self) -> Decimal:
        if not self.volume:
            return self.price
        return (self.value / self.volume).quantize(Decimal("0.01"))


@dataclass
class Fill:
    time: dt.datetime
    qty: int
    price: Decimal


@dataclass
class Order:
    """One order row as KIS lists it: new orders, revisions and cancels each get one."""

    odno: str
    orgno: str
    env: str
    symbol: Symbol
    side: wire.Side
    ord_dvsn: str
    qty: int
    price: Decimal  # ORD_UNPR as sent; 0 for market-type
    limit: Decimal  # the price the engine honours (upper/lower limit for market-type)
    time: dt.datetime
    kind: wire.OrderKind = wire.OrderKind.NEW
    orgn_odno: str = ""
    fills: list[Fill] = field(default_factory=list)
    cancelled: int = 0  # qty taken away by later revise/cancel rows (cnc_cfrm_qty)
    rejected: int = 0
    venue: str = "KRX"  # EXCG_ID_DVSN_CD as sent ("KRX" for US orders, unused there)

    @property
    def filled(self) -> int:
        return sum(f.qty for f in self.fills)

    @property
    def filled_amount(self) -> Decimal:
        return sum((f.qty * f.price for f in self.fills), Decimal(0))

    @property
    def avg_price(self) -> Decimal:
        return self.filled_amount / self.filled if self.filled else Decimal(0)

    @property
    def remaining(self) -> int:
        if self.kind is wire.OrderKind.CANCEL:
            return 0
        return self.qty - self.filled - self.cancelled - self.rejected

    @property
    def is_open(self) -> bool:
        return self.remaining > 0


@dataclass
class Holding:
    symbol: Symbol
    qty: int = 0
    avg: Decimal = Decimal(0)
    start_qty: int = 0
    buy_qty_today: int = 0
    sell_qty_today: int = 0


class Ledger:
    """One customer's cash, holdings and orders. Cash is on the settled (D+2) basis."""

    def __init__(self, account: SimAccount, symbols: dict[str, Symbol]):
        self.account = account
        self.start_cash = {KRW: account.cash_krw, USD: account.cash_usd}
        self.cash = dict(self.start_cash)
        self.bought = {KRW: Decimal(0), USD: Decimal(0)}
        self.sold = {KRW: Decimal(0), USD: Decimal(0)}
        self.realized = {KRW: Decimal(0), USD: Decimal(0)}
        self.holdings: dict[str, Holding] = {}
        self.orders: dict[str, Order] = {}
        for code, qty in account.holdings.items():
            sym = symbols[code]
            self.holdings[code] = Holding(sym, qty=qty, avg=sym.base, start_qty=qty)

    def reserved(self, currency: str) -> Decimal:
        """Cash held by open buys. Every order and buying-power ask walks the day's orders,
        so each one's ``remaining`` (a sum over its fills) is worked out once, not twice."""
        total = Decimal(0)
        for o in self.orders.values():
            if o.side is wire.Side.BUY and o.symbol.currency == currency:
                remaining = o.remaining
                if remaining > 0:
                    total += remaining * o.limit
        return total

    def buying_power(self, currency: str) -> Decimal:
        return self.cash[currency] - self.reserved(currency)

    def sellable(self, code: str) -> int:
        holding = self.holdings.get(code)
        if holding is None:
            return 0
        pending = 0
        for o in self.orders.values():
            if o.side is wire.Side.SELL and o.symbol.code == code:
                pending += max(o.remaining, 0)
        return holding.qty - pending

    def start_day(self, currency: str) -> None:
        """A new session in `currency`: today's figures restart, open orders lapse."""
        self.start_cash[currency] = self.cash[currency]
        self.bought[currency] = self.sold[currency] = Decimal(0)
        for h in self.holdings.values():
            if h.symbol.currency == currency:
                h.start_qty, h.buy_qty_today, h.sell_qty_today = h.qty, 0, 0
        for o in self.orders.values():
            if o.symbol.currency == currency and o.is_open:
                o.cancelled += o.remaining

    def positions(self, currency: str) -> list[Holding]:
        """Held symbols plus those traded today (sold-out rows stay until D+2, §4.1)."""
        rows = [
            h
            for h in self.holdings.values()
            if h.symbol.currency == currency and (h.qty or h.buy_qty_today or h.sell_qty_today)
        ]
        return sorted(rows, key=lambda h: h.symbol.code)


class EventKind(StrEnum):
    TRADES = "trades"  # tape prints
    BOOK = "book"
    NOTICE = "notice"  # an event of one customer's order


class Notice(StrEnum):
    ACCEPT = "accept"
    REVISE = "revise"
    CANCEL = "cancel"
    REJECT = "reject"
    FILL = "fill"


@dataclass(frozen=True)
class MarketEvent:
    """Announced to listeners. A notice names its order row; a fill notice carries the fill."""

    kind: EventKind
    symbol: Symbol
    trades: tuple[Trade, ...] = ()
    ledger: Ledger | None = None
    order: Order | None = None
    notice: Notice | None = None
    fill: Fill | None = None


class Market:
    """Every listed symbol, every customer's ledger, and the matching engine."""

    def __init__(self, seed: int = 0, clock: Clock | None = None):
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.seed = seed
        self._rng = random.Random(seed)
        self._listeners: list[Callable[[MarketEvent], None]] = []
        self._order_seq = {"real": 0, "paper": 0}
        self.ledgers: dict[str, Ledger] = {}
        self.symbols: dict[str, Symbol] = {}
        today = self.clock.now()
        for code, name, base, group in KRX_LISTINGS:
            self._list(Symbol(code, name, KRW, "KRX", Decimal(base), Decimal(base), group), today)
        for ticker, name, usd, excd in US_LISTINGS:
            self._list(Symbol(ticker, name, USD, excd, Decimal(usd), Decimal(usd)), today)

    # -- setup ---------------------------------------------------------------------------

    def _list(self, sym: Symbol, now: dt.datetime) -> None:
        sym.base = sym.floor_to_grid(sym.base)
        sym.price = sym.open = sym.high = sym.low = sym.base
        sym.open_time = sym.high_time = sym.low_time = now
        sym.prev_volume = self._rng.randint(100_000, 5_000_000)
        sym.minutes = self._make_minutes(sym, now)
        sym.day = self.session_date(sym)
        self._rebuild_book(sym)
        self.symbols[sym.code] = sym

    def session_date(self, sym: Symbol) -> dt.date:
        """Today on the symbol's own exchange: the KST date for KRX, New York's for the US
        (overseas daily rows are dated in local time, §4.3)."""
        now = self.clock.now()
        return (now.astimezone(KST) if sym.domestic else us_local(now)).date()

    def history(self, sym: Symbol) -> list[DailyBar]:
        """Daily bars before today, oldest first; made on first use from a per-symbol seed."""
        with self.lock:
            if not sym.history:
                rng = random.Random(f"{self.seed}:{sym.code}")
                sym.history = self._make_history(sym, sym.day or self.session_date(sym), rng)
            return sym.history

    def roll_day(self) -> None:
        """Open a new session on each exchange whose calendar date has moved on.

        Yesterday's session becomes a daily bar and its last price the new base (limits,
        prdy_* figures); the day's counters and minute bars start afresh; each ledger's
        start-of-day cash and today's quantities restart; orders still open lapse, as KIS
        day orders end with their session. Runs before every API call and market step.
        """
        with self.lock:
            now = self.clock.now()
            days = {KRW: now.astimezone(KST).date(), USD: us_local(now).date()}
            rolled = set()
            for sym in self.symbols.values():
                today = days[sym.currency]
                if sym.day is None or today <= sym.day:
                    continue
                self.history(sym)  # made up to the old day before it moves on
                if sym.volume:
                    sym.history.append(
                        DailyBar(
                            sym.day, sym.open, sym.high, sym.low, sym.price, sym.volume, sym.value
                        )
                    )
                    sym.prev_volume = sym.volume
                sym.base = sym.price
                sym.__dict__.pop("upper", None)  # cached limits follow the new base
                sym.__dict__.pop("lower", None)
                sym.open = sym.high = sym.low = sym.price
                sym.open_time = sym.high_time = sym.low_time = self.clock.now()
                sym.volume, sym.value = 0, Decimal(0)
                sym.sell_count = sym.buy_count = sym.sell_qty = sym.buy_qty = 0
                sym.minutes = []
                sym.day = today
                rolled.add(sym.currency)
            for currency in rolled:
                for ledger in self.ledgers.values():
                    ledger.start_day(currency)

    @staticmethod
    def _make_history(sym: Symbol, today: dt.date, rng: random.Random) -> list[DailyBar]:
        """Seeded business-day bars ending yesterday at the base price."""
        bars: list[DailyBar] = []
        close = sym.base
        day = today
        while len(bars) < HISTORY_DAYS:
            day -= dt.timedelta(days=1)
            if day.weekday() >= 5:
                continue
            drift = Decimal(rng.randint(-250, 250)) / 10_000
            open_ = sym.floor_to_grid(close * (1 - drift))
            high = max(open_, close) + sym.tick(close) * rng.randint(0, 4)
            low = max(sym.tick(close), min(open_, close) - sym.tick(close) * rng.randint(0, 4))
            volume = rng.randint(50_000, 5_000_000)
            bars.append(DailyBar(day, open_, high, low, close, volume, close * volume))
            close = open_
        bars.reverse()
        return bars

    def _make_minutes(self, sym: Symbol, now: dt.datetime) -> list[MinuteBar]:
        """Thirty quiet one-minute bars before start, so minute charts are never empty."""
        start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
        return [
            MinuteBar(
                start + dt.timedelta(minutes=i),
                sym.base,
                sym.base,
                sym.base,
                sym.base,
                0,
                Decimal(0),
            )
            for i in range(30)
        ]

    def add_account(self, account: SimAccount) -> Ledger:
        with self.lock:
            ledger = Ledger(account, self.symbols)
            self.ledgers[account.appkey] = ledger
            return ledger

    def subscribe(self, listener: Callable[[MarketEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: MarketEvent) -> None:
        for listener in self._listeners:
            listener(event)

    # -- public controls -----------------------------------------------------------------

    def quote(self, code: str) -> Symbol:
        return self.symbols[code]

    def set_price(self, code: str, price: Decimal | int | str) -> None:
        """Trade the symbol at `price` (on the grid, inside the limits), then match."""
        with self.lock:
            self.roll_day()
            sym = self.symbols[code]
            price = Decimal(str(price))
            if not sym.on_grid(price):
                raise ValueError(f"{price} is not on the tick grid of {code}")
            if sym.domestic and not sym.lower <= price <= sym.upper:
                raise ValueError(f"{price} is outside {sym.lower}..{sym.upper}")
            sym.price = price
            self._rebuild_book(sym)
            trade = Trade(self.clock.now(), price, self._rng.randint(1, 50), TradeSide.BUYER)
            self._print(sym, [trade])
            self._emit(MarketEvent(EventKind.BOOK, sym))
            self._match_resting(sym)

    def set_liquidity(self, code: str, qty_per_level: int | None) -> None:
        """Fix every book level at `qty_per_level` (None: back to seeded liquidity)."""
        with self.lock:
            sym = self.symbols[code]
            sym.liquidity = qty_per_level
            self._rebuild_book(sym)
            self._emit(MarketEvent(EventKind.BOOK, sym))

    def step(self) -> None:
        """Advance every symbol one random-walk tick, then match resting orders."""
        with self.lock:
            self.roll_day()
            for sym in self.symbols.values():
                self._walk(sym)
            for sym in self.symbols.values():
                self._match_resting(sym)

    # -- the walk ------------------------------------------------------------------------

    def _walk(self, sym: Symbol) -> None:
        rng = self._rng
        ticks = rng.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2))
        price = sym.move(sym.price, ticks)
        if sym.domestic:
            price = min(max(price, sym.lower), sym.upper)
        else:
            price = min(max(price, sym.floor_to_grid(sym.base * Decimal("0.7"))), sym.base * 2)
        sym.price = price
        # Several prints in one tick go out as one multi-record frame (§7.3).
        count = 1 + (rng.random() < 0.35) + (rng.random() < 0.15)
        now = self.clock.now()
        if ticks:
            side = TradeSide.BUYER if ticks > 0 else TradeSide.SELLER
        else:
            side = rng.choice((TradeSide.BUYER, TradeSide.SELLER))
        trades = [Trade(now, price, rng.randint(1, 300), side) for _ in range(count)]
        self._rebuild_book(sym)
        self._print(sym, trades)
        self._emit(MarketEvent(EventKind.BOOK, sym))

    def _print(self, sym: Symbol, trades: list[Trade]) -> None:
        """Put trades on the tape: OHLC, volume, minute bars; announce them."""
        for t in trades:
            if t.price > sym.high:
                sym.high, sym.high_time = t.price, t.time
            if t.price < sym.low:
                sym.low, sym.low_time = t.price, t.time
            sym.volume += t.qty
            sym.value += t.price * t.qty
            if t.side is TradeSide.BUYER:
                sym.buy_count += 1
                sym.buy_qty += t.qty
            else:
                sym.sell_count += 1
                sym.sell_qty += t.qty
            minute = t.time.replace(second=0, microsecond=0)
            bar = sym.minutes[-1] if sym.minutes else None
            if bar is None or bar.start < minute:
                sym.minutes.append(
                    MinuteBar(minute, t.price, t.price, t.price, t.price, 0, Decimal(0))
                )
                bar = sym.minutes[-1]
            bar.high = max(bar.high, t.price)
            bar.low = min(bar.low, t.price)
            bar.close = t.price
            bar.volume += t.qty
            bar.value = sym.value
        self._emit(MarketEvent(EventKind.TRADES, sym, trades=tuple(trades)))

    def _rebuild_book(self, sym: Symbol) -> None:
        """Ten levels each side: bids from the last price down, asks from one tick above.

        Runs for every symbol on every tick, so it steps the grid inline: the tick tables
        nest (each boundary is a multiple of the larger tick), so stepping down by the tick
        just below a price always lands on the grid.
        """
        random = self._rng.random
        low, high = (50, 3000) if sym.domestic else (10, 800)

        def qty() -> int:
            if sym.liquidity is not None:
                return sym.liquidity
            if random() < 0.1:
                return 1 + int(random() * 20)  # a thin level, so big orders fill partially
            return low + int(random() * (high - low + 1))

        tick = sym.tick
        epsilon = Decimal("0.0001")
        top = sym.upper if sym.domestic else sym.base * 2
        bottom = sym.lower if sym.domestic else tick(sym.base)
        asks: list[Level] = []
        bids: list[Level] = []
        price = sym.price + tick(sym.price)
        while len(asks) < BOOK_DEPTH and price <= top:
            asks.append(Level(price, qty()))
            price += tick(price)
        price = sym.price
        while len(bids) < BOOK_DEPTH and price >= bottom:
            bids.append(Level(price, qty()))
            price -= tick(price - epsilon)
        sym.asks, sym.bids = asks, bids

    # -- orders --------------------------------------------------------------------------

    def _next_odno(self, env: str) -> str:
        self._order_seq[env] += 1
        return f"{self._order_seq[env]:010d}"

    @staticmethod
    def orgno(env: str) -> str:
        """KRX_FWDG_ORD_ORGNO: paper `00950` as captured (§3.3); real is a branch number."""
        return "00950" if env == "paper" else "91252"

    def set_nxt_offset(self, code: str, ticks: int) -> None:
        """Put NXT's price and book `ticks` grid steps off KRX's (0: the same)."""
        with self.lock:
            self.symbols[code].nxt_ticks = ticks

    def submit_order(
        self,
        ledger: Ledger,
        code: str,
        side: wire.Side,
        ord_dvsn: str,
        qty: int,
        price: Decimal,
        venue: str = "KRX",
    ) -> Order:
        """Validate, accept and match a new order; raise Rejected with a reason key."""
        with self.lock:
            sym = self.symbols.get(code)
            if sym is None:
                raise Rejected("symbol")
            env = ledger.account.env
            order = Order(
                odno="",
                orgno=self.orgno(env),
                env=env,
                symbol=sym,
                side=side,
                ord_dvsn=ord_dvsn,
                qty=qty,
                price=price,
                limit=price,
                time=self.clock.now(),
                venue=venue,
            )
            try:
                order.limit = self._validate(ledger, order)
            except Rejected:
                order.odno = self._next_odno(env)
                order.rejected = max(qty, 0)
                self._emit(
                    MarketEvent(
                        EventKind.NOTICE, sym, ledger=ledger, order=order, notice=Notice.REJECT
                    )
                )
                raise
            order.odno = self._next_odno(env)
            ledger.orders[order.odno] = order
            ledger.holdings.setdefault(code, Holding(sym))
            self._emit(
                MarketEvent(EventKind.NOTICE, sym, ledger=ledger, order=order, notice=Notice.ACCEPT)
            )
            all_or_nothing = ord_dvsn in ALL_OR_NOTHING
            if not all_or_nothing or self._fillable(order) >= order.qty:
                self._match(ledger, order)
            self._finish_immediate(ledger, order)
            return order

    @staticmethod
    def _fillable(order: Order) -> int:
        """Quantity the opposite book offers at or better than the order's limit."""
        asks, bids = order.symbol.venue_book(order.venue)
        if order.side is wire.Side.BUY:
            return sum(lvl.qty for lvl in asks if lvl.price <= order.limit)
        return sum(lvl.qty for lvl in bids if lvl.price >= order.limit)

    def _validate(self, ledger: Ledger, order: Order) -> Decimal:
        """Return the engine limit for the order, or raise Rejected."""
        sym, env = order.symbol, order.env
        if order.qty <= 0:
            raise Rejected("qty")
        if sym.domestic:
            if order.venue not in VENUE_ORD_DVSN:
                raise Rejected("venue")
            if env == "paper" and order.venue != "KRX":
                raise Rejected("venue_paper")
            allowed = PAPER_ORD_DVSN if env == "paper" else VENUE_ORD_DVSN[order.venue]
            if order.ord_dvsn not in allowed:
                raise Rejected("ord_dvsn")
            asks, bids = sym.venue_book(order.venue)
            if order.ord_dvsn in MARKET_LIKE:
                limit = sym.upper if order.side is wire.Side.BUY else sym.lower
            elif order.ord_dvsn in (BEST_LIMIT, IOC_BEST, FOK_BEST):
                best = asks if order.side is wire.Side.BUY else bids
                limit = best[0].price if best else sym.venue_price(order.venue)
            elif order.ord_dvsn == TOP_PRIORITY:
                same = bids if order.side is wire.Side.BUY else asks
                limit = same[0].price if same else sym.venue_price(order.venue)
            elif order.ord_dvsn == PRE_OFFHOURS:
                limit = sym.base  # pre-market off-hours trade at the previous close
            elif order.ord_dvsn == POST_OFFHOURS:
                limit = sym.price  # post-market off-hours trade at today's close
            else:
                limit = order.price
                if limit > sym.upper:
                    raise Rejected("price_upper")
                if limit < sym.lower:
                    raise Rejected("price_lower")
                if not sym.on_grid(limit):
                    raise Rejected("price_tick")
        else:
            allowed = US_BUY_ORD_DVSN if order.side is wire.Side.BUY else US_SELL_ORD_DVSN
            if env == "paper":
                allowed = frozenset({"00"})
            if order.ord_dvsn not in allowed:
                raise Rejected("ord_dvsn")
            if order.ord_dvsn in US_MARKET_LIKE:
                limit = sym.tick(sym.base)
            else:
                limit = order.price
                if limit <= 0 or limit != limit.quantize(sym.tick(limit)):
                    raise Rejected("price_tick")
        if order.side is wire.Side.BUY:
            if order.qty * limit > ledger.buying_power(sym.currency):
                raise Rejected("cash")
        elif order.qty > ledger.sellable(sym.code):
            raise Rejected("holdings")
        return limit

    def _finish_immediate(self, ledger: Ledger, order: Order) -> None:
        """IOC/FOK-style orders never rest: cancel what did not fill at once."""
        if order.ord_dvsn in IMMEDIATE and order.remaining:
            order.cancelled += order.remaining
            self._emit(
                MarketEvent(
                    EventKind.NOTICE, order.symbol, ledger=ledger, order=order, notice=Notice.CANCEL
                )
            )

    def revise_or_cancel(
        self,
        ledger: Ledger,
        orgn_odno: str,
        kind: wire.OrderKind,
        ord_dvsn: str,
        qty: int,
        price: Decimal,
        all_qty: bool,
    ) -> Order:
        """Revise or cancel what is left of an open order; a new ODNO results."""
        with self.lock:
            original = ledger.orders.get(orgn_odno.lstrip("0").zfill(10))
            if original is None or original.kind is wire.OrderKind.CANCEL:
                raise Rejected("no_order")
            left = original.remaining
            if left <= 0:
                raise Rejected("nothing_left")
            take = left if all_qty else qty
            if take <= 0:
                raise Rejected("qty")
            if take > left:
                raise Rejected("nothing_left")
            env, sym = original.env, original.symbol
            row = Order(
                odno="",
                orgno=original.orgno,
                env=env,
                symbol=sym,
                side=original.side,
                ord_dvsn=ord_dvsn if kind is wire.OrderKind.REVISE else original.ord_dvsn,
                qty=take,
                price=price if kind is wire.OrderKind.REVISE else original.price,
                limit=original.limit,
                time=self.clock.now(),
                kind=kind,
                orgn_odno=original.odno,
                venue=original.venue,
            )
            if kind is wire.OrderKind.REVISE:
                original.cancelled += take  # taken away first, so it frees its reservation
                try:
                    row.limit = self._validate(ledger, row)
                except Rejected:
                    original.cancelled -= take
                    raise
            else:
                original.cancelled += take
            row.odno = self._next_odno(env)
            ledger.orders[row.odno] = row
            notice = Notice.REVISE if kind is wire.OrderKind.REVISE else Notice.CANCEL
            self._emit(MarketEvent(EventKind.NOTICE, sym, ledger=ledger, order=row, notice=notice))
            if kind is wire.OrderKind.REVISE:
                self._match(ledger, row)
            return row

    def open_orders(self, ledger: Ledger) -> list[Order]:
        with self.lock:
            return [o for o in ledger.orders.values() if o.is_open]

    # -- matching ------------------------------------------------------------------------

    def _match_resting(self, sym: Symbol) -> None:
        for ledger in self.ledgers.values():
            for order in list(ledger.orders.values()):
                if order.symbol is sym and order.is_open:
                    self._match(ledger, order)

    def _match(self, ledger: Ledger, order: Order) -> None:
        """Fill against the opposite book up to the limit, level by level."""
        sym = order.symbol
        asks, bids = sym.venue_book(order.venue)
        levels = asks if order.side is wire.Side.BUY else bids
        prints: list[Trade] = []
        for level in levels:
            if not order.remaining:
                break
            crosses = (
                level.price <= order.limit
                if order.side is wire.Side.BUY
                else level.price >= order.limit
            )
            if not crosses:
                break
            qty = min(order.remaining, level.qty)
            if qty <= 0:
                continue
            level.qty -= qty
            fill = Fill(self.clock.now(), qty, level.price)
            order.fills.append(fill)
            self._settle(ledger, order, fill)
            prints.append(
                Trade(
                    fill.time,
                    fill.price,
                    qty,
                    TradeSide.BUYER if order.side is wire.Side.BUY else TradeSide.SELLER,
                )
            )
            self._emit(
                MarketEvent(
                    EventKind.NOTICE, sym, ledger=ledger, order=order, notice=Notice.FILL, fill=fill
                )
            )
        if prints and sym.venue_book(order.venue)[0] is sym.asks:  # KRX's own book traded
            sym.price = prints[-1].price
            self._print(sym, prints)
            self._emit(MarketEvent(EventKind.BOOK, sym))

    def _settle(self, ledger: Ledger, order: Order, fill: Fill) -> None:
        sym = order.symbol
        holding = ledger.holdings.setdefault(sym.code, Holding(sym))
        amount = fill.price * fill.qty
        if order.side is wire.Side.BUY:
            total = holding.avg * holding.qty + amount
            holding.qty += fill.qty
            holding.avg = total / holding.qty
            holding.buy_qty_today += fill.qty
            ledger.cash[sym.currency] -= amount
            ledger.bought[sym.currency] += amount
        else:
            ledger.realized[sym.currency] += (fill.price - holding.avg) * fill.qty
            holding.qty -= fill.qty
            holding.sell_qty_today += fill.qty
            if holding.qty == 0:
                holding.avg = Decimal(0)
            ledger.cash[sym.currency] += amount
            ledger.sold[sym.currency] += amount
