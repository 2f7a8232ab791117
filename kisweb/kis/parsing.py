"""KIS answer bodies to typed results: pure functions, no sockets, no clock.

Each ``parse_*`` takes the decoded JSON body (or the pages of a paged answer) exactly as
KIS sent it and returns the ``kisweb.kis.models`` value, so the mapping of KIS's field names
is tested on captured bodies alone. A missing required field or a value that is not a
number, date or time is a ``MalformedAnswer``; an empty numeric field reads as zero (KIS's
way of saying none). Bodies are only read, never changed: one body may be given to several
callers (``transport.SingleFlight``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import MalformedAnswer
from .models import (
    Balance,
    BookLevel,
    BuyingPower,
    Candle,
    Execution,
    Executions,
    Holding,
    MarketDay,
    OrderAck,
    OrderBookSnapshot,
    ProductInfo,
    Quote,
    RevisableOrder,
    Side,
    UsBalance,
    UsExchange,
    UsExecution,
    UsHolding,
    UsQuote,
)
from .tokens import Token

Body = Mapping[str, Any]
_Count = int  # ``Row.int`` hides the builtin inside the class

_SIDE_CODES = {"01": Side.SELL, "02": Side.BUY}
_APPROVAL_LIFETIME = timedelta(hours=24)  # docs/kis-protocol.md §2.3
_LONGEST_TOKEN_S = 366 * 86400  # KIS issues for a day; a year is already nonsense
_LONGEST_SECRET = 4096  # a KIS access token is a JWT of a few hundred characters
# C0 controls and DEL never occur in KIS's texts; NUL cannot even be stored by PostgreSQL.
_CONTROLS = dict.fromkeys([*range(32), 127])
# A KIS number has at most a few dozen characters; past these bounds a value is not one
# (``1e999999999`` is a short text, but ``int()`` of it would not end).
_LONGEST_NUMBER = 40
_LARGEST_EXPONENT = 30
_LONGEST_ORDER_NO = 16  # KIS: 10 digits, zero-padded; old paper answers fewer
_LONGEST_BRANCH_NO = 8  # KIS: 5 digits


class Row:
    """Typed reads of one KIS output object."""

    __slots__ = ("_data",)

    def __init__(self, data: Body) -> None:
        self._data = data

    def text(self, key: str, *, required: bool = True) -> str:
        value = self._data.get(key)
        if value is None:
            if required:
                raise MalformedAnswer("BODY", f"answer without {key}")
            return ""
        if isinstance(value, Mapping | list):
            raise MalformedAnswer("BODY", f"{key} is not a text")
        return str(value).translate(_CONTROLS).strip()

    def dec(self, key: str, *, required: bool = True) -> Decimal:
        text = self.text(key, required=required)
        if not text:
            return Decimal(0)
        try:
            value = Decimal(text) if len(text) <= _LONGEST_NUMBER else None
        except InvalidOperation:
            value = None
        if (
            value is None
            or not value.is_finite()  # NaN, sNaN and Infinity read as Decimals
            or value.adjusted() > _LARGEST_EXPONENT
            or int(value.as_tuple().exponent) < -_LARGEST_EXPONENT
        ):
            raise MalformedAnswer("BODY", f"{key} is not a number")
        return value

    def int(self, key: str, *, required: bool = True) -> int:
        return int(self.dec(key, required=required))

    def date(self, key: str) -> date:
        try:
            return datetime.strptime(self.text(key), "%Y%m%d").date()
        except ValueError:
            raise MalformedAnswer("BODY", f"{key} is not a date") from None

    def time(self, key: str) -> time | None:
        text = self.text(key, required=False)
        if not text:
            return None
        try:
            return datetime.strptime(text[:6].rjust(6, "0"), "%H%M%S").time()
        except ValueError:
            raise MalformedAnswer("BODY", f"{key} is not a time") from None

    def order_no(self, key: str, *, longest: _Count = _LONGEST_ORDER_NO) -> str:
        """An order or branch number: KIS's are digits. Anything else cannot name the
        order later (revise, cancel, notices, reconciliation)."""
        text = self.text(key)
        if not (text.isascii() and text.isdigit() and len(text) <= longest):
            raise MalformedAnswer("BODY", f"{key} is not an order number")
        return text

    def branch_no(self, key: str, *, required: bool = True) -> str:
        """A branch number (``ord_gno_brno``): digits, or blank where KIS leaves it out."""
        if not required and not self.text(key, required=False):
            return ""
        return self.order_no(key, longest=_LONGEST_BRANCH_NO)

    def side(self, key: str) -> Side:
        code = self.text(key)
        if code not in _SIDE_CODES:
            raise MalformedAnswer("BODY", f"{key} is not a side")
        return _SIDE_CODES[code]


def output(body: Body, key: str) -> Row:
    """The single object under ``key`` (KIS sometimes wraps it in a one-item list)."""
    value = body.get(key)
    if isinstance(value, list):
        value = value[0] if value else {}
    if not isinstance(value, Mapping):
        raise MalformedAnswer("BODY", f"answer without {key}")
    return Row(value)


def optional_output(body: Body, key: str) -> Row:
    """Like ``output`` but a missing or malformed object reads as empty (totals)."""
    value = body.get(key)
    if isinstance(value, list):
        value = value[0] if value else {}
    return Row(value if isinstance(value, Mapping) else {})


def rows(body: Body, key: str) -> list[Row]:
    value = body.get(key) or []
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise MalformedAnswer("BODY", f"answer with a bad {key}")
    return [Row(row) for row in value if isinstance(row, Mapping)]


def page_rows(pages: Sequence[Body], key: str) -> list[Row]:
    return [row for page in pages for row in rows(page, key)]


# ---------------------------------------------------------------------- tokens


def _secret_text(value: object) -> bool:
    """A token or key goes into a header or a JSON field of every later call: visible
    ASCII only (a space, a newline or a non-ASCII letter would break those calls)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= _LONGEST_SECRET
        and all("!" <= ch <= "~" for ch in value)
    )


def parse_access_token(body: Body, issued_at: datetime) -> Token:
    """``/oauth2/tokenP`` (docs/kis-protocol.md §2.1); ``expires_in`` defaults to a day."""
    value = body.get("access_token")
    if not _secret_text(value):
        raise MalformedAnswer("TOKEN", "token answer without a usable access_token")
    assert isinstance(value, str)
    expires_in = body.get("expires_in", 86400)
    try:
        seconds = -1 if isinstance(expires_in, bool) else int(expires_in)
    except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity
        seconds = -1
    if not 0 < seconds <= _LONGEST_TOKEN_S:
        raise MalformedAnswer("TOKEN", "token answer with a bad expires_in")
    lifetime = timedelta(seconds=seconds)
    return Token(value=value, expires_at=issued_at + lifetime, issued_at=issued_at)


def parse_approval_key(body: Body, issued_at: datetime) -> Token:
    """``/oauth2/Approval`` (docs/kis-protocol.md §2.3): valid 24 hours."""
    value = body.get("approval_key")
    if not _secret_text(value):
        raise MalformedAnswer("APPROVAL", "approval answer without a usable approval_key")
    assert isinstance(value, str)
    return Token(value=value, expires_at=issued_at + _APPROVAL_LIFETIME, issued_at=issued_at)


# ---------------------------------------------------------------------- domestic quotes


def parse_quote(body: Body, symbol: str) -> Quote:
    """``inquire-price`` FHKST01010100 (docs/kis-protocol.md §4.2)."""
    row = output(body, "output")
    return Quote(
        symbol=symbol,
        price=row.dec("stck_prpr"),
        change=row.dec("prdy_vrss"),
        change_rate=row.dec("prdy_ctrt"),
        open=row.dec("stck_oprc"),
        high=row.dec("stck_hgpr"),
        low=row.dec("stck_lwpr"),
        previous_close=row.dec("stck_sdpr"),
        upper_limit=row.dec("stck_mxpr"),
        lower_limit=row.dec("stck_llam"),
        tick_size=row.dec("aspr_unit"),
        volume=row.int("acml_vol"),
        trade_value=row.dec("acml_tr_pbmn"),
        market_name=row.text("rprs_mrkt_kor_name", required=False),
        halted=row.text("temp_stop_yn", required=False) == "Y",
    )


def parse_order_book(body: Body, symbol: str) -> OrderBookSnapshot:
    """``inquire-asking-price-exp-ccn`` FHKST01010200: ``output1`` the ten levels,
    ``output2`` the expected match when KIS sends one (docs/kis-protocol.md §4.2)."""
    book = output(body, "output1")
    expected = body.get("output2")
    exp = Row(expected) if isinstance(expected, Mapping) and expected else None
    return OrderBookSnapshot(
        symbol=symbol,
        time=book.time("aspr_acpt_hour"),
        asks=tuple(
            BookLevel(book.dec(f"askp{i}"), book.int(f"askp_rsqn{i}")) for i in range(1, 11)
        ),
        bids=tuple(
            BookLevel(book.dec(f"bidp{i}"), book.int(f"bidp_rsqn{i}")) for i in range(1, 11)
        ),
        total_ask_quantity=book.int("total_askp_rsqn"),
        total_bid_quantity=book.int("total_bidp_rsqn"),
        expected_price=exp.dec("antc_cnpr") if exp else None,
        expected_quantity=exp.int("antc_vol") if exp else None,
    )


def parse_daily_candles(body: Body) -> list[Candle]:
    """``inquire-daily-itemchartprice`` ``output2``, oldest first (KIS sends newest first;
    rows without a date are KIS's padding)."""
    candles = [
        Candle(
            date=row.date("stck_bsop_date"),
            time=None,
            open=row.dec("stck_oprc"),
            high=row.dec("stck_hgpr"),
            low=row.dec("stck_lwpr"),
            close=row.dec("stck_clpr"),
            volume=row.int("acml_vol"),
            trade_value=row.dec("acml_tr_pbmn"),
        )
        for row in rows(body, "output2")
        if row.text("stck_bsop_date", required=False)
    ]
    return sorted(candles, key=lambda candle: candle.date)


def parse_minute_candles(body: Body) -> list[Candle]:
    """``inquire-time-itemchartprice`` ``output2``: one-minute bars, oldest first; the
    bar's close is ``stck_prpr`` and its volume ``cntg_vol``."""
    candles = [
        Candle(
            date=row.date("stck_bsop_date"),
            time=row.time("stck_cntg_hour"),
            open=row.dec("stck_oprc"),
            high=row.dec("stck_hgpr"),
            low=row.dec("stck_lwpr"),
            close=row.dec("stck_prpr"),
            volume=row.int("cntg_vol"),
            trade_value=row.dec("acml_tr_pbmn"),
        )
        for row in rows(body, "output2")
    ]
    return sorted(candles, key=lambda candle: (candle.date, candle.time or time()))


# ---------------------------------------------------------------------- domestic account


def parse_buying_power(body: Body, symbol: str) -> BuyingPower:
    """``inquire-psbl-order`` TTTC8908R (docs/kis-protocol.md §4.1)."""
    row = output(body, "output")
    return BuyingPower(
        symbol=symbol,
        cash=row.dec("ord_psbl_cash"),
        max_quantity=row.int("max_buy_qty"),
        max_amount=row.dec("max_buy_amt"),
        no_margin_quantity=row.int("nrcvb_buy_qty"),
        no_margin_amount=row.dec("nrcvb_buy_amt"),
    )


def parse_order_ack(body: Body) -> OrderAck:
    """An accepted order's ``output``: upper-case keys (docs/kis-protocol.md §3.3)."""
    row = output(body, "output")
    return OrderAck(
        order_no=row.order_no("ODNO"),
        branch_no=row.order_no("KRX_FWDG_ORD_ORGNO", longest=_LONGEST_BRANCH_NO),
        time=row.time("ORD_TMD"),
        message=str(body.get("msg1", "")).rstrip(),
    )


def parse_revisable_orders(pages: Sequence[Body]) -> list[RevisableOrder]:
    """``inquire-psbl-rvsecncl`` TTTC0084R, every page (docs/kis-protocol.md §4.1)."""
    return [
        RevisableOrder(
            order_no=row.order_no("odno"),
            branch_no=row.branch_no("ord_gno_brno"),
            original_order_no=row.text("orgn_odno", required=False),
            symbol=row.text("pdno"),
            name=row.text("prdt_name", required=False),
            side=row.side("sll_buy_dvsn_cd"),
            order_type=row.text("ord_dvsn_cd", required=False),
            quantity=row.int("ord_qty"),
            price=row.dec("ord_unpr"),
            filled_quantity=row.int("tot_ccld_qty"),
            revisable_quantity=row.int("psbl_qty"),
            time=row.time("ord_tmd"),
        )
        for row in page_rows(pages, "output")
    ]


def parse_executions(pages: Sequence[Body], *, complete: bool) -> Executions:
    """``inquire-daily-ccld``: ``output1`` rows of every page, KIS's totals from the last
    page's ``output2`` (docs/kis-protocol.md §4.1)."""
    executions = tuple(
        Execution(
            order_date=row.date("ord_dt"),
            order_no=row.order_no("odno"),
            branch_no=row.branch_no("ord_gno_brno", required=False),
            original_order_no=row.text("orgn_odno", required=False),
            symbol=row.text("pdno"),
            name=row.text("prdt_name", required=False),
            side=row.side("sll_buy_dvsn_cd"),
            order_type=row.text("ord_dvsn_cd", required=False),
            quantity=row.int("ord_qty"),
            price=row.dec("ord_unpr"),
            filled_quantity=row.int("tot_ccld_qty"),
            average_price=row.dec("avg_prvs"),
            filled_amount=row.dec("tot_ccld_amt"),
            remaining_quantity=row.int("rmn_qty"),
            rejected_quantity=row.int("rjct_qty", required=False),
            cancelled=row.text("cncl_yn", required=False) == "Y",
            time=row.time("ord_tmd"),
            # KIS spells this one with a capital C (docs/kis-protocol.md §4.1)
            venue=row.text("excg_id_dvsn_Cd", required=False)
            or row.text("excg_id_dvsn_cd", required=False)
            or "KRX",
        )
        for row in page_rows(pages, "output1")
    )
    totals = optional_output(pages[-1], "output2")
    return Executions(
        rows=executions,
        total_quantity=totals.int("tot_ord_qty", required=False),
        total_filled_quantity=totals.int("tot_ccld_qty", required=False),
        total_filled_amount=totals.dec("tot_ccld_amt", required=False),
        estimated_fees=totals.dec("prsm_tlex_smtl", required=False),
        complete=complete,
    )


def parse_balance(pages: Sequence[Body], *, complete: bool) -> Balance:
    """``inquire-balance`` TTTC8434R: holdings of every page, totals from the last page.
    Holdings sold out today (``hldg_qty`` 0, listed until D+2) are left out."""
    holdings = tuple(
        Holding(
            symbol=row.text("pdno"),
            name=row.text("prdt_name", required=False),
            quantity=row.int("hldg_qty"),
            sellable_quantity=row.int("ord_psbl_qty"),
            average_price=row.dec("pchs_avg_pric"),
            purchase_amount=row.dec("pchs_amt"),
            price=row.dec("prpr"),
            value=row.dec("evlu_amt"),
            profit=row.dec("evlu_pfls_amt"),
            profit_rate=row.dec("evlu_pfls_rt"),
        )
        for row in page_rows(pages, "output1")
        if row.int("hldg_qty") > 0
    )
    totals = optional_output(pages[-1], "output2")
    return Balance(
        holdings=holdings,
        cash=totals.dec("dnca_tot_amt"),
        cash_d2=totals.dec("prvs_rcdl_excc_amt"),
        securities_value=totals.dec("scts_evlu_amt"),
        total_value=totals.dec("tot_evlu_amt"),
        net_assets=totals.dec("nass_amt"),
        purchase_total=totals.dec("pchs_amt_smtl_amt"),
        profit_total=totals.dec("evlu_pfls_smtl_amt"),
        complete=complete,
    )


# ---------------------------------------------------------------------- overseas (US)


def parse_us_quote(body: Body, symbol: str, exchange: UsExchange) -> UsQuote:
    """``price`` HHDFS00000300 (docs/kis-protocol.md §4.3)."""
    row = output(body, "output")
    return UsQuote(
        symbol=symbol,
        exchange=exchange,
        realtime_key=row.text("rsym", required=False),
        price=row.dec("last"),
        change=row.dec("diff"),
        change_rate=row.dec("rate"),
        previous_close=row.dec("base"),
        volume=row.int("tvol"),
        trade_value=row.dec("tamt"),
        decimals=row.int("zdiv", required=False),
        orderable=row.text("ordy", required=False) != "N",
    )


def parse_us_daily_candles(body: Body) -> list[Candle]:
    """``dailyprice`` HHDFS76240000 ``output2``, oldest first (KIS sends newest first)."""
    candles = [
        Candle(
            date=row.date("xymd"),
            time=None,
            open=row.dec("open"),
            high=row.dec("high"),
            low=row.dec("low"),
            close=row.dec("clos"),
            volume=row.int("tvol"),
            trade_value=row.dec("tamt", required=False),
        )
        for row in rows(body, "output2")
        if row.text("xymd", required=False)
    ]
    return sorted(candles, key=lambda candle: candle.date)


def parse_us_balance(pages: Sequence[Body], *, complete: bool) -> UsBalance:
    """``inquire-balance`` TTTS3012R: holdings of every page, totals from the last page."""
    holdings = tuple(
        UsHolding(
            symbol=row.text("ovrs_pdno"),
            name=row.text("ovrs_item_name", required=False),
            exchange=row.text("ovrs_excg_cd", required=False),
            currency=row.text("tr_crcy_cd", required=False),
            quantity=row.int("ovrs_cblc_qty"),
            sellable_quantity=row.int("ord_psbl_qty"),
            average_price=row.dec("pchs_avg_pric"),
            purchase_amount=row.dec("frcr_pchs_amt1"),
            price=row.dec("now_pric2"),
            value=row.dec("ovrs_stck_evlu_amt"),
            profit=row.dec("frcr_evlu_pfls_amt"),
            profit_rate=row.dec("evlu_pfls_rt"),
        )
        for row in page_rows(pages, "output1")
    )
    totals = optional_output(pages[-1], "output2")
    return UsBalance(
        holdings=holdings,
        purchase_total=totals.dec("frcr_pchs_amt1", required=False),
        realized_profit=totals.dec("ovrs_rlzt_pfls_amt", required=False),
        profit_total=totals.dec("tot_evlu_pfls_amt", required=False),
        profit_rate=totals.dec("tot_pftrt", required=False),
        complete=complete,
    )


def parse_us_executions(pages: Sequence[Body]) -> list[UsExecution]:
    """``inquire-ccnl`` TTTS3035R, every page (docs/kis-protocol.md §4.3)."""
    return [
        UsExecution(
            order_date=row.date("ord_dt"),
            order_no=row.order_no("odno"),
            original_order_no=row.text("orgn_odno", required=False),
            symbol=row.text("pdno"),
            name=row.text("prdt_name", required=False),
            exchange=row.text("ovrs_excg_cd", required=False),
            side=row.side("sll_buy_dvsn_cd"),
            quantity=row.int("ft_ord_qty"),
            filled_quantity=row.int("ft_ccld_qty"),
            unfilled_quantity=row.int("nccs_qty", required=False),
            price=row.dec("ft_ord_unpr3"),
            filled_price=row.dec("ft_ccld_unpr3", required=False),
            filled_amount=row.dec("ft_ccld_amt3", required=False),
            status=row.text("prcs_stat_name", required=False),
            rejection_reason=row.text("rjct_rson_name", required=False),
            time=row.time("ord_tmd"),
        )
        for row in page_rows(pages, "output")
    ]


def _yes(row: Row, key: str) -> bool:
    value = row.text(key)
    if value not in ("Y", "N"):
        raise MalformedAnswer("BODY", f"{key} is not Y or N")
    return value == "Y"


def parse_market_days(pages: Sequence[Body]) -> list[MarketDay]:
    """``chk-holiday`` pages to one row per date, in date order, each date once."""
    days: dict[date, MarketDay] = {}
    for row in page_rows(pages, "output"):
        day = row.date("bass_dt")
        days[day] = MarketDay(
            day=day,
            weekday_code=row.text("wday_dvsn_cd", required=False),
            business_day=_yes(row, "bzdy_yn"),
            trading_day=_yes(row, "tr_day_yn"),
            open=_yes(row, "opnd_yn"),
            settlement_day=_yes(row, "sttl_day_yn"),
        )
    return [days[day] for day in sorted(days)]


def parse_product_info(body: Body, symbol: str, product_type: str) -> ProductInfo:
    row = output(body, "output")
    return ProductInfo(
        symbol=row.text("pdno", required=False) or symbol,
        product_type=row.text("prdt_type_cd", required=False) or product_type,
        name=row.text("prdt_abrv_name", required=False) or row.text("prdt_name"),
        full_name=row.text("prdt_name", required=False),
        english_name=row.text("prdt_eng_name", required=False),
    )
