"""``KisClient``: one credential's REST conversation with KIS.

Every call goes: token (``TokenManager``) → rate limiter → HTTP → envelope check. Bodies
are parsed whatever the HTTP status (REFERENCE.md §5). Reads retry rate limits and
transient failures with bounded, jittered backoff; an expired token is renewed once and
the call repeated once (KIS's gateway refused it before anything ran). Orders are never
retried otherwise: an answer that may hide an accepted order raises ``OutcomeUnknown``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from . import trids
from .credentials import Environment, KisCredentials
from .errors import (
    InvalidCredential,
    KisError,
    MalformedAnswer,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenExpired,
    TokenIssueTooSoon,
    UpstreamUnavailable,
)
from .limiter import RateLimiter, shared_rate_limiter
from .models import (
    Balance,
    BookLevel,
    BuyingPower,
    Candle,
    Execution,
    Executions,
    Holding,
    OrderAck,
    OrderBookSnapshot,
    OrderType,
    Quote,
    RevisableOrder,
    Side,
    UsBalance,
    UsExchange,
    UsExecution,
    UsHolding,
    UsQuote,
)
from .tokens import Clock, MemoryTokenStore, Token, TokenKind, TokenManager, TokenStore, utc_now

log = logging.getLogger(__name__)

_DOMESTIC_QUOTES = "/uapi/domestic-stock/v1/quotations"
_DOMESTIC_TRADING = "/uapi/domestic-stock/v1/trading"
_US_QUOTES = "/uapi/overseas-price/v1/quotations"
_US_TRADING = "/uapi/overseas-stock/v1/trading"

# REFERENCE.md §5. Codes whose meaning is certain: KIS did not run the request.
_RATE_LIMIT_CODES = frozenset({"EGW00201", "EGW00215"})
_TOKEN_CODES = frozenset({"EGW00123", "EGW00121"})
_CREDENTIAL_CODES = frozenset({"EGW00103", "EGW00105", "EGW02004"})
# Gateway answers that say nothing about whether the request ran.
_AMBIGUOUS_CODES = frozenset({"", "EGW00002", "EGW00301", "EGW00302"})

_SIDE_CODES = {"01": Side.SELL, "02": Side.BUY}
_TOKEN_ISSUE_INTERVAL = timedelta(seconds=60)  # EGW00133, REFERENCE.md §2.1
KST = timezone(timedelta(hours=9), "KST")  # KRX dates are Korean dates


@dataclass(frozen=True, slots=True)
class _Answer:
    body: dict[str, Any]
    tr_cont: str


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Continuation keys copied from one page's body into the next request (§3.4)."""

    first: str
    next: str


_CURSOR_100 = _Cursor("CTX_AREA_FK100", "CTX_AREA_NK100")
_CURSOR_200 = _Cursor("CTX_AREA_FK200", "CTX_AREA_NK200")


class KisClient:
    """REST client for one credential. Use one per credential and close it with
    ``aclose()`` (or ``async with``).

    ``rest_url``/``ws_url`` default to KIS's hosts for ``creds.env`` (REFERENCE.md §1);
    point them at the simulator in tests and demos. ``token_store`` holds tokens between
    processes (see ``TokenStore``); ``limiter`` defaults to the process-wide
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
        self._limiter = limiter or shared_rate_limiter()
        self._read_attempts = read_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._now = now
        # KIS answers at most 20 calls/s per app key: a few kept-alive connections carry
        # that, and a small pool never opens and closes connections under a burst.
        self._http = httpx.AsyncClient(
            base_url=self.rest_url,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
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
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"<KisClient {self.creds.env} app_key=****{self.creds.app_key[-4:]}>"

    # ------------------------------------------------------------------ tokens

    async def ensure_token(self) -> Token:
        """A valid access token: the stored one, or a new issue (REFERENCE.md §2.1).
        Raises ``InvalidCredential`` for a wrong key pair, ``TokenIssueTooSoon`` inside
        the once-a-minute window."""
        return await self._access.get()

    async def ensure_approval_key(self) -> Token:
        """A WebSocket approval key (REFERENCE.md §2.3), stored like the access token."""
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
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise MalformedAnswer("TOKEN", "token answer without access_token")
        issued_at = self._now()
        try:
            lifetime = timedelta(seconds=int(body.get("expires_in", 86400)))
        except (TypeError, ValueError):
            raise MalformedAnswer("TOKEN", "token answer with a bad expires_in") from None
        return Token(value=value, expires_at=issued_at + lifetime, issued_at=issued_at)

    async def _issue_approval_key(self) -> Token:
        body = await self._oauth(
            "/oauth2/Approval",
            {
                "grant_type": "client_credentials",
                "appkey": self.creds.app_key,
                "secretkey": self.creds.app_secret,  # §2.3: named secretkey here
            },
        )
        value = body.get("approval_key")
        if not isinstance(value, str) or not value:
            raise MalformedAnswer("APPROVAL", "approval answer without approval_key")
        issued_at = self._now()
        return Token(value=value, expires_at=issued_at + timedelta(hours=24), issued_at=issued_at)

    async def _oauth(self, path: str, payload: dict[str, str]) -> dict[str, Any]:
        """POST to an ``/oauth2`` endpoint; its errors use ``error_code`` (§2.1, §9)."""
        attempt = 0
        while True:
            await self._limiter.acquire(self.creds.app_key, self.creds.env)
            try:
                response = await self._http.post(path, json=payload)
            except httpx.TransportError as exc:
                failure: KisError = UpstreamUnavailable("NETWORK", _describe(exc))
            else:
                body = _json_body(response)
                if response.status_code == 200 and body is not None and "error_code" not in body:
                    return body
                failure = _classify(response.status_code, body)
                if isinstance(failure, Rejected) and response.status_code in (401, 403):
                    failure = InvalidCredential(failure.code, failure.message)
                if not _is_transient(failure):
                    raise failure
            attempt += 1
            if attempt >= self._read_attempts:
                raise failure
            await self._backoff(attempt)

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        method: str,
        path: str,
        tr_id: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, str] | None = None,
        tr_cont: str = "",
        order: bool = False,
    ) -> _Answer:
        """One KIS call with the retry rules in the module docstring."""
        token_renewed = False
        attempt = 0
        while True:
            token = await self._access.get()
            await self._limiter.acquire(self.creds.app_key, self.creds.env)
            headers = {
                "authorization": f"Bearer {token.value}",
                "appkey": self.creds.app_key,
                "appsecret": self.creds.app_secret,
                "tr_id": tr_id,
                "tr_cont": tr_cont,
                "custtype": "P",
            }
            try:
                response = await self._http.request(
                    method, path, params=params, json=body, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never left this process: not sent, for orders too.
                failure: KisError = UpstreamUnavailable("NETWORK", _describe(exc))
                if order:
                    raise failure from None
            except httpx.TransportError as exc:
                if order:
                    raise OutcomeUnknown("NETWORK", _describe(exc)) from None
                failure = UpstreamUnavailable("NETWORK", _describe(exc))
            else:
                answer = _json_body(response)
                failure_or_none = _classify(response.status_code, answer)
                if failure_or_none is None and answer is not None:
                    return _Answer(answer, response.headers.get("tr_cont", "").strip())
                failure = failure_or_none or MalformedAnswer("BODY", "empty answer")
                if isinstance(failure, TokenExpired) and not token_renewed:
                    self._access.invalidate(token)
                    token_renewed = True
                    continue
                if order:
                    if _is_ambiguous(failure):
                        raise OutcomeUnknown(failure.code, failure.message)
                    raise failure
                if not _is_transient(failure):
                    raise failure
            attempt += 1
            if attempt >= self._read_attempts:
                raise failure
            log.info("KIS %s %s failed (%s); retry %d", tr_id, path, failure.code, attempt)
            await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        ceiling = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))

    async def _get(self, path: str, tr: trids.TrId, params: Mapping[str, str]) -> dict[str, Any]:
        return (await self._call("GET", path, tr.for_env(self.creds.env), params=params)).body

    async def _get_pages(
        self, path: str, tr: trids.TrId, params: dict[str, str], cursor: _Cursor
    ) -> tuple[list[dict[str, Any]], bool]:
        """Follow ``tr_cont`` F/M to the last page (D/E), copying the cursor from each
        body into the next request and sending ``tr_cont: N`` (REFERENCE.md §3.4).
        Returns the pages and whether the last one was reached within ``max_pages``."""
        tr_id = tr.for_env(self.creds.env)
        pages: list[dict[str, Any]] = []
        tr_cont = ""
        for _ in range(self.max_pages):
            answer = await self._call("GET", path, tr_id, params=params, tr_cont=tr_cont)
            pages.append(answer.body)
            if answer.tr_cont not in ("F", "M"):
                return pages, True
            lowered = {key.lower(): value for key, value in answer.body.items()}
            params = {
                **params,
                cursor.first: str(lowered.get(cursor.first.lower(), "")),
                cursor.next: str(lowered.get(cursor.next.lower(), "")),
            }
            tr_cont = "N"
        log.warning("KIS %s stopped after %d pages", tr_id, self.max_pages)
        return pages, False

    async def _order(self, path: str, tr: trids.TrId, body: dict[str, str]) -> OrderAck:
        """Send one order. ``rt_cd`` "0" means KIS took it (§3.3); if the rest of that
        answer cannot be read (no ``output``, no ``ODNO``, a bad ``ORD_TMD``) the order
        exists but the caller cannot name it, so this is ``OutcomeUnknown`` (reconcile,
        never resend), not a ``MalformedAnswer`` a caller could mistake for "not sent"."""
        answer = await self._call("POST", path, tr.for_env(self.creds.env), body=body, order=True)
        try:
            row = _Row(_output(answer.body, "output"))
            return OrderAck(
                order_no=row.text("ODNO"),
                branch_no=row.text("KRX_FWDG_ORD_ORGNO"),
                time=row.time("ORD_TMD"),
                message=str(answer.body.get("msg1", "")).rstrip(),
            )
        except MalformedAnswer as unreadable:
            raise OutcomeUnknown(
                unreadable.code,
                f"KIS accepted the order but its answer is unreadable ({unreadable.message})",
            ) from None

    @property
    def _account(self) -> dict[str, str]:
        return {"CANO": self.creds.account_no, "ACNT_PRDT_CD": self.creds.product_code}

    # ------------------------------------------------------------------ domestic quotes

    async def quote(self, symbol: str) -> Quote:
        """Current price of a KRX symbol (``inquire-price``, REFERENCE.md §4.2)."""
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-price",
            trids.PRICE,
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        )
        row = _Row(_output(body, "output"))
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

    async def order_book(self, symbol: str) -> OrderBookSnapshot:
        """Ten-level book plus expected match (``inquire-asking-price-exp-ccn``, §4.2)."""
        body = await self._get(
            f"{_DOMESTIC_QUOTES}/inquire-asking-price-exp-ccn",
            trids.ASKING_PRICE,
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        )
        book = _Row(_output(body, "output1"))
        expected = body.get("output2")
        exp = _Row(expected) if isinstance(expected, dict) and expected else None
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

    async def daily_candles(
        self, symbol: str, start: date, end: date, *, period: str = "D", adjusted: bool = True
    ) -> list[Candle]:
        """Up to 100 bars (``D``/``W``/``M``/``Y``) between two dates, oldest first
        (``inquire-daily-itemchartprice``, REFERENCE.md §4.2)."""
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
            for row in _rows(body, "output2")
            if row.text("stck_bsop_date", required=False)
        ]
        return sorted(candles, key=lambda candle: candle.date)

    async def minute_candles(self, symbol: str, until: time | None = None) -> list[Candle]:
        """Today's one-minute bars, up to 30 ending at ``until`` (default now), oldest
        first (``inquire-time-itemchartprice``, REFERENCE.md §4.2)."""
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
            for row in _rows(body, "output2")
        ]
        return sorted(candles, key=lambda candle: (candle.date, candle.time))

    # ------------------------------------------------------------------ domestic account

    async def buying_power(
        self, symbol: str, price: Decimal | None = None, order_type: OrderType = OrderType.LIMIT
    ) -> BuyingPower:
        """What a buy of ``symbol`` may use (``inquire-psbl-order``, REFERENCE.md §4.1)."""
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
        row = _Row(_output(body, "output"))
        return BuyingPower(
            symbol=symbol,
            cash=row.dec("ord_psbl_cash"),
            max_quantity=row.int("max_buy_qty"),
            max_amount=row.dec("max_buy_amt"),
            no_margin_quantity=row.int("nrcvb_buy_qty"),
            no_margin_amount=row.dec("nrcvb_buy_amt"),
        )

    async def buy(
        self,
        symbol: str,
        quantity: int,
        price: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
    ) -> OrderAck:
        """Cash buy on KRX. Sent once: ``OutcomeUnknown`` if the answer is lost."""
        return await self._cash_order(trids.CASH_BUY, symbol, quantity, price, order_type)

    async def sell(
        self,
        symbol: str,
        quantity: int,
        price: Decimal | None = None,
        order_type: OrderType = OrderType.LIMIT,
    ) -> OrderAck:
        """Cash sell on KRX. Sent once: ``OutcomeUnknown`` if the answer is lost."""
        return await self._cash_order(trids.CASH_SELL, symbol, quantity, price, order_type)

    async def _cash_order(
        self,
        tr: trids.TrId,
        symbol: str,
        quantity: int,
        price: Decimal | None,
        order_type: OrderType,
    ) -> OrderAck:
        _check_order(quantity, price, order_type)
        body = {
            **self._account,
            "PDNO": symbol,
            "ORD_DVSN": order_type.value,
            "ORD_QTY": str(quantity),
            "ORD_UNPR": _price_text(price if order_type.needs_price else None),
            "EXCG_ID_DVSN_CD": "KRX",
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
    ) -> OrderAck:
        """Revise an open order; ``quantity=None`` revises all that remains (§4.1)."""
        _check_order(quantity or 1, price, order_type)
        return await self._revise_or_cancel("01", order_no, branch_no, quantity, price, order_type)

    async def cancel(
        self, order_no: str, branch_no: str, *, quantity: int | None = None
    ) -> OrderAck:
        """Cancel an open order; ``quantity=None`` cancels all that remains (§4.1)."""
        return await self._revise_or_cancel(
            "02", order_no, branch_no, quantity, None, OrderType.LIMIT
        )

    async def _revise_or_cancel(
        self,
        kind: str,
        order_no: str,
        branch_no: str,
        quantity: int | None,
        price: Decimal | None,
        order_type: OrderType,
    ) -> OrderAck:
        body = {
            **self._account,
            "KRX_FWDG_ORD_ORGNO": branch_no,
            "ORGN_ODNO": order_no,
            "ORD_DVSN": order_type.value,
            "RVSE_CNCL_DVSN_CD": kind,
            "ORD_QTY": str(quantity or 0),
            "ORD_UNPR": _price_text(price),
            "QTY_ALL_ORD_YN": "Y" if quantity is None else "N",
            "EXCG_ID_DVSN_CD": "KRX",
            "CNDT_PRIC": "",
        }
        return await self._order(f"{_DOMESTIC_TRADING}/order-rvsecncl", trids.REVISE_CANCEL, body)

    async def revisable_orders(self) -> list[RevisableOrder]:
        """Open orders that can be revised or cancelled. Real accounts only: paper raises
        ``NotSupported`` (REFERENCE.md §4.1, §9)."""
        tr = trids.REVISABLE_ORDERS
        tr.for_env(self.creds.env)
        pages, _ = await self._get_pages(
            f"{_DOMESTIC_TRADING}/inquire-psbl-rvsecncl",
            tr,
            {**self._account, "INQR_DVSN_1": "0", "INQR_DVSN_2": "0"}
            | {_CURSOR_100.first: "", _CURSOR_100.next: ""},
            _CURSOR_100,
        )
        return [
            RevisableOrder(
                order_no=row.text("odno"),
                branch_no=row.text("ord_gno_brno"),
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
            for page in pages
            for row in _rows(page, "output")
        ]

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
                "EXCG_ID_DVSN_CD": "KRX",
                _CURSOR_100.first: "",
                _CURSOR_100.next: "",
            },
            _CURSOR_100,
        )
        rows = tuple(
            Execution(
                order_date=row.date("ord_dt"),
                order_no=row.text("odno"),
                branch_no=row.text("ord_gno_brno", required=False),
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
            )
            for page in pages
            for row in _rows(page, "output1")
        )
        totals = _Row(_first(pages[-1].get("output2")))
        return Executions(
            rows=rows,
            total_quantity=totals.int("tot_ord_qty", required=False),
            total_filled_quantity=totals.int("tot_ccld_qty", required=False),
            total_filled_amount=totals.dec("tot_ccld_amt", required=False),
            estimated_fees=totals.dec("prsm_tlex_smtl", required=False),
            complete=complete,
        )

    async def balance(self) -> Balance:
        """Holdings and account totals, all pages (``inquire-balance``, REFERENCE.md §4.1).
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
                _CURSOR_100.first: "",
                _CURSOR_100.next: "",
            },
            _CURSOR_100,
        )
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
            for page in pages
            for row in _rows(page, "output1")
            if row.int("hldg_qty") > 0
        )
        totals = _Row(_first(pages[-1].get("output2")))
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

    # ------------------------------------------------------------------ overseas (US)

    async def us_quote(self, symbol: str, exchange: UsExchange = UsExchange.NASDAQ) -> UsQuote:
        """US current price (HHDFS00000300, REFERENCE.md §4.3)."""
        body = await self._get(
            f"{_US_QUOTES}/price",
            trids.US_PRICE,
            {"AUTH": "", "EXCD": exchange.quote_code, "SYMB": symbol},
        )
        row = _Row(_output(body, "output"))
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

    async def us_buy(
        self, symbol: str, quantity: int, price: Decimal, exchange: UsExchange = UsExchange.NASDAQ
    ) -> OrderAck:
        """US limit buy (paper accepts limit only, REFERENCE.md §4.3)."""
        return await self._us_order(trids.US_BUY, symbol, quantity, price, exchange)

    async def us_sell(
        self, symbol: str, quantity: int, price: Decimal, exchange: UsExchange = UsExchange.NASDAQ
    ) -> OrderAck:
        """US limit sell; paper uses VTTT1001U (REFERENCE.md §3.5, §4.3)."""
        return await self._us_order(trids.US_SELL, symbol, quantity, price, exchange)

    async def _us_order(
        self,
        tr: trids.TrId,
        symbol: str,
        quantity: int,
        price: Decimal,
        exchange: UsExchange,
    ) -> OrderAck:
        _check_order(quantity, price, OrderType.LIMIT)
        body = {
            **self._account,
            "OVRS_EXCG_CD": exchange.value,
            "PDNO": symbol,
            "ORD_QTY": str(quantity),
            "OVRS_ORD_UNPR": _price_text(price),
            "CTAC_TLNO": "",
            "MGCO_APTM_ODNO": "",
            "SLL_TYPE": "00" if tr is trids.US_SELL else "",
            "ORD_SVR_DVSN_CD": "0",
            "ORD_DVSN": "00",
        }
        return await self._order(f"{_US_TRADING}/order", tr, body)

    async def us_balance(
        self, exchange: UsExchange = UsExchange.NASDAQ, currency: str = "USD"
    ) -> UsBalance:
        """US holdings and totals, all pages (``inquire-balance`` TTTS3012R, §4.3).
        ``NASD`` covers every US exchange here."""
        pages, complete = await self._get_pages(
            f"{_US_TRADING}/inquire-balance",
            trids.US_BALANCE,
            {
                **self._account,
                "OVRS_EXCG_CD": exchange.value,
                "TR_CRCY_CD": currency,
                _CURSOR_200.first: "",
                _CURSOR_200.next: "",
            },
            _CURSOR_200,
        )
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
            for page in pages
            for row in _rows(page, "output1")
        )
        totals = _Row(_first(pages[-1].get("output2")))
        return UsBalance(
            holdings=holdings,
            purchase_total=totals.dec("frcr_pchs_amt1", required=False),
            realized_profit=totals.dec("ovrs_rlzt_pfls_amt", required=False),
            profit_total=totals.dec("tot_evlu_pfls_amt", required=False),
            profit_rate=totals.dec("tot_pftrt", required=False),
            complete=complete,
        )

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
                _CURSOR_200.first: "",
                _CURSOR_200.next: "",
            },
            _CURSOR_200,
        )
        return [
            UsExecution(
                order_date=row.date("ord_dt"),
                order_no=row.text("odno"),
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
            for page in pages
            for row in _rows(page, "output")
        ]


# ---------------------------------------------------------------------- helpers


def _classify(status: int, body: dict[str, Any] | None) -> KisError | None:
    """Map an answer to ``None`` (success) or the matching ``KisError`` (§3.3, §5)."""
    if body is None:
        if status >= 500 or status == 0:
            return UpstreamUnavailable(f"HTTP{status}", "KIS answered without a body")
        return MalformedAnswer(f"HTTP{status}", "KIS answered something other than JSON")
    if "error_code" in body:
        code = str(body.get("error_code", ""))
        message = str(body.get("error_description", ""))
    else:
        if status < 400 and str(body.get("rt_cd", "")) == "0":
            return None
        code = str(body.get("msg_cd", ""))
        message = str(body.get("msg1", ""))
    if code in _RATE_LIMIT_CODES:
        return RateLimited(code, message)
    if code in _TOKEN_CODES:
        return TokenExpired(code, message)
    if code == "EGW00133":
        return TokenIssueTooSoon(code, message, retry_after_s=60.0)
    if code in _CREDENTIAL_CODES:
        return InvalidCredential(code, message)
    if code in _AMBIGUOUS_CODES or (status >= 500 and not code):
        return UpstreamUnavailable(code or f"HTTP{status}", message or "KIS server error")
    return Rejected(code, message)


def _is_transient(failure: KisError) -> bool:
    """Worth retrying for a read: the same request may well succeed shortly."""
    return isinstance(failure, RateLimited | UpstreamUnavailable)


def _is_ambiguous(failure: KisError) -> bool:
    """For an order: the answer does not say whether KIS took it."""
    return isinstance(failure, UpstreamUnavailable | MalformedAnswer)


def _json_body(response: httpx.Response) -> dict[str, Any] | None:
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _describe(exc: Exception) -> str:
    return f"no answer from KIS ({type(exc).__name__})"


def _output(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if isinstance(value, list):
        value = value[0] if value else {}
    if not isinstance(value, dict):
        raise MalformedAnswer("BODY", f"answer without {key}")
    return value


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _rows(body: dict[str, Any], key: str) -> list[_Row]:
    value = body.get(key) or []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise MalformedAnswer("BODY", f"answer with a bad {key}")
    return [_Row(row) for row in value if isinstance(row, dict)]


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


class _Row:
    """Typed reads of one KIS output object. A missing required field is a
    ``MalformedAnswer``; an empty numeric field reads as zero (KIS's way of saying none)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def text(self, key: str, *, required: bool = True) -> str:
        value = self._data.get(key)
        if value is None:
            if required:
                raise MalformedAnswer("BODY", f"answer without {key}")
            return ""
        return str(value).strip()

    def dec(self, key: str, *, required: bool = True) -> Decimal:
        text = self.text(key, required=required)
        try:
            return Decimal(text) if text else Decimal(0)
        except InvalidOperation:
            raise MalformedAnswer("BODY", f"{key} is not a number") from None

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

    def side(self, key: str) -> Side:
        code = self.text(key)
        if code not in _SIDE_CODES:
            raise MalformedAnswer("BODY", f"{key} is not a side")
        return _SIDE_CODES[code]
