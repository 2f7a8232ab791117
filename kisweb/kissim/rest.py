"""The REST surface: routes, header checks, rate limits, TR dispatch (REFERENCE.md §2–§6).

One aiohttp application per environment; both share the simulator's market and stores.
Every KIS request goes through `Api.handle`, which applies the fault switches, checks the
headers in gateway order (app key, secret, environment, rate, token, TR ID) and dispatches
on (path, tr_id). A handler returns the envelope body and the `tr_cont` to send back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from aiohttp import web

from . import wire
from .clock import KST, Session, us_local
from .market import BUY, SELL, Ledger, Order, Rejected, Symbol
from .oauth import TOKEN_LIFETIME_S, hash_body
from .stats import RequestRecord
from .symbols import KRW, ORDER_EXCHANGE_TO_EXCD, USD
from .wire import Answer, ApiError

if TYPE_CHECKING:
    from .server import Simulator

log = logging.getLogger(__name__)

RATE_LIMITS = {"real": 20, "paper": 2}  # requests per sliding second, per app key (§6)
PAGE_SIZES = {  # §3.4; the overseas sizes are unconfirmed, chosen small enough to page
    "balance": {"real": 50, "paper": 20},
    "daily_ccld": {"real": 100, "paper": 15},
    "psbl_rvsecncl": {"real": 50, "paper": 50},
    "overseas": {"real": 20, "paper": 10},
}
WS_PATHS = ("/", "/tryitout")
ARRIVED = web.RequestKey("arrived", float)
NEW_ORDER_HANDLERS = (
    "order_cash",
    "us_order",
)  # what `lose_order_answers` applies to  # when the gateway saw the request

DQ = "/uapi/domestic-stock/v1/quotations"
DT = "/uapi/domestic-stock/v1/trading"
OQ = "/uapi/overseas-price/v1/quotations"
OT = "/uapi/overseas-stock/v1/trading"

OK_INQUIRY = {
    "real": ("MCA00000", "정상처리 되었습니다."),
    "paper": ("20310000", "모의투자 조회가 완료되었습니다."),
}
OK_QUOTE = ("MCA00000", "정상처리 되었습니다.")
OK_ORDER_REAL = ("APBK0013", "주문 전송 완료 되었습니다.")
OK_ORDER_PAPER = {
    "buy": ("40600000", "모의투자 매수주문이 완료 되었습니다."),
    "sell": ("40600000", "모의투자 매도주문이 완료 되었습니다."),
    "revise": ("40600000", "모의투자 정정주문이 완료 되었습니다."),
    "cancel": ("40600000", "모의투자 취소주문이 완료 되었습니다."),
}

# Business rejections (§5). Texts marked there as captured are used verbatim; the codes for
# the rest are our choice. Paper answers prefix "모의투자" as KIS's paper host does.
REJECTIONS: dict[str, tuple[str, str, str]] = {
    # reason: (real msg_cd, paper msg_cd, text)
    "cash": ("APBK0952", "40250000", "주문가능금액을 초과 했습니다"),
    "holdings": ("APBK0400", "40240000", "주문가능수량을 초과 했습니다"),
    "price_tick": ("APBK0506", "40070000", "주식주문호가단위 오류입니다."),
    "price_upper": ("APBK0512", "40080000", "주문단가가 상한가를 초과하였습니다."),
    "price_lower": ("APBK0513", "40090000", "주문단가가 하한가 미만입니다."),
    "qty": ("APBK0545", "40120000", "주문수량을 확인하십시오."),
    "symbol": ("APBK0656", "40050000", "해당종목정보가 없습니다."),
    "ord_dvsn": ("APBK1664", "40130000", "주문구분 입력오류입니다."),
    "nothing_left": ("APBK1359", "40330000", "정정/취소할 수량이 없습니다."),
    "no_order": ("APBK0915", "40340000", "원주문번호가 존재하지 않습니다."),
    "account": ("APAC0081", "40200000", "계좌번호 입력 오류입니다"),
    "value": ("APBK0547", "40140000", "주문단가를 확인하십시오."),
}
CLOSED_ANSWERS = {
    ("paper", Session.PRE_OPEN): ("40570000", "모의투자 장시작전 입니다."),
    ("paper", Session.CLOSED): ("40580000", "모의투자 장종료 입니다."),
    ("paper", Session.HOLIDAY): ("40100000", "모의투자 영업일이 아닙니다."),
    ("real", Session.PRE_OPEN): ("APBK0918", "장운영시간이 아닙니다."),
    ("real", Session.CLOSED): ("APBK0918", "장운영시간이 아닙니다."),
    ("real", Session.HOLIDAY): ("APBK0919", "장운영일자가 주문일과 상이합니다"),
}


def rejection(reason: str, env: str) -> Answer:
    real_cd, paper_cd, text = REJECTIONS[reason]
    if env == "paper":
        return Answer(paper_cd, f"모의투자 {text}")
    return Answer(real_cd, text)


class AnswerLost(Exception):
    """The order was taken; the HTTP answer must vanish (fault `lose_order_answers`)."""


@dataclass(frozen=True)
class Request:
    """What a TR handler needs: the caller, its parameters, and the continuation ask."""

    env: str
    ledger: Ledger
    tr_id: str
    params: dict[str, str]  # GET keys upper-cased (§3.2); POST body as sent
    tr_cont: str
    arg: str  # the route's per-TR argument, e.g. the order side

    def need(self, *names: str) -> list[str]:
        values = []
        for name in names:
            value = self.params.get(name)
            if value is None:
                raise ApiError(wire.missing_field(name))
            values.append(str(value).strip())
        return values

    def get(self, name: str, default: str = "") -> str:
        value = self.params.get(name)
        return default if value is None else str(value).strip()

    @property
    def continuing(self) -> bool:
        return self.tr_cont == "N"


Handler = Callable[[Request], Awaitable[tuple[dict, str]]]


@dataclass(frozen=True)
class Route:
    method: str
    handler: str  # Api method name
    trs: dict[str, dict[str, str]]  # env -> {tr_id: arg}


def _v(real: dict[str, str]) -> dict[str, dict[str, str]]:
    """Real TRs and their paper twins with the first letter replaced by V (§3.5)."""
    return {"real": real, "paper": {"V" + tr[1:]: arg for tr, arg in real.items()}}


def _both(*trs: str) -> dict[str, dict[str, str]]:
    return {"real": dict.fromkeys(trs, ""), "paper": dict.fromkeys(trs, "")}


ROUTES: dict[str, Route] = {
    f"{DQ}/inquire-price": Route("GET", "inquire_price", _both("FHKST01010100")),
    f"{DQ}/inquire-asking-price-exp-ccn": Route("GET", "asking_price", _both("FHKST01010200")),
    f"{DQ}/inquire-daily-price": Route("GET", "daily_price", _both("FHKST01010400")),
    f"{DQ}/inquire-daily-itemchartprice": Route("GET", "period_chart", _both("FHKST03010100")),
    f"{DQ}/inquire-time-itemchartprice": Route("GET", "minute_chart", _both("FHKST03010200")),
    f"{DT}/order-cash": Route(
        "POST",
        "order_cash",
        _v({"TTTC0012U": BUY, "TTTC0802U": BUY, "TTTC0011U": SELL, "TTTC0801U": SELL}),
    ),
    f"{DT}/order-rvsecncl": Route("POST", "order_rvsecncl", _v({"TTTC0013U": "", "TTTC0803U": ""})),
    f"{DT}/inquire-psbl-rvsecncl": Route(
        "GET", "psbl_rvsecncl", {"real": {"TTTC0084R": "", "TTTC8036R": ""}, "paper": {}}
    ),
    f"{DT}/inquire-daily-ccld": Route(
        "GET",
        "daily_ccld",
        _v({"TTTC0081R": "", "TTTC8001R": "", "CTSC9215R": "", "CTSC9115R": ""}),
    ),
    f"{DT}/inquire-balance": Route("GET", "balance", _v({"TTTC8434R": ""})),
    f"{DT}/inquire-psbl-order": Route("GET", "psbl_order", _v({"TTTC8908R": ""})),
    f"{OQ}/price": Route("GET", "us_price", _both("HHDFS00000300")),
    f"{OQ}/dailyprice": Route("GET", "us_dailyprice", _both("HHDFS76240000")),
    f"{OT}/order": Route(
        "POST",
        "us_order",
        {
            "real": {"TTTT1002U": BUY, "TTTT1006U": SELL},
            # VTTT1001U per the comments/Postman; VTTT1006U is what the V-rule derives (§4.3).
            "paper": {"VTTT1002U": BUY, "VTTT1001U": SELL, "VTTT1006U": SELL},
        },
    ),
    f"{OT}/order-rvsecncl": Route("POST", "us_rvsecncl", _v({"TTTT1004U": ""})),
    f"{OT}/inquire-balance": Route("GET", "us_balance", _v({"TTTS3012R": ""})),
    f"{OT}/inquire-ccnl": Route("GET", "us_ccnl", _v({"TTTS3035R": ""})),
    f"{OT}/inquire-nccs": Route("GET", "us_nccs", _v({"TTTS3018R": ""})),
    f"{OT}/inquire-psamount": Route("GET", "us_psamount", _v({"TTTS3007R": ""})),
}


def _pad(value: str, width: int) -> str:
    """Continuation cursors travel right-padded with spaces, as KIS sends them."""
    return value.ljust(width)


def _paginate(
    req: Request, rows: list, key: Callable[[object], str], size: int, width: int, fingerprint: str
) -> tuple[list, dict[str, str], str]:
    """One page after the cursor in CTX_AREA_NK<width>; returns (rows, ctx fields, tr_cont)."""
    cursor = req.get(f"CTX_AREA_NK{width}") if req.continuing else ""
    start = 0
    if cursor:
        keys = [key(r) for r in rows]
        start = keys.index(cursor) + 1 if cursor in keys else len(rows)
    page = rows[start : start + size]
    more = start + size < len(rows)
    last = key(page[-1]) if page else ""
    ctx = {
        f"ctx_area_fk{width}": _pad(fingerprint, width),
        f"ctx_area_nk{width}": _pad(last, width),
    }
    # F/D answer a first call, M/E a continuation; F/M mean more pages follow (§3.4).
    if req.continuing and cursor:
        return page, ctx, "M" if more else "E"
    return page, ctx, "F" if more else "D"


def _qty(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Rejected("qty") from None


def _dec(text: str, reason: str = "value") -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise Rejected(reason) from None
    if not value.is_finite():
        raise Rejected(reason)
    return value


def _hms(moment: dt.datetime) -> str:
    return moment.strftime("%H%M%S")


def _ymd(moment: dt.datetime | dt.date) -> str:
    return moment.strftime("%Y%m%d")


class Api:
    """The KIS REST gateway and TR handlers for both environments."""

    def __init__(self, sim: Simulator, rate_limits: dict[str, int] | None = None):
        self.sim = sim
        self.rate_limits = {**RATE_LIMITS, **(rate_limits or {})}
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self.inflight: set[asyncio.Task] = set()

    def application(self, env: str) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)

        async def entry(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, env)

        app.router.add_route("*", "/{tail:.*}", entry)
        return app

    # -- entry ---------------------------------------------------------------------------

    async def handle(self, request: web.Request, env: str) -> web.StreamResponse:
        path = request.path
        if path.startswith("/__sim__/"):
            return await self.sim.control(request)
        upgrade = request.headers.get("upgrade", "").lower() == "websocket"
        if upgrade and (path in WS_PATHS or path.startswith("/tryitout/")):
            return await self.sim.hub.handle(request, env)
        task = asyncio.current_task()
        self.inflight.add(task)
        try:
            return await self._kis(request, env, path)
        finally:
            self.inflight.discard(task)

    async def _kis(self, request: web.Request, env: str, path: str) -> web.StreamResponse:
        faults = self.sim.faults
        request[ARRIVED] = arrived = time.monotonic()
        if faults.hang:
            await asyncio.Event().wait()  # until drop_sockets or stop cancels this task
        raw = await request.read()
        tr_id = request.headers.get("tr_id", "").strip()
        appkey = request.headers.get("appkey", "").strip()
        if faults.http_500:
            response = wire.error_response(wire.SERVER_ERROR, tr_id)
        elif faults.rate_limit_all:
            response = wire.error_response(wire.RATE_LIMITED, tr_id)
        else:
            try:
                response = await self._dispatch(request, env, path, raw)
            except AnswerLost:
                # The order is in the book; the caller never hears so (§5, EGW00301-style).
                self._record(arrived, env, appkey, path, tr_id, 0, "")
                if request.transport:
                    request.transport.close()
                return web.Response(status=204)
            except ApiError as error:
                response = wire.error_response(error.answer, tr_id)
            except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
                # Input we failed to anticipate still gets KIS's answer, never a crash page.
                log.exception("kissim: unexpected input on %s", path)
                response = wire.error_response(wire.SERVER_ERROR, tr_id)
        self._record(arrived, env, appkey, path, tr_id, response.status, _msg_cd(response))
        return response

    def _record(
        self, t: float, env: str, appkey: str, path: str, tr_id: str, status: int, msg_cd: str
    ) -> None:
        self.sim.stats.record_request(RequestRecord(t, env, appkey, path, tr_id, status, msg_cd))

    async def _dispatch(
        self, request: web.Request, env: str, path: str, raw: bytes
    ) -> web.StreamResponse:
        if path.startswith("/oauth2/"):
            return await self._oauth(request, env, path, raw)
        if path == "/uapi/hashkey" and request.method == "POST":
            self._credentials(request, env)
            body = _json_object(raw)
            return web.json_response({"JsonBody": body, "HASH": hash_body(raw)}, dumps=_dumps)
        route = ROUTES.get(path)
        if route is None or request.method != route.method:
            raise ApiError(wire.NO_ROUTE)
        ledger = self._credentials(request, env)
        self._authorize(request, ledger)
        tr_id = request.headers.get("tr_id", "").strip()
        if tr_id not in route.trs[env]:
            other = "real" if env == "paper" else "paper"
            twin = "V" + tr_id[1:] if tr_id else ""
            if env == "paper" and tr_id in route.trs[other] and twin in route.trs[env]:
                raise ApiError(wire.NOT_PAPER_TR)
            raise ApiError(wire.NO_SERVICE)
        if route.method == "GET":
            params = {k.upper(): v for k, v in request.query.items()}
        else:
            params = _json_object(raw)
        req = Request(
            env,
            ledger,
            tr_id,
            params,
            request.headers.get("tr_cont", "").strip(),
            route.trs[env][tr_id],
        )
        handler: Handler = getattr(self, route.handler)
        self.sim.market.roll_day()
        try:
            body, tr_cont = await handler(req)
        except Rejected as refusal:
            raise ApiError(rejection(refusal.reason, env)) from None
        if route.handler in NEW_ORDER_HANDLERS and self.sim.faults.take_lost_answer():
            raise AnswerLost
        return wire.envelope_response(body, tr_id=tr_id, tr_cont=tr_cont)

    # -- gateway checks ------------------------------------------------------------------

    def _credentials(self, request: web.Request, env: str) -> Ledger:
        appkey = request.headers.get("appkey", "").strip()
        appsecret = request.headers.get("appsecret", "").strip()
        if not appkey:
            raise ApiError(wire.APPKEY_REQUIRED)
        ledger = self.sim.market.ledgers.get(appkey)
        if ledger is None:
            raise ApiError(wire.APPKEY_INVALID)
        if not appsecret:
            raise ApiError(wire.APPSECRET_REQUIRED)
        if appsecret != ledger.account.appsecret:
            raise ApiError(wire.APPSECRET_INVALID)
        if ledger.account.env != env:
            raise ApiError(
                wire.REAL_DOMAIN_PAPER_KEY if env == "real" else wire.PAPER_DOMAIN_REAL_KEY
            )
        self._admit(env, appkey, request[ARRIVED])
        return ledger

    def _admit(self, env: str, appkey: str, now: float) -> None:
        """Sliding one-second window per app key; refused calls do not use up budget."""
        window = self._windows.setdefault((env, appkey), deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.rate_limits[env]:
            raise ApiError(wire.RATE_LIMITED)
        window.append(now)

    def _authorize(self, request: web.Request, ledger: Ledger) -> None:
        header = request.headers.get("authorization", "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(wire.NOT_BEARER)
        token = self.sim.tokens.lookup(value.strip())
        if token is None or token.appkey != ledger.account.appkey or token.revoked:
            raise ApiError(wire.TOKEN_INVALID)
        if not token.live(time.monotonic()):
            raise ApiError(wire.TOKEN_EXPIRED)
        if request.headers.get("custtype", "P").strip() not in ("P", "B"):
            raise ApiError(wire.BAD_CUSTTYPE)

    # -- OAuth (§2) ----------------------------------------------------------------------

    async def _oauth(
        self, request: web.Request, env: str, path: str, raw: bytes
    ) -> web.StreamResponse:
        if request.method != "POST":
            raise ApiError(wire.NO_ROUTE)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return wire.oauth_error("EGW00101", "유효하지 않은 요청입니다.")
        appkey = str(body.get("appkey") or "")
        secret_field = "secretkey" if path == "/oauth2/Approval" else "appsecret"
        secret = str(body.get(secret_field) or "")
        if path not in ("/oauth2/tokenP", "/oauth2/revokeP", "/oauth2/Approval"):
            raise ApiError(wire.NO_ROUTE)
        if not appkey:
            return wire.oauth_error("EGW00102", "AppKey는 필수입니다.")
        ledger = self.sim.market.ledgers.get(appkey)
        if ledger is None:
            return wire.oauth_error("EGW00103", "유효하지 않은 AppKey입니다.")
        if not secret:
            return wire.oauth_error("EGW00104", "AppSecret은 필수입니다.")
        if secret != ledger.account.appsecret:
            return wire.oauth_error("EGW00105", "유효하지 않은 AppSecret입니다.")
        if ledger.account.env != env:
            answer = wire.REAL_DOMAIN_PAPER_KEY if env == "real" else wire.PAPER_DOMAIN_REAL_KEY
            return wire.oauth_error(answer.msg_cd, answer.msg1)
        tokens, stats = self.sim.tokens, self.sim.stats
        if path == "/oauth2/tokenP":
            if body.get("grant_type") != "client_credentials":
                return wire.oauth_error("EGW00101", "유효하지 않은 요청입니다.")
            token, fresh = tokens.request_token(appkey, env)
            if token is None:
                return wire.oauth_error(
                    "EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)"
                )
            if fresh:
                stats.count_token_issue(appkey)
            remaining = TOKEN_LIFETIME_S - int(time.monotonic() - token.issued_at)
            return web.json_response(
                {
                    "access_token": token.value,
                    "access_token_token_expired": token.expires_kst.strftime("%Y-%m-%d %H:%M:%S"),
                    "token_type": "Bearer",
                    "expires_in": remaining,
                }
            )
        if path == "/oauth2/revokeP":
            if tokens.revoke(appkey, str(body.get("token") or "")):
                return web.json_response(
                    {"code": "200", "message": "접근토큰 폐기에 성공하였습니다"}, dumps=_dumps
                )
            return wire.oauth_error("EGW00121", "유효하지 않은 token 입니다.")
        if body.get("grant_type") != "client_credentials":
            return wire.oauth_error("EGW00101", "유효하지 않은 요청입니다.")
        stats.count_approval_issue(appkey)
        return web.json_response({"approval_key": tokens.issue_approval(appkey)})

    # -- helpers -------------------------------------------------------------------------

    def _account(self, req: Request) -> None:
        cano, prdt = req.need("CANO", "ACNT_PRDT_CD")
        account = req.ledger.account
        if cano != account.cano or prdt != account.acnt_prdt_cd:
            raise Rejected("account")

    def _ok_inquiry(self, req: Request, **outputs) -> dict:
        msg_cd, msg1 = OK_INQUIRY[req.env]
        return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **outputs}

    @staticmethod
    def _ok_quote(**outputs) -> dict:
        msg_cd, msg1 = OK_QUOTE
        return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **outputs}

    def _domestic(self, code: str) -> Symbol:
        sym = self.sim.market.symbols.get(code)
        if sym is None or not sym.domestic:
            raise Rejected("symbol")
        return sym

    def _check_session(self, env: str) -> None:
        session = self.sim.clock.session()
        if session is not Session.OPEN:
            msg_cd, msg1 = CLOSED_ANSWERS[(env, session)]
            raise ApiError(Answer(msg_cd, msg1))

    def _order_output(self, req: Request, order: Order, kind: str) -> dict:
        if req.env == "paper":
            msg_cd, msg1 = OK_ORDER_PAPER[kind]
        else:
            msg_cd, msg1 = OK_ORDER_REAL
        return {
            "rt_cd": "0",
            "msg_cd": msg_cd,
            "msg1": msg1,
            "output": {
                "KRX_FWDG_ORD_ORGNO": order.orgno,
                "ODNO": order.odno,
                "ORD_TMD": _hms(order.time),
            },
        }

    # -- domestic quotations (§4.2) ------------------------------------------------------

    async def inquire_price(self, req: Request) -> tuple[dict, str]:
        _, code = req.need("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD")
        with self.sim.market.lock:
            sym = self._domestic(code)
            history = self.sim.market.history(sym)
            year = history[-250:]
            w52_high = max(year, key=lambda b: b.high)
            w52_low = min(year, key=lambda b: b.low)
            output = {
                "iscd_stat_cls_code": "55",
                "marg_rate": "20.00",
                "rprs_mrkt_kor_name": sym.group,
                "bstp_kor_isnm": "전기.전자" if sym.code == "005930" else "",
                "temp_stop_yn": "N",
                "oprc_rang_cont_yn": "N",
                "clpr_rang_cont_yn": "N",
                "crdt_able_yn": "Y",
                "grmn_rate_cls_code": "40",
                "elw_pblc_yn": "N",
                "stck_prpr": wire.amount(sym.price),
                "prdy_vrss": wire.amount(sym.change),
                "prdy_vrss_sign": sym.sign,
                "prdy_ctrt": str(sym.change_rate),
                "acml_tr_pbmn": wire.amount(sym.value),
                "acml_vol": str(sym.volume),
                "prdy_vrss_vol_rate": wire.rate(Decimal(sym.volume), Decimal(sym.prev_volume)),
                "stck_oprc": wire.amount(sym.open),
                "stck_hgpr": wire.amount(sym.high),
                "stck_lwpr": wire.amount(sym.low),
                "stck_mxpr": wire.amount(sym.upper),
                "stck_llam": wire.amount(sym.lower),
                "stck_sdpr": wire.amount(sym.base),
                "wghn_avrg_stck_prc": wire.fixed(sym.vwap, 2),
                "hts_frgn_ehrt": "50.12",
                "frgn_ntby_qty": "0",
                "pgtr_ntby_qty": "0",
                "pvt_scnd_dmrs_prc": wire.amount(sym.high),
                "pvt_frst_dmrs_prc": wire.amount(sym.high),
                "pvt_pont_val": wire.amount(sym.base),
                "pvt_frst_dmsp_prc": wire.amount(sym.low),
                "pvt_scnd_dmsp_prc": wire.amount(sym.low),
                "dmrs_val": wire.amount(sym.high),
                "dmsp_val": wire.amount(sym.low),
                "cpfn": "7780",
                "rstc_wdth_prc": wire.amount(sym.upper - sym.base),
                "stck_fcam": "100",
                "stck_sspr": wire.amount(sym.lower),
                "aspr_unit": wire.amount(sym.tick()),
                "hts_deal_qty_unit_val": "1",
                "lstn_stcn": "5969782550",
                "hts_avls": wire.amount(sym.price * 5969782550 / 100_000_000),
                "per": "15.20",
                "pbr": "1.30",
                "stac_month": "12",
                "vol_tnrt": "0.12",
                "eps": wire.amount(sym.base / Decimal("15.2")),
                "bps": wire.amount(sym.base / Decimal("1.3")),
                "d250_hgpr": wire.amount(w52_high.high),
                "d250_hgpr_date": _ymd(w52_high.date),
                "d250_hgpr_vrss_prpr_rate": wire.rate(sym.price - w52_high.high, w52_high.high),
                "d250_lwpr": wire.amount(w52_low.low),
                "d250_lwpr_date": _ymd(w52_low.date),
                "d250_lwpr_vrss_prpr_rate": wire.rate(sym.price - w52_low.low, w52_low.low),
                "stck_dryy_hgpr": wire.amount(w52_high.high),
                "dryy_hgpr_vrss_prpr_rate": wire.rate(sym.price - w52_high.high, w52_high.high),
                "dryy_hgpr_date": _ymd(w52_high.date),
                "stck_dryy_lwpr": wire.amount(w52_low.low),
                "dryy_lwpr_vrss_prpr_rate": wire.rate(sym.price - w52_low.low, w52_low.low),
                "dryy_lwpr_date": _ymd(w52_low.date),
                "w52_hgpr": wire.amount(w52_high.high),
                "w52_hgpr_vrss_prpr_ctrt": wire.rate(sym.price - w52_high.high, w52_high.high),
                "w52_hgpr_date": _ymd(w52_high.date),
                "w52_lwpr": wire.amount(w52_low.low),
                "w52_lwpr_vrss_prpr_ctrt": wire.rate(sym.price - w52_low.low, w52_low.low),
                "w52_lwpr_date": _ymd(w52_low.date),
                "whol_loan_rmnd_rate": "0.10",
                "ssts_yn": "Y",
                "stck_shrn_iscd": sym.code,
                "fcam_cnnm": "100",
                "cpfn_cnnm": "7,780 억",
                "apprch_rate": "0.00",
                "frgn_hldn_qty": "2992000000",
                "vi_cls_code": "N",
                "ovtm_vi_cls_code": "N",
                "last_ssts_cntg_qty": "0",
                "invt_caful_yn": "N",
                "mrkt_warn_cls_code": "00",
                "short_over_yn": "N",
                "sltr_yn": "N",
                "mang_issu_cls_code": "N",
            }
        return self._ok_quote(output=output), ""

    async def asking_price(self, req: Request) -> tuple[dict, str]:
        _, code = req.need("FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD")
        with self.sim.market.lock:
            sym = self._domestic(code)
            book: dict[str, str] = {"aspr_acpt_hour": _hms(self.sim.clock.now())}
            for i in range(10):
                ask = sym.asks[i] if i < len(sym.asks) else None
                bid = sym.bids[i] if i < len(sym.bids) else None
                book[f"askp{i + 1}"] = wire.amount(ask.price) if ask else "0"
                book[f"bidp{i + 1}"] = wire.amount(bid.price) if bid else "0"
            for i in range(10):
                ask = sym.asks[i] if i < len(sym.asks) else None
                bid = sym.bids[i] if i < len(sym.bids) else None
                book[f"askp_rsqn{i + 1}"] = str(ask.qty) if ask else "0"
                book[f"bidp_rsqn{i + 1}"] = str(bid.qty) if bid else "0"
            for i in range(10):
                book[f"askp_rsqn_icdc{i + 1}"] = "0"
                book[f"bidp_rsqn_icdc{i + 1}"] = "0"
            total_ask = sum(level.qty for level in sym.asks)
            total_bid = sum(level.qty for level in sym.bids)
            book.update(
                total_askp_rsqn=str(total_ask),
                total_bidp_rsqn=str(total_bid),
                total_askp_rsqn_icdc="0",
                total_bidp_rsqn_icdc="0",
                ovtm_total_askp_icdc="0",
                ovtm_total_bidp_icdc="0",
                ovtm_total_askp_rsqn="0",
                ovtm_total_bidp_rsqn="0",
                ntby_aspr_rsqn=str(total_bid - total_ask),
                new_mkop_cls_code="20",
            )
            expected = {
                "antc_mkop_cls_code": "311",
                "stck_prpr": wire.amount(sym.price),
                "stck_oprc": wire.amount(sym.open),
                "stck_hgpr": wire.amount(sym.high),
                "stck_lwpr": wire.amount(sym.low),
                "stck_sdpr": wire.amount(sym.base),
                "antc_cnpr": "0",
                "antc_cntg_vrss_sign": "3",
                "antc_cntg_vrss": "0",
                "antc_cntg_prdy_ctrt": "0.00",
                "antc_vol": "0",
                "stck_shrn_iscd": sym.code,
                "vi_cls_code": "N",
            }
        return self._ok_quote(output1=book, output2=expected), ""

    def _bars(self, sym: Symbol, period: str) -> list[dict]:
        """Daily bars (today first) grouped by D/W/M/Y; newest first."""
        today = self.sim.market.session_date(sym)
        days = self.sim.market.history(sym)
        rows = [(b.date, b.open, b.high, b.low, b.close, b.volume, b.value) for b in days]
        rows.append((today, sym.open, sym.high, sym.low, sym.price, sym.volume, sym.value))
        if period in ("W", "M", "Y"):

            def bucket(day: dt.date) -> tuple:
                if period == "W":
                    return tuple(day.isocalendar()[:2])
                if period == "M":
                    return (day.year, day.month)
                return (day.year,)

            grouped: dict[tuple, list] = {}
            for row in rows:
                grouped.setdefault(bucket(row[0]), []).append(row)
            rows = [
                (
                    g[-1][0],
                    g[0][1],
                    max(r[2] for r in g),
                    min(r[3] for r in g),
                    g[-1][4],
                    sum(r[5] for r in g),
                    sum(r[6] for r in g),
                )
                for g in grouped.values()
            ]
        out = []
        for i, (day, open_, high, low, close, volume, value) in enumerate(rows):
            prev_close = rows[i - 1][4] if i else close
            out.append(
                {
                    "date": day,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                    "value": value,
                    "prev_close": prev_close,
                    "prev_volume": rows[i - 1][5] if i else volume,
                }
            )
        out.reverse()
        return out

    async def daily_price(self, req: Request) -> tuple[dict, str]:
        _, code, period = req.need(
            "FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_PERIOD_DIV_CODE"
        )
        if period not in ("D", "W", "M"):
            raise Rejected("value")
        with self.sim.market.lock:
            sym = self._domestic(code)
            rows = []
            for bar in self._bars(sym, period)[:30]:
                change = bar["close"] - bar["prev_close"]
                rows.append(
                    {
                        "stck_bsop_date": _ymd(bar["date"]),
                        "stck_oprc": wire.amount(bar["open"]),
                        "stck_hgpr": wire.amount(bar["high"]),
                        "stck_lwpr": wire.amount(bar["low"]),
                        "stck_clpr": wire.amount(bar["close"]),
                        "acml_vol": str(bar["volume"]),
                        "prdy_vrss_vol_rate": wire.rate(
                            Decimal(bar["volume"] - bar["prev_volume"]), Decimal(bar["prev_volume"])
                        ),
                        "prdy_vrss": wire.amount(change),
                        "prdy_vrss_sign": "2" if change > 0 else "5" if change < 0 else "3",
                        "prdy_ctrt": wire.rate(change, bar["prev_close"]),
                        "hts_frgn_ehrt": "50.12",
                        "frgn_ntby_qty": "0",
                        "flng_cls_code": "00",
                        "acml_prtt_rate": "0.00",
                    }
                )
        return self._ok_quote(output=rows), ""

    def _chart_summary(self, sym: Symbol) -> dict[str, str]:
        return {
            "prdy_vrss": wire.amount(sym.change),
            "prdy_vrss_sign": sym.sign,
            "prdy_ctrt": str(sym.change_rate),
            "stck_prdy_clpr": wire.amount(sym.base),
            "acml_vol": str(sym.volume),
            "acml_tr_pbmn": wire.amount(sym.value),
            "hts_kor_isnm": sym.name,
            "stck_prpr": wire.amount(sym.price),
        }

    async def period_chart(self, req: Request) -> tuple[dict, str]:
        _, code, start, end, period = req.need(
            "FID_COND_MRKT_DIV_CODE",
            "FID_INPUT_ISCD",
            "FID_INPUT_DATE_1",
            "FID_INPUT_DATE_2",
            "FID_PERIOD_DIV_CODE",
        )
        if period not in ("D", "W", "M", "Y"):
            raise Rejected("value")
        with self.sim.market.lock:
            sym = self._domestic(code)
            last = self.sim.market.history(sym)[-1]
            summary = self._chart_summary(sym) | {
                "stck_shrn_iscd": sym.code,
                "prdy_vol": str(last.volume),
                "stck_mxpr": wire.amount(sym.upper),
                "stck_llam": wire.amount(sym.lower),
                "stck_oprc": wire.amount(sym.open),
                "stck_hgpr": wire.amount(sym.high),
                "stck_lwpr": wire.amount(sym.low),
                "stck_prdy_oprc": wire.amount(last.open),
                "stck_prdy_hgpr": wire.amount(last.high),
                "stck_prdy_lwpr": wire.amount(last.low),
                "askp": wire.amount(sym.asks[0].price) if sym.asks else "0",
                "bidp": wire.amount(sym.bids[0].price) if sym.bids else "0",
                "prdy_vrss_vol": str(sym.volume - last.volume),
                "vol_tnrt": "0.12",
                "stck_fcam": "100",
                "lstn_stcn": "5969782550",
                "cpfn": "7780",
                "hts_avls": wire.amount(sym.price * 5969782550 / 100_000_000),
                "per": "15.20",
                "eps": wire.amount(sym.base / Decimal("15.2")),
                "pbr": "1.30",
                "itewhol_loan_rmnd_ratem": "0.10",
            }
            rows = []
            for bar in self._bars(sym, period):
                day = _ymd(bar["date"])
                if not (start <= day <= end):
                    continue
                change = bar["close"] - bar["prev_close"]
                rows.append(
                    {
                        "stck_bsop_date": day,
                        "stck_clpr": wire.amount(bar["close"]),
                        "stck_oprc": wire.amount(bar["open"]),
                        "stck_hgpr": wire.amount(bar["high"]),
                        "stck_lwpr": wire.amount(bar["low"]),
                        "acml_vol": str(bar["volume"]),
                        "acml_tr_pbmn": wire.amount(bar["value"]),
                        "flng_cls_code": "00",
                        "prtt_rate": "0.00",
                        "mod_yn": "N",
                        "prdy_vrss_sign": "2" if change > 0 else "5" if change < 0 else "3",
                        "prdy_vrss": wire.amount(change),
                        "revl_issu_reas": "",
                    }
                )
                if len(rows) == 100:
                    break
        return self._ok_quote(output1=summary, output2=rows), ""

    async def minute_chart(self, req: Request) -> tuple[dict, str]:
        _, _, code, hour = req.need(
            "FID_ETC_CLS_CODE", "FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_INPUT_HOUR_1"
        )
        with self.sim.market.lock:
            sym = self._domestic(code)
            # Today's bars only (§4.2); a time still to come is "now".
            today = self.sim.market.session_date(sym)
            todays = [b for b in sym.minutes if b.start.astimezone(KST).date() == today]
            bars = [b for b in todays if _hms(b.start) <= hour] or todays or sym.minutes
            rows = [
                {
                    "stck_bsop_date": _ymd(b.start),
                    "stck_cntg_hour": _hms(b.start),
                    "stck_prpr": wire.amount(b.close),
                    "stck_oprc": wire.amount(b.open),
                    "stck_hgpr": wire.amount(b.high),
                    "stck_lwpr": wire.amount(b.low),
                    "cntg_vol": str(b.volume),
                    "acml_tr_pbmn": wire.amount(b.value),
                }
                for b in reversed(bars[-30:])
            ]
            summary = self._chart_summary(sym)
        return self._ok_quote(output1=summary, output2=rows), ""

    # -- domestic orders (§4.1) ----------------------------------------------------------

    async def order_cash(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        code, ord_dvsn, qty, price = req.need("PDNO", "ORD_DVSN", "ORD_QTY", "ORD_UNPR")
        self._check_session(req.env)
        quantity, unit_price = _qty(qty), _dec(price)
        self.sim.stats.count_order(req.ledger.account.appkey)
        order = self.sim.market.submit_order(
            req.ledger, code, req.arg, ord_dvsn, quantity, unit_price
        )
        return self._order_output(req, order, "buy" if req.arg == BUY else "sell"), ""

    async def order_rvsecncl(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        orgn, ord_dvsn, kind, qty, price, all_yn = req.need(
            "ORGN_ODNO", "ORD_DVSN", "RVSE_CNCL_DVSN_CD", "ORD_QTY", "ORD_UNPR", "QTY_ALL_ORD_YN"
        )
        if kind not in ("01", "02"):
            raise Rejected("value")
        self._check_session(req.env)
        quantity, unit_price = _qty(qty or "0"), _dec(price)
        self.sim.stats.count_order(req.ledger.account.appkey)
        row = self.sim.market.revise_or_cancel(
            req.ledger,
            orgn,
            kind,
            ord_dvsn,
            quantity,
            unit_price,
            all_yn == "Y",
        )
        return self._order_output(req, row, "revise" if kind == "01" else "cancel"), ""

    async def psbl_rvsecncl(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        _, side = req.need("INQR_DVSN_1", "INQR_DVSN_2")
        with self.sim.market.lock:
            rows = [
                o
                for o in self.sim.market.open_orders(req.ledger)
                if side in ("", "0") or o.side == {"1": SELL, "2": BUY}.get(side)
            ]
            page, ctx, tr_cont = _paginate(
                req,
                rows,
                lambda o: o.odno,
                PAGE_SIZES["psbl_rvsecncl"][req.env],
                100,
                req.ledger.account.account_no,
            )
            output = [
                {
                    "ord_gno_brno": o.orgno,
                    "odno": o.odno,
                    "orgn_odno": o.orgn_odno,
                    "ord_dvsn_name": _ord_dvsn_name(o.ord_dvsn),
                    "pdno": o.symbol.code,
                    "prdt_name": o.symbol.name,
                    "rvse_cncl_dvsn_name": {"00": "", "01": "정정", "02": "취소"}[o.kind],
                    "ord_qty": str(o.qty),
                    "ord_unpr": wire.amount(o.price),
                    "ord_tmd": _hms(o.time),
                    "tot_ccld_qty": str(o.filled),
                    "tot_ccld_amt": wire.amount(o.filled_amount),
                    "psbl_qty": str(o.remaining),
                    "sll_buy_dvsn_cd": o.side,
                    "ord_dvsn_cd": o.ord_dvsn,
                    "mgco_aptm_odno": "",
                    "excg_dvsn_cd": "01",
                    "excg_id_dvsn_cd": "KRX",
                    "excg_id_dvsn_name": "한국거래소",
                    "stpm_cndt_pric": "0",
                    "stpm_efct_occr_yn": "N",
                }
                for o in page
            ]
        return self._ok_inquiry(req, **ctx, output=output), tr_cont

    async def daily_ccld(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        start, end, side, order_dir, code, ccld, odno = req.need(
            "INQR_STRT_DT",
            "INQR_END_DT",
            "SLL_BUY_DVSN_CD",
            "INQR_DVSN",
            "PDNO",
            "CCLD_DVSN",
            "ODNO",
        )
        today = _ymd(self.sim.clock.now())
        with self.sim.market.lock:
            rows = [
                o
                for o in req.ledger.orders.values()
                if o.symbol.domestic
                and (start or today) <= _ymd(o.time.astimezone(KST)) <= (end or today)
                and (side in ("", "00") or o.side == side)
                and (not code or o.symbol.code == code)
                and (not odno or o.odno == odno.zfill(10))
                and (
                    ccld in ("", "00")
                    or (ccld == "01" and o.filled)
                    or (ccld == "02" and o.remaining)
                )
            ]
            if order_dir != "01":
                rows.reverse()
            fingerprint = f"{req.ledger.account.account_no}^{start}^{end}^{side}^{order_dir}^{code}"
            page, ctx, tr_cont = _paginate(
                req, rows, lambda o: o.odno, PAGE_SIZES["daily_ccld"][req.env], 100, fingerprint
            )
            output1 = [_ccld_row(o) for o in page]
            filled = sum(o.filled for o in rows)
            filled_amt = sum((o.filled_amount for o in rows), Decimal(0))
            output2 = {
                "tot_ord_qty": str(sum(o.qty for o in rows)),
                "tot_ccld_qty": str(filled),
                "tot_ccld_amt": wire.amount(filled_amt),
                "prsm_tlex_smtl": "0",
                "pchs_avg_pric": wire.fixed(filled_amt / filled if filled else 0, 4),
            }
        return self._ok_inquiry(req, **ctx, output1=output1, output2=output2), tr_cont

    async def balance(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        req.need("AFHR_FLPR_YN", "INQR_DVSN", "UNPR_DVSN", "FUND_STTL_ICLD_YN", "PRCS_DVSN")
        ledger = req.ledger
        with self.sim.market.lock:
            positions = ledger.positions(KRW)
            page, ctx, tr_cont = _paginate(
                req,
                positions,
                lambda h: h.symbol.code,
                PAGE_SIZES["balance"][req.env],
                100,
                ledger.account.account_no,
            )
            output1 = []
            for h in page:
                sym = h.symbol
                cost = h.avg * h.qty
                value = sym.price * h.qty
                output1.append(
                    {
                        "pdno": sym.code,
                        "prdt_name": sym.name,
                        "trad_dvsn_name": "현금",
                        "bfdy_buy_qty": "0",
                        "bfdy_sll_qty": "0",
                        "thdt_buyqty": str(h.buy_qty_today),
                        "thdt_sll_qty": str(h.sell_qty_today),
                        "hldg_qty": str(h.qty),
                        "ord_psbl_qty": str(ledger.sellable(sym.code)),
                        "pchs_avg_pric": wire.fixed(h.avg, 4),
                        "pchs_amt": wire.amount(cost),
                        "prpr": wire.amount(sym.price),
                        "evlu_amt": wire.amount(value),
                        "evlu_pfls_amt": wire.amount(value - cost),
                        "evlu_pfls_rt": wire.rate(value - cost, cost),
                        "evlu_erng_rt": wire.rate(value - cost, cost, 8),
                        "loan_dt": "",
                        "loan_amt": "0",
                        "stln_slng_chgs": "0",
                        "expd_dt": "",
                        "fltt_rt": str(sym.change_rate),
                        "bfdy_cprs_icdc": wire.amount(sym.change),
                        "item_mgna_rt_name": "20%",
                        "grta_rt_name": "",
                        "sbst_pric": wire.amount(sym.price * Decimal("0.7")),
                        "stck_loan_unpr": "0",
                    }
                )
            output2 = [_balance_totals(ledger)]
        return self._ok_inquiry(req, **ctx, output1=output1, output2=output2), tr_cont

    async def psbl_order(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        code, price, ord_dvsn = req.need("PDNO", "ORD_UNPR", "ORD_DVSN")
        req.need("CMA_EVLU_AMT_ICLD_YN", "OVRS_ICLD_YN")
        with self.sim.market.lock:
            power = req.ledger.buying_power(KRW)
            unit = _dec(price)
            if code:
                sym = self._domestic(code)
                if ord_dvsn == "01" or unit <= 0:
                    unit = sym.upper
            qty = int(power // unit) if unit > 0 else 0
            output = {
                "ord_psbl_cash": wire.amount(power),
                "ord_psbl_sbst": "0",
                "ruse_psbl_amt": "0",
                "fund_rpch_chgs": "0",
                "psbl_qty_calc_unpr": wire.amount(unit),
                "nrcvb_buy_amt": wire.amount(qty * unit),
                "nrcvb_buy_qty": str(qty),
                "max_buy_amt": wire.amount(qty * unit),
                "max_buy_qty": str(qty),
                "cma_evlu_amt": "0",
                "ovrs_re_use_amt_wcrc": "0",
                "ord_psbl_frcr_amt_wcrc": "0",
            }
        return self._ok_inquiry(req, output=output), ""

    # -- overseas (§4.3) -----------------------------------------------------------------

    def _us(self, excd: str, ticker: str) -> Symbol:
        sym = self.sim.market.symbols.get(ticker.upper())
        if sym is None or sym.domestic or sym.market != excd:
            raise Rejected("symbol")
        return sym

    async def us_price(self, req: Request) -> tuple[dict, str]:
        _, excd, symb = req.need("AUTH", "EXCD", "SYMB")
        with self.sim.market.lock:
            sym = self._us(excd, symb)
            output = {
                "rsym": f"D{sym.market}{sym.code}",
                "zdiv": "4",
                "base": wire.fixed(sym.base, 4),
                "pvol": str(sym.prev_volume),
                "last": wire.fixed(sym.price, 4),
                "sign": sym.sign,
                "diff": wire.fixed(abs(sym.change), 4),
                "rate": wire.fixed(sym.change_rate, 2),
                "tvol": str(sym.volume),
                "tamt": wire.fixed(sym.value, 4),
                "ordy": "매수가능",
            }
        return self._ok_quote(output=output), ""

    async def us_dailyprice(self, req: Request) -> tuple[dict, str]:
        _, excd, symb, gubn, bymd, _ = req.need("AUTH", "EXCD", "SYMB", "GUBN", "BYMD", "MODP")
        period = {"0": "D", "1": "W", "2": "M"}.get(gubn)
        if period is None:
            raise Rejected("value")
        with self.sim.market.lock:
            sym = self._us(excd, symb)
            rows = []
            for bar in self._bars(sym, period):
                day = _ymd(bar["date"])
                if bymd and day > bymd:
                    continue
                change = bar["close"] - bar["prev_close"]
                rows.append(
                    {
                        "xymd": day,
                        "clos": wire.fixed(bar["close"], 4),
                        "sign": "2" if change > 0 else "5" if change < 0 else "3",
                        "diff": wire.fixed(abs(change), 4),
                        "rate": wire.rate(change, bar["prev_close"]),
                        "open": wire.fixed(bar["open"], 4),
                        "high": wire.fixed(bar["high"], 4),
                        "low": wire.fixed(bar["low"], 4),
                        "tvol": str(bar["volume"]),
                        "tamt": wire.fixed(bar["value"], 0),
                        "pbid": wire.fixed(bar["close"], 4),
                        "vbid": "0",
                        "pask": wire.fixed(bar["close"], 4),
                        "vask": "0",
                    }
                )
                if len(rows) == 100:
                    break
            output1 = {"rsym": f"D{sym.market}{sym.code}", "zdiv": "4", "nrec": str(len(rows))}
        return self._ok_quote(output1=output1, output2=rows), ""

    def _us_order_symbol(self, exchange: str, ticker: str) -> Symbol:
        excd = ORDER_EXCHANGE_TO_EXCD.get(exchange)
        if excd is None:
            raise Rejected("symbol")
        return self._us(excd, ticker)

    async def us_order(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        exchange, ticker, qty, price, ord_dvsn = req.need(
            "OVRS_EXCG_CD", "PDNO", "ORD_QTY", "OVRS_ORD_UNPR", "ORD_DVSN"
        )
        req.need("ORD_SVR_DVSN_CD")
        sym = self._us_order_symbol(exchange, ticker)
        quantity, unit_price = _qty(qty), _dec(price)
        self.sim.stats.count_order(req.ledger.account.appkey)
        order = self.sim.market.submit_order(
            req.ledger, sym.code, req.arg, ord_dvsn, quantity, unit_price
        )
        return self._order_output(req, order, "buy" if req.arg == BUY else "sell"), ""

    async def us_rvsecncl(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        exchange, ticker, orgn, kind, qty, price = req.need(
            "OVRS_EXCG_CD", "PDNO", "ORGN_ODNO", "RVSE_CNCL_DVSN_CD", "ORD_QTY", "OVRS_ORD_UNPR"
        )
        if kind not in ("01", "02"):
            raise Rejected("value")
        self._us_order_symbol(exchange, ticker)
        quantity, unit_price = _qty(qty or "0"), _dec(price)
        self.sim.stats.count_order(req.ledger.account.appkey)
        row = self.sim.market.revise_or_cancel(
            req.ledger, orgn, kind, "00", quantity, unit_price, quantity == 0
        )
        return self._order_output(req, row, "revise" if kind == "01" else "cancel"), ""

    async def us_balance(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        exchange, _currency = req.need("OVRS_EXCG_CD", "TR_CRCY_CD")
        ledger = req.ledger
        with self.sim.market.lock:
            positions = [
                h
                for h in ledger.positions(USD)
                if exchange in ("", "NASD", "NAS") or h.symbol.order_exchange == exchange
            ]
            page, ctx, tr_cont = _paginate(
                req,
                positions,
                lambda h: h.symbol.code,
                PAGE_SIZES["overseas"][req.env],
                200,
                ledger.account.account_no,
            )
            output1 = []
            for h in page:
                sym = h.symbol
                cost, value = h.avg * h.qty, sym.price * h.qty
                output1.append(
                    {
                        "cano": ledger.account.cano,
                        "acnt_prdt_cd": ledger.account.acnt_prdt_cd,
                        "prdt_type_cd": "512" if sym.market == "NAS" else "513",
                        "ovrs_pdno": sym.code,
                        "ovrs_item_name": sym.name,
                        "frcr_evlu_pfls_amt": wire.fixed(value - cost, 5),
                        "evlu_pfls_rt": wire.rate(value - cost, cost),
                        "pchs_avg_pric": wire.fixed(h.avg, 4),
                        "ovrs_cblc_qty": str(h.qty),
                        "ord_psbl_qty": str(ledger.sellable(sym.code)),
                        "frcr_pchs_amt1": wire.fixed(cost, 5),
                        "ovrs_stck_evlu_amt": wire.fixed(value, 5),
                        "now_pric2": wire.fixed(sym.price, 6),
                        "tr_crcy_cd": USD,
                        "ovrs_excg_cd": sym.order_exchange,
                        "loan_type_cd": "10",
                        "loan_dt": "",
                        "expd_dt": "",
                    }
                )
            cost_all = sum((h.avg * h.qty for h in positions), Decimal(0))
            value_all = sum((h.symbol.price * h.qty for h in positions), Decimal(0))
            realized = ledger.realized[USD]
            output2 = {
                "frcr_pchs_amt1": wire.fixed(cost_all, 5),
                "ovrs_rlzt_pfls_amt": wire.fixed(realized, 5),
                "ovrs_tot_pfls": wire.fixed(realized + value_all - cost_all, 5),
                "rlzt_erng_rt": wire.rate(realized, ledger.bought[USD] or Decimal(0), 8),
                "tot_evlu_pfls_amt": wire.fixed(value_all - cost_all, 8),
                "tot_pftrt": wire.rate(value_all - cost_all, cost_all, 8),
                "frcr_buy_amt_smtl1": wire.fixed(ledger.bought[USD], 6),
                "ovrs_rlzt_pfls_amt2": wire.fixed(realized, 5),
                "frcr_buy_amt_smtl2": wire.fixed(ledger.bought[USD], 6),
            }
        return self._ok_inquiry(req, **ctx, output1=output1, output2=output2), tr_cont

    def _us_rows(self, req: Request, orders: list[Order]) -> list[dict]:
        """`ord_dt` is the exchange's local date, `dmst_ord_dt` the Korean one (§4.3)."""
        return [
            {
                "ord_dt": _ymd(us_local(o.time)),
                "ord_gno_brno": o.orgno,
                "odno": o.odno,
                "orgn_odno": o.orgn_odno,
                "pdno": o.symbol.code,
                "prdt_name": o.symbol.name,
                "sll_buy_dvsn_cd": o.side,
                "sll_buy_dvsn_cd_name": "매수" if o.side == BUY else "매도",
                "rvse_cncl_dvsn_cd": o.kind,
                "rvse_cncl_dvsn": o.kind,
                "rvse_cncl_dvsn_name": {"00": "", "01": "정정", "02": "취소"}[o.kind],
                "rjct_rson": "",
                "rjct_rson_name": "",
                "ord_tmd": _hms(o.time),
                "tr_mket_name": {"NAS": "나스닥", "NYS": "뉴욕", "AMS": "아멕스"}[o.symbol.market],
                "tr_crcy_cd": USD,
                "natn_cd": "840",
                "tr_natn": "840",
                "tr_natn_name": "미국",
                "ft_ord_qty": str(o.qty),
                "ft_ccld_qty": str(o.filled),
                "nccs_qty": str(max(o.remaining, 0)),
                "ft_ord_unpr3": wire.fixed(o.price, 8),
                "ft_ccld_unpr3": wire.fixed(o.avg_price, 8),
                "ft_ccld_amt3": wire.fixed(o.filled_amount, 5),
                "ovrs_excg_cd": o.symbol.order_exchange,
                "prcs_stat_name": "완료" if not o.is_open else "접수",
                "loan_type_cd": "10",
                "loan_dt": "",
                "usa_amk_exts_rqst_yn": "N",
                "dmst_ord_dt": _ymd(o.time.astimezone(KST)),
                "thco_ord_tmd": _hms(o.time),
                "mdia_dvsn_name": "OpenAPI",
                "splt_buy_attr_name": "",
            }
            for o in orders
        ]

    async def us_ccnl(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        code, start, end, side, ccld, exchange, sort = req.need(
            "PDNO",
            "ORD_STRT_DT",
            "ORD_END_DT",
            "SLL_BUY_DVSN",
            "CCLD_NCCS_DVSN",
            "OVRS_EXCG_CD",
            "SORT_SQN",
        )
        today = _ymd(us_local(self.sim.clock.now()))  # ORD_STRT_DT/END_DT: local dates
        with self.sim.market.lock:
            rows = [
                o
                for o in req.ledger.orders.values()
                if not o.symbol.domestic
                and (start or today) <= _ymd(us_local(o.time)) <= (end or today)
                and code in ("", "%", o.symbol.code)
                and exchange in ("", "%", o.symbol.order_exchange)
                and side in ("", "00", o.side)
                and (
                    ccld in ("", "00")
                    or (ccld == "01" and o.filled)
                    or (ccld == "02" and o.remaining)
                )
            ]
            if sort != "AS":
                rows.reverse()
            return self._us_order_page(req, rows)

    def _us_order_page(self, req: Request, orders: list) -> tuple[dict, str]:
        """One page of US order rows with the FK200/NK200 cursor (§3.4, §4.3)."""
        page, ctx, tr_cont = _paginate(
            req,
            orders,
            lambda o: o.odno,
            PAGE_SIZES["overseas"][req.env],
            200,
            req.ledger.account.account_no,
        )
        return self._ok_inquiry(req, **ctx, output=self._us_rows(req, page)), tr_cont

    async def us_nccs(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        exchange, sort = req.need("OVRS_EXCG_CD", "SORT_SQN")
        with self.sim.market.lock:
            rows = [
                o
                for o in self.sim.market.open_orders(req.ledger)
                if not o.symbol.domestic and exchange in ("NASD", o.symbol.order_exchange)
            ]
            if sort != "DS":
                rows.reverse()
            return self._us_order_page(req, rows)

    async def us_psamount(self, req: Request) -> tuple[dict, str]:
        self._account(req)
        exchange, price, ticker = req.need("OVRS_EXCG_CD", "OVRS_ORD_UNPR", "ITEM_CD")
        with self.sim.market.lock:
            sym = self._us_order_symbol(exchange, ticker)
            unit = _dec(price)
            if unit <= 0:
                unit = sym.price
            power = req.ledger.buying_power(USD)
            qty = int(power // unit)
            output = {
                "tr_crcy_cd": USD,
                "ord_psbl_frcr_amt": wire.fixed(power, 2),
                "sll_ruse_psbl_amt": "0.00",
                "ovrs_ord_psbl_amt": wire.fixed(power, 2),
                "max_ord_psbl_qty": str(qty),
                "echm_af_ord_psbl_amt": "0.00",
                "echm_af_ord_psbl_qty": "0",
                "ord_psbl_qty": str(qty),
                "exrt": "1380.00000000",
                "frcr_ord_psbl_amt1": wire.fixed(power, 2),
                "ovrs_max_ord_psbl_qty": str(qty),
            }
        return self._ok_inquiry(req, output=output), ""


ORD_DVSN_NAMES = {
    "00": "지정가",
    "01": "시장가",
    "02": "조건부지정가",
    "03": "최유리지정가",
    "04": "최우선지정가",
    "11": "IOC지정가",
    "12": "FOK지정가",
    "13": "IOC시장가",
    "14": "FOK시장가",
}


def _ord_dvsn_name(code: str) -> str:
    return ORD_DVSN_NAMES.get(code, "지정가")


def _ccld_row(o: Order) -> dict[str, str]:
    return {
        "ord_dt": _ymd(o.time.astimezone(KST)),
        "ord_gno_brno": o.orgno,
        "odno": o.odno,
        "orgn_odno": o.orgn_odno,
        "ord_dvsn_name": _ord_dvsn_name(o.ord_dvsn),
        "sll_buy_dvsn_cd": o.side,
        "sll_buy_dvsn_cd_name": "현금매수" if o.side == BUY else "현금매도",
        "pdno": o.symbol.code,
        "prdt_name": o.symbol.name,
        "ord_qty": str(o.qty),
        "ord_unpr": wire.amount(o.price),
        "ord_tmd": _hms(o.time),
        "tot_ccld_qty": str(o.filled),
        "avg_prvs": wire.amount(o.avg_price),
        "cncl_yn": "Y" if o.kind == "02" else "N",
        "tot_ccld_amt": wire.amount(o.filled_amount),
        "loan_dt": "",
        "ordr_empno": "OpenAPI",
        "ord_dvsn_cd": o.ord_dvsn,
        "cnc_cfrm_qty": str(o.cancelled),
        "rmn_qty": str(max(o.remaining, 0)),
        "rjct_qty": str(o.rejected),
        "ccld_cndt_name": "없음",
        "inqr_ip_addr": "",
        "cpbc_ordp_ord_rcit_dvsn_cd": "",
        "cpbc_ordp_infm_mthd_dvsn_cd": "",
        "infm_tmd": "",
        "ctac_tlno": "",
        "prdt_type_cd": "300",
        "excg_dvsn_cd": "02",
        "cpbc_ordp_mtrl_dvsn_cd": "",
        "ord_orgno": o.orgno,
        "rsvn_ord_end_dt": "",
        "excg_id_dvsn_Cd": "KRX",  # sic: KIS spells this one with a capital C (§4.1)
        "stpm_cndt_pric": "0",
        "stpm_efct_occr_dtmd": "",
    }


def _balance_totals(ledger: Ledger) -> dict[str, str]:
    """Domestic output2: settled cash plus holdings at the last price, as one row."""
    positions = ledger.positions(KRW)
    cost = sum((h.avg * h.qty for h in positions), Decimal(0))
    value = sum((h.symbol.price * h.qty for h in positions), Decimal(0))
    cash = ledger.cash[KRW]
    total = cash + value
    yesterday = ledger.start_cash[KRW] + sum(
        (h.symbol.base * h.start_qty for h in ledger.holdings.values() if h.symbol.domestic),
        Decimal(0),
    )
    return {
        "dnca_tot_amt": wire.amount(ledger.start_cash[KRW]),
        "nxdy_excc_amt": wire.amount(cash),
        "prvs_rcdl_excc_amt": wire.amount(cash),
        "cma_evlu_amt": "0",
        "bfdy_buy_amt": "0",
        "thdt_buy_amt": wire.amount(ledger.bought[KRW]),
        "nxdy_auto_rdpt_amt": "0",
        "bfdy_sll_amt": "0",
        "thdt_sll_amt": wire.amount(ledger.sold[KRW]),
        "d2_auto_rdpt_amt": "0",
        "bfdy_tlex_amt": "0",
        "thdt_tlex_amt": "0",
        "tot_loan_amt": "0",
        "scts_evlu_amt": wire.amount(value),
        "tot_evlu_amt": wire.amount(total),
        "nass_amt": wire.amount(total),
        "fncg_gld_auto_rdpt_yn": "",
        "pchs_amt_smtl_amt": wire.amount(cost),
        "evlu_amt_smtl_amt": wire.amount(value),
        "evlu_pfls_smtl_amt": wire.amount(value - cost),
        "tot_stln_slng_chgs": "0",
        "bfdy_tot_asst_evlu_amt": wire.amount(yesterday),
        "asst_icdc_amt": wire.amount(total - yesterday),
        "asst_icdc_erng_rt": wire.rate(total - yesterday, yesterday, 8),
    }


def _json_object(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(wire.BAD_REQUEST) from None
    if not isinstance(body, dict):
        raise ApiError(wire.BAD_REQUEST)
    return body


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _msg_cd(response: web.StreamResponse) -> str:
    if isinstance(response, web.Response) and response.text:
        try:
            body = json.loads(response.text)
        except ValueError:
            return ""
        if isinstance(body, dict):
            return str(body.get("msg_cd") or body.get("error_code") or "")
    return ""
