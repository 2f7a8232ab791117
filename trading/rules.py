"""The order ticket's rules as plain functions: tick grid, day limits, quantity, what each
environment offers, the KRX session by the KST clock, and the estimated cost.

Each check raises ``TicketRefused`` with the field it concerns and a sentence for the form
(English msgid, Korean in locale/). The form, the actions and the help page all read the
same tables here, so what the ticket offers and what it refuses never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

KST = dt.timezone(dt.timedelta(hours=9), "KST")

PAPER = "paper"
REAL = "real"


class TicketRefused(Exception):
    """A ticket that must not be sent. ``field`` names the form field ("" for the form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---------------------------------------------------------------- order types

ORDER_TYPE_LABELS = {
    "00": gettext_lazy("Limit"),
    "01": gettext_lazy("Market"),
    "02": gettext_lazy("Conditional limit"),
    "03": gettext_lazy("Best limit"),
    "04": gettext_lazy("Top-priority limit"),
    "05": gettext_lazy("Pre-market off-hours (previous close)"),
    "06": gettext_lazy("Post-market off-hours (closing price)"),
    "07": gettext_lazy("After-hours single price"),
    "11": gettext_lazy("IOC limit"),
    "12": gettext_lazy("FOK limit"),
    "13": gettext_lazy("IOC market"),
    "14": gettext_lazy("FOK market"),
    "15": gettext_lazy("IOC best limit"),
    "16": gettext_lazy("FOK best limit"),
}
# What each type does, for the help page (docs/kis-protocol.md §4.6, §8). IOC: fill what
# can be filled at once, cancel the rest; FOK: fill all at once or cancel all.
ORDER_TYPE_MEANINGS = {
    "00": gettext_lazy("Your price or better; rests in the book."),
    "01": gettext_lazy("Fills at the best prices available now."),
    "02": gettext_lazy("A limit order that turns into a market order at the closing call."),
    "03": gettext_lazy("Priced at the best opposite quote when it arrives."),
    "04": gettext_lazy("Priced at the best quote on your own side when it arrives."),
    "05": gettext_lazy("08:30–08:40, at the previous day's close."),
    "06": gettext_lazy("15:40–16:00, at today's closing price."),
    "07": gettext_lazy(
        "16:00–18:00, matched every 10 minutes within ±10% of the close; enter a price."
    ),
    "11": gettext_lazy("Your price or better, at once; the rest is cancelled."),
    "12": gettext_lazy("Your price or better, all at once, or nothing."),
    "13": gettext_lazy("At the market, at once; the rest is cancelled."),
    "14": gettext_lazy("At the market, all at once, or nothing."),
    "15": gettext_lazy("At the best opposite quote, at once; the rest is cancelled."),
    "16": gettext_lazy("At the best opposite quote, all at once, or nothing."),
}
# Types whose ORD_UNPR is the person's price; the rest go out with "0" (§4.6). 05 and 06
# trade at a price the exchange sets (previous close, today's close).
PRICED_TYPES = frozenset({"00", "02", "07", "11", "12"})
US_ORDER_TYPE_LABELS = {
    "00": gettext_lazy("Limit"),
    "31": gettext_lazy("Market on open (MOO)"),
    "32": gettext_lazy("Limit on open (LOO)"),
    "33": gettext_lazy("Market on close (MOC)"),
    "34": gettext_lazy("Limit on close (LOC)"),
}
US_PRICED_TYPES = frozenset({"00", "32", "34"})


def order_type_label(market: str, order_type: str) -> str:
    labels = US_ORDER_TYPE_LABELS if market == "US" else ORDER_TYPE_LABELS
    return str(labels.get(order_type, ""))


def needs_price(order_type: str, market: str = "KRX") -> bool:
    return order_type in (US_PRICED_TYPES if market == "US" else PRICED_TYPES)


# ---------------------------------------------------------------- what each environment offers


@dataclass(frozen=True)
class Capabilities:
    """What KIS offers in one environment (docs/kis-protocol.md §4.1, §4.3, §4.6, §6, §9)."""

    venues: tuple[str, ...]
    order_types: tuple[str, ...]
    venue_order_types: Mapping[str, tuple[str, ...]]
    us_buy_types: tuple[str, ...]
    us_sell_types: tuple[str, ...]
    revisable_orders_list: bool
    requests_per_second: int


REAL_TYPES = (
    "00", "01", "02", "03", "04", "05", "06", "07", "11", "12", "13", "14", "15", "16",
)  # fmt: skip
CAPABILITIES = {
    PAPER: Capabilities(
        venues=("KRX",),
        order_types=("00", "01", "02", "03", "04"),
        venue_order_types={"KRX": ("00", "01", "02", "03", "04")},
        us_buy_types=("00",),
        us_sell_types=("00",),
        revisable_orders_list=False,
        requests_per_second=2,
    ),
    REAL: Capabilities(
        venues=("KRX", "NXT", "SOR"),
        order_types=REAL_TYPES,
        # KIS's ORD_DVSN description per EXCG_ID_DVSN_CD: NXT has no market, conditional or
        # off-hours orders; SOR routes continuous-session orders only.
        venue_order_types={
            "KRX": REAL_TYPES,
            "NXT": ("00", "03", "04", "11", "12", "13", "14", "15", "16"),
            "SOR": ("00", "01", "03", "04", "11", "12", "13", "14", "15", "16"),
        },
        us_buy_types=("00", "32", "34"),
        us_sell_types=("00", "31", "32", "33", "34"),
        revisable_orders_list=True,
        requests_per_second=20,
    ),
}


def capability_rows() -> list[dict[str, str]]:
    """The paper-versus-real table the help page shows, built from ``CAPABILITIES``."""

    def types(codes: Sequence[str], labels: Mapping[str, Promise]) -> str:
        return ", ".join(f"{code} {labels[code]}" for code in codes)

    paper, real = CAPABILITIES[PAPER], CAPABILITIES[REAL]
    yes, no = _("yes"), _("no")
    return [
        {"what": _("Venues"), "paper": ", ".join(paper.venues), "real": ", ".join(real.venues)},
        {
            "what": _("Domestic order types"),
            "paper": types(paper.order_types, ORDER_TYPE_LABELS),
            "real": types(real.order_types, ORDER_TYPE_LABELS),
        },
        {
            "what": _("US buy order types"),
            "paper": types(paper.us_buy_types, US_ORDER_TYPE_LABELS),
            "real": types(real.us_buy_types, US_ORDER_TYPE_LABELS),
        },
        {
            "what": _("US sell order types"),
            "paper": types(paper.us_sell_types, US_ORDER_TYPE_LABELS),
            "real": types(real.us_sell_types, US_ORDER_TYPE_LABELS),
        },
        {
            "what": _("List of revisable orders"),
            "paper": yes if paper.revisable_orders_list else no,
            "real": yes if real.revisable_orders_list else no,
        },
        {
            "what": _("Requests per second"),
            "paper": str(paper.requests_per_second),
            "real": str(real.requests_per_second),
        },
    ]


def order_type_rows() -> list[dict[str, object]]:
    """The help page's table of domestic order types: what each does, the venues that take
    it on real accounts, whether paper takes it, and the sessions it belongs to."""
    paper, real = CAPABILITIES[PAPER], CAPABILITIES[REAL]
    rows: list[dict[str, object]] = []
    for code in real.order_types:
        rows.append(
            {
                "code": code,
                "label": ORDER_TYPE_LABELS[code],
                "meaning": ORDER_TYPE_MEANINGS[code],
                "venues": ", ".join(v for v in real.venues if code in real.venue_order_types[v]),
                "paper": code in paper.order_types,
                "sessions": ", ".join(str(s.label) for s in SESSIONS if code in s.order_types),
            }
        )
    return rows


def check_offered(environment: str, market: str, venue: str, side: str, order_type: str) -> None:
    """Refuse what the environment does not offer, in words."""
    offer = CAPABILITIES[environment]
    paper = environment == PAPER
    if market == "US":
        allowed = offer.us_buy_types if side == "buy" else offer.us_sell_types
        if order_type not in allowed:
            if paper:
                raise TicketRefused(
                    "order_type", _("Paper trading takes US limit orders only (00).")
                )
            raise TicketRefused("order_type", _("KIS does not take this US order type here."))
        return
    if venue not in offer.venues:
        if paper:
            raise TicketRefused(
                "venue", _("Paper trading sends orders to KRX only; NXT and SOR are real only.")
            )
        raise TicketRefused("venue", _("Choose KRX, NXT or SOR."))
    if order_type not in offer.order_types:
        if paper:
            raise TicketRefused(
                "order_type",
                _(
                    "Paper trading takes order types 00–04 only (limit, "
                    "market, conditional, best, top-priority)."
                ),
            )
        raise TicketRefused("order_type", _("KIS does not know this order type."))
    if order_type not in offer.venue_order_types[venue]:
        raise TicketRefused(
            "order_type",
            _("%(venue)s does not take this order type. It takes: %(types)s.")
            % {
                "venue": venue,
                "types": ", ".join(
                    f"{code} {ORDER_TYPE_LABELS[code]}" for code in offer.venue_order_types[venue]
                ),
            },
        )


# What kisweb's client sends: every venue and order type KIS offers (the client refuses
# paper's gaps again before sending).
SENDABLE_VENUES = ("KRX", "NXT", "SOR", "NASD", "NYSE", "AMEX")
SENDABLE_TYPES = {"KRX": REAL_TYPES, "US": tuple(US_ORDER_TYPE_LABELS)}


def check_sendable(market: str, venue: str, order_type: str) -> None:
    """Refuse, in words, what KIS offers but kisweb cannot send."""
    if venue not in SENDABLE_VENUES:
        raise TicketRefused("venue", _("Choose KRX, NXT or SOR."))
    if order_type not in SENDABLE_TYPES[market]:
        raise TicketRefused("order_type", _("kisweb cannot send this order type yet."))


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Session:
    """One stretch of the trading day with the order types it takes, per venue."""

    key: str
    label: Promise | str
    venue: str
    start: dt.time
    end: dt.time
    order_types: tuple[str, ...]


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# KRX and NXT hours (docs/kis-protocol.md §8). The regular session's closing auction
# (15:20–15:30) is a single-price call: only limit, market and conditional limit count.
SESSIONS: tuple[Session, ...] = (
    Session("nxt_pre", gettext_lazy("NXT pre-market"), "NXT", _t("08:00"), _t("08:50"), ("00",)),
    Session(
        "krx_pre_offhours",
        gettext_lazy("Pre-market off-hours"),
        "KRX",
        _t("08:30"),
        _t("08:40"),
        ("05",),
    ),
    Session(
        "krx_opening_auction",
        gettext_lazy("Opening auction"),
        "KRX",
        _t("08:30"),
        _t("09:00"),
        ("00", "01", "02"),
    ),
    Session(
        "krx_regular",
        gettext_lazy("Regular session"),
        "KRX",
        _t("09:00"),
        _t("15:20"),
        ("00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16"),
    ),
    Session(
        "krx_closing_auction",
        gettext_lazy("Closing auction"),
        "KRX",
        _t("15:20"),
        _t("15:30"),
        ("00", "01", "02"),
    ),
    Session(
        "krx_post_offhours",
        gettext_lazy("Post-market off-hours"),
        "KRX",
        _t("15:40"),
        _t("16:00"),
        ("06",),
    ),
    Session(
        "krx_after_single",
        gettext_lazy("After-hours single price"),
        "KRX",
        _t("16:00"),
        _t("18:00"),
        ("07",),
    ),
    Session(
        "nxt_regular",
        gettext_lazy("NXT main market"),
        "NXT",
        _t("09:00"),
        _t("15:20"),
        ("00", "03", "04", "11", "12", "13", "14", "15", "16"),
    ),
    Session(
        "sor_regular",
        gettext_lazy("SOR (KRX and NXT) main session"),
        "SOR",
        _t("09:00"),
        _t("15:20"),
        ("00", "01", "03", "04", "11", "12", "13", "14", "15", "16"),
    ),
    Session(
        "nxt_after", gettext_lazy("NXT after-market"), "NXT", _t("15:30"), _t("20:00"), ("00",)
    ),
)
# Paper's KRX takes orders in the regular session only (it answers 장시작전 / 장종료 outside).
PAPER_SESSIONS = frozenset({"krx_regular", "krx_closing_auction"})
ALWAYS_OPEN = Session(
    "always", gettext_lazy("Simulator (always open)"), "KRX", dt.time.min, dt.time.max, ()
)


def market_hours() -> str:
    """``"krx"`` follows the KST clock; ``"always"`` treats the market as open (the demo's
    simulator runs with an always-open clock). Setting ``KISWEB_MARKET_HOURS``."""
    default = "always" if getattr(settings, "KISWEB_MODE", "") == "demo" else "krx"
    return str(getattr(settings, "KISWEB_MARKET_HOURS", default))


def kst_now() -> dt.datetime:
    return dt.datetime.now(KST)


def is_trading_day(day: dt.date, day_open: bool | None = None) -> bool:
    """``day_open`` is the calendar's word for ``day`` (``trading.calendar.day_status``,
    from KIS's ``chk-holiday``); without it, weekdays count as open."""
    return day.weekday() < 5 if day_open is None else day_open


def sessions_at(
    moment: dt.datetime, environment: str, venue: str, day_open: bool | None = None
) -> list[Session]:
    """The sessions open at ``moment`` for this venue (several overlap before 09:00)."""
    if market_hours() == "always":
        return [ALWAYS_OPEN]
    local = moment.astimezone(KST)
    if not is_trading_day(local.date(), day_open):
        return []
    now = local.time()
    found = [s for s in SESSIONS if s.venue == venue and s.start <= now < s.end]
    if environment == PAPER:
        found = [s for s in found if s.key in PAPER_SESSIONS]
    return found


def order_types_now(
    moment: dt.datetime, environment: str, venue: str, day_open: bool | None = None
) -> tuple[str, ...]:
    """Order types the ticket offers at ``moment``: the session's, within what the
    environment and the venue take."""
    capabilities = CAPABILITIES[environment]
    venue_types = capabilities.venue_order_types.get(venue, ())
    offered = tuple(
        code
        for code in capabilities.order_types
        if code in SENDABLE_TYPES["KRX"] and code in venue_types
    )
    sessions = sessions_at(moment, environment, venue, day_open)
    if sessions == [ALWAYS_OPEN]:
        return offered
    allowed = {code for session in sessions for code in session.order_types}
    return tuple(code for code in offered if code in allowed)


def check_session(
    moment: dt.datetime,
    environment: str,
    venue: str,
    order_type: str,
    day_open: bool | None = None,
) -> None:
    local = moment.astimezone(KST)
    if market_hours() != "always" and not is_trading_day(local.date(), day_open):
        if local.weekday() >= 5:
            raise TicketRefused(
                "", _("The market is closed today (weekend). Orders open on the next trading day.")
            )
        raise TicketRefused(
            "",
            _("The market is closed today (KRX holiday). Orders open on the next trading day."),
        )
    sessions = sessions_at(moment, environment, venue, day_open)
    if not sessions:
        if environment == PAPER:
            raise TicketRefused(
                "",
                _(
                    "Paper trading takes orders from 09:00 to 15:30 KST "
                    "only. The market is closed now."
                ),
            )
        raise TicketRefused("", _("The market is closed now for this venue."))
    if order_type not in order_types_now(moment, environment, venue, day_open):
        names = ", ".join(str(s.label) for s in sessions)
        raise TicketRefused(
            "order_type",
            _("This order type is not taken during the %(session)s.") % {"session": names},
        )


# ---------------------------------------------------------------- price and quantity

# The KRX unified tick table since 2023-01-25 (docs/kis-protocol.md §8): (below, tick).
KRX_TICKS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
KRX_TOP_TICK = Decimal(1_000)


def krx_tick(price: Decimal) -> Decimal:
    """The tick for a KRX stock price. ETFs differ: prefer KIS's ``aspr_unit``."""
    for below, tick in KRX_TICKS:
        if price < below:
            return tick
    return KRX_TOP_TICK


def us_tick(price: Decimal) -> Decimal:
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


def tick_for(
    market: str,
    price: Decimal,
    quoted_tick: Decimal | None = None,
    quoted_at: Decimal | None = None,
) -> Decimal:
    """``quoted_tick`` is KIS's ``aspr_unit`` at the current price ``quoted_at``: it wins
    for prices in the same band of the table (ETFs use their own steps)."""
    if market == "US":
        return us_tick(price)
    table = krx_tick(price)
    same_band = quoted_at is not None and krx_tick(quoted_at) == table
    if quoted_tick and quoted_tick > 0 and same_band:
        return quoted_tick
    return table


def step_price(market: str, price: Decimal, ticks: int) -> Decimal:
    """``ticks`` grid steps from ``price``, crossing band boundaries the way KRX does."""
    for _step in range(abs(ticks)):
        if ticks > 0:
            price += tick_for(market, price)
        else:
            below = price - tick_for(market, price - Decimal("0.0001"))
            tick = tick_for(market, below)
            price = (below / tick).to_integral_value(ROUND_DOWN) * tick
    return price


def check_price(
    market: str,
    order_type: str,
    price: Decimal | None,
    *,
    upper: Decimal | None = None,
    lower: Decimal | None = None,
    quoted_tick: Decimal | None = None,
    quoted_at: Decimal | None = None,
) -> None:
    """Price on the tick grid and inside today's limits (``stck_mxpr``/``stck_llam``)."""
    if not needs_price(order_type, market):
        return
    if price is None or price <= 0:
        raise TicketRefused("price", _("Enter a price above zero for this order type."))
    tick = tick_for(market, price, quoted_tick, quoted_at)
    if price % tick:
        below = (price / tick).to_integral_value(ROUND_DOWN) * tick
        raise TicketRefused(
            "price",
            _(
                "The price must be on the tick grid: steps of %(tick)s here. "
                "Try %(below)s or %(above)s."
            )
            % {"tick": _plain(tick), "below": _plain(below), "above": _plain(below + tick)},
        )
    if upper and price > upper:
        raise TicketRefused(
            "price",
            _("The price is above today's upper limit of %(upper)s.") % {"upper": _plain(upper)},
        )
    if lower and price < lower:
        raise TicketRefused(
            "price",
            _("The price is below today's lower limit of %(lower)s.") % {"lower": _plain(lower)},
        )


def check_quantity(quantity: int, side: str, *, buyable: int | None, sellable: int | None) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise TicketRefused(
            "quantity", _("The quantity must be a whole number of shares, 1 or more.")
        )
    if side == "buy" and buyable is not None and quantity > buyable:
        raise TicketRefused(
            "quantity",
            _("You can buy at most %(count)s shares at this price with your cash.")
            % {"count": f"{buyable:,}"},
        )
    if side == "sell" and sellable is not None and quantity > sellable:
        raise TicketRefused(
            "quantity",
            _("You can sell at most %(count)s shares (what you hold and have not yet offered).")
            % {"count": f"{sellable:,}"},
        )


def _plain(number: Decimal) -> str:
    """A price for a message: thousands separators, no trailing zeros."""
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number.normalize():,f}"


# ---------------------------------------------------------------- fees and tax


@dataclass(frozen=True)
class CostRates:
    """Rates as fractions (0.002 is 0.2 %). Defaults: ``DEFAULT_COST_RATES``; a site
    overrides them with ``KISWEB_TRADING_COST_RATES`` (a dict of these fields as strings),
    and each credential may have its own (``trading.models.FeeSettings``)."""

    commission: Decimal
    sell_tax: Decimal  # KOSPI (and KONEX, ETF-like listings KIS taxes the same way)
    us_commission: Decimal
    us_sell_fee: Decimal
    kosdaq_sell_tax: Decimal | None = None  # None: the same as ``sell_tax``

    def sell_tax_for(self, listing: str) -> Decimal:
        """The tax rate on a Korean sell of a symbol listed on ``listing`` (KOSPI/KOSDAQ)."""
        if listing == "KOSDAQ" and self.kosdaq_sell_tax is not None:
            return self.kosdaq_sell_tax
        return self.sell_tax


# Sources and dates — docs/trading-costs.md says more; change them when the law or the
# tariff changes (the tax is set by the Securities Transaction Tax Act's enforcement decree):
# - commission 0.0140527 %: KIS's published online (BanKIS/API) domestic rate including the
#   exchange and depository fees; individual accounts may have a lower negotiated rate.
# - sell tax 0.20 % from 2026-01-01: KOSPI 0.05 % transaction tax + 0.15 % special tax for
#   rural development; KOSDAQ 0.20 % (the 2025 tax-law revision; 2025 itself was 0.15 % on
#   both: KOSPI 0 % + 0.15 %, KOSDAQ 0.15 %).
# - US 0.25 %: KIS's standard online overseas-stock commission; SEC fee on US sells taken as
#   0.00278 % (the SEC's fiscal-2025 rate of $27.80 per million).
DEFAULT_COST_RATES = CostRates(
    commission=Decimal("0.000140527"),
    sell_tax=Decimal("0.0020"),
    us_commission=Decimal("0.0025"),
    us_sell_fee=Decimal("0.0000278"),
    kosdaq_sell_tax=Decimal("0.0020"),
)


def cost_rates() -> CostRates:
    """The site's rates: the defaults with ``KISWEB_TRADING_COST_RATES`` over them."""
    override = getattr(settings, "KISWEB_TRADING_COST_RATES", None) or {}
    fields = {name: Decimal(str(value)) for name, value in override.items()}
    return CostRates(**{**DEFAULT_COST_RATES.__dict__, **fields})


@dataclass(frozen=True)
class Estimate:
    amount: Decimal
    commission: Decimal
    tax: Decimal
    total: Decimal  # what a buy costs, or what a sell brings in


def estimate(
    market: str,
    side: str,
    price: Decimal,
    quantity: int,
    rates: CostRates | None = None,
    *,
    listing: str = "",
) -> Estimate:
    """The order's amount with fees and tax, rounded as brokers round: Korean commission
    down to 10 won, the transaction tax down to the won (both truncated, never rounded
    up); US commission and SEC fee to the cent, half up."""
    rates = rates or cost_rates()
    unit = Decimal("0.01") if market == "US" else Decimal(1)
    amount = price * quantity
    if market == "US":
        commission = (amount * rates.us_commission).quantize(unit, ROUND_HALF_UP)
        tax = (amount * rates.us_sell_fee).quantize(unit, ROUND_HALF_UP) if side == "sell" else 0
    else:
        commission = (amount * rates.commission / 10).to_integral_value(ROUND_DOWN) * 10
        sell_tax = rates.sell_tax_for(listing)
        tax = (amount * sell_tax).quantize(unit, ROUND_DOWN) if side == "sell" else 0
    tax = Decimal(tax)
    total = amount + commission + tax if side == "buy" else amount - commission - tax
    return Estimate(amount, commission, tax, total)


# ---------------------------------------------------------------- what to do about a rejection

# (words in KIS's code or text, advice). Rejection codes vary; texts are steadier (§5).
_ADVICE = (
    (
        "EGW00201",
        gettext_lazy("KIS refused: too many requests this second. Wait a moment and send again."),
    ),
    (
        "EGW00215",
        gettext_lazy("KIS refused: too many requests this second. Wait a moment and send again."),
    ),
    ("EGW00123", gettext_lazy("The KIS sign-in token expired. Send again; kisweb gets a new one.")),
    ("EGW00121", gettext_lazy("The KIS sign-in token expired. Send again; kisweb gets a new one.")),
    ("EGW00133", gettext_lazy("KIS issues one token a minute. Wait a minute and send again.")),
    (
        "모의투자 TR 이 아닙니다",
        gettext_lazy(
            "The key and the credential's environment do not match: check "
            "whether this credential is paper or real."
        ),
    ),
    (
        "EGW02004",
        gettext_lazy(
            "The key and the credential's environment do not match: check "
            "whether this credential is paper or real."
        ),
    ),
    ("주문가능금액", gettext_lazy("Not enough buying power. Lower the quantity or the price.")),
    ("주문가능수량", gettext_lazy("You are selling more than you can sell. Lower the quantity.")),
    ("호가단위", gettext_lazy("The price is off the tick grid. Use the step buttons.")),
    ("상한가", gettext_lazy("The price is above today's upper limit.")),
    ("하한가", gettext_lazy("The price is below today's lower limit.")),
    ("장시작전", gettext_lazy("The market has not opened yet. Send it during the session.")),
    ("장종료", gettext_lazy("The market has closed for today.")),
    ("장운영시간", gettext_lazy("The market is closed now. Send it during the session.")),
    ("영업일", gettext_lazy("Today is not a trading day.")),
    ("장운영일자", gettext_lazy("Today is not a trading day.")),
    ("종목정보가 없습니다", gettext_lazy("KIS does not know this symbol. Check the code.")),
    (
        "정정/취소할 수량이 없습니다",
        gettext_lazy("Nothing is left to revise or cancel: it was filled or cancelled already."),
    ),
    (
        "NOT_RECEIVED",
        gettext_lazy(
            "KIS never received this order. Nothing was bought or "
            "sold; place it again if you still want it."
        ),
    ),
    ("NETWORK", gettext_lazy("kisweb could not reach KIS. Nothing was sent; try again shortly.")),
    (
        "SECRET",
        gettext_lazy("The app secret cannot be opened. Enter it again on the credential page."),
    ),
)


def rejection_advice(code: str, text: str) -> str:
    """A sentence that says what to do about KIS's rejection (shown beside code and text)."""
    for words, advice in _ADVICE:
        if words in code or words in text:
            return str(advice)
    return _("KIS refused the order. Its own words are below.")
