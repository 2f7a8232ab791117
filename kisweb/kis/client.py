"""``KisClient``: one credential's REST operations on KIS.

Each operation builds its request, sends it through the ``Transport`` under the ``READ`` or
``ORDER`` policy (retries, token renewal, error classification, shared reads; see
``kisweb.kis.transport``) and turns the body into a typed result with
``kisweb.kis.parsing``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from . import parsing, trids
from .credentials import Environment, KisCredentials
from .errors import MalformedAnswer, NotSupported, OutcomeUnknown, Rejected
from .limiter import RateLimiter, shared_rate_limiter
from .models import (
    Balance,
    BuyingPower,
    Candle,
    Executions,
    MarketDay,
    OrderAck,
    OrderBookSnapshot,
    OrderType,
    ProductInfo,
    Quote,
    RevisableOrder,
    Side,
    UsBalance,
    UsExchange,
    UsExecution,
    UsOrderType,
    UsQuote,
    Venue,
)
from .tokens import Clock, MemoryTokenStore, Token, TokenKind, TokenManager, TokenStore, utc_now
from .transport import ORDER, READ, Envelope, Request, Transport

log = logging.getLogger(__name__)

_DOMESTIC_QUOTES = "/uapi/domestic-stock/v1/quotations"
_DOMESTIC_TRADING = "/uapi/domestic-stock/v1/trading"
_US_QUOTES = "/uapi/overseas-price/v1/quotations"
_US_TRADING = "/uapi/overseas-stock/v1/trading"

_DATA_CHANGED = "SYDB0050"  # a continuation after the list changed (§3.4)
_DATA_CHANGED_RESTARTS = 2
_TOKEN_ISSUE_INTERVAL = timedelta(seconds=60)  # EGW00133, docs/kis-protocol.md §2.1
KST = timezone(timedelta(hours=9), "KST")  # KRX dates are Korean dates


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Continuation keys copied from one page's body into the next request (§3.4)."""

    first: str
    next: str

    def start(self) -> dict[str, str]:
        return {self.first: "", self.next: ""}

    def following(self, body: Mapping[str, Any]) -> dict[str, str]:
        lowered = {key.lower(): value for key, value in body.items()}
        return {
            self.first: str(lowered.get(self.first.lower(), "")),
            self.next: str(lowered.get(self.next.lower(), "")),
        }


_CURSOR_100 = _Cursor("CTX_AREA_FK100", "CTX_AREA_NK100")
_CURSOR_200 = _Cursor("CTX_AREA_FK200", "CTX_AREA_NK200")
_CURSOR_PLAIN = _Cursor("CTX_AREA_FK", "CTX_AREA_NK")  # chk-holiday (§3.4)


class KisClient:
    """REST client for one credential. Use one per credential and close it with
    ``aclose()`` (or ``async with``).

    ``rest_url``/``ws_url`` default to KIS's hosts for ``creds.env`` (docs/kis-protocol.md
    §1); point them at the simulator in tests and demos. ``token_store`` holds tokens
    between processes (see ``TokenStore``); ``limiter`` defaults to the process-wide
    ``InProcessRateLimiter``. ``max_token_wait_s`` is how long a call may wait for the
    once-a-minute issue window instead of raising ``TokenIssueTooSoon``.
    """

    def __init__(
        self,
        creds: KisCredentials,
        rest_url: str | None = None,
        ws_url: str | None = None,
        *,
        token_store: TokenStore | None = None,
        limiter: RateLimiter | None = None,
        timeout_s: float = 10.0,
        read_attempts: int = 4,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 3.0,
        max_pages: int = 20,
        now: Clock = utc_now,
        token_renew_before: timedelta = timedelta(minutes=10),
        token_min_issue_interval: timedelta = _TOKEN_ISSUE_INTERVAL,
        max_token_wait_s: float = 0.0,
    ) -> None:
        self.creds = creds
        self.rest_url = (rest_url or creds.env.rest_url).rstrip("/")
        self.ws_url = ws_url or creds.env.ws_url
        self.max_pages = max_pages
        self._now = now
        self._transport = Transport(
            creds,
            self.rest_url,
            limiter=limiter or shared_rate_limiter(),
            timeout_s=timeout_s,
            read_attempts=read_attempts,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
        )
        store = token_store or MemoryTokenStore()
        self._access = TokenManager(
            app_key=creds.app_key,
            kind=TokenKind.ACCESS,
            issue=self._issue_access_token,
            store=store,
            now=now,
            renew_before=token_renew_before,
            min_issue_interval=token_min_issue_interval,
            max_issue_wait=timedelta(seconds=max_token_wait_s),
        )
        # No issue limit is documented for approval keys (§2.3); a short floor still stops
        # a reconnect loop from hammering the endpoint.
        self._approval = TokenManager(
            app_key=creds.app_key,
            kind=TokenKind.APPROVAL,
            issue=self._issue_approval_key,
            store=store,
            now=now,
            renew_before=token_renew_before,
            min_issue_interval=timedelta(seconds=1),
            max_issue_wait=timedelta(seconds=1),
        )

    async def __aenter__(self) -> KisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __repr__(self) -> str:
        return f"<KisClient {self.creds.env} app_key=****{self.creds.app_key[-4:]}>"

    # ------------------------------------------------------------------ tokens

    async def ensure_token(self) -> Token:
        """A valid access token: the stored one, or a new issue (docs/kis-protocol.md
        §2.1). Raises ``InvalidCredential`` for a wrong key pair, ``TokenIssueTooSoon``
        inside the once-a-minute window."""
        return await self._access.get()

    async def ensure_approval_key(self) -> Token:
        """A WebSocket approval key (docs/kis-protocol.md §2.3), stored like the token."""
        return await self._approval.get()

    def invalidate_approval_key(self, key: Token) -> None:
        """The realtime server refused ``key`` (OPSP0010/0011); the next call issues anew."""
        self._approval.invalidate(key)

    async def _issue_access_token(self) -> Token:
        body = await self._oauth(
            "/oauth2/tokenP",
            {
                "grant_type": "client_credentials",
                "appkey": self.creds.app_key,
                "appsecret": self.creds.app_secret,
            },
        )
        return parsing.parse_access_token(body, self._now())

    async def _issue_approval_key(self) -> Token:
        body = await self._oauth(
            "/oauth2/Approval",
            {
                "grant_type": "client_credentials",
                "appkey": self.creds.app_key,
                "secretkey": self.creds.app_secret,  # §2.3: named secretkey here
            },
        )
        return parsing.parse_approval_key(body, self._now())

    async def _oauth(self, path: str, payload: Mapping[str, str]) -> Mapping[str, Any]:
        request = Request("POST", path, json=payload, envelope=Envelope.OAUTH)
        return (await self._transport.send(request, READ)).body

    # ------------------------------------------------------------------ calls

    def _tr_id(self, tr: trids.TrId) -> str:
        return tr.for_env(self.creds.env)

    async def _get(self, path: str, tr: trids.TrId, params: Mapping[str, str]) -> Mapping[str, Any]:
        request = Request("GET", path, self._tr_id(tr), params=params)
        return (await self._transport.send(request, READ, self._access)).body

    async def _get_pages(
        self, path: str, tr: trids.TrId, params: Mapping[str, str], cursor: _Cursor
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """Follow ``tr_cont`` F/M to the last page (D/E), copying the cursor from each
        body into the next request and sending ``tr_cont: N`` (docs/kis-protocol.md §3.4).
        Returns the pages and whether the last one was reached within ``max_pages``.

        KIS answers a continuation ``SYDB0050`` ("조회이후에 자료가 변경되었습니다") when
        the list changed since its first page: the cursor is void, so the read starts again
        from the first page, at most ``_DATA_CHANGED_RESTARTS`` times; past that the
        longest pass read is returned as incomplete."""
        tr_id = self._tr_id(tr)
        best: list[Mapping[str, Any]] = []
        for _ in range(_DATA_CHANGED_RESTARTS + 1):
            pages: list[Mapping[str, Any]] = []
            request = Request("GET", path, tr_id, params={**params, **cursor.start()})
            try:
                for _ in range(self.max_pages):
                    answer = await self._transport.send(request, READ, self._access)
                    pages.append(answer.body)
                    if answer.tr_cont not in ("F", "M"):
                        return pages, True
                    following = {**params, **cursor.following(answer.body)}
                    request = Request("GET", path, tr_id, params=following, tr_cont="N")
            except Rejected as refusal:
                if refusal.code != _DATA_CHANGED or not pages:
                    raise
                log.info("KIS %s: data changed after page %d; reading again", tr_id, len(pages))
                best = max(best, pages, key=len)
                continue
            log.warning("KIS %s stopped after %d pages", tr_id, self.max_pages)
            return pages, False
        log.warning("KIS %s kept changing while it was read; the list is partial", tr_id)
        return best, False

    async def _order(self, path: str, tr: trids.TrId, body: Mapping[str, str]) -> OrderAck:
        """Send one order. ``rt_cd`` "0" means KIS took it (§3.3); if the rest of that
        answer cannot be read (no ``output``, no ``ODNO``, a bad ``ORD_TMD``) the order
        exists but the caller cannot name it, so this is ``OutcomeUnknown`` (reconcile,
        never resend), not a ``MalformedAnswer`` a caller could mistake for "not sent"."""
        request = Request("POST", path, self._tr_id(tr), json=body)
        answer = await self._transport.send(request, ORDER, self._access)
        try:
            return parsing.parse_order_ack(answer.body)
        except MalformedAnswer as unreadable:
            raise OutcomeUnknown(
                unreadable.code,
                f"KIS accepted the order but its answer is unreadable ({unreadable.message})",
            ) from None

    @property
    def _account(self) -> dict[str, str]:
        return {"CANO": self.creds.account_no, "ACNT_PRDT_CD": self.creds.product_code}

    # ------------------------------------------------------------------ domestic quotes

    async def quote(self, symbol: str, venue: Venue = Venue.KRX) -> Quote:
        """Current price of a domestic symbol on ``venue`` (``inquire-price``,
        docs/kis-protocol.md §4.2: ``FID_COND_MRKT_DIV_CODE`` J / NX / UN). An order for
        NXT is priced from NXT's quote: KRX's may be a tick or more away."""
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-price",
            trids.PRICE,
            {"FID_COND_MRKT_DIV_CODE": venue.quote_code, "FID_INPUT_ISCD": symbol},
        )
        return parsing.parse_quote(body, symbol)

    async def order_book(self, symbol: str, venue: Venue = Venue.KRX) -> OrderBookSnapshot:
        """Ten-level book plus expected match (``inquire-asking-price-exp-ccn``, §4.2)."""
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-asking-price-exp-ccn",
            trids.ASKING_PRICE,
            {"FID_COND_MRKT_DIV_CODE": venue.quote_code, "FID_INPUT_ISCD": symbol},
        )
        return parsing.parse_order_book(body, symbol)

    async def daily_candles(
        self, symbol: str, start: date, end: date, *, period: str = "D", adjusted: bool = True
    ) -> list[Candle]:
        """Up to 100 bars (``D``/``W``/``M``/``Y``) between two dates, oldest first
        (``inquire-daily-itemchartprice``, docs/kis-protocol.md §4.2)."""
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-daily-itemchartprice",
            trids.DAILY_CHART,
            {
                "FID_COND_MRKT_DIV_CODE": "J",
                "FID_INPUT_ISCD": symbol,
                "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
                "FID_INPUT_DATE_2": end.strftime("%Y%m%d"),
                "FID_PERIOD_DIV_CODE": period,
                "FID_ORG_ADJ_PRC": "0" if adjusted else "1",
            },
        )
        return parsing.parse_daily_candles(body)

    async def minute_candles(self, symbol: str, until: time | None = None) -> list[Candle]:
        """Today's one-minute bars, up to 30 ending at ``until`` (default now), oldest
        first (``inquire-time-itemchartprice``, docs/kis-protocol.md §4.2)."""
        until_text = (until or time(23, 59, 59)).strftime("%H%M%S")
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-time-itemchartprice",
            trids.MINUTE_CHART,
            {
                "FID_ETC_CLS_CODE": "",
                "FID_COND_MRKT_DIV_CODE": "J",
                "FID_INPUT_ISCD": symbol,
                "FID_INPUT_HOUR_1": until_text,
                "FID_PW_DATA_INCU_YN": "N",
            },
        )
        return parsing.parse_minute_candles(body)

    async def market_days(self, base: date) -> list[MarketDay]:
        """The KRX calendar from ``base`` on, all pages (``chk-holiday`` CTCA0903R, §4.2).
        Real host only: on paper this raises ``NotSupported`` before anything is sent.
        KIS asks callers to make this call about once a day; cache what it returns."""
        if not trids.MARKET_CALENDAR.offered_for(self.creds.env):
            raise trids.MARKET_CALENDAR.not_offered()
        pages, _ = await self._get_pages(
            f"{_DOMESTIC_QUOTES}/chk-holiday",
            trids.MARKET_CALENDAR,
            {"BASS_DT": base.strftime("%Y%m%d")},
            _CURSOR_PLAIN,
        )
        return parsing.parse_market_days(pages)

    async def product_info(self, symbol: str, product_type: str = "300") -> ProductInfo:
        """A product's names (``search-info`` CTPF1604R, §4.2). ``product_type`` 300 is a
        KRX stock; 512 NASDAQ, 513 NYSE, 529 AMEX. Real host only (``NotSupported``)."""
        if not trids.PRODUCT_INFO.offered_for(self.creds.env):
            raise trids.PRODUCT_INFO.not_offered()
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/search-info",
            trids.PRODUCT_INFO,
            {"PDNO": symbol, "PRDT_TYPE_CD": product_type},
        )
        return parsing.parse_product_info(body, symbol, product_type)

    # ------------------------------------------------------------------ domestic account

    async def buying_power(
        self, symbol: str, price: Decimal | None = None, order_type: OrderType = OrderType.LIMIT
    ) -> BuyingPower:
        """What a buy of ``symbol`` may use (``inquire-psbl-order``, §4.1)."""
        body = await self._get(
            f"{_DOMESTIC_TRADING}/inquire-psbl-order",
            trids.BUYABLE,
            {
                **self._account,
                "PDNO": symbol,
                "ORD_UNPR": _price_text(price),
                "ORD_DVSN": order_type.value,
                "CMA_EVLU_AMT_ICLD_YN": "N",
                "OVRS_ICLD_YN": "N",
            },
        )
        return parsing.parse_buying_power(body, symbol)

    async def buy(
        self,
        symbol: str,
        quantity: int,
        price: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        """Cash buy on ``venue``. Sent once: ``OutcomeUnknown`` if the answer is lost."""
        return await self._cash_order(trids.CASH_BUY, symbol, quantity, price, order_type, venue)

    async def sell(
        self,
        symbol: str,
        quantity: int,
        price: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        """Cash sell on ``venue``. Sent once: ``OutcomeUnknown`` if the answer is lost."""
        return await self._cash_order(trids.CASH_SELL, symbol, quantity, price, order_type, venue)

    def _check_venue(self, venue: Venue) -> None:
        """Paper routes to KRX only (§4.1): refuse NXT/SOR before anything is sent."""
        if self.creds.env is Environment.PAPER and venue is not Venue.KRX:
            raise NotSupported("PAPER", f"{venue} orders are not offered for paper (모의투자)")

    async def _cash_order(
        self,
        tr: trids.TrId,
        symbol: str,
        quantity: int,
        price: Decimal | None,
        order_type: OrderType,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        _check_order(quantity, price, order_type)
        self._check_venue(venue)
        body = {
            **self._account,
            "PDNO": symbol,
            "ORD_DVSN": order_type.value,
            "ORD_QTY": str(quantity),
            "ORD_UNPR": _price_text(price if order_type.needs_price else None),
            "EXCG_ID_DVSN_CD": venue.value,
            "SLL_TYPE": "01" if tr is trids.CASH_SELL else "",
            "CNDT_PRIC": "",
        }
        return await self._order(f"{_DOMESTIC_TRADING}/order-cash", tr, body)

    async def revise(
        self,
        order_no: str,
        branch_no: str,
        *,
        price: Decimal | None,
        quantity: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        """Revise an open order on the venue it went to; ``quantity=None`` revises all
        that remains (§4.1)."""
        _check_order(quantity or 1, price, order_type)
        return await self._revise_or_cancel(
            "01", order_no, branch_no, quantity, price, order_type, venue
        )

    async def cancel(
        self,
        order_no: str,
        branch_no: str,
        *,
        quantity: int | None = None,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        """Cancel an open order; ``quantity=None`` cancels all that remains (§4.1)."""
        return await self._revise_or_cancel(
            "02", order_no, branch_no, quantity, None, OrderType.LIMIT, venue
        )

    async def _revise_or_cancel(
        self,
        kind: str,
        order_no: str,
        branch_no: str,
        quantity: int | None,
        price: Decimal | None,
        order_type: OrderType,
        venue: Venue = Venue.KRX,
    ) -> OrderAck:
        self._check_venue(venue)
        body = {
            **self._account,
            "KRX_FWDG_ORD_ORGNO": branch_no,
            "ORGN_ODNO": order_no,
            "ORD_DVSN": order_type.value,
            "RVSE_CNCL_DVSN_CD": kind,
            "ORD_QTY": str(quantity or 0),
            "ORD_UNPR": _price_text(price),
            "QTY_ALL_ORD_YN": "Y" if quantity is None else "N",
            "EXCG_ID_DVSN_CD": venue.value,
            "CNDT_PRIC": "",
        }
        return await self._order(f"{_DOMESTIC_TRADING}/order-rvsecncl", trids.REVISE_CANCEL, body)

    async def revisable_orders(self) -> list[RevisableOrder]:
        """Open orders that can be revised or cancelled. KIS offers this to real accounts
        only: on paper this raises ``NotSupported`` before anything is sent (§4.1, §9);
        a paper account's open orders are the unfilled rows of ``daily_executions``."""
        if not trids.REVISABLE_ORDERS.offered_for(self.creds.env):
            raise trids.REVISABLE_ORDERS.not_offered()
        pages, _ = await self._get_pages(
            f"{_DOMESTIC_TRADING}/inquire-psbl-rvsecncl",
            trids.REVISABLE_ORDERS,
            {**self._account, "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"},
            _CURSOR_100,
        )
        return parsing.parse_revisable_orders(pages)

    async def daily_executions(
        self,
        start: date,
        end: date,
        *,
        symbol: str = "",
        side: Side | None = None,
        newest_first: bool = True,
    ) -> Executions:
        """Orders and fills between two dates, all pages (``inquire-daily-ccld``, §4.1).
        Ranges starting more than three months back use the long-range TR."""
        long_range = (self._now().astimezone(KST).date() - start) > timedelta(days=92)
        tr = trids.DAILY_EXECUTIONS_OLD if long_range else trids.DAILY_EXECUTIONS
        side_code = {None: "00", Side.SELL: "01", Side.BUY: "02"}[side]
        pages, complete = await self._get_pages(
            f"{_DOMESTIC_TRADING}/inquire-daily-ccld",
            tr,
            {
                **self._account,
                "INQR_STRT_DT": start.strftime("%Y%m%d"),
                "INQR_END_DT": end.strftime("%Y%m%d"),
                "SLL_BUY_DVSN_CD": side_code,
                "INQR_DVSN": "00" if newest_first else "01",
                "PDNO": symbol,
                "CCLD_DVSN": "00",
                "ORD_GNO_BRNO": "",
                "ODNO": "",
                "INQR_DVSN_3": "00",
                "INQR_DVSN_1": "",
                # Real accounts list every venue's orders; paper trades on KRX only.
                "EXCG_ID_DVSN_CD": "KRX" if self.creds.env is Environment.PAPER else "ALL",
            },
            _CURSOR_100,
        )
        return parsing.parse_executions(pages, complete=complete)

    async def balance(self) -> Balance:
        """Holdings and account totals, all pages (``inquire-balance``, §4.1).
        Holdings sold out today (quantity 0) are left out."""
        pages, complete = await self._get_pages(
            f"{_DOMESTIC_TRADING}/inquire-balance",
            trids.BALANCE,
            {
                **self._account,
                "AFHR_FLPR_YN": "N",
                "OFL_YN": "",
                "INQR_DVSN": "02",
                "UNPR_DVSN": "01",
                "FUND_STTL_ICLD_YN": "N",
                "FNCG_AMT_AUTO_RDPT_YN": "N",
                "PRCS_DVSN": "00",
            },
            _CURSOR_100,
        )
        return parsing.parse_balance(pages, complete=complete)

    # ------------------------------------------------------------------ overseas (US)

    async def us_quote(self, symbol: str, exchange: UsExchange = UsExchange.NASDAQ) -> UsQuote:
        """US current price (HHDFS00000300, docs/kis-protocol.md §4.3)."""
        body = await self._get(
            f"{_US_QUOTES}/price",
            trids.US_PRICE,
            {"AUTH": "", "EXCD": exchange.quote_code, "SYMB": symbol},
        )
        return parsing.parse_us_quote(body, symbol, exchange)

    async def us_daily_candles(
        self,
        symbol: str,
        exchange: UsExchange = UsExchange.NASDAQ,
        *,
        end: date | None = None,
        period: str = "D",
        adjusted: bool = True,
    ) -> list[Candle]:
        """Up to 100 US bars (``D``/``W``/``M``) ending at ``end`` (default: today),
        oldest first (``dailyprice`` HHDFS76240000, docs/kis-protocol.md §4.3)."""
        body = await self._get(
            f"{_US_QUOTES}/dailyprice",
            trids.US_DAILY_CHART,
            {
                "AUTH": "",
                "EXCD": exchange.quote_code,
                "SYMB": symbol,
                "GUBN": {"D": "0", "W": "1", "M": "2"}[period],
                "BYMD": end.strftime("%Y%m%d") if end else "",
                "MODP": "1" if adjusted else "0",
                "KEYB": "",
            },
        )
        return parsing.parse_us_daily_candles(body)

    async def us_buy(
        self,
        symbol: str,
        quantity: int,
        price: Decimal,
        exchange: UsExchange = UsExchange.NASDAQ,
        order_type: UsOrderType = UsOrderType.LIMIT,
    ) -> OrderAck:
        """US buy: limit, LOO or LOC (paper accepts limit only, docs/kis-protocol.md §4.3)."""
        if order_type in (UsOrderType.MARKET_ON_OPEN, UsOrderType.MARKET_ON_CLOSE):
            raise ValueError("KIS takes MOO and MOC for US sells only")
        return await self._us_order(trids.US_BUY, symbol, quantity, price, exchange, order_type)

    async def us_sell(
        self,
        symbol: str,
        quantity: int,
        price: Decimal,
        exchange: UsExchange = UsExchange.NASDAQ,
        order_type: UsOrderType = UsOrderType.LIMIT,
    ) -> OrderAck:
        """US sell: limit, MOO, LOO, MOC or LOC; paper uses VTTT1001U, limit only (§3.5, §4.3)."""
        return await self._us_order(trids.US_SELL, symbol, quantity, price, exchange, order_type)

    async def _us_order(
        self,
        tr: trids.TrId,
        symbol: str,
        quantity: int,
        price: Decimal,
        exchange: UsExchange,
        order_type: UsOrderType = UsOrderType.LIMIT,
    ) -> OrderAck:
        if self.creds.env is Environment.PAPER and order_type is not UsOrderType.LIMIT:
            raise NotSupported("PAPER", "paper (모의투자) takes US limit orders only")
        priced = order_type.needs_price
        _check_order(
            quantity, price if priced else None, OrderType.LIMIT if priced else OrderType.MARKET
        )
        body = {
            **self._account,
            "OVRS_EXCG_CD": exchange.value,
            "PDNO": symbol,
            "ORD_QTY": str(quantity),
            "OVRS_ORD_UNPR": _price_text(price if priced else None),
            "CTAC_TLNO": "",
            "MGCO_APTM_ODNO": "",
            "SLL_TYPE": "00" if tr is trids.US_SELL else "",
            "ORD_SVR_DVSN_CD": "0",
            "ORD_DVSN": order_type.value,
        }
        return await self._order(f"{_US_TRADING}/order", tr, body)

    async def us_revise(
        self,
        order_no: str,
        symbol: str,
        *,
        price: Decimal,
        quantity: int,
        exchange: UsExchange = UsExchange.NASDAQ,
    ) -> OrderAck:
        """Move an open US order to ``price`` (TTTT1004U / VTTT1004U, §4.3)."""
        _check_order(quantity, price, OrderType.LIMIT)
        return await self._us_revise_or_cancel("01", order_no, symbol, quantity, price, exchange)

    async def us_cancel(
        self,
        order_no: str,
        symbol: str,
        *,
        quantity: int,
        exchange: UsExchange = UsExchange.NASDAQ,
    ) -> OrderAck:
        """Cancel ``quantity`` of an open US order (``OVRS_ORD_UNPR "0"``, §4.3)."""
        _check_order(quantity, None, OrderType.MARKET)
        return await self._us_revise_or_cancel("02", order_no, symbol, quantity, None, exchange)

    async def _us_revise_or_cancel(
        self,
        kind: str,
        order_no: str,
        symbol: str,
        quantity: int,
        price: Decimal | None,
        exchange: UsExchange,
    ) -> OrderAck:
        body = {
            **self._account,
            "OVRS_EXCG_CD": exchange.value,
            "PDNO": symbol,
            "ORGN_ODNO": order_no,
            "RVSE_CNCL_DVSN_CD": kind,
            "ORD_QTY": str(quantity),
            "OVRS_ORD_UNPR": _price_text(price),
            "MGCO_APTM_ODNO": "",
            "ORD_SVR_DVSN_CD": "0",
        }
        return await self._order(f"{_US_TRADING}/order-rvsecncl", trids.US_REVISE_CANCEL, body)

    async def us_balance(
        self, exchange: UsExchange = UsExchange.NASDAQ, currency: str = "USD"
    ) -> UsBalance:
        """US holdings and totals, all pages (``inquire-balance`` TTTS3012R, §4.3).
        ``NASD`` covers every US exchange here."""
        pages, complete = await self._get_pages(
            f"{_US_TRADING}/inquire-balance",
            trids.US_BALANCE,
            {**self._account, "OVRS_EXCG_CD": exchange.value, "TR_CRCY_CD": currency},
            _CURSOR_200,
        )
        return parsing.parse_us_balance(pages, complete=complete)

    async def us_executions(self, start: date, end: date) -> list[UsExecution]:
        """US orders and fills between two local exchange dates, all pages (§4.3)."""
        paper = self.creds.env is Environment.PAPER
        pages, _ = await self._get_pages(
            f"{_US_TRADING}/inquire-ccnl",
            trids.US_EXECUTIONS,
            {
                **self._account,
                "PDNO": "" if paper else "%",
                "ORD_STRT_DT": start.strftime("%Y%m%d"),
                "ORD_END_DT": end.strftime("%Y%m%d"),
                "SLL_BUY_DVSN": "00",
                "CCLD_NCCS_DVSN": "00",
                "OVRS_EXCG_CD": "" if paper else "%",
                "SORT_SQN": "DS",
                "ORD_DT": "",
                "ORD_GNO_BRNO": "",
                "ODNO": "",
            },
            _CURSOR_200,
        )
        return parsing.parse_us_executions(pages)


# ---------------------------------------------------------------------- request helpers


def _price_text(price: Decimal | None) -> str:
    """Prices go out as plain decimal strings; ``"0"`` means no price (market orders)."""
    if price is None:
        return "0"
    return format(price.normalize(), "f") if price == price.to_integral() else format(price, "f")


def _check_order(quantity: int, price: Decimal | None, order_type: OrderType) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError("quantity must be a positive int")
    if order_type.needs_price and (price is None or price <= 0):
        raise ValueError(f"a {order_type.name.lower()} order needs a positive price")
